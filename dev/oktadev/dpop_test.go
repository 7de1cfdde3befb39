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
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// TestDPoPNonceRoundTrip is a client's first DPoP token request, as at Okta:
// the first proof is answered with a nonce challenge, the retry with the
// nonce (and a new jti) gets a DPoP-bound token, and a later request that
// sends the nonce at once is not challenged again.
func TestDPoPNonceRoundTrip(t *testing.T) {
	cases := map[string]func(*testing.T) dpopKey{
		"ES256 proof": newECDPoPKey,
		"RS256 proof": func(*testing.T) dpopKey { return rsaDPoPKey() },
	}
	for name, newKey := range cases {
		t.Run(name, func(t *testing.T) {
			env := newDPoPEnv(t, Config{})
			key := newKey(t)
			tokenURL := env.url(pathToken)

			status, body, header := env.dpopRequest(http.MethodPost, tokenURL, env.dpopAssertionForm(), "",
				env.proof(key, http.MethodPost, tokenURL, "").sign(t))
			raw, _ := json.Marshal(body)
			if status != http.StatusBadRequest || string(raw) != `{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof."}` {
				t.Fatalf("first proof: %d %s", status, raw)
			}
			nonce := header.Get("DPoP-Nonce")
			if nonce == "" {
				t.Fatal("the challenge has no DPoP-Nonce header")
			}
			if n := env.srv.DPoPNonceChallenges(); n != 1 {
				t.Errorf("DPoPNonceChallenges = %d after the challenge, want 1", n)
			}

			// The same client assertion again: the challenge did not use it up.
			form := env.dpopAssertionForm()
			status, body, header = env.dpopRequest(http.MethodPost, tokenURL, form, "", env.proof(key, http.MethodPost, tokenURL, nonce).sign(t))
			token, _ := body["access_token"].(string)
			if status != http.StatusOK || body["token_type"] != "DPoP" || token == "" || body["expires_in"] != float64(3600) {
				t.Fatalf("retry with the nonce: %d %v", status, body)
			}
			if header.Get("DPoP-Nonce") != nonce {
				t.Errorf("DPoP-Nonce of the answer = %q, want the current nonce %q", header.Get("DPoP-Nonce"), nonce)
			}
			intro := env.introspectAsDPoPService(token)
			if intro["active"] != true || intro["token_type"] != "DPoP" || cnfJKT(intro) != key.jkt(t) {
				t.Errorf("introspection of the DPoP-bound token: %v, want token_type DPoP and cnf.jkt %s", intro, key.jkt(t))
			}

			// A client that keeps the nonce sends it at once: no challenge.
			status, body, _ = env.dpopRequest(http.MethodPost, tokenURL, env.dpopAssertionForm(), "", env.proof(key, http.MethodPost, tokenURL, nonce).sign(t))
			if status != http.StatusOK || body["token_type"] != "DPoP" {
				t.Fatalf("proactive nonce: %d %v", status, body)
			}
			if n := env.srv.DPoPNonceChallenges(); n != 1 {
				t.Errorf("DPoPNonceChallenges = %d, want still 1", n)
			}
			if n := env.srv.TokenRequests(); n != 3 {
				t.Errorf("TokenRequests = %d, want 3", n)
			}
		})
	}
}

