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

// Hostile hosts against the canonical form and the allowlist: Unicode that
// folds to ASCII or does not, IDNA's dots, ports, userinfo, IP addresses in
// every notation, DNS's limits. The canonical form is checked against what
// net/http itself dials (dialledBy), not against what we believe it dials:
// that is the property the allowlist's safety rests on, and it would catch
// net/http and golang.org/x/net/idna drifting apart (their IDNA tables are
// separate copies).

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

var errDialled = errors.New("dialled: stop here")

// dialledBy returns the host net/http dials for rawURL, without port, and
// whether it dialled at all: an http.Transport whose dialler records the
// address and fails.
func dialledBy(t testing.TB, rawURL string) (string, bool) {
	t.Helper()
	addrs := make(chan string, 1)
	tr := &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		select {
		case addrs <- addr:
		default:
		}
		return nil, errDialled
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return "", false
	}
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatalf("%q: the recording transport answered", rawURL)
	}
	select {
	case addr := <-addrs:
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("%q: net/http dialled %q: %v", rawURL, addr, err)
		}
		return host, true
	default:
		return "", false
	}
}

// sameDial says whether the host net/http dialled is canonical, the
// canonical form: the same name to DNS (case and the root's dot aside), or
// the same IP address.
func sameDial(dialled, canonical string) bool {
	if a, err := netip.ParseAddr(dialled); err == nil {
		return a.String() == canonical
	}
	return strings.TrimSuffix(strings.ToLower(dialled), ".") == canonical
}

// labels joins n labels of length each, for names at DNS's limits.
func labels(n, length int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strings.Repeat(string(rune('a'+i)), length)
	}
	return strings.Join(parts, ".")
}

