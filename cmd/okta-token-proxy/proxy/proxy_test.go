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

package proxy

// The proxy against the Okta dev server, which checks Bearer and DPoP-bound
// tokens on /api/v1/logs as Okta does (proofs with ath, a resource-server
// nonce, replayed jtis refused), pages with Link headers and rate-limits.
// Tokens come from the dev server's token endpoint, for a service app, the
// way the operator gets them.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"k8s.io/utils/clock"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/config/samples/oktalogs/systemlog"
	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// upstream is a dev server with a service app, behind a recorder of what
// reaches its System Log API.
type upstream struct {
	srv *oktadev.Server
	key *rsa.PrivateKey
	mu  sync.Mutex
	// seen are the headers of every /api/v1/ request the server received.
	seen []http.Header
}

var serviceKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func startUpstream(t *testing.T, cfg oktadev.Config) *upstream {
	t.Helper()
	u := &upstream{key: serviceKey()}
	u.srv = oktadev.NewTestServer(t, cfg, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				u.mu.Lock()
				u.seen = append(u.seen, r.Header.Clone())
				u.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &u.key.PublicKey, KeyID: "k1", Use: "sig"}}}
	for _, c := range []oktadev.ServiceClient{
		{ID: "0oaproxybearer", JWKS: jwks, GrantedScopes: []string{"okta.logs.read"}},
		{ID: "0oaproxydpop", JWKS: jwks, GrantedScopes: []string{"okta.logs.read"}, RequireDPoP: true},
	} {
		testenv.Must(t, u.srv.AddServiceClient(c))
	}
	return u
}

func (u *upstream) requests() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// token gets a token for the service app, bound to a fresh DPoP key when
// dpop, and writes it into a directory laid out like the token Secret.
func (u *upstream) token(t *testing.T, dpop bool, dir string) string {
	t.Helper()
	client := &okta.Client{Clock: clock.RealClock{}, HTTP: &http.Client{
		Transport: &okta.DPoPTransport{Nonces: &okta.DPoPNonces{}, Clock: clock.RealClock{}}}}
	der, err := x509.MarshalPKCS8PrivateKey(u.key)
	testenv.Must(t, err)
	pk, err := okta.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "k1")
	testenv.Must(t, err)
	ep := okta.Endpoints{Issuer: u.srv.Issuer(), TokenEndpoint: u.srv.Issuer() + "/oauth2/v1/token"}
	ctx, id := context.Background(), "0oaproxybearer"
	files := map[string]string{}
	if dpop {
		key, err := okta.NewDPoPKey()
		testenv.Must(t, err)
		jwk, err := key.PrivateJWK()
		testenv.Must(t, err)
		ctx, id, files[v1.TokenSecretDPoPKey] = okta.WithDPoPKey(ctx, key), "0oaproxydpop", string(jwk)
	}
	tok, err := client.ClientCredentials(ctx, ep, id, pk, []string{"okta.logs.read"})
	testenv.Must(t, err)
	files[v1.TokenSecretAccessToken] = tok.AccessToken
	files[v1.TokenSecretTokenType] = tok.TokenType
	files[v1.TokenSecretExpiry] = tok.Expiry.UTC().Format(time.RFC3339)
	for k, v := range files {
		testenv.Must(t, os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600))
	}
	return tok.AccessToken
}