// TestDPoPBindsEveryGrant gets a DPoP-bound token from each grant at the
// org authorization server and at a custom one: token_type DPoP, and
// introspection names the key.
func TestDPoPBindsEveryGrant(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	type server struct {
		token, authorize, introspect string
		ccForm                       url.Values
		ccAuthorization              string
		// ccIntrospect introspects a client-credentials token as its app.
		ccIntrospect func(token string) map[string]any
	}
	org := server{
		token: env.url(pathToken), authorize: env.url(pathAuthorize), introspect: env.url(pathIntrospect),
		ccIntrospect: env.introspectAsDPoPService,
	}
	custom := server{
		token: env.customURL(endpointToken), authorize: env.customURL(endpointAuthorize), introspect: env.customURL(endpointIntrospect),
		ccForm:          url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}},
		ccAuthorization: basic(testDPoPSecretID, testServiceSecret),
		ccIntrospect: func(token string) map[string]any {
			return env.introspect(env.customURL(endpointIntrospect), testDPoPSecretID, testServiceSecret, token)
		},
	}
	servers := map[string]server{"org authorization server": org, "custom authorization server": custom}

	for serverName, as := range servers {
		nonce := env.nonceOf(as.token, key)
		post := func(t *testing.T, form url.Values, authorization string) map[string]any {
			t.Helper()
			status, body, _ := env.dpopRequest(http.MethodPost, as.token, form, authorization, env.proof(key, http.MethodPost, as.token, nonce).sign(t))
			if status != http.StatusOK || body["token_type"] != "DPoP" {
				t.Fatalf("%d %v, want a DPoP token", status, body)
			}
			return body
		}
		exchange := func(t *testing.T) map[string]any {
			code, verifier := env.signInFor(as.authorize, testDPoPWebID, "openid", "offline_access")
			return post(t, codeForm(code, verifier), basic(testDPoPWebID, testWebSecret))
		}
		grants := map[string]func(t *testing.T) (token string, introspection map[string]any){
			"client_credentials": func(t *testing.T) (string, map[string]any) {
				form, authorization := as.ccForm, as.ccAuthorization
				if form == nil {
					form = env.dpopAssertionForm()
				}
				token, _ := post(t, form, authorization)["access_token"].(string)
				return token, as.ccIntrospect(token)
			},
			"authorization_code": func(t *testing.T) (string, map[string]any) {
				token, _ := exchange(t)["access_token"].(string)
				return token, env.introspect(as.introspect, testDPoPWebID, testWebSecret, token)
			},
			"refresh_token": func(t *testing.T) (string, map[string]any) {
				refresh, _ := exchange(t)["refresh_token"].(string)
				body := post(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, basic(testDPoPWebID, testWebSecret))
				if body["refresh_token"] == "" || body["refresh_token"] == refresh {
					t.Errorf("the refresh did not rotate the refresh token: %v", body)
				}
				token, _ := body["access_token"].(string)
				return token, env.introspect(as.introspect, testDPoPWebID, testWebSecret, token)
			},
		}
		for grantName, grant := range grants {
			t.Run(serverName+"/"+grantName, func(t *testing.T) {
				token, intro := grant(t)
				if token == "" || intro["active"] != true || intro["token_type"] != "DPoP" || cnfJKT(intro) != key.jkt(t) {
					t.Errorf("introspection %v, want an active DPoP token with cnf.jkt %s", intro, key.jkt(t))
				}
			})
		}
	}
}