// canonicalHostCases are the tricky inputs, shared by the table test and
// the fuzz target's seeds. want is empty when CanonicalHost must refuse
// the input with an error saying wantErr.
var canonicalHostCases = map[string]struct {
	in      string
	want    string
	wantErr string
}{
	// Plain ASCII.
	"an org":                            {in: "https://dev-1.okta.com", want: "dev-1.okta.com"},
	"mixed case":                        {in: "https://DEV-1.Okta.COM/oauth2/default", want: "dev-1.okta.com"},
	"the root's trailing dot":           {in: "https://dev-1.okta.com./", want: "dev-1.okta.com"},
	"two trailing dots":                 {in: "https://dev-1.okta.com../", wantErr: "empty label"},
	"a port":                            {in: "https://dev-1.okta.com:8443", want: "dev-1.okta.com"},
	"an empty port":                     {in: "https://dev-1.okta.com:/", want: "dev-1.okta.com"},
	"a bare host":                       {in: "dev-1.okta.com", want: "dev-1.okta.com"},
	"a bare host and port":              {in: "DEV-1.okta.com:8443", want: "dev-1.okta.com"},
	"a bare host with a path":           {in: "dev-1.okta.com/evil", wantErr: `'/' is not a letter`},
	"a bare host with a word for port":  {in: "dev-1.okta.com:https", wantErr: "port is not a number"},
	"localhost, shouted":                {in: "http://LOCALHOST.:8080", want: "localhost"},
	"ASCII punycode is dialled as is":   {in: "https://xn--zz.okta.com", want: "xn--zz.okta.com"},
	"userinfo that looks like a host":   {in: "https://evil.com@dev-1.okta.com", want: "dev-1.okta.com"},
	"a host that looks like userinfo":   {in: "https://dev-1.okta.com@evil.com", want: "evil.com"},
	"a user, a password and a port":     {in: "https://dev-1.okta.com:x@evil.com:444/", want: "evil.com"},
	"an underscore":                     {in: "https://dev_1.okta.com", wantErr: `'_' is not a letter`},
	"a leading hyphen":                  {in: "https://-dev.okta.com", wantErr: "starts or ends in a hyphen"},
	"an empty label":                    {in: "https://dev-1..okta.com", wantErr: "empty label"},
	"an empty first label":              {in: ".okta.com", wantErr: "empty label"},
	"no host":                           {in: "https://", wantErr: "not an absolute URL with a host"},
	"only a port":                       {in: "https://:443", wantErr: "there is no host"},
	"nothing":                           {in: "", wantErr: "there is no host"},
	"a name of exactly 253 bytes":       {in: "https://" + labels(3, 63) + "." + strings.Repeat("z", 61), want: labels(3, 63) + "." + strings.Repeat("z", 61)},
	"a name over 253 bytes":             {in: "https://" + labels(4, 63), wantErr: "255 bytes long, more than DNS's 253"},
	"a label over 63 bytes":             {in: "https://" + strings.Repeat("a", 64) + ".okta.com", wantErr: "64 bytes long, more than DNS's 63"},
	"a Unicode label too long as ASCII": {in: "https://" + strings.Repeat("é", 60) + ".okta.com", wantErr: "more than DNS's 63"},

	// Unicode: net/http dials idna.Lookup.ToASCII of it.
	"dotted capital I (U+0130)":          {in: "https://acme.oktaprevİew.com", want: "acme.xn--oktapreview-dmg.com"},
	"U+0130, shouted":                    {in: "https://ACME.OKTAPREVİEW.COM", want: "acme.xn--oktapreview-dmg.com"},
	"U+0130, percent-encoded":            {in: "https://acme.oktaprev%C4%B0ew.com", want: "acme.xn--oktapreview-dmg.com"},
	"dotless i (U+0131)":                 {in: "https://acme.oktaprevıew.com", want: "acme.xn--oktaprevew-4ub.com"},
	"KELVIN SIGN (U+212A) folds to k":    {in: "https://dev-1.o\u212Ata.com", want: "dev-1.okta.com"},
	"long s (U+017F) folds to s":         {in: "https://ſſo.example.com", want: "sso.example.com"},
	"sharp s stays (non-transitional)":   {in: "https://ß.okta.com", want: "xn--zca.okta.com"},
	"fullwidth letters fold":             {in: "https://ｄｅｖ-1.ＯＫＴＡ.ｃｏｍ", want: "dev-1.okta.com"},
	"fullwidth full stops (U+FF0E)":      {in: "https://dev-1．okta．com", want: "dev-1.okta.com"},
	"ideographic full stops (U+3002)":    {in: "https://dev-1。okta。com", want: "dev-1.okta.com"},
	"halfwidth ideographic (U+FF61)":     {in: "https://dev-1｡okta｡com", want: "dev-1.okta.com"},
	"an ideographic root dot":            {in: "https://dev-1.okta.com。/", want: "dev-1.okta.com"},
	"an ideographic dot before evil":     {in: "https://dev-1.okta.com。evil.example", want: "dev-1.okta.com.evil.example"},
	"a soft hyphen is ignored":           {in: "https://dev-1.ok\u00adta.com", want: "dev-1.okta.com"},
	"a zero-width joiner":                {in: "https://dev-1.ok\u200dta.com", wantErr: "IDNA"},
	"a right-to-left override":           {in: "https://dev-1.okta.com\u202e", wantErr: "IDNA"},
	"a fullwidth colon and port":         {in: "https://dev-1.okta.com：8443", wantErr: "IDNA"},
	"a fullwidth commercial at":          {in: "https://evil.example＠dev-1.okta.com", wantErr: "IDNA"},
	"bad punycode among Unicode":         {in: "https://xn--zz.oktá.com", wantErr: "IDNA"},
	"invalid UTF-8":                      {in: "https://dev-1.okta.com%FF", wantErr: "not valid UTF-8"},
	"a Unicode label with a hyphen pair": {in: "https://ab--é.okta.com", wantErr: "IDNA"},

	// IP addresses.
	"IPv4":                           {in: "https://127.0.0.1:9443", want: "127.0.0.1"},
	"IPv6":                           {in: "https://[::1]:8080", want: "::1"},
	"IPv6 written out":               {in: "https://[0:0:0:0:0:0:0:1]", want: "::1"},
	"IPv4-mapped IPv6 stays IPv6":    {in: "https://[::FFFF:127.0.0.1]", want: "::ffff:127.0.0.1"},
	"a bare IPv6 address":            {in: "::1", want: "::1"},
	"a bare bracketed IPv6 and port": {in: "[::1]:8080", want: "::1"},
	"a bare bracketed name":          {in: "[dev-1.okta.com]", wantErr: "not an IPv6 address"},
	"a bare bracketed IPv4":          {in: "[127.0.0.1]", wantErr: "only an IPv6 address goes in brackets"},
	"an IPv6 zone naming an org":     {in: "https://[::1%25x.okta.com]:8443", wantErr: "IPv6 zone"},
	"a link-local zone":              {in: "https://[fe80::1%25eth0]", wantErr: "IPv6 zone"},
	"fullwidth digits are an IP":     {in: "https://１２７.０.０.１", want: "127.0.0.1"},
	"an IP with the root's dot":      {in: "https://127.0.0.1.", wantErr: "ends in a number"},
	"IPv4 as one number":             {in: "https://2130706433", wantErr: "ends in a number"},
	"IPv4 in hex":                    {in: "https://0x7f.1", wantErr: "ends in a number"},
	"IPv4 with leading zeros":        {in: "https://127.000.000.001", wantErr: "ends in a number"},
}