// startProxy serves a proxy for u on loopback and returns its URL.
func startProxy(t *testing.T, u *upstream, dir string, mutate func(*Config)) (string, *logbuffer.Buffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	logs := &logbuffer.Buffer{}
	cfg := Config{Upstream: u.srv.Issuer(), AllowInsecureUpstream: true, Public: "http://" + l.Addr().String(),
		Token: TokenDir(dir), Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	testenv.Must(t, err)
	s := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return cfg.Public, logs
}

// TestProxyReadsTheSystemLog: an application that holds no token reads
// every page of the System Log through the proxy, with a Bearer token and
// with a DPoP-bound one (a proof per request, the resource server's nonce
// answered once); Okta's rate-limit headers come back unchanged and every
// next link points at the proxy.
func TestProxyReadsTheSystemLog(t *testing.T) {
	for _, dpop := range []bool{false, true} {
		t.Run(fmt.Sprintf("DPoP %v", dpop), func(t *testing.T) {
			u := startUpstream(t, oktadev.Config{})
			dir := t.TempDir()
			token := u.token(t, dpop, dir)
			proxyURL, logs := startProxy(t, u, dir, nil)

			resp, err := http.Get(proxyURL + "/api/v1/logs?limit=5")
			testenv.Must(t, err)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("%s did not come back", h)
				}
			}
			if link := resp.Header.Get("Link"); !strings.Contains(link, "<"+proxyURL+"/api/v1/logs") ||
				strings.Contains(link, u.srv.Issuer()) {
				t.Errorf("Link %q does not point at the proxy", link)
			}

			app, err := systemlog.New(systemlog.Config{OktaDomain: proxyURL, Token: systemlog.NoToken{}, AllowHTTP: true})
			testenv.Must(t, err)
			events := 0
			testenv.Must(t, app.Each(context.Background(), systemlog.Query{Limit: 5, Until: time.Now()},
				func(systemlog.Event) error { events++; return nil }))
			if events < 10 {
				t.Fatalf("read %d events through the proxy, following its next links; want every page", events)
			}
			for _, h := range u.requests() {
				want := "Bearer " + token
				if dpop {
					want = "DPoP " + token
				}
				if h.Get("Authorization") != want || (dpop && h.Get("DPoP") == "") {
					t.Fatalf("Okta got Authorization %q, DPoP %q", redact(h.Get("Authorization")), redact(h.Get("DPoP")))
				}
			}
			if dpop && u.srv.ResourceDPoPNonceChallenges() != 1 {
				t.Errorf("%d nonce challenges from the resource server, want 1: the nonce is kept", u.srv.ResourceDPoPNonceChallenges())
			}
			if strings.Contains(logs.String(), token) {
				t.Error("the proxy logged the token")
			}
		})
	}
}

// TestProxyIsNotAnOpenProxy: a URL in the request line, CONNECT, or a Host
// of the application's choosing never sends anything anywhere but the org.
func TestProxyIsNotAnOpenProxy(t *testing.T) {
	u := startUpstream(t, oktadev.Config{})
	dir := t.TempDir()
	u.token(t, false, dir)
	proxyURL, _ := startProxy(t, u, dir, nil)
	addr := strings.TrimPrefix(proxyURL, "http://")
	for name, request := range map[string]string{
		"a URL in the request line": "GET http://attacker.example/collect HTTP/1.1\r\nHost: attacker.example\r\n\r\n",
		"CONNECT":                   "CONNECT attacker.example:443 HTTP/1.1\r\nHost: attacker.example:443\r\n\r\n",
		"the org's URL, absolute":   "GET " + u.srv.Issuer() + "/api/v1/logs HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			before := len(u.requests())
			status := rawRequest(t, addr, request)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", status)
			}
			if len(u.requests()) != before {
				t.Fatal("the request was forwarded")
			}
		})
	}
	t.Run("a Host of the application's choosing", func(t *testing.T) {
		before := len(u.requests())
		status := rawRequest(t, addr, "GET /api/v1/logs?limit=1 HTTP/1.1\r\nHost: attacker.example\r\n\r\n")
		if status != http.StatusOK || len(u.requests()) != before+1 {
			t.Fatalf("status %d; the org got %d requests", status, len(u.requests())-before)
		}
	})
}