// TestDPoPTokenProofRefusals sends the token endpoint every kind of bad
// proof. Each is refused with Okta's invalid_dpop_proof and a sentence that
// says what is wrong, before the grant is looked at.
func TestDPoPTokenProofRefusals(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	otherKey := newECDPoPKey(t)
	tokenURL := env.url(pathToken)
	nonce := env.nonceOf(tokenURL, key)
	good := func() proof { return env.proof(key, http.MethodPost, tokenURL, nonce) }
	with := func(change func(*proof)) func() []string {
		return func() []string {
			p := good()
			change(&p)
			return []string{p.sign(t)}
		}
	}
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	private := key.public()
	private.Key = key.private
	replayed := good().sign(t)
	if status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, env.dpopAssertionForm(), "", replayed); status != http.StatusOK {
		t.Fatalf("first use of the proof: %d %v", status, body)
	}

	cases := map[string]struct {
		proofs      func() []string
		error, desc string
	}{
		"no proof for an app that requires DPoP": {
			proofs: func() []string { return nil },
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT header is missing.",
		},
		"two proofs": {
			proofs: func() []string { return []string{good().sign(t), good().sign(t)} },
			error:  "invalid_dpop_proof", desc: "The request must not have more than one DPoP proof JWT header.",
		},
		"not a JWT": {
			proofs: func() []string { return []string{"not-a-proof"} },
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT is malformed.",
		},
		"typ JWT": {
			proofs: with(func(p *proof) { p.typ = "JWT" }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT 'typ' header must be 'dpop+jwt'.",
		},
		"no typ": {
			proofs: with(func(p *proof) { p.typ = "" }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT 'typ' header must be 'dpop+jwt'.",
		},
		"PS256": {
			proofs: with(func(p *proof) { p.key = dpopKey{private: testOtherRSAKey(), alg: jose.PS256} }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT must be signed with RS256 or ES256.",
		},
		"HS256": {
			proofs: with(func(p *proof) {
				p.key, p.noJWK = dpopKey{private: []byte("0123456789abcdef0123456789abcdef"), alg: jose.HS256}, true
			}),
			error: "invalid_dpop_proof", desc: "The DPoP proof JWT must be signed with RS256 or ES256.",
		},
		"no jwk": {
			proofs: with(func(p *proof) { p.noJWK = true }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT header must have a 'jwk' with the public key that signed it.",
		},
		"private key in jwk": {
			proofs: with(func(p *proof) { p.jwk = private }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT 'jwk' header must be a public RSA key of at least 2048 bits or a public P-256 EC key.",
		},
		"RSA key of 1024 bits": {
			proofs: with(func(p *proof) { p.key = dpopKey{private: smallRSA, alg: jose.RS256} }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT 'jwk' header must be a public RSA key of at least 2048 bits or a public P-256 EC key.",
		},
		"jwk of another key than the signer": {
			proofs: with(func(p *proof) { p.jwk = otherKey.public() }),
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT signature is invalid.",
		},
		"htm GET": {
			proofs: with(func(p *proof) { p.htm = http.MethodGet }),
			error:  "invalid_dpop_proof", desc: "'htm' claim in the DPoP proof JWT is invalid.",
		},
		"htu of the custom authorization server's token endpoint": {
			proofs: with(func(p *proof) { p.htu = env.customURL(endpointToken) }),
			error:  "invalid_dpop_proof", desc: "'htu' claim in the DPoP proof JWT is invalid.",
		},
		"htu on another host": {
			proofs: with(func(p *proof) { p.htu = strings.Replace(tokenURL, "127.0.0.1", "localhost", 1) }),
			error:  "invalid_dpop_proof", desc: "'htu' claim in the DPoP proof JWT is invalid.",
		},
		"no htu": {
			proofs: with(func(p *proof) { p.htu = "" }),
			error:  "invalid_dpop_proof", desc: "'htu' claim in the DPoP proof JWT is invalid.",
		},
		"no iat": {
			proofs: with(func(p *proof) { p.noIAT = true }),
			error:  "invalid_dpop_proof", desc: "'iat' claim in the DPoP proof JWT is missing.",
		},
		"no jti": {
			proofs: with(func(p *proof) { p.jti = "" }),
			error:  "invalid_dpop_proof", desc: "'jti' claim in the DPoP proof JWT is missing.",
		},
		"replayed jti": {
			proofs: func() []string { return []string{replayed} },
			error:  "invalid_dpop_proof", desc: "The DPoP proof JWT has already been used.",
		},
		"unknown nonce": {
			proofs: with(func(p *proof) { p.nonce = "not-a-nonce-of-this-server" }),
			error:  "use_dpop_nonce", desc: "Authorization server requires nonce in DPoP proof.",
		},
		"nonce of another authorization server": {
			proofs: with(func(p *proof) { p.nonce = env.nonceOf(env.customURL(endpointToken), key) }),
			error:  "use_dpop_nonce", desc: "Authorization server requires nonce in DPoP proof.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body, header := env.dpopRequest(http.MethodPost, tokenURL, env.dpopAssertionForm(), "", tc.proofs()...)
			if status != http.StatusBadRequest || body["error"] != tc.error || body["error_description"] != tc.desc || len(body) != 2 {
				t.Errorf("%d %v, want 400 %s %q", status, body, tc.error, tc.desc)
			}
			if tc.error == "use_dpop_nonce" && (header.Get("DPoP-Nonce") != nonce) {
				t.Errorf("DPoP-Nonce = %q, want the current nonce %q", header.Get("DPoP-Nonce"), nonce)
			}
		})
	}
}

// TestDPoPIatWindow moves the fake clock against proofs' iat: five minutes in
// the past and one in the future are accepted, a second more is not.
func TestDPoPIatWindow(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	tokenURL := env.customURL(endpointToken)
	nonce := env.nonceOf(tokenURL, key)
	cases := []struct {
		name string
		// iat is the proof's iat relative to now; step moves the clock
		// between signing the proof and sending it.
		iat, step time.Duration
		desc      string
	}{
		{name: "5 minutes old", step: 5 * time.Minute},
		{name: "5 minutes and a second old", step: 5*time.Minute + time.Second, desc: "'iat' claim in the DPoP proof JWT is too old."},
		{name: "1 minute in the future", iat: time.Minute},
		{name: "1 minute and a second in the future", iat: time.Minute + time.Second, desc: "'iat' claim in the DPoP proof JWT is in the future."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := env.proof(key, http.MethodPost, tokenURL, nonce)
			p.iat = env.clock.Now().Add(tc.iat)
			signed := p.sign(t)
			env.clock.Step(tc.step)
			status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}},
				basic(testDPoPSecretID, testServiceSecret), signed)
			if tc.desc == "" {
				if status != http.StatusOK || body["token_type"] != "DPoP" {
					t.Errorf("%d %v, want a DPoP token", status, body)
				}
				return
			}
			if status != http.StatusBadRequest || body["error"] != "invalid_dpop_proof" || body["error_description"] != tc.desc {
				t.Errorf("%d %v, want 400 invalid_dpop_proof %q", status, body, tc.desc)
			}
		})
	}
}

