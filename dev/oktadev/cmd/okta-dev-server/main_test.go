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

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

func TestReadPublicKeys(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	public := jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Use: "sig"}
	private := jose.JSONWebKey{Key: key, KeyID: "k1", Use: "sig"}
	jsonOf := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	cases := map[string]struct {
		content string
		wantKid string
		wantErr bool
	}{
		"JWKS":            {content: jsonOf(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}}), wantKid: "k1"},
		"JWK":             {content: jsonOf(public), wantKid: "k1"},
		"PEM public key":  {content: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
		"private JWK":     {content: jsonOf(private), wantErr: true},
		"private PEM key": {content: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), wantErr: true},
		"nothing":         {content: "hello", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			set, err := readPublicKeys(path)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
				t.Fatalf("got %d keys", len(set.Keys))
			}
			// A PEM key is named by its thumbprint, which is what a client
			// puts in its assertion's kid.
			if (tc.wantKid != "" && set.Keys[0].KeyID != tc.wantKid) || set.Keys[0].KeyID == "" {
				t.Errorf("kid = %q", set.Keys[0].KeyID)
			}
		})
	}
}

func TestRegisterFromFlags(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("# people\nalice@example.com:a:b:c\n\nbob@example.com:pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{
		"--users-file", users, "--user", "carol@example.com:pw", "--fault", "503:2", "--scopes", "okta.logs.read",
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.redirectURIs, defaultRedirectURIs) || o.serviceScopes != "okta.logs.read" {
		t.Errorf("defaults: redirect URIs %v, service scopes %q", o.redirectURIs, o.serviceScopes)
	}
	srv, err := oktadev.New(oktadev.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := register(srv, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{oktadev.DemoUser, "carol@example.com", "alice@example.com", "bob@example.com"}
	if !slices.Equal(r.users, want) {
		t.Errorf("users %v, want %v", r.users, want)
	}
	if !slices.Equal(r.faults, []string{"503:2"}) {
		t.Errorf("faults %v", r.faults)
	}

	for _, bad := range [][]string{
		{"--user", "no-password"},
		{"--fault", "teapot"},
		{"--service-client", "0oa1"},
		{"--service-client", "0oa1=" + filepath.Join(dir, "missing")},
		{"--service-client-secret", "0oa1"},
		{"--authorization-server", "a/b=x"},
		{"--authorization-server", "default=okta.logs.read"},
		{"--token-rate-limit", "-1"},
	} {
		o, err := parseFlags(bad, &bytes.Buffer{})
		if err == nil {
			var srv *oktadev.Server
			srv, err = oktadev.New(oktadev.Config{RateLimitPerMinute: o.rateLimit, TokenRateLimitPerMinute: o.tokenRateLimit})
			if err == nil {
				_, err = register(srv, o)
			}
		}
		if err == nil {
			t.Errorf("%s accepted", strings.Join(bad, " "))
		}
	}
}

func TestRegisterCustomAuthorizationServers(t *testing.T) {
	o, err := parseFlags([]string{
		"--authorization-server", "default=logs:read, logs:write",
		"--authorization-server", "aus1second0000000000",
		"--service-client-secret", "0oasecretservice0001=s3cret=with=equals",
		"--rate-limit", "100",
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.tokenRateLimit != 100 {
		t.Errorf("--token-rate-limit defaults to %d, want --rate-limit (100)", o.tokenRateLimit)
	}
	srv, err := oktadev.New(oktadev.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := register(srv, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []oktadev.AuthorizationServer{
		{ID: "default", Scopes: []string{"logs:read", "logs:write"}},
		{ID: "aus1second0000000000"},
	}
	if len(r.authorizationServers) != len(want) {
		t.Fatalf("authorization servers %+v, want %+v", r.authorizationServers, want)
	}
	for i := range want {
		if r.authorizationServers[i].ID != want[i].ID || !slices.Equal(r.authorizationServers[i].Scopes, want[i].Scopes) {
			t.Errorf("authorization server %d = %+v, want %+v", i, r.authorizationServers[i], want[i])
		}
	}
	if !slices.Equal(r.secretServiceClients, []string{"0oasecretservice0001"}) {
		t.Errorf("secret service clients %v", r.secretServiceClients)
	}

	var banner bytes.Buffer
	printBanner(&banner, srv, o, r)
	for _, want := range []string{
		srv.AuthorizationServerIssuer("default") + "  scopes: logs:read logs:write",
		"0oasecretservice0001",
		"100 per token endpoint",
	} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	if strings.Contains(banner.String(), "s3cret") {
		t.Error("the banner shows a service app's client secret")
	}
}

// TestHelp keeps --help honest: it lists every flag, says what the server
// serves, and every example in it parses.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: error %v, want flag.ErrHelp", err)
	}
	help := out.String()
	for _, flagName := range []string{
		"addr", "issuer", "access-token-ttl", "refresh-token-ttl", "refresh-grace-period", "rate-limit",
		"token-rate-limit", "client-id", "client-secret", "client-auth-method", "redirect-uri", "scopes",
		"service-scopes", "user", "users-file", "demo-user", "service-client", "service-client-secret",
		"authorization-server", "fault", "log-format",
	} {
		if !strings.Contains(help, "  -"+flagName+" ") && !strings.Contains(help, "  -"+flagName+"\n") {
			t.Errorf("--help does not list -%s", flagName)
		}
	}
	for _, want := range []string{"/oauth2/{id}/v1/", "/admin/faults", "private_key_jwt"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	examples := 0
	for line := range strings.SplitSeq(help, "\n") {
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "okta-dev-server ")
		if !ok || strings.HasPrefix(args, "[flags]") {
			continue
		}
		examples++
		if _, err := parseFlags(strings.Fields(args), &bytes.Buffer{}); err != nil {
			t.Errorf("example %q does not parse: %v", line, err)
		}
	}
	if examples < 3 {
		t.Errorf("found %d examples in --help, want at least 3", examples)
	}
}

// TestRegisterRequireDPoP registers apps named by --require-dpop, checks the
// banner says so, and asks the running server for tokens: the app that
// requires DPoP is refused without a proof, as at Okta, the other is not.
func TestRegisterRequireDPoP(t *testing.T) {
	const dpopApp, plainApp = "0oasecretservice0001", "0oasecretservice0002"
	o, err := parseFlags([]string{
		"--authorization-server", "default=logs:read",
		"--service-client-secret", dpopApp + "=s3cret",
		"--service-client-secret", plainApp + "=s3cret",
		"--require-dpop", dpopApp + "," + oktadev.DemoWebClientID,
		"--resource-dpop-nonce=false",
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := serverConfig(o, nil)
	if !cfg.DisableResourceDPoPNonce {
		t.Error("--resource-dpop-nonce=false did not reach the server's configuration")
	}
	srv := oktadev.NewTestServer(t, cfg)
	r, err := register(srv, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{oktadev.DemoWebClientID, dpopApp}; !slices.Equal(r.requireDPoP, want) {
		t.Errorf("apps requiring DPoP %v, want %v", r.requireDPoP, want)
	}
	var banner bytes.Buffer
	printBanner(&banner, srv, o, r)
	for _, want := range []string{
		"DPoP required (token requests need a DPoP proof; tokens are DPoP-bound, token_type DPoP): " + oktadev.DemoWebClientID + ", " + dpopApp,
		"/api/v1/logs demands no DPoP nonce",
	} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}

	tokenURL := srv.AuthorizationServerIssuer("default") + "/v1/token"
	cases := map[string]struct {
		clientID   string
		status     int
		wantError  string
		wantDetail string
	}{
		"app that requires DPoP":       {clientID: dpopApp, status: 400, wantError: "invalid_dpop_proof", wantDetail: "The DPoP proof JWT header is missing."},
		"app that does not require it": {clientID: plainApp, status: 200},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(tc.clientID, "s3cret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || (tc.wantError != "" && (body["error"] != tc.wantError || body["error_description"] != tc.wantDetail)) ||
				(tc.wantError == "" && body["token_type"] != "Bearer") {
				t.Errorf("%d %v, want %d %s %q", resp.StatusCode, body, tc.status, tc.wantError, tc.wantDetail)
			}
		})
	}

	for _, bad := range [][]string{
		{"--require-dpop", "0oanosuchapp00000001"},
		{"--require-dpop", ","},
	} {
		o, err := parseFlags(bad, &bytes.Buffer{})
		if err == nil {
			_, err = register(oktadev.NewTestServer(t, oktadev.Config{}), o)
		}
		if err == nil {
			t.Errorf("%s accepted", strings.Join(bad, " "))
		}
	}
}
