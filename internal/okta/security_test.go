/*
Copyright 2026 The okta-token-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package okta

// What keeps the operator's requests, and the credentials they carry, on
// the Okta orgs it was told about (docs/security.md): the domain allowlist,
// endpoints held to the issuer's host, no redirects, a bound on requests
// per host, failures remembered per issuer, text from Okta cleaned, and ID
// tokens verified against the sign-in's nonce. Servers here are real
// net/http servers on loopback; Okta is the dev server.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

func mustDomains(t *testing.T, patterns ...string) *Domains {
	t.Helper()
	d, err := ParseDomains(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseDomains(t *testing.T) {
	tests := map[string]struct {
		patterns []string
		want     string
		wantErr  string
	}{
		"Okta's own domains":               {patterns: DefaultDomains, want: "*.okta.com,*.oktapreview.com,*.okta-emea.com"},
		"a custom URL domain, in any case": {patterns: []string{"Login.Example.COM"}, want: "login.example.com"},
		"blanks around and between":        {patterns: []string{" *.okta.com ", "", "  "}, want: "*.okta.com"},
		"loopback addresses for a dev server": {
			patterns: []string{"127.0.0.1", "::1"}, want: "127.0.0.1,::1",
		},
		"nothing at all":               {patterns: []string{"", " "}, wantErr: "--okta-domains is empty"},
		"a bare star":                  {patterns: []string{"*"}, wantErr: `--okta-domains: "*" is not a host name`},
		"a star that is not a label":   {patterns: []string{"*okta.com"}, wantErr: `--okta-domains: "*okta.com"`},
		"two stars":                    {patterns: []string{"*.*.okta.com"}, wantErr: `--okta-domains: "*.*.okta.com"`},
		"a star inside":                {patterns: []string{"dev-*.okta.com"}, wantErr: `--okta-domains: "dev-*.okta.com"`},
		"a port":                       {patterns: []string{"dev-123456.okta.com:443"}, wantErr: `--okta-domains: "dev-123456.okta.com:443"`},
		"a URL":                        {patterns: []string{"https://dev-123456.okta.com"}, wantErr: `--okta-domains: "https://dev-123456.okta.com"`},
		"a trailing dot":               {patterns: []string{"okta.com."}, wantErr: `--okta-domains: "okta.com."`},
		"an underscore":                {patterns: []string{"dev_1.okta.com"}, wantErr: `--okta-domains: "dev_1.okta.com"`},
		"one bad pattern among good":   {patterns: []string{"*.okta.com", "okta com"}, wantErr: `--okta-domains: "okta com"`},
		"a path after a wildcard host": {patterns: []string{"*.okta.com/oauth2"}, wantErr: `--okta-domains: "*.okta.com/oauth2"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := ParseDomains(tc.patterns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != tc.want {
				t.Fatalf("patterns %q, want %q", d.String(), tc.want)
			}
		})
	}
}

func TestDomainsAllows(t *testing.T) {
	d := mustDomains(t, "*.okta.com", "login.example.com", "127.0.0.1", "::1")
	tests := map[string]struct {
		host string
		want bool
	}{
		"an org":                              {"dev-123456.okta.com", true},
		"an org in capitals":                  {"DEV-123456.Okta.COM", true},
		"an org with the root's trailing dot": {"dev-123456.okta.com.", true},
		"the parent of the wildcard":          {"okta.com", false},
		"two labels for the star":             {"a.dev-123456.okta.com", false},
		"an empty label for the star":         {".okta.com", false},
		"an org's name under another domain":  {"dev-123456.okta.com.evil.test", false},
		"a look-alike suffix":                 {"evilokta.com", false},
		"a look-alike with a hyphen":          {"dev-123456.evil-okta.com", false},
		"the custom URL domain":               {"login.example.com", true},
		"the custom URL domain, shouted":      {"LOGIN.EXAMPLE.COM.", true},
		"a subdomain of the custom domain":    {"x.login.example.com", false},
		"the custom domain's parent":          {"example.com", false},
		"a listed IPv4 address":               {"127.0.0.1", true},
		"another loopback address":            {"127.0.0.2", false},
		"a listed IPv6 address":               {"::1", true},
		"a metadata service address":          {"169.254.169.254", false},
		"nothing":                             {"", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := d.Allows(tc.host); got != tc.want {
				t.Fatalf("Allows(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	allow := mustDomains(t, "*.okta.com", "127.0.0.1")
	tests := map[string]struct {
		url      string
		insecure bool
		domains  *Domains
		// wantErr is empty when the URL is accepted; wantType names the
		// typed error the reconciler turns into a condition.
		wantErr  []string
		wantType string
	}{
		"an org over https":                   {url: "https://dev-123456.okta.com", domains: allow},
		"an org on another port":              {url: "https://dev-123456.okta.com:8443/", domains: allow},
		"an org in capitals":                  {url: "https://DEV-123456.OKTA.COM", domains: allow},
		"an allowed IP over https":            {url: "https://127.0.0.1:9443", domains: allow},
		"http on loopback with the flag":      {url: "http://127.0.0.1:8080", insecure: true, domains: allow},
		"any host when there is no allowlist": {url: "https://anything.example", domains: nil},
		"a host of the user's choosing": {url: "https://evil.example", domains: allow, wantType: "notAllowed",
			wantErr: []string{"evil.example is not one of the Okta domains", "(*.okta.com,127.0.0.1)", "--okta-domains", "oktaDomains"}},
		"an org's name under another domain": {url: "https://dev-123456.okta.com.evil.example", domains: allow, wantType: "notAllowed",
			wantErr: []string{"dev-123456.okta.com.evil.example is not one of", "--okta-domains"}},
		"an internal address": {url: "https://169.254.169.254", domains: allow, wantType: "notAllowed",
			wantErr: []string{"169.254.169.254", "--okta-domains"}},
		"loopback that is not on the list": {url: "http://localhost:8080", insecure: true, domains: allow, wantType: "notAllowed",
			wantErr: []string{"localhost is not one of", "--okta-domains"}},
		"IPv6 loopback that is not on the list": {url: "http://[::1]:8080", insecure: true, domains: allow, wantType: "notAllowed",
			wantErr: []string{"::1 is not one of"}},
		"http without the flag": {url: "http://dev-123456.okta.com", domains: allow, wantType: "insecure",
			wantErr: []string{"is not https", "--allow-insecure-issuers"}},
		"http on loopback without the flag": {url: "http://127.0.0.1:8080", domains: allow, wantType: "insecure",
			wantErr: []string{"--allow-insecure-issuers"}},
		"http to a public host with the flag": {url: "http://dev-123456.okta.com", insecure: true, domains: allow,
			wantErr: []string{"only on loopback addresses", "--allow-insecure-issuers"}},
		"another scheme": {url: "ftp://dev-123456.okta.com", domains: allow, wantErr: []string{"neither https nor http"}},
		"no scheme":      {url: "dev-123456.okta.com", domains: allow, wantErr: []string{"not an absolute URL"}},
		"control characters": {url: "https://dev-123456.okta.com/\x1b[31m\n", domains: allow,
			wantErr: []string{"not an absolute URL"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.domains.CheckURL(tc.url, tc.insecure)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("CheckURL(%q): %v", tc.url, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckURL(%q) accepted it", tc.url)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			assertPrintable(t, err.Error())
			switch tc.wantType {
			case "notAllowed":
				if _, ok := errors.AsType[*DomainNotAllowedError](err); !ok {
					t.Errorf("error %T, want *DomainNotAllowedError", err)
				}
			case "insecure":
				if _, ok := errors.AsType[*InsecureIssuerError](err); !ok {
					t.Errorf("error %T, want *InsecureIssuerError", err)
				}
			}
		})
	}
}

// assertPrintable fails when s holds anything Sanitize removes: control
// and formatting characters, whitespace other than a space, invalid UTF-8.
func assertPrintable(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
			t.Errorf("%q holds %U", s, r)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := map[string]struct {
		in   string
		max  int
		want string
	}{
		"plain text stays":             {in: "The client secret is invalid.", max: 100, want: "The client secret is invalid."},
		"letters of any script stay":   {in: "Grüße aus 日本, ¿qué tal?", max: 100, want: "Grüße aus 日本, ¿qué tal?"},
		"a newline that forges a line": {in: "bad\n2026-11-30T00:00:00Z\tINFO\tforged", max: 100, want: "bad 2026-11-30T00:00:00Z INFO forged"},
		"carriage returns":             {in: "one\r\ntwo\rthree", max: 100, want: "one two three"},
		"Unicode line separators":      {in: "one\u2028two\u2029three\u0085four", max: 100, want: "one two three four"},
		"a terminal escape": {in: "red\x1b[31malert\x1b[0m", max: 100,
			want: "red [31malert [0m"},
		"the C1 escape":                {in: "a\u009b31mb", max: 100, want: "a 31mb"},
		"NUL, BEL and DEL":             {in: "a\x00b\x07c\x7fd", max: 100, want: "a b c d"},
		"a right-to-left override":     {in: "invoice\u202egpj.exe", max: 100, want: "invoice gpj.exe"},
		"every bidi control":           {in: "a\u202ab\u202bc\u202cd\u202de\u2066f\u2067g\u2068h\u2069i\u200ej\u200fk\u061cl", max: 100, want: "a b c d e f g h i j k l"},
		"zero-width characters":        {in: "ad\u200bmin\ufeff", max: 100, want: "ad min"},
		"invalid UTF-8":                {in: "\xff\xfeok\xc3(", max: 100, want: "ok ("},
		"runs of whitespace shrink":    {in: "  a \n\t\u00a0 b  ", max: 100, want: "a b"},
		"only control characters":      {in: "\n\t\x1b\u202e", max: 100, want: ""},
		"cut with an ellipsis":         {in: "abcdefghij", max: 4, want: "abcd…"},
		"cut counts runes, not bytes":  {in: "ééééé", max: 3, want: "ééé…"},
		"no space before the ellipsis": {in: "ab cdefgh", max: 3, want: "ab…"},
		"cleaned before it is cut":     {in: "a\n\n\n\nbcdef", max: 4, want: "a bc…"},
		"exactly max, nothing cut":     {in: "abc", max: 3, want: "abc"},
		"trailing space is not text":   {in: "abc \n", max: 3, want: "abc"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Sanitize(tc.in, tc.max)
			if got != tc.want {
				t.Fatalf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			assertPrintable(t, got)
			if n := utf8.RuneCountInString(strings.TrimSuffix(got, "…")); n > tc.max {
				t.Fatalf("%d runes, more than %d", n, tc.max)
			}
		})
	}
}

// hostServer is a real HTTP server whose /block requests are answered only
// once released (or given up by the client); everything else at once.
type hostServer struct {
	*httptest.Server
	release  chan struct{}
	once     sync.Once
	inFlight atomic.Int32
	answered atomic.Int32
}

func startHostServer(t *testing.T) *hostServer {
	t.Helper()
	h := &hostServer{release: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.inFlight.Add(1)
		defer h.inFlight.Add(-1)
		if r.URL.Path == "/block" {
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
		h.answered.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { h.unblock(); h.Close() })
	return h
}

func (h *hostServer) unblock() { h.once.Do(func() { close(h.release) }) }

// toLoopback is a transport that dials 127.0.0.1 on the port of whatever
// host a request names: servers on loopback can be reached under any
// name, which is what a limiter keyed by name must tell apart or together.
func toLoopback() *http.Transport {
	var d net.Dialer
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}
}

// onName is srv's URL with its host replaced by name (the port kept).
func onName(srv *httptest.Server, name string) string {
	return "http://" + net.JoinHostPort(name, srv.URL[strings.LastIndex(srv.URL, ":")+1:])
}

func TestHostLimiterRefusesABusyHostAfterWaiting(t *testing.T) {
	g := NewWithT(t)
	slow, other := startHostServer(t), startHostServer(t)
	limiter := &HostLimiter{PerHost: 2, Wait: 200 * time.Millisecond, Next: toLoopback()}
	c := &http.Client{Transport: limiter}

	var held sync.WaitGroup
	for range 2 {
		held.Go(func() {
			resp, err := c.Get(slow.URL + "/block")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	g.Eventually(slow.inFlight.Load).Should(BeNumerically("==", 2))

	start := time.Now()
	_, err := c.Get(slow.URL + "/fast")
	waited := time.Since(start)
	g.Expect(IsHostBusy(err)).To(BeTrue(), "a third request to a host with two in flight: %v", err)
	var busy *HostBusyError
	g.Expect(errors.As(err, &busy)).To(BeTrue())
	g.Expect(busy.Host).To(Equal("127.0.0.1"), "the host, in canonical form, without port")
	g.Expect(waited).To(BeNumerically(">=", limiter.Wait), "it waited for a slot before giving up")
	g.Expect(slow.answered.Load()).To(BeZero(), "the refused request was never sent")
	g.Expect(err.Error()).To(ContainSubstring("trying again shortly"))

	// The bound is per host: another host is served at once.
	resp, err := c.Get(onName(other.Server, "other.test") + "/fast")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()

	slow.unblock()
	held.Wait()
	resp, err = c.Get(slow.URL + "/fast")
	g.Expect(err).NotTo(HaveOccurred(), "the slots are free once the slow answers were read and closed")
	_ = resp.Body.Close()
}

func TestHostLimiterSlotIsHeldUntilTheBodyIsClosed(t *testing.T) {
	g := NewWithT(t)
	srv := startHostServer(t)
	c := &http.Client{Transport: &HostLimiter{PerHost: 1, Wait: 50 * time.Millisecond}}

	first, err := c.Get(srv.URL + "/fast")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Get(srv.URL + "/fast")
	g.Expect(IsHostBusy(err)).To(BeTrue(), "the first answer's body is still open: %v", err)

	g.Expect(first.Body.Close()).To(Succeed())
	second, err := c.Get(srv.URL + "/fast")
	g.Expect(err).NotTo(HaveOccurred(), "closing the body frees the slot")

	// Closing the first body again must not free the second's slot.
	_ = first.Body.Close()
	_, err = c.Get(srv.URL + "/fast")
	g.Expect(IsHostBusy(err)).To(BeTrue(), "a body closed twice frees one slot: %v", err)
	_ = second.Body.Close()
}

func TestHostLimiterFreesTheSlotOfAFailedRequest(t *testing.T) {
	g := NewWithT(t)
	// A port nothing listens on: the transport fails to connect.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	dead := "http://" + l.Addr().String()
	g.Expect(l.Close()).To(Succeed())
	c := &http.Client{Transport: &HostLimiter{PerHost: 1, Wait: 50 * time.Millisecond,
		Next: http.DefaultTransport.(*http.Transport).Clone()}}
	for i := range 3 {
		_, err := c.Get(dead + "/token")
		g.Expect(err).To(HaveOccurred())
		g.Expect(IsHostBusy(err)).To(BeFalse(), "request %d: a failed request must free its slot: %v", i, err)
	}
}

func TestHostLimiterStopsWaitingWhenTheContextEnds(t *testing.T) {
	srv := startHostServer(t)
	limiter := &HostLimiter{PerHost: 1, Wait: time.Minute}
	held, err := (&http.Client{Transport: limiter}).Get(srv.URL + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Body.Close() }()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	deadline, cancelDeadline := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelDeadline()
	tests := map[string]struct {
		ctx  context.Context
		want error
	}{
		"cancelled":         {ctx: cancelled, want: context.Canceled},
		"deadline exceeded": {ctx: deadline, want: context.DeadlineExceeded},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(tc.ctx, http.MethodGet, srv.URL+"/fast", nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = limiter.RoundTrip(req)
			if !errors.Is(err, tc.want) || IsHostBusy(err) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if waited := time.Since(start); waited > 10*time.Second {
				t.Fatalf("waited %v: the context's end did not stop the wait", waited)
			}
		})
	}
	if n := srv.answered.Load(); n != 1 {
		t.Fatalf("the server answered %d requests, want only the one holding the slot", n)
	}
}

// TestHostLimiterGivesAHostOneShareOnEveryPort: the allowlist allows a
// host on every port, so a resource naming dev-1.okta.com:444, :445, ...
// must not get one more share of the workers per port.
func TestHostLimiterGivesAHostOneShareOnEveryPort(t *testing.T) {
	g := NewWithT(t)
	ports := []*hostServer{startHostServer(t), startHostServer(t), startHostServer(t)}
	limiter := &HostLimiter{PerHost: 2, Wait: 100 * time.Millisecond, Next: toLoopback()}
	c := &http.Client{Transport: limiter}

	// One request held on each of two ports of 127.0.0.1.
	var held sync.WaitGroup
	for _, srv := range ports[:2] {
		held.Go(func() {
			if resp, err := c.Get(srv.URL + "/block"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
		g.Eventually(srv.inFlight.Load).Should(BeNumerically("==", 1))
	}

	_, err := c.Get(ports[2].URL + "/fast")
	g.Expect(IsHostBusy(err)).To(BeTrue(), "a third port of a host with two in flight: %v", err)
	g.Expect(ports[2].answered.Load()).To(BeZero(), "the refused request was never sent")

	// Another name on the same port is another host.
	resp, err := c.Get(onName(ports[2].Server, "other.test") + "/fast")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()

	for _, srv := range ports {
		srv.unblock()
	}
	held.Wait()
	resp, err = c.Get(ports[2].URL + "/fast")
	g.Expect(err).NotTo(HaveOccurred(), "the host's slots are free again")
	_ = resp.Body.Close()
	g.Expect(trackedHosts(limiter)).To(BeZero())
}

// answering is a RoundTripper that answers at once without a network,
// except for /fail, which fails; it counts what it was sent.
type answering struct{ sent atomic.Int32 }

func (a *answering) RoundTrip(r *http.Request) (*http.Response, error) {
	a.sent.Add(1)
	if r.URL.Path == "/fail" {
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

func trackedHosts(l *HostLimiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hosts)
}

// TestHostLimiterKeysByCanonicalHost: every spelling of one host that
// CanonicalHost folds together shares one host's slots; hosts it tells
// apart do not.
func TestHostLimiterKeysByCanonicalHost(t *testing.T) {
	tests := map[string]struct {
		held, next string
		shared     bool
		host       string
	}{
		"two ports":                   {held: "https://dev-1.okta.com:444/", next: "https://dev-1.okta.com:445/", shared: true, host: "dev-1.okta.com"},
		"the default port, spelt out": {held: "https://dev-1.okta.com/", next: "https://dev-1.okta.com:443/", shared: true, host: "dev-1.okta.com"},
		"http and https":              {held: "http://dev-1.okta.com/", next: "https://dev-1.okta.com/", shared: true, host: "dev-1.okta.com"},
		"case and the root's dot":     {held: "https://DEV-1.Okta.COM./", next: "https://dev-1.okta.com:8443/", shared: true, host: "dev-1.okta.com"},
		"fullwidth spelling":          {held: "https://dev-1．ｏｋｔａ．com/", next: "https://dev-1.okta.com/", shared: true, host: "dev-1.okta.com"},
		"userinfo":                    {held: "https://evil.example@dev-1.okta.com/", next: "https://dev-1.okta.com/", shared: true, host: "dev-1.okta.com"},
		"IPv6 written two ways":       {held: "https://[::1]:1/", next: "https://[0:0::1]:2/", shared: true, host: "::1"},
		"U+0130 is another host":      {held: "https://acme.oktapreview.com/", next: "https://acme.oktaprevİew.com/"},
		"another org":                 {held: "https://dev-1.okta.com/", next: "https://dev-2.okta.com/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			next := &answering{}
			l := &HostLimiter{PerHost: 1, Wait: 10 * time.Millisecond, Next: next}
			c := &http.Client{Transport: l}
			held, err := c.Get(tc.held)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Get(tc.next)
			if !tc.shared {
				if err != nil {
					t.Fatalf("%s and %s are different hosts: %v", tc.held, tc.next, err)
				}
				_ = resp.Body.Close()
			} else {
				busy, ok := errors.AsType[*HostBusyError](err)
				if !ok {
					t.Fatalf("%s while %s is held: %v, want a HostBusyError", tc.next, tc.held, err)
				}
				if busy.Host != tc.host {
					t.Errorf("HostBusyError.Host %q, want %q", busy.Host, tc.host)
				}
			}
			_ = held.Body.Close()
			if n := trackedHosts(l); n != 0 {
				t.Fatalf("%d hosts tracked with nothing in flight", n)
			}
		})
	}
}

// TestHostLimiterLeavesNothingBehind: a host's state is dropped with its
// last request, however that request ended, so 40 hosts named once leave
// no state; the map never outgrows the requests in flight.
func TestHostLimiterLeavesNothingBehind(t *testing.T) {
	const hosts = 40
	next := &answering{}
	l := &HostLimiter{PerHost: 1, Wait: 20 * time.Millisecond, Next: next}
	c := &http.Client{Transport: l}
	at := func(i int, path string) string {
		return "https://org-" + strconv.Itoa(i) + ".okta.com:" + strconv.Itoa(1000+i) + path
	}

	held := make([]*http.Response, hosts)
	for i := range hosts {
		resp, err := c.Get(at(i, "/token"))
		if err != nil {
			t.Fatal(err)
		}
		held[i] = resp
	}
	if n := trackedHosts(l); n != hosts {
		t.Fatalf("%d hosts tracked with %d in flight", n, hosts)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	for i := range hosts {
		wg.Go(func() {
			// Refused after waiting: the host's one slot is held.
			if _, err := c.Get(at(i, "/token")); !IsHostBusy(err) {
				t.Errorf("host %d: %v, want busy", i, err)
			}
			// Given up while waiting.
			req, _ := http.NewRequestWithContext(cancelled, http.MethodGet, at(i, "/token"), nil)
			if _, err := l.RoundTrip(req); !errors.Is(err, context.Canceled) {
				t.Errorf("host %d: %v, want cancelled", i, err)
			}
			_ = held[i].Body.Close()
			// Failed in the transport below.
			if _, err := c.Get(at(i, "/fail")); err == nil || IsHostBusy(err) {
				t.Errorf("host %d: %v, want the transport's failure", i, err)
			}
		})
	}
	wg.Wait()
	if n := trackedHosts(l); n != 0 {
		t.Fatalf("%d hosts still tracked once every request is done", n)
	}
	if sent := next.sent.Load(); sent != 2*hosts {
		t.Fatalf("%d requests sent, want %d: the held and the failed one per host", sent, 2*hosts)
	}
}

// TestHostLimiterRefusesAHostWithNoCanonicalForm: such a request is not
// sent (net/http would dial the raw Unicode) and leaves no state.
func TestHostLimiterRefusesAHostWithNoCanonicalForm(t *testing.T) {
	tests := map[string]string{
		"a zero-width joiner":        "https://dev-1.ok\u200dta.com/",
		"a fullwidth commercial at":  "https://evil.example＠dev-1.okta.com/",
		"an IPv6 zone naming an org": "https://[::1%25x.okta.com]:8443/",
		"an empty label":             "https://dev-1..okta.com/",
	}
	for name, rawURL := range tests {
		t.Run(name, func(t *testing.T) {
			next := &answering{}
			l := &HostLimiter{PerHost: 1, Wait: time.Second, Next: next}
			req, err := http.NewRequest(http.MethodGet, rawURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.RoundTrip(req)
			if _, ok := errors.AsType[*InvalidHostError](err); !ok {
				t.Fatalf("error %v, want an InvalidHostError", err)
			}
			assertPrintable(t, err.Error())
			if next.sent.Load() != 0 || trackedHosts(l) != 0 {
				t.Fatalf("sent %d, %d hosts tracked; want nothing", next.sent.Load(), trackedHosts(l))
			}
		})
	}
}

func TestNoRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		_, _ = io.WriteString(w, `{"access_token":"x"}`)
	}))
	defer target.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := map[string]int{"/301": 301, "/302": 302, "/303": 303, "/307": 307, "/308": 308}[r.URL.Path]
		http.Redirect(w, r, target.URL+"/oauth2/v1/token", code)
	}))
	defer redirecting.Close()

	// The setup can fail: a client that follows redirects reaches the target.
	resp, err := http.Post(redirecting.URL+"/307", "application/x-www-form-urlencoded", strings.NewReader("client_secret=s"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if elsewhere.Load() != 1 {
		t.Fatalf("a following client reached the target %d times, want 1", elsewhere.Load())
	}
	elsewhere.Store(0)

	c := &http.Client{CheckRedirect: NoRedirects}
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, err := http.NewRequest(method, redirecting.URL+"/"+strconv.Itoa(code), strings.NewReader("client_secret=s"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %d: %v", method, code, err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != code {
				t.Errorf("%s %d: status %d, want the redirect itself", method, code, resp.StatusCode)
			}
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

// issuerServer answers both metadata documents with what doc makes of its
// own URL (nil: HTTP 500) and counts the requests it gets.
type issuerServer struct {
	*httptest.Server
	mu       sync.Mutex
	doc      func(self string) map[string]string
	requests atomic.Int32
}

func startIssuer(t *testing.T, doc func(self string) map[string]string) *issuerServer {
	t.Helper()
	s := &issuerServer{doc: doc}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		doc := s.doc
		s.mu.Unlock()
		if doc == nil || !strings.HasPrefix(r.URL.Path, "/.well-known/") {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc("http://" + r.Host))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *issuerServer) set(doc func(self string) map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc = doc
}

// onHost is a metadata document whose endpoints are all on the issuer's
// host, with overrides.
func onHost(overrides map[string]string) func(self string) map[string]string {
	return func(self string) map[string]string {
		doc := map[string]string{
			"issuer":                 self,
			"authorization_endpoint": self + "/oauth2/v1/authorize",
			"token_endpoint":         self + "/oauth2/v1/token",
			"revocation_endpoint":    self + "/oauth2/v1/revoke",
			"jwks_uri":               self + "/oauth2/v1/keys",
		}
		for k, v := range overrides {
			doc[k] = strings.ReplaceAll(v, "{self}", self)
		}
		return doc
	}
}

func TestDiscoverKeepsEveryEndpointOnTheIssuersHost(t *testing.T) {
	tests := map[string]struct {
		field, value string
	}{
		"authorization endpoint on another host": {"authorization_endpoint", "https://evil.example/authorize"},
		"token endpoint at a metadata service":   {"token_endpoint", "http://169.254.169.254/latest/meta-data/"},
		"token endpoint on another port":         {"token_endpoint", "http://127.0.0.1:1/oauth2/v1/token"},
		"token endpoint under another name":      {"token_endpoint", "{self}.evil.example/oauth2/v1/token"},
		"revocation endpoint on another host":    {"revocation_endpoint", "http://10.0.0.1/oauth2/v1/revoke"},
		"jwks on another host":                   {"jwks_uri", "https://evil.example/keys"},
		"jwks over another scheme":               {"jwks_uri", "https://" + "{host}/oauth2/v1/keys"},
		"a user and password in the token URL":   {"token_endpoint", "http://user:pass@{host}/oauth2/v1/token"},
		"a relative token endpoint":              {"token_endpoint", "/oauth2/v1/token"},
		"an endpoint that is not a URL":          {"revocation_endpoint", "http://%zz"},
		"control characters in an endpoint":      {"token_endpoint", "https://evil.example/\x1b[31m\u202e"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startIssuer(t, func(self string) map[string]string {
				v := strings.ReplaceAll(tc.value, "{host}", strings.TrimPrefix(self, "http://"))
				return onHost(map[string]string{tc.field: v})(self)
			})
			d := &Discoverer{HTTP: &http.Client{CheckRedirect: NoRedirects}, Clock: clocktesting.NewFakeClock(time.Now()),
				TTL: time.Minute, AllowInsecure: true, Domains: mustDomains(t, "127.0.0.1")}
			ep, err := d.Discover(context.Background(), srv.URL, "")
			if err == nil {
				t.Fatalf("accepted %+v", ep)
			}
			if ep != (Endpoints{}) {
				t.Fatalf("endpoints returned with the error: %+v", ep)
			}
			for _, want := range []string{tc.field, "is not on the issuer's own host"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			assertPrintable(t, err.Error())
			if ClassOf(err) != Transient {
				t.Errorf("class %s, want Transient", ClassOf(err))
			}
		})
	}
	// The same checks pass a document that keeps to its host, so each case
	// above fails for its one endpoint.
	srv := startIssuer(t, onHost(nil))
	d := &Discoverer{HTTP: http.DefaultClient, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Minute,
		AllowInsecure: true, Domains: mustDomains(t, "127.0.0.1")}
	if _, err := d.Discover(context.Background(), srv.URL, ""); err != nil {
		t.Fatalf("a document on the issuer's host: %v", err)
	}
}

func TestDiscoverChecksTheAllowlistBeforeAnyRequest(t *testing.T) {
	srv := startIssuer(t, onHost(nil))
	tests := map[string]struct {
		d       *Discoverer
		wantErr string
	}{
		"a host not on the allowlist": {
			d:       &Discoverer{AllowInsecure: true, Domains: mustDomains(t, DefaultDomains...)},
			wantErr: "--okta-domains",
		},
		"http without --allow-insecure-issuers": {
			d:       &Discoverer{Domains: mustDomains(t, "127.0.0.1")},
			wantErr: "--allow-insecure-issuers",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.d.HTTP, tc.d.Clock, tc.d.TTL = http.DefaultClient, clocktesting.NewFakeClock(time.Now()), time.Minute
			for _, asID := range []string{"", "default"} {
				_, err := tc.d.Discover(context.Background(), srv.URL, asID)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
			}
			if n := srv.requests.Load(); n != 0 {
				t.Fatalf("the refused issuer got %d requests", n)
			}
		})
	}
}

func TestDiscoverRemembersAFailureForFailureTTL(t *testing.T) {
	tests := map[string]struct {
		failureTTL, window time.Duration
	}{
		"the default, 30s": {failureTTL: 0, window: 30 * time.Second},
		"configured":       {failureTTL: 5 * time.Second, window: 5 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			broken := startIssuer(t, nil)
			healthy := startIssuer(t, onHost(nil))
			clk := clocktesting.NewFakeClock(time.Now())
			d := &Discoverer{HTTP: http.DefaultClient, Clock: clk, TTL: time.Hour, AllowInsecure: true,
				Domains: mustDomains(t, "127.0.0.1"), FailureTTL: tc.failureTTL}

			_, first := d.Discover(context.Background(), broken.URL, "")
			g.Expect(first).To(HaveOccurred())
			g.Expect(ClassOf(first)).To(Equal(Transient))
			g.Expect(first.Error()).To(ContainSubstring("HTTP 500"))
			g.Expect(broken.requests.Load()).To(BeNumerically("==", 2), "both documents asked once")

			// A dozen resources naming the broken issuer within the window
			// ask it nothing more, and get the same answer.
			for range 12 {
				_, err := d.Discover(context.Background(), broken.URL, "")
				g.Expect(err).To(MatchError(first.Error()))
			}
			clk.Step(tc.window - time.Second)
			_, err := d.Discover(context.Background(), broken.URL, "")
			g.Expect(err).To(HaveOccurred())
			g.Expect(broken.requests.Load()).To(BeNumerically("==", 2))

			// Another issuer is not held back by this one's failure.
			_, err = d.Discover(context.Background(), healthy.URL, "")
			g.Expect(err).NotTo(HaveOccurred())

			// After the window the issuer is asked again, and once it answers
			// its failure is forgotten.
			broken.set(onHost(nil))
			clk.Step(time.Second)
			_, err = d.Discover(context.Background(), broken.URL, "")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(broken.requests.Load()).To(BeNumerically("==", 3))
		})
	}
}

func TestDiscoverDoesNotRememberABusyHost(t *testing.T) {
	g := NewWithT(t)
	hold := make(chan struct{})
	var holding atomic.Bool
	var docs atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			holding.Store(true)
			<-hold
			return
		}
		docs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(onHost(nil)("http://" + r.Host))
	}))
	defer srv.Close()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hold) }) }
	// Runs before srv.Close, which waits for the held request, also when
	// an assertion ends the test early.
	defer release()
	c := &http.Client{Transport: &HostLimiter{PerHost: 1, Wait: 20 * time.Millisecond}}
	d := &Discoverer{HTTP: c, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Hour, AllowInsecure: true,
		Domains: mustDomains(t, "127.0.0.1")}

	// Another request holds the host's one slot.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := c.Get(srv.URL + "/hold"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	g.Eventually(holding.Load).Should(BeTrue())

	_, err := d.Discover(context.Background(), srv.URL, "")
	g.Expect(ClassOf(err)).To(Equal(Busy), "error %v", err)
	g.Expect(docs.Load()).To(BeZero(), "nothing was sent")

	release()
	<-done
	ep, err := d.Discover(context.Background(), srv.URL, "")
	g.Expect(err).NotTo(HaveOccurred(), "a busy host is asked again as soon as it has a slot")
	g.Expect(ep.TokenEndpoint).To(Equal(srv.URL + "/oauth2/v1/token"))
}

// TestDiscoverForgetsACallerWhoGaveUp: a caller whose own context ended (a
// browser closed during a callback, the operator stopping) says nothing of
// the issuer, and must not make every other caller fail for FailureTTL.
func TestDiscoverForgetsACallerWhoGaveUp(t *testing.T) {
	g := NewWithT(t)
	var docs atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		docs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(onHost(nil)("http://" + r.Host))
	}))
	defer srv.Close()
	d := &Discoverer{HTTP: http.DefaultClient, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Hour,
		AllowInsecure: true, Domains: mustDomains(t, "127.0.0.1")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Discover(ctx, srv.URL, "")
	g.Expect(err).To(HaveOccurred())
	ep, err := d.Discover(context.Background(), srv.URL, "")
	g.Expect(err).NotTo(HaveOccurred(), "the next caller asks the issuer")
	g.Expect(ep.TokenEndpoint).To(Equal(srv.URL + "/oauth2/v1/token"))
	g.Expect(docs.Load()).To(BeNumerically(">=", 1))
}

func TestDiscoverHasItsOwnTimeout(t *testing.T) {
	g := NewWithT(t)
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	// Neither the HTTP client nor the caller's context would end the wait
	// soon: only Discoverer.Timeout can.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := &Discoverer{HTTP: &http.Client{}, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Hour, AllowInsecure: true,
		Domains: mustDomains(t, "127.0.0.1"), Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err := d.Discover(ctx, srv.URL, "")
	g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second), "Discoverer.Timeout ended the wait")
	g.Expect(errors.Is(err, context.DeadlineExceeded)).To(BeTrue(), "error %v", err)
	g.Expect(ClassOf(err)).To(Equal(Transient))
}

// signInForIDToken signs a person in at the dev server through its login
// form with a fresh nonce and exchanges the code: the ID token and the
// nonce it must carry.
func signInForIDToken(t *testing.T, env *devEnv, username, password string) (raw string, login PendingLogin) {
	t.Helper()
	login, err := NewPendingLogin(env.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	authURL := AuthCodeURL(env.ep, webClientID, webRedirect, []string{"openid", "profile", "email", "offline_access", grantedScope}, login)
	callback, err := oktadev.Authorize(authURL, username, password)
	if err != nil {
		t.Fatal(err)
	}
	if callback.Query().Get("state") != login.State {
		t.Fatalf("the redirect carries another state")
	}
	tok, err := env.client.ExchangeCode(context.Background(), env.ep, ClientSecret{ID: webClientID, Secret: webSecret},
		webRedirect, callback.Query().Get("code"), login.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if tok.IDToken == "" {
		t.Fatal("the token response carried no ID token")
	}
	return tok.IDToken, login
}

// tamper changes one segment of a JWS: 0 header, 1 payload, 2 signature.
func tamper(raw string, segment int, change func([]byte) []byte) string {
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[segment])
	if err != nil {
		panic(err)
	}
	parts[segment] = base64.RawURLEncoding.EncodeToString(change(b))
	return strings.Join(parts, ".")
}

func TestVerifyIDToken(t *testing.T) {
	env := newDevEnv(t)
	const user, password = "alice@example.com", "alice's password, long enough"
	if err := env.srv.AddUser(oktadev.User{Username: user, Password: password, Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	raw, login := signInForIDToken(t, env, user, password)
	_, other := signInForIDToken(t, env, user, password)

	flipSignature := tamper(raw, 2, func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b })
	forgedSubject := tamper(raw, 1, func(b []byte) []byte {
		return []byte(strings.ReplaceAll(string(b), user, "admin@example.com"))
	})
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + strings.Split(raw, ".")[1] + "."
	later := &Client{HTTP: env.client.HTTP, Clock: clocktesting.NewFakeClock(time.Now().Add(2 * time.Hour))}
	otherIssuer := env.ep
	otherIssuer.Issuer = env.srv.Issuer() + "/oauth2/default"
	noKeys := env.ep
	noKeys.JWKSURI = ""

	tests := map[string]struct {
		client   *Client
		ep       Endpoints
		clientID string
		raw      string
		nonce    string
		wantErr  string
	}{
		"the sign-in's own nonce":             {raw: raw, nonce: login.Nonce},
		"a link made before links had nonces": {raw: raw, nonce: ""},
		"another sign-in's nonce":             {raw: raw, nonce: other.Nonce, wantErr: "its nonce does not match"},
		"another app's client id":             {raw: raw, nonce: login.Nonce, clientID: "0oaanotherapp", wantErr: `does not verify: oidc: expected audience "0oaanotherapp"`},
		"a flipped signature byte":            {raw: flipSignature, nonce: login.Nonce, wantErr: "does not verify: failed to verify signature"},
		"a subject changed after signing":     {raw: forgedSubject, nonce: login.Nonce, wantErr: "does not verify: failed to verify signature"},
		"an unsigned token":                   {raw: unsigned, nonce: login.Nonce, wantErr: `unexpected signature algorithm "none"`},
		"another issuer":                      {raw: raw, nonce: login.Nonce, ep: otherIssuer, wantErr: "issued by a different provider"},
		"expired":                             {raw: raw, nonce: login.Nonce, client: later, wantErr: "does not verify: oidc: token is expired"},
		"no ID token":                         {raw: "", nonce: login.Nonce, wantErr: "carried no ID token"},
		"no published keys":                   {raw: raw, nonce: login.Nonce, ep: noKeys, wantErr: "publishes no keys"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, ep, clientID := env.client, env.ep, webClientID
			if tc.client != nil {
				c = tc.client
			}
			if tc.ep != (Endpoints{}) {
				ep = tc.ep
			}
			if tc.clientID != "" {
				clientID = tc.clientID
			}
			id, err := c.VerifyIDToken(context.Background(), ep, clientID, tc.raw, tc.nonce)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := Identity{Subject: oktadev.UserID(user), Email: user, Username: user}
				if id != want || id.Name() != user {
					t.Fatalf("identity %+v (%q), want %+v", id, id.Name(), want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
			if id != (Identity{}) {
				t.Fatalf("an identity with the error: %+v", id)
			}
			assertPrintable(t, err.Error())
			for _, secret := range []string{raw, strings.Split(raw, ".")[2], login.Nonce, other.Nonce} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error %q carries the token or a nonce", err)
				}
			}
		})
	}
}
