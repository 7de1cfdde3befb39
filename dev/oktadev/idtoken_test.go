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
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// parseIDToken verifies an ID token's signature against a key set, as a
// relying party does, and returns its claims.
func parseIDToken(keys jose.JSONWebKeySet, raw string) (map[string]any, error) {
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	matching := keys.Key(tok.Headers[0].KeyID)
	if len(matching) != 1 {
		return nil, errors.New("the ID token's kid is not in the key set")
	}
	claims := map[string]any{}
	if err := tok.Claims(matching[0].Key, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

func verifyIDTokenWith(t *testing.T, keys jose.JSONWebKeySet, raw string) map[string]any {
	t.Helper()
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	claims, err := parseIDToken(keys, raw)
	if err != nil {
		t.Fatalf("verifying the ID token: %v", err)
	}
	return claims
}

// discoveredJWKS finds an issuer's keys the way a relying party does: from
// its OpenID Connect metadata.
func (e *testEnv) discoveredJWKS(issuer string) jose.JSONWebKeySet {
	e.t.Helper()
	resp, body := e.getWithToken(issuer+"/.well-known/openid-configuration", "")
	var md struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &md); err != nil || resp.StatusCode != http.StatusOK || md.Issuer != issuer {
		e.t.Fatalf("metadata of %s: status %d, issuer %q, error %v", issuer, resp.StatusCode, md.Issuer, err)
	}
	return e.jwks(md.JWKSURI)
}

// TestIDTokenCarriesTheNonce signs in at the org and at a custom
// authorization server with and without a nonce, and checks the ID token as
// the operator will: signature against the issuer's published keys, then
// iss, aud, exp, iat and nonce, then who signed in.
func TestIDTokenCarriesTheNonce(t *testing.T) {
	env := newTestEnv(t, Config{})
	custom := env.addAuthorizationServer(DefaultAuthorizationServerID, "logs:read")
	cases := map[string]struct {
		issuer, authorizeURL, tokenURL string
		nonce                          string
		extra                          []oauth2.AuthCodeOption
	}{
		"org authorization server": {
			issuer: env.issuer, authorizeURL: env.url(pathAuthorize), tokenURL: env.url(pathToken),
			nonce: "n-0S6_WzA2Mj",
		},
		"custom authorization server": {
			issuer: custom, authorizeURL: custom + "/v1/authorize", tokenURL: custom + "/v1/token",
			nonce: randomAlphanumeric(43),
		},
		"without a nonce": {
			issuer: env.issuer, authorizeURL: env.url(pathAuthorize), tokenURL: env.url(pathToken),
		},
		"prompt=login": {
			issuer: env.issuer, authorizeURL: env.url(pathAuthorize), tokenURL: env.url(pathToken),
			nonce: "n-login", extra: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			conf := env.webConfig("openid", "profile", "email")
			conf.Endpoint.AuthURL, conf.Endpoint.TokenURL = tc.authorizeURL, tc.tokenURL
			verifier := oauth2.GenerateVerifier()
			opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, tc.extra...)
			if tc.nonce != "" {
				opts = append(opts, oauth2.SetAuthURLParam("nonce", tc.nonce))
			}
			q := callback(t, newBrowser(t).signIn(conf.AuthCodeURL("state-1234", opts...), DemoUser, DemoPassword), testRedirectURI)
			tok, err := conf.Exchange(env.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			keys := env.discoveredJWKS(tc.issuer)
			claims := verifyIDTokenWith(t, keys, raw)

			// The registered claims, as a relying party validates them. fosite
			// stamps iat and exp from the wall clock.
			parsed, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
			testenv.Must(t, err)
			var registered josejwt.Claims
			testenv.Must(t, parsed.Claims(keys.Key(parsed.Headers[0].KeyID)[0].Key, &registered))
			if err := registered.ValidateWithLeeway(josejwt.Expected{
				Issuer: tc.issuer, AnyAudience: josejwt.Audience{testWebClientID}, Time: time.Now(),
			}, 0); err != nil {
				t.Errorf("registered claims: %v", err)
			}
			if registered.IssuedAt == nil || registered.Expiry == nil || !registered.Expiry.Time().After(registered.IssuedAt.Time()) {
				t.Errorf("iat %v, exp %v: want both, exp after iat", registered.IssuedAt, registered.Expiry)
			}
			if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != testWebClientID {
				t.Errorf("aud = %v, want [%s]", claims["aud"], testWebClientID)
			}

			nonce, hasNonce := claims["nonce"]
			switch {
			case tc.nonce == "" && hasNonce:
				t.Errorf("nonce = %v in an ID token for a request without one", nonce)
			case tc.nonce != "" && nonce != tc.nonce:
				t.Errorf("nonce = %v, want %q", nonce, tc.nonce)
			}
			for claim, want := range map[string]string{"sub": UserID(DemoUser), "email": DemoUser, "preferred_username": DemoUser} {
				if claims[claim] != want {
					t.Errorf("%s = %v, want %q", claim, claims[claim], want)
				}
			}
			if _, ok := claims["auth_time"].(float64); !ok {
				t.Errorf("auth_time = %v, want a time", claims["auth_time"])
			}
		})
	}
}

// TestSecondUserSignsIn checks that the sign-in page tells people apart:
// each user signs in with their own password and the ID token names them.
func TestSecondUserSignsIn(t *testing.T) {
	env := newTestEnv(t, Config{})
	const alice, alicePassword = "alice@example.com", "alice-Passw0rd!"
	testenv.Must(t, env.srv.AddUser(User{Username: alice, Password: alicePassword, Name: "Alice Example"}))
	conf := env.webConfig("openid", "profile", "email")

	cases := map[string]struct {
		username, password string
		wantSubject        string
	}{
		"demo user":                             {username: DemoUser, password: DemoPassword, wantSubject: DemoUser},
		"second user":                           {username: alice, password: alicePassword, wantSubject: alice},
		"second user, demo password":            {username: alice, password: DemoPassword},
		"demo user, second's password":          {username: DemoUser, password: alicePassword},
		"second user, username in another case": {username: "ALICE@Example.com", password: alicePassword, wantSubject: alice},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			p := newBrowser(t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1")), tc.username, tc.password)
			if tc.wantSubject == "" {
				if p.status != http.StatusUnauthorized || p.location != "" {
					t.Errorf("status %d, Location %q; want the sign-in page again with 401", p.status, p.location)
				}
				return
			}
			q := callback(t, p, testRedirectURI)
			tok, err := conf.Exchange(env.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
			testenv.Must(t, err)
			raw, _ := tok.Extra("id_token").(string)
			claims := verifyIDToken(t, env, raw)
			for claim, want := range map[string]string{"sub": UserID(tc.wantSubject), "email": tc.wantSubject,
				"preferred_username": tc.wantSubject} {
				if claims[claim] != want {
					t.Errorf("%s = %v, want %s", claim, claims[claim], want)
				}
			}
		})
	}
}