func TestCanonicalHost(t *testing.T) {
	for name, tc := range canonicalHostCases {
		t.Run(name, func(t *testing.T) {
			got, err := CanonicalHost(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("CanonicalHost(%q) = %q, %v; want an error saying %q", tc.in, got, err, tc.wantErr)
				}
				if _, ok := errors.AsType[*InvalidHostError](err); !ok {
					t.Errorf("error %T, want *InvalidHostError", err)
				}
				assertPrintable(t, err.Error())
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CanonicalHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			// The decision for each input above is "what net/http dials":
			// hold it to that.
			if strings.Contains(tc.in, "://") {
				dialled, ok := dialledBy(t, tc.in)
				if !ok || !sameDial(dialled, got) {
					t.Fatalf("CanonicalHost(%q) = %q, but net/http dials %q (dialled: %v)", tc.in, got, dialled, ok)
				}
			}
		})
	}
}

// FuzzCanonicalHostIsWhatNetHTTPDials: whatever CanonicalHost accepts is
// ASCII and is the host net/http dials. `go test` runs the seeds;
// `go test -fuzz=FuzzCanonicalHost ./internal/okta/` searches further.
func FuzzCanonicalHostIsWhatNetHTTPDials(f *testing.F) {
	for _, tc := range canonicalHostCases {
		if strings.Contains(tc.in, "://") {
			f.Add(tc.in)
		}
	}
	f.Fuzz(func(t *testing.T, rawURL string) {
		got, err := CanonicalHost(rawURL)
		if err != nil || !strings.HasPrefix(rawURL, "https://") {
			return
		}
		if !isASCII(got) || got != asciiLower(got) {
			t.Fatalf("CanonicalHost(%q) = %q: not lower-case ASCII", rawURL, got)
		}
		if dialled, ok := dialledBy(t, rawURL); ok && !sameDial(dialled, got) {
			t.Fatalf("CanonicalHost(%q) = %q, but net/http dials %q", rawURL, got, dialled)
		}
	})
}

