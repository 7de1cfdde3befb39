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
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

const dpopServiceID = "0oaservicedpop"

// dpopEnv is a dev server with a service app that requires DPoP, and a
// client whose transport signs proofs.
type dpopEnv struct {
	srv     *oktadev.Server
	client  *Client
	ep      Endpoints
	key     *PrivateKey
	retries atomic.Int32
	// sent counts the requests that left the transport with a proof.
	sent atomic.Int32
}

func newDPoPEnv(t *testing.T) *dpopEnv {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Now())
	e := &dpopEnv{srv: oktadev.NewTestServer(t, oktadev.Config{Clock: clk}), key: mustParse(t, pkcs8(testRSAKey()), "rsa-1")}
	if err := e.srv.AddServiceClient(oktadev.ServiceClient{ID: dpopServiceID, RequireDPoP: true,
		JWKS: publicJWKS(testRSAKey().Public(), "rsa-1"), GrantedScopes: []string{grantedScope}}); err != nil {
		t.Fatal(err)
	}
	counting := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Header.Get(HeaderDPoP) != "" {
			e.sent.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	transport := &DPoPTransport{Next: counting, Nonces: &DPoPNonces{}, Clock: clk,
		BeforeRetry: func(context.Context, *http.Request) error { e.retries.Add(1); return nil }}
	e.client = &Client{HTTP: &http.Client{Transport: transport, Timeout: 10 * time.Second}, Clock: clk}
	e.ep = Endpoints{Issuer: e.srv.Issuer(), TokenEndpoint: e.srv.Issuer() + "/oauth2/v1/token",
		RevocationEndpoint: e.srv.Issuer() + "/oauth2/v1/revoke"}
	return e
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (e *dpopEnv) mint(t *testing.T, key *DPoPKey) (*Token, error) {
	t.Helper()
	return e.client.ClientCredentials(WithDPoPKey(context.Background(), key), e.ep, dpopServiceID, e.key, []string{grantedScope})
}

// TestDPoPTransportLearnsTheNonceOnce: many token requests starting together
// cost one nonce challenge between them: one learns the nonce, the others
// wait for it and send it up front. The retry asks for its budget slot.
func TestDPoPTransportLearnsTheNonceOnce(t *testing.T) {
	e := newDPoPEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			key, err := NewDPoPKey()
			if err != nil {
				errs <- err
				return
			}
			tok, err := e.mint(t, key)
			if err == nil && tok.TokenType != TokenTypeDPoP {
				err = errors.New("token type " + tok.TokenType)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := e.srv.DPoPNonceChallenges(); c != 1 {
		t.Errorf("%d nonce challenges for %d tokens, want 1", c, n)
	}
	if got := e.sent.Load(); got != n+1 {
		t.Errorf("%d requests for %d tokens, want %d", got, n, n+1)
	}
	if r := e.retries.Load(); r != 1 {
		t.Errorf("%d retries asked for a slot, want 1", r)
	}
}

// TestDPoPTransportLeavesOtherRequestsAlone: without a key in the context
// nothing is signed and nothing waits for a nonce.
func TestDPoPTransportLeavesOtherRequestsAlone(t *testing.T) {
	e := newDPoPEnv(t)
	_, err := e.client.ClientCredentials(context.Background(), e.ep, dpopServiceID, e.key, []string{grantedScope})
	if ClassOf(err) != DPoPRefused {
		t.Fatalf("a request without a proof to an app that requires DPoP: %v, want class %s", err, DPoPRefused)
	}
	if e.sent.Load() != 0 {
		t.Fatal("a request without a key carried a proof")
	}
}
