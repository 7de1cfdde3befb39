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

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// The HTTP parts of the package are tested against the in-process dev
// server, a real OAuth 2.0 server that words its answers like Okta.
const (
	rsaServiceID   = "0oaservicersa"
	ecServiceID    = "0oaserviceec"
	webClientID    = "0oawebapp"
	webSecret      = "web-app-secret-value"
	webRedirect    = "http://127.0.0.1/callback"
	grantedScope   = "okta.logs.read"
	ungrantedScope = "okta.users.read"

	devTokenLifetime = 10 * time.Minute
)

type devEnv struct {
	srv      *oktadev.Server
	clock    *clocktesting.FakeClock
	client   *Client
	ep       Endpoints
	recorder *tokenRequestRecorder
}

func newDevEnv(t *testing.T) *devEnv {
	t.Helper()
	// fosite, under the dev server, also checks assertion times against the
	// wall clock, so the fake clock starts at the real time and stays near.
	clk := clocktesting.NewFakeClock(time.Now())
	// Not Okta's one hour, so a client that assumed it would be noticed.
	srv := oktadev.NewTestServer(t, oktadev.Config{Clock: clk, AccessTokenTTL: devTokenLifetime})
	for _, c := range []oktadev.ServiceClient{
		{ID: rsaServiceID, JWKS: publicJWKS(testRSAKey().Public(), "rsa-1"), GrantedScopes: []string{grantedScope}},
		{ID: ecServiceID, JWKS: publicJWKS(testECKey().Public(), "ec-1"), GrantedScopes: []string{grantedScope}},
	} {
		if err := srv.AddServiceClient(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.AddWebClient(oktadev.WebClient{ID: webClientID, Secret: webSecret,
		RedirectURIs: []string{webRedirect}, GrantedScopes: []string{grantedScope}}); err != nil {
		t.Fatal(err)
	}
	rec := &tokenRequestRecorder{next: http.DefaultTransport}
	httpClient := &http.Client{Transport: rec, Timeout: 10 * time.Second}
	d := &Discoverer{HTTP: httpClient, Clock: clk, TTL: time.Minute, AllowInsecure: true}
	ep, err := d.Discover(context.Background(), srv.Issuer(), "")
	if err != nil {
		t.Fatal(err)
	}
	return &devEnv{srv: srv, clock: clk, client: &Client{HTTP: httpClient, Clock: clk}, ep: ep, recorder: rec}
}

func publicJWKS(pub crypto.PublicKey, kid string) jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Use: "sig"}}}
}

// tokenRequestRecorder keeps the form of every POST the client sends, as it
// went on the wire, including requests the server answers with an error.
type tokenRequestRecorder struct {
	next http.RoundTripper

	mu    sync.Mutex
	forms []url.Values
}

func (r *tokenRequestRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.forms = append(r.forms, form)
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *tokenRequestRecorder) sent() []url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]url.Values(nil), r.forms...)
}

func mustParse(t *testing.T, pemData []byte, keyID string) *PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(pemData, keyID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
