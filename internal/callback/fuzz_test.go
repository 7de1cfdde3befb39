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

package callback

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

const (
	fuzzStateNamespace = "okta-token-operator-system"
	fuzzLiveState      = "fuzz-live-state-0123456789abcdefghijklmnopqrstuv"
	fuzzClientID       = "0oawebapp"
	fuzzClientSecret   = "web-app-client-secret-value"
)

type fuzzTarget struct {
	srv   *Server
	c     client.Client
	key   types.NamespacedName
	grant state.Grant
}

var (
	fuzzOnce  sync.Once
	fuzzSetup *fuzzTarget
	fuzzErr   error
)

// newFuzzTarget is a resource with a stored token and a live pending
// sign-in, its state held by controller-runtime's in-memory client (go
// test -fuzz runs thousands of inputs a second in worker processes; the
// real API server is exercised by the integration table in
// test/integration/controller), and a real dev server behind the code
// exchange.
func newFuzzTarget() (*fuzzTarget, error) {
	dev, err := oktadev.New(oktadev.Config{})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := dev.Start(l); err != nil {
		return nil, err
	}
	callbackURL := "http://127.0.0.1:1/callback"
	if err := dev.AddWebClient(oktadev.WebClient{ID: fuzzClientID, Secret: fuzzClientSecret,
		RedirectURIs: []string{callbackURL}, GrantedScopes: []string{"okta.logs.read"}}); err != nil {
		return nil, err
	}
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "fuzzed", Namespace: "fuzz"},
		Spec: v1.OktaScopedTokenSpec{OktaDomain: dev.Issuer(), ClientID: fuzzClientID, GrantType: v1.GrantAuthorizationCode,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"}, Scopes: []string{"okta.logs.read"}},
	}
	key := types.NamespacedName{Namespace: "fuzz", Name: "fuzzed"}
	clk := clock.RealClock{}
	now := clk.Now()
	grant := state.Grant{Fingerprint: state.Fingerprint(obj.Spec), RefreshToken: "stored-refresh-token-value",
		AccessToken: "stored-access-token-value", TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(time.Hour),
		Scopes: []string{"okta.logs.read"}, Origin: state.OriginLogin}
	secret := state.NewSecret(fuzzStateNamespace, key, "")
	state.Encode(state.State{Grant: &grant, Pending: &state.PendingLogin{StateHash: okta.HashState(fuzzLiveState),
		Verifier: "verifier", ExpiresAt: now.Add(24 * time.Hour), RedirectURI: callbackURL, Fingerprint: grant.Fingerprint}}, secret)
	if err := v1.AddToScheme(scheme.Scheme); err != nil {
		return nil, err
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(obj, secret,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "okta-web-app", Namespace: "fuzz"},
			Data: map[string][]byte{"clientSecret": []byte(fuzzClientSecret)}}).Build()
	httpClient := &http.Client{Timeout: 5 * time.Second}
	return &fuzzTarget{
		srv: &Server{Client: c, APIReader: c, Clock: clk, StateNamespace: fuzzStateNamespace, CallbackURL: callbackURL,
			Log:       logr.Discard(),
			Okta:      &okta.Client{HTTP: httpClient, Clock: clk},
			Discovery: &okta.Discoverer{HTTP: httpClient, Clock: clk, TTL: time.Hour, AllowInsecure: true}},
		c: c, key: key, grant: grant,
	}, nil
}

// FuzzCallback throws arbitrary methods and query strings at the callback
// handler for a resource that holds a token and has a live sign-in pending.
// Whatever arrives: no panic, an error status with an HTML page, no input
// echoed unescaped, and the stored token unchanged.
//
//	go test -run '^$' -fuzz '^FuzzCallback$' -fuzztime 30s ./internal/callback/
func FuzzCallback(f *testing.F) {
	for _, seed := range []struct{ method, query string }{
		{"GET", "state=" + fuzzLiveState + "&code=abc"},
		{"GET", "state=" + fuzzLiveState + "&error=access_denied&error_description=denied"},
		{"GET", "state=" + fuzzLiveState + "&error=access_denied%0D%0A%1B%5B31m&error_description=%E2%80%AEexe.txt%0Aforged%1B%5D0%3Bx%07%C2%9B%FF"},
		{"GET", "state=" + fuzzLiveState},
		{"GET", "state=" + fuzzLiveState + "&state=" + fuzzLiveState},
		{"GET", "state=<script>alert(1)</script>&code=%00%ff"},
		{"GET", "state=%zz"},
		{"POST", "state=x&code=y"},
		{"GET", ""},
		{"GET", strings.Repeat("state=a&", 2000)},
		{"PUT", "code=" + strings.Repeat("x", 3000)},
	} {
		f.Add(seed.method, seed.query)
	}
	f.Fuzz(func(t *testing.T, method, query string) {
		fuzzOnce.Do(func() { fuzzSetup, fuzzErr = newFuzzTarget() })
		if fuzzErr != nil {
			t.Fatal(fuzzErr)
		}
		ft := fuzzSetup
		req := httptest.NewRequest(http.MethodGet, "/callback", nil)
		req.Method = method
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		ft.srv.Handler().ServeHTTP(rec, req)

		if rec.Code < 400 || rec.Code > 599 {
			t.Fatalf("method %q query %q: status %d, want an error status", method, query, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("content type %q", ct)
		}
		body := rec.Body.String()
		for _, vs := range req.URL.Query() {
			for _, v := range vs {
				if len(v) >= 6 && strings.ContainsAny(v, `<>"'&`) && strings.Contains(body, v) {
					t.Fatalf("the page echoes input %q unescaped", v)
				}
			}
		}
		s := &corev1.Secret{}
		if err := ft.c.Get(context.Background(), types.NamespacedName{Namespace: fuzzStateNamespace, Name: state.SecretName(ft.key)}, s); err != nil {
			t.Fatal(err)
		}
		if got := state.Decode(s).Grant; got == nil || got.AccessToken != ft.grant.AccessToken || got.RefreshToken != ft.grant.RefreshToken {
			t.Fatalf("method %q query %q changed the stored token", method, query)
		}
	})
}