func TestParseDomainsCanonicalForm(t *testing.T) {
	tests := map[string]struct {
		patterns []string
		want     string
		wantErr  string
	}{
		"a Unicode wildcard pattern":        {patterns: []string{"*.bücher.example"}, want: "*.xn--bcher-kva.example"},
		"U+0130 is converted, not lowered":  {patterns: []string{"*.oktaprevİew.com"}, want: "*.xn--oktapreview-dmg.com"},
		"long s folds as it is dialled":     {patterns: []string{"ſſo.example.com"}, want: "sso.example.com"},
		"fullwidth letters and dots":        {patterns: []string{"*.ＯＫＴＡ．com"}, want: "*.okta.com"},
		"IPv6 written out":                  {patterns: []string{"0:0:0:0:0:0:0:1"}, want: "::1"},
		"a zero-width joiner":               {patterns: []string{"ok\u200dta.com"}, wantErr: "IDNA"},
		"a fullwidth dot after the star":    {patterns: []string{"*．okta.com"}, wantErr: `"*．okta.com" is not a host name`},
		"an ideographic trailing dot":       {patterns: []string{"okta.com。"}, wantErr: "ends in a dot"},
		"a wildcard over an IP address":     {patterns: []string{"*.0.0.1"}, wantErr: "ends in a number"},
		"an IPv6 zone":                      {patterns: []string{"fe80::1%eth0"}, wantErr: "IPv6 zone"},
		"a bracketed IPv6 address":          {patterns: []string{"[::1]"}, wantErr: `"[::1]" is not a host name`},
		"a label over 63 bytes":             {patterns: []string{"*." + strings.Repeat("a", 64) + ".com"}, wantErr: "more than DNS's 63"},
		"the error shows the pattern as is": {patterns: []string{"*.OKTAPREVİEW.com\u202e"}, wantErr: `"*.oktaprevİew.com" is not`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := ParseDomains(tc.patterns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				assertPrintable(t, err.Error())
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

// TestCheckURLComparesWhatIsDialled: each host is allowed exactly when the
// host net/http dials for it is on the list, and a refusal shows that host.
func TestCheckURLComparesWhatIsDialled(t *testing.T) {
	allow := mustDomains(t, "*.okta.com", "*.oktapreview.com", "ſſo.example.com", "127.0.0.1", "::1")
	tests := map[string]struct {
		url      string
		insecure bool
		// domains replaces the allowlist above; noAllowlist checks with none.
		domains     *Domains
		noAllowlist bool
		// wantErr is empty when the URL is accepted.
		wantErr []string
		// wantInvalid: the host has no canonical form.
		wantInvalid bool
	}{
		"U+0130 is another domain": {url: "https://acme.oktaprevİew.com",
			wantErr: []string{"acme.oktaprevİew.com is dialled as acme.xn--oktapreview-dmg.com, which is not one of the Okta domains",
				"(*.okta.com,*.oktapreview.com,sso.example.com,127.0.0.1,::1)", "--okta-domains"}},
		"U+0130 percent-encoded": {url: "https://acme.oktaprev%C4%B0ew.com/oauth2/default",
			wantErr: []string{"acme.oktaprevİew.com is dialled as acme.xn--oktapreview-dmg.com, which is not one of"}},
		"U+0130 shouted": {url: "https://ACME.OKTAPREVİEW.COM",
			wantErr: []string{"ACME.OKTAPREVİEW.COM is dialled as acme.xn--oktapreview-dmg.com, which"}},
		"dotless i":                        {url: "https://acme.oktaprevıew.com", wantErr: []string{"is dialled as acme.xn--oktaprevew-4ub.com"}},
		"KELVIN SIGN dials okta.com":       {url: "https://dev-1.o\u212Ata.com"},
		"long s dials sso.example.com":     {url: "https://ſſo.example.com"},
		"sharp s is a label of okta.com":   {url: "https://ß.okta.com"},
		"fullwidth full stops":             {url: "https://dev-1．okta．com"},
		"ideographic full stops":           {url: "https://dev-1。okta。com"},
		"an ideographic dot before evil":   {url: "https://dev-1.okta.com。evil.example", wantErr: []string{"is dialled as dev-1.okta.com.evil.example, which is not one of"}},
		"mixed case and the root's dot":    {url: "https://DEV-1.Okta.COM.:8443"},
		"userinfo that looks like a host":  {url: "https://evil.example@dev-1.okta.com"},
		"a host that looks like userinfo":  {url: "https://dev-1.okta.com@evil.example", wantErr: []string{"evil.example is not one of"}},
		"ASCII is shown as it is compared": {url: "https://EVIL.Example.", wantErr: []string{"evil.example is not one of"}},
		"a fullwidth commercial at": {url: "https://evil.example＠dev-1.okta.com", wantInvalid: true,
			wantErr: []string{"evil.example＠dev-1.okta.com is not one of the Okta domains", "IDNA", "U+FF20"}},
		"a zero-width joiner": {url: "https://dev-1.ok\u200dta.com", wantInvalid: true, wantErr: []string{"IDNA"}},
		"an IPv6 zone naming an org": {url: "https://[::1%25x.okta.com]:8443", wantInvalid: true,
			wantErr: []string{"IPv6 zone"}},
		"IPv4-mapped loopback is not listed": {url: "https://[::ffff:127.0.0.1]", wantErr: []string{"::ffff:127.0.0.1 is not one of"}},
		"an IP never matches a wildcard":     {url: "https://[::1]", domains: mustDomains(t, "*.okta.com"), wantErr: []string{"::1 is not one of"}},
		"fullwidth digits dial 127.0.0.1":    {url: "http://１２７.０.０.１:8080", insecure: true},
		"localhost, shouted, is loopback":    {url: "http://LOCALHOST:8080", insecure: true, domains: mustDomains(t, "localhost")},
		"IPv6 written out":                   {url: "https://[0:0::1]:9443"},
		"a name over 253 bytes": {url: "https://" + labels(4, 63) + ".okta.com", wantInvalid: true,
			wantErr: []string{"more than DNS's 253"}},
		"no allowlist, a valid host":    {url: "https://anything.example", noAllowlist: true},
		"no allowlist, an invalid host": {url: "https://dev-1.ok\u200dta.com", noAllowlist: true, wantErr: []string{"IDNA"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := allow
			switch {
			case tc.noAllowlist:
				d = nil
			case tc.domains != nil:
				d = tc.domains
			}
			err := d.CheckURL(tc.url, tc.insecure)
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
			_, invalid := errors.AsType[*InvalidHostError](err)
			if invalid != (tc.wantInvalid || d == nil) {
				t.Errorf("error %T wraps an InvalidHostError: %v, want %v", err, invalid, tc.wantInvalid)
			}
			if d != nil {
				notAllowed, ok := errors.AsType[*DomainNotAllowedError](err)
				if !ok {
					t.Fatalf("error %T, want *DomainNotAllowedError", err)
				}
				if !tc.wantInvalid && !isASCII(notAllowed.Host) {
					t.Errorf("Host %q is not the ASCII form", notAllowed.Host)
				}
			}
		})
	}
}