// TestDPoPProofsAcceptedAsRFC9449Says checks what RFC 9449 tells the server
// to overlook in htu: the query and fragment, the case of scheme and host.
func TestDPoPProofsAcceptedAsRFC9449Says(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	tokenURL := env.customURL(endpointToken)
	nonce := env.nonceOf(tokenURL, key)
	for name, htu := range map[string]string{
		"query and fragment":   tokenURL + "?x=1#y",
		"upper-case scheme":    "HTTP" + strings.TrimPrefix(tokenURL, "http"),
		"percent-encoded path": strings.Replace(tokenURL, "/v1/token", "/v1/%74oken", 1),
	} {
		t.Run(name, func(t *testing.T) {
			p := env.proof(key, http.MethodPost, tokenURL, nonce)
			p.htu = htu
			status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}},
				basic(testDPoPSecretID, testServiceSecret), p.sign(t))
			if status != http.StatusOK || body["token_type"] != "DPoP" {
				t.Errorf("htu %s: %d %v, want a DPoP token", htu, status, body)
			}
		})
	}
}

// TestDPoPRefreshNeedsTheBoundKey exchanges a code with a proof (for an app
// that does not require DPoP, so that only the grant's binding demands it)
// and refreshes: another key, or no proof, is refused without spending the
// refresh token; the bound key works, and the new refresh token is bound too.
func TestDPoPRefreshNeedsTheBoundKey(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key, otherKey := newECDPoPKey(t), rsaDPoPKey()
	tokenURL := env.url(pathToken)
	nonce := env.nonceOf(tokenURL, key)
	code, verifier := env.signInFor(env.url(pathAuthorize), testWebClientID, "openid", "offline_access", "okta.logs.read")
	status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, codeForm(code, verifier), basic(testWebClientID, testWebSecret),
		env.proof(key, http.MethodPost, tokenURL, nonce).sign(t))
	refresh, _ := body["refresh_token"].(string)
	if status != http.StatusOK || body["token_type"] != "DPoP" || refresh == "" {
		t.Fatalf("code exchange: %d %v", status, body)
	}

	// In order: the refusals must leave the refresh token usable.
	cases := []struct {
		name        string
		key         *dpopKey
		error, desc string
	}{
		{name: "another key", key: &otherKey, error: "invalid_dpop_proof", desc: "The DPoP proof JWT is not signed with the key the refresh token is bound to."},
		{name: "no proof", error: "invalid_dpop_proof", desc: "The DPoP proof JWT header is missing."},
		{name: "the bound key", key: &key},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var proofs []string
			if tc.key != nil {
				proofs = append(proofs, env.proof(*tc.key, http.MethodPost, tokenURL, nonce).sign(t))
			}
			status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}},
				basic(testWebClientID, testWebSecret), proofs...)
			if tc.error != "" {
				if status != http.StatusBadRequest || body["error"] != tc.error || body["error_description"] != tc.desc {
					t.Errorf("%d %v, want 400 %s %q", status, body, tc.error, tc.desc)
				}
				return
			}
			token, _ := body["access_token"].(string)
			next, _ := body["refresh_token"].(string)
			if status != http.StatusOK || body["token_type"] != "DPoP" || next == "" {
				t.Fatalf("%d %v, want a DPoP token", status, body)
			}
			if jkt := cnfJKT(env.introspect(env.url(pathIntrospect), testWebClientID, testWebSecret, token)); jkt != key.jkt(t) {
				t.Errorf("cnf.jkt of the refreshed token = %q, want %q", jkt, key.jkt(t))
			}
			status, body, _ = env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}},
				basic(testWebClientID, testWebSecret), env.proof(otherKey, http.MethodPost, tokenURL, nonce).sign(t))
			if status != http.StatusBadRequest || body["error"] != "invalid_dpop_proof" {
				t.Errorf("the rotated refresh token with another key: %d %v, want invalid_dpop_proof", status, body)
			}
		})
	}
}