// rawRequest writes request on a new connection and returns the status.
func rawRequest(t *testing.T, addr, request string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	testenv.Must(t, err)
	defer func() { _ = c.Close() }()
	_, err = io.WriteString(c, request)
	testenv.Must(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	testenv.Must(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestProxyDropsTheApplicationsCredentials: what the application sends as
// credentials, or as forwarding headers, never reaches Okta.
func TestProxyDropsTheApplicationsCredentials(t *testing.T) {
	u := startUpstream(t, oktadev.Config{})
	dir := t.TempDir()
	token := u.token(t, true, dir)
	proxyURL, _ := startProxy(t, u, dir, nil)
	req, _ := http.NewRequest(http.MethodGet, proxyURL+"/api/v1/logs?limit=1", nil)
	req.Header.Set("Authorization", "SSWS an-all-powerful-api-token")
	req.Header.Set("DPoP", "a-proof-of-the-applications")
	req.Header.Set("Cookie", "sid=the-applications-session")
	req.Header.Set("X-Forwarded-For", "10.0.0.7")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	seen := u.requests()
	h := seen[len(seen)-1]
	if h.Get("Authorization") != "DPoP "+token || h.Get("DPoP") == "a-proof-of-the-applications" ||
		h.Get("Cookie") != "" || h.Get("X-Forwarded-For") != "" {
		t.Fatalf("Okta got the application's headers: Authorization %q, Cookie %q, X-Forwarded-For %q",
			redact(h.Get("Authorization")), h.Get("Cookie"), h.Get("X-Forwarded-For"))
	}
	if h.Get("Accept") != "application/json" {
		t.Error("an ordinary header was not forwarded")
	}
}

// TestProxyCapsSizes: a request body or an answer past the caps is refused,
// not buffered.
func TestProxyCapsSizes(t *testing.T) {
	u := startUpstream(t, oktadev.Config{})
	dir := t.TempDir()
	u.token(t, false, dir)
	proxyURL, _ := startProxy(t, u, dir, func(c *Config) { c.MaxRequestBytes, c.MaxResponseBytes = 1024, 2048 })
	resp, err := http.Post(proxyURL+"/api/v1/logs", "application/json", strings.NewReader(strings.Repeat("x", 4096)))
	testenv.Must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 4 KiB body: status %d, want 413", resp.StatusCode)
	}
	resp, err = http.Get(proxyURL + "/api/v1/logs?limit=100")
	if err == nil {
		body, readErr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK && readErr == nil {
			t.Fatalf("an answer over the cap came through whole (%d bytes)", len(body))
		}
	}
}

// TestProxyPassesA429Back: Okta's 429 and its rate-limit headers reach the
// application as they are; the proxy does not retry it.
func TestProxyPassesA429Back(t *testing.T) {
	u := startUpstream(t, oktadev.Config{RateLimitPerMinute: 2, TokenRateLimitPerMinute: 100})
	dir := t.TempDir()
	u.token(t, false, dir)
	proxyURL, _ := startProxy(t, u, dir, nil)
	var last *http.Response
	for range 3 {
		resp, err := http.Get(proxyURL + "/api/v1/logs?limit=1")
		testenv.Must(t, err)
		_ = resp.Body.Close()
		last = resp
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("X-Rate-Limit-Reset") == "" ||
		last.Header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Fatalf("status %d, reset %q, remaining %q", last.StatusCode, last.Header.Get("X-Rate-Limit-Reset"),
			last.Header.Get("X-Rate-Limit-Remaining"))
	}
	if n := len(u.requests()); n != 3 {
		t.Fatalf("Okta got %d requests for 3: a 429 must not be retried", n)
	}
}

// TestProxyPicksUpARotation: the next request after the kubelet writes a
// new token uses it, key and all.
func TestProxyPicksUpARotation(t *testing.T) {
	u := startUpstream(t, oktadev.Config{})
	dir := t.TempDir()
	u.token(t, true, dir)
	proxyURL, logs := startProxy(t, u, dir, nil)
	get := func() {
		resp, err := http.Get(proxyURL + "/api/v1/logs?limit=1")
		testenv.Must(t, err)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	get()
	rotated := u.token(t, true, dir)
	get()
	seen := u.requests()
	if got := seen[len(seen)-1].Get("Authorization"); got != "DPoP "+rotated {
		t.Fatalf("after the rotation Okta got %q", redact(got))
	}
	key, err := os.ReadFile(filepath.Join(dir, v1.TokenSecretDPoPKey))
	testenv.Must(t, err)
	for _, secret := range []string{rotated, string(key), seen[len(seen)-1].Get("DPoP")} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("the proxy logged a token, key or proof")
		}
	}
}

func redact(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
