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

package oktadev

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logsChallenge is the WWW-Authenticate of a refused DPoP request to
// /api/v1/logs, as Okta writes it.
func (e *testEnv) logsChallenge(code, desc string) string {
	return fmt.Sprintf(`DPoP algs="RS256 ES256", authorization_uri="%s", realm="%s", scope="okta.logs.read", error="%s", error_description="%s", resource="/api/v1/logs"`,
		e.url(pathAuthorize), e.issuer, code, desc)
}

// resourceNonceOf learns the resource server's nonce from its challenge.
func (e *testEnv) resourceNonceOf(key dpopKey, token string) string {
	e.t.Helper()
	status, _, header := e.dpopRequest(http.MethodGet, e.url(pathLogs), nil, "DPoP "+token,
		e.proof(key, http.MethodGet, e.url(pathLogs), "").forToken(token).sign(e.t))
	nonce := header.Get("DPoP-Nonce")
	if status != http.StatusUnauthorized || nonce == "" {
		e.t.Fatalf("asking /api/v1/logs for a nonce: %d, DPoP-Nonce %q", status, nonce)
	}
	return nonce
}

// TestDPoPLogsAPI calls Okta's API with a DPoP-bound token: the DPoP scheme,
// a fresh proof for the request and the token by the bound key, and the
// resource server's own nonce.
func TestDPoPLogsAPI(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key, otherKey := newECDPoPKey(t), rsaDPoPKey()
	token := env.dpopClientCredentials(key)
	bearer, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
	if err != nil {
		t.Fatal(err)
	}
	logsURL := env.url(pathLogs)
	authorizationNonce := env.nonceOf(env.url(pathToken), key)

	// The first call is challenged for the resource server's nonce, which
	// is not the authorization server's.
	status, body, header := env.dpopRequest(http.MethodGet, logsURL, nil, "DPoP "+token, env.proof(key, http.MethodGet, logsURL, "").forToken(token).sign(t))
	nonce := header.Get("DPoP-Nonce")
	want := env.logsChallenge("use_dpop_nonce", "Resource server requires nonce in DPoP proof")
	if status != http.StatusUnauthorized || header.Get("WWW-Authenticate") != want || body["errorCode"] != "E0000011" {
		t.Fatalf("first call: %d %v\nWWW-Authenticate: %s\nwant:             %s", status, body, header.Get("WWW-Authenticate"), want)
	}
	if nonce == "" || nonce == authorizationNonce {
		t.Fatalf("resource server nonce %q, authorization server nonce %q: want two different nonces", nonce, authorizationNonce)
	}
	if n := env.srv.ResourceDPoPNonceChallenges(); n != 1 {
		t.Errorf("ResourceDPoPNonceChallenges = %d, want 1", n)
	}
	before := env.srv.DPoPNonceChallenges()

	good := func() proof { return env.proof(key, http.MethodGet, logsURL, nonce).forToken(token) }
	replayed := good().sign(t)
	if status, body, _ := env.dpopRequest(http.MethodGet, logsURL, nil, "DPoP "+token, replayed); status != http.StatusOK {
		t.Fatalf("first use of the proof: %d %v", status, body)
	}
	with := func(change func(*proof)) func() []string {
		return func() []string {
			p := good()
			change(&p)
			return []string{p.sign(t)}
		}
	}
	bearerChallenge := func(desc string) string {
		return fmt.Sprintf(`Bearer authorization_uri="%s", realm="IdP", scope="okta.logs.read", error="invalid_token", error_description="%s", resource="/api/v1/logs"`,
			env.url(pathAuthorize), desc)
	}

	cases := map[string]struct {
		url           string
		authorization string
		proofs        func() []string
		// challenge is the WWW-Authenticate wanted; "" means success.
		challenge string
	}{
		"right proof": {proofs: with(func(*proof) {})},
		"right proof, query string not in htu": {
			url: logsURL + "?limit=5", proofs: with(func(*proof) {}),
		},
		"no proof": {
			proofs:    func() []string { return nil },
			challenge: env.logsChallenge("invalid_dpop_proof", "The DPoP proof JWT header is missing."),
		},
		"ath of another token": {
			proofs:    with(func(p *proof) { *p = p.forToken(bearer.AccessToken) }),
			challenge: env.logsChallenge("invalid_dpop_proof", "'ath' claim in the DPoP proof JWT is missing or does not match the access token."),
		},
		"no ath": {
			proofs:    with(func(p *proof) { p.ath = "" }),
			challenge: env.logsChallenge("invalid_dpop_proof", "'ath' claim in the DPoP proof JWT is missing or does not match the access token."),
		},
		"another key": {
			proofs:    with(func(p *proof) { p.key = otherKey }),
			challenge: env.logsChallenge("invalid_dpop_proof", "The DPoP proof JWT is not signed with the key the access token is bound to."),
		},
		"replayed jti": {
			proofs:    func() []string { return []string{replayed} },
			challenge: env.logsChallenge("invalid_dpop_proof", "The DPoP proof JWT has already been used."),
		},
		"htm POST": {
			proofs:    with(func(p *proof) { p.htm = http.MethodPost }),
			challenge: env.logsChallenge("invalid_dpop_proof", "'htm' claim in the DPoP proof JWT is invalid."),
		},
		"htu of the token endpoint": {
			proofs:    with(func(p *proof) { p.htu = env.url(pathToken) }),
			challenge: env.logsChallenge("invalid_dpop_proof", "'htu' claim in the DPoP proof JWT is invalid."),
		},
		"stale iat": {
			proofs:    with(func(p *proof) { p.iat = env.clock.Now().Add(-6 * time.Minute) }),
			challenge: env.logsChallenge("invalid_dpop_proof", "'iat' claim in the DPoP proof JWT is too old."),
		},
		"no nonce": {
			proofs:    with(func(p *proof) { p.nonce = "" }),
			challenge: env.logsChallenge("use_dpop_nonce", "Resource server requires nonce in DPoP proof"),
		},
		"the authorization server's nonce": {
			proofs:    with(func(p *proof) { p.nonce = authorizationNonce }),
			challenge: env.logsChallenge("use_dpop_nonce", "Resource server requires nonce in DPoP proof"),
		},
		"DPoP-bound token with the Bearer scheme": {
			authorization: "Bearer " + token, proofs: with(func(*proof) {}),
			challenge: env.logsChallenge("invalid_token", "The access token is bound to a DPoP key and must be sent with the DPoP authorization scheme."),
		},
		"bearer token with the DPoP scheme": {
			authorization: "DPoP " + bearer.AccessToken, proofs: with(func(p *proof) { *p = p.forToken(bearer.AccessToken) }),
			challenge: bearerChallenge("The access token is not bound to a DPoP key and must be sent with the Bearer authorization scheme."),
		},
		"unknown token with the DPoP scheme": {
			authorization: "DPoP not-a-token", proofs: with(func(p *proof) { *p = p.forToken("not-a-token") }),
			challenge: env.logsChallenge("invalid_token", "The access token is invalid."),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target, authorization := tc.url, tc.authorization
			if target == "" {
				target = logsURL
			}
			if authorization == "" {
				authorization = "DPoP " + token
			}
			resp, body := env.getWithProofs(target, authorization, tc.proofs()...)
			if tc.challenge == "" {
				if resp.StatusCode != http.StatusOK || resp.Header.Get("DPoP-Nonce") != nonce {
					t.Errorf("%d %s, DPoP-Nonce %q; want 200 and the current nonce", resp.StatusCode, body, resp.Header.Get("DPoP-Nonce"))
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != tc.challenge {
				t.Errorf("status %d, WWW-Authenticate:\n got %s\nwant %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.challenge)
			}
			if code := apiErrorCode(t, body); code != "E0000011" {
				t.Errorf("errorCode %q, want E0000011", code)
			}
		})
	}
	if n := env.srv.ResourceDPoPNonceChallenges(); n != 3 {
		t.Errorf("ResourceDPoPNonceChallenges = %d, want 3 (the first call, no nonce, the authorization server's)", n)
	}
	if n := env.srv.DPoPNonceChallenges(); n != before {
		t.Errorf("DPoPNonceChallenges went from %d to %d: the resource server's challenges counted as the authorization servers'", before, n)
	}

	t.Run("without the resource server nonce", func(t *testing.T) {
		env := newDPoPEnv(t, Config{DisableResourceDPoPNonce: true})
		token := env.dpopClientCredentials(key)
		resp, body := env.getWithProofs(env.url(pathLogs), "DPoP "+token, env.proof(key, http.MethodGet, env.url(pathLogs), "").forToken(token).sign(t))
		if resp.StatusCode != http.StatusOK || resp.Header.Get("DPoP-Nonce") != "" || env.srv.ResourceDPoPNonceChallenges() != 0 {
			t.Errorf("%d %s, DPoP-Nonce %q, %d challenges; want 200 without a nonce", resp.StatusCode, body, resp.Header.Get("DPoP-Nonce"), env.srv.ResourceDPoPNonceChallenges())
		}
	})
}

// TestDPoPReplayCacheIsBounded checks that the server remembers a proof's jti
// only while the proof's iat is inside the window: stepping the clock past it
// empties the cache, whatever the number of proofs seen.
func TestDPoPReplayCacheIsBounded(t *testing.T) {
	env := newDPoPEnv(t, Config{DisableResourceDPoPNonce: true, RateLimitPerMinute: 10_000})
	key := newECDPoPKey(t)
	token := env.dpopClientCredentials(key)
	logsURL := env.url(pathLogs)
	call := func(iat time.Time) {
		t.Helper()
		p := env.proof(key, http.MethodGet, logsURL, "").forToken(token)
		p.iat = iat
		if resp, body := env.getWithProofs(logsURL, "DPoP "+token, p.sign(t)); resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	start := env.srv.DPoPReplayCacheSize()
	const proofs = 50
	for range proofs {
		call(env.clock.Now())
	}
	// One proof dated a minute ahead, which stays valid a minute longer.
	call(env.clock.Now().Add(time.Minute))
	if got := env.srv.DPoPReplayCacheSize(); got != start+proofs+1 {
		t.Fatalf("replay cache holds %d jtis, want %d", got, start+proofs+1)
	}

	env.clock.Step(5*time.Minute + 2*time.Second)
	call(env.clock.Now())
	if got := env.srv.DPoPReplayCacheSize(); got != 2 {
		t.Errorf("replay cache holds %d jtis past the window, want 2 (the future-dated proof and the new one)", got)
	}
	env.clock.Step(time.Minute)
	call(env.clock.Now())
	if got := env.srv.DPoPReplayCacheSize(); got != 2 {
		t.Errorf("replay cache holds %d jtis, want 2 (the last two)", got)
	}
}

// TestDPoPConcurrentProofs sends proofs from many goroutines (under -race in
// CI): each fresh proof is accepted, and one proof sent by all of them at
// once is accepted exactly once.
func TestDPoPConcurrentProofs(t *testing.T) {
	env := newDPoPEnv(t, Config{DisableResourceDPoPNonce: true, RateLimitPerMinute: 10_000})
	// Goroutines racing for connections make the client dial some it never
	// uses, which the server's Close would wait five seconds for; closing
	// them first (cleanups run last registered first) spares the wait.
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	key := newECDPoPKey(t)
	token := env.dpopClientCredentials(key)
	logsURL := env.url(pathLogs)
	replayed := env.proof(key, http.MethodGet, logsURL, "").forToken(token).sign(t)
	const workers, perWorker = 8, 10
	var accepted atomic.Int64
	var wg sync.WaitGroup
	start := env.srv.DPoPReplayCacheSize()
	for w := range workers {
		wg.Go(func() {
			if resp, _ := env.getWithProofs(logsURL, "DPoP "+token, replayed); resp.StatusCode == http.StatusOK {
				accepted.Add(1)
			}
			for i := range perWorker {
				p := env.proof(key, http.MethodGet, logsURL, "").forToken(token).sign(t)
				if resp, body := env.getWithProofs(logsURL, "DPoP "+token, p); resp.StatusCode != http.StatusOK {
					t.Errorf("worker %d request %d: %d %s", w, i, resp.StatusCode, body)
				}
			}
		})
	}
	wg.Wait()
	if n := accepted.Load(); n != 1 {
		t.Errorf("one proof was accepted %d times, want once", n)
	}
	if got, want := env.srv.DPoPReplayCacheSize(), start+workers*perWorker+1; got != want {
		t.Errorf("replay cache holds %d jtis, want %d", got, want)
	}
}