// TestDPoPNonceRotation moves the fake clock through a nonce's life: after
// the rotation period the server hands out a new nonce but still accepts the
// old one, until the window since the old one was minted has passed.
func TestDPoPNonceRotation(t *testing.T) {
	cases := map[string]struct {
		cfg              Config
		rotation, window time.Duration
	}{
		"Okta's 24h and 72h": {rotation: 24 * time.Hour, window: 72 * time.Hour},
		"10m and 30m": {cfg: Config{DPoPNonceRotation: 10 * time.Minute, DPoPNonceWindow: 30 * time.Minute},
			rotation: 10 * time.Minute, window: 30 * time.Minute},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env := newDPoPEnv(t, tc.cfg)
			key := newECDPoPKey(t)
			tokenURL := env.customURL(endpointToken)
			request := func(nonce string) (int, map[string]any, string) {
				t.Helper()
				status, body, header := env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}},
					basic(testDPoPSecretID, testServiceSecret), env.proof(key, http.MethodPost, tokenURL, nonce).sign(t))
				return status, body, header.Get("DPoP-Nonce")
			}
			first := env.nonceOf(tokenURL, key)

			env.clock.Step(tc.rotation)
			status, body, second := request(first)
			if status != http.StatusOK {
				t.Fatalf("the old nonce just after the rotation: %d %v", status, body)
			}
			if second == "" || second == first {
				t.Fatalf("DPoP-Nonce after the rotation period = %q, want a new nonce (the old one was %q)", second, first)
			}

			env.clock.Step(tc.window - tc.rotation - time.Second)
			if status, body, _ := request(first); status != http.StatusOK {
				t.Errorf("the old nonce a second before its window ends: %d %v", status, body)
			}

			env.clock.Step(time.Second)
			status, body, fresh := request(first)
			if status != http.StatusBadRequest || body["error"] != "use_dpop_nonce" || fresh == "" || fresh == first {
				t.Errorf("the old nonce once its window is over: %d %v, DPoP-Nonce %q", status, body, fresh)
			}
			if status, body, _ := request(fresh); status != http.StatusOK {
				t.Errorf("the nonce handed out with the challenge: %d %v", status, body)
			}
			if n := env.srv.DPoPNonceChallenges(); n != 2 {
				t.Errorf("DPoPNonceChallenges = %d, want 2", n)
			}
		})
	}

	t.Run("RotateDPoPNonces", func(t *testing.T) {
		env := newDPoPEnv(t, Config{})
		key := newECDPoPKey(t)
		tokenURL := env.customURL(endpointToken)
		old := env.nonceOf(tokenURL, key)
		env.srv.RotateDPoPNonces()
		status, body, header := env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}},
			basic(testDPoPSecretID, testServiceSecret), env.proof(key, http.MethodPost, tokenURL, old).sign(t))
		if status != http.StatusOK || header.Get("DPoP-Nonce") == old || header.Get("DPoP-Nonce") == "" {
			t.Errorf("after RotateDPoPNonces: %d %v, DPoP-Nonce %q (old %q): want the old nonce accepted and a new one handed out",
				status, body, header.Get("DPoP-Nonce"), old)
		}
	})
}

// TestDPoPNotRequired is an app without Okta's DPoP checkbox: without a
// proof it gets a bearer token, with one a DPoP-bound token.
func TestDPoPNotRequired(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	tokenURL := env.url(pathToken)
	form := func() url.Values {
		return url.Values{
			"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"},
			"client_assertion_type": {clientAssertionType}, "client_assertion": {env.rsaAssertion().sign(t)},
		}
	}
	introspect := func(token string) map[string]any {
		a := env.rsaAssertion()
		a.audience = env.url(pathIntrospect)
		return env.introspectWith(env.url(pathIntrospect), url.Values{
			"token": {token}, "client_assertion_type": {clientAssertionType}, "client_assertion": {a.sign(t)},
		}, "")
	}
	cases := map[string]struct {
		withProof bool
		tokenType string
		jkt       string
	}{
		"without a proof": {tokenType: "Bearer"},
		"with a proof":    {withProof: true, tokenType: "DPoP", jkt: key.jkt(t)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var proofs []string
			if tc.withProof {
				proofs = append(proofs, env.proof(key, http.MethodPost, tokenURL, env.nonceOf(tokenURL, key)).sign(t))
			}
			status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, form(), "", proofs...)
			token, _ := body["access_token"].(string)
			if status != http.StatusOK || body["token_type"] != tc.tokenType {
				t.Fatalf("%d %v, want token_type %s", status, body, tc.tokenType)
			}
			intro := introspect(token)
			if intro["token_type"] != tc.tokenType || cnfJKT(intro) != tc.jkt {
				t.Errorf("introspection %v, want token_type %s and cnf.jkt %q", intro, tc.tokenType, tc.jkt)
			}
		})
	}
}

// TestDPoPRevocation: revocation needs no proof, even for a DPoP-bound
// token, but a proof that is sent must be good.
func TestDPoPRevocation(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	tokenURL, revokeURL := env.customURL(endpointToken), env.customURL(endpointRevoke)
	nonce := env.nonceOf(tokenURL, key)
	newToken := func(t *testing.T) string {
		status, body, _ := env.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"logs:read"}},
			basic(testDPoPSecretID, testServiceSecret), env.proof(key, http.MethodPost, tokenURL, nonce).sign(t))
		token, _ := body["access_token"].(string)
		if status != http.StatusOK || token == "" {
			t.Fatalf("token: %d %v", status, body)
		}
		return token
	}
	replayed := env.proof(key, http.MethodPost, revokeURL, nonce).sign(t)
	if status, body, _ := env.dpopRequest(http.MethodPost, revokeURL, url.Values{"token": {newToken(t)}}, basic(testDPoPSecretID, testServiceSecret), replayed); status != http.StatusOK {
		t.Fatalf("first use of the revocation proof: %d %v", status, body)
	}
	cases := map[string]struct {
		proof       func() string
		error, desc string
	}{
		"no proof":                       {proof: func() string { return "" }},
		"a proof for the revocation":     {proof: func() string { return env.proof(key, http.MethodPost, revokeURL, nonce).sign(t) }},
		"a proof without a nonce":        {proof: func() string { return env.proof(key, http.MethodPost, revokeURL, "").sign(t) }},
		"a proof for the token endpoint": {proof: func() string { return env.proof(key, http.MethodPost, tokenURL, nonce).sign(t) }, error: "invalid_dpop_proof", desc: "'htu' claim in the DPoP proof JWT is invalid."},
		"a replayed proof":               {proof: func() string { return replayed }, error: "invalid_dpop_proof", desc: "The DPoP proof JWT has already been used."},
		"a proof with an unknown nonce": {proof: func() string { return env.proof(key, http.MethodPost, revokeURL, "stale").sign(t) },
			error: "use_dpop_nonce", desc: "Authorization server requires nonce in DPoP proof."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			token := newToken(t)
			var proofs []string
			if p := tc.proof(); p != "" {
				proofs = append(proofs, p)
			}
			status, body, _ := env.dpopRequest(http.MethodPost, revokeURL, url.Values{"token": {token}}, basic(testDPoPSecretID, testServiceSecret), proofs...)
			active := env.introspect(env.customURL(endpointIntrospect), testDPoPSecretID, testServiceSecret, token)["active"]
			if tc.error == "" {
				if status != http.StatusOK || active != false {
					t.Errorf("revocation: %d %v, token active %v; want 200 and the token revoked", status, body, active)
				}
				return
			}
			if status != http.StatusBadRequest || body["error"] != tc.error || body["error_description"] != tc.desc || active != true {
				t.Errorf("%d %v, token active %v; want 400 %s %q and the token left alone", status, body, active, tc.error, tc.desc)
			}
		})
	}
}

// TestDPoPConfigAndMetadata checks the DPoP settings New refuses and what
// the metadata documents advertise.
func TestDPoPConfigAndMetadata(t *testing.T) {
	for name, cfg := range map[string]Config{
		"window shorter than rotation": {DPoPNonceRotation: 2 * time.Hour, DPoPNonceWindow: time.Hour},
		"negative proof age":           {DPoPProofMaxAge: -time.Second},
		"negative future":              {DPoPProofMaxFuture: -time.Second},
		"negative rotation":            {DPoPNonceRotation: -time.Hour},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{DPoPNonceRotation: 100 * time.Hour}); err != nil {
		t.Errorf("a rotation longer than the default window: %v (the window should follow it)", err)
	}

	env := newDPoPEnv(t, Config{})
	for _, doc := range []string{env.url(pathOIDCMetadata), env.customURL(endpointOAuthMetadata)} {
		resp, body := env.getWithToken(doc, "")
		var md map[string]any
		testenv.Must(t, json.Unmarshal(body, &md))
		algs, _ := md["dpop_signing_alg_values_supported"].([]any)
		if resp.StatusCode != http.StatusOK || !slices.Equal(algs, []any{"RS256", "ES256"}) {
			t.Errorf("%s: dpop_signing_alg_values_supported = %v", doc, md["dpop_signing_alg_values_supported"])
		}
	}
}
