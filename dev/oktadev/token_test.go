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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

func TestClientSecretAuthentication(t *testing.T) {
	env := newTestEnv(t, Config{})
	cases := map[string]struct {
		clientID, secret string
		style            oauth2.AuthStyle
		wantError        string
		wantDescription  string
	}{
		"basic for a basic client": {clientID: testWebClientID, secret: testWebSecret, style: oauth2.AuthStyleInHeader},
		"post for a post client":   {clientID: testPostClientID, secret: testWebSecret, style: oauth2.AuthStyleInParams},
		"wrong secret": {
			clientID: testWebClientID, secret: "wrong", style: oauth2.AuthStyleInHeader,
			wantError: "invalid_client", wantDescription: "The client secret supplied for a confidential client is invalid.",
		},
		"post for a basic client": {
			clientID: testWebClientID, secret: testWebSecret, style: oauth2.AuthStyleInParams,
			wantError: "invalid_client", wantDescription: "Client authentication failed. The client is not configured for the 'client_secret_post' authentication method.",
		},
		"unknown client": {
			clientID: "0oanosuchclient00000", secret: testWebSecret, style: oauth2.AuthStyleInHeader,
			wantError: "invalid_client", wantDescription: "Invalid value for 'client_id' parameter.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Sign in with the client the case is about, when it can.
			conf := env.webConfig("openid", "okta.logs.read")
			conf.ClientID, conf.ClientSecret, conf.Endpoint.AuthStyle = tc.clientID, tc.secret, tc.style
			verifier := oauth2.GenerateVerifier()
			code := "no-code"
			if tc.clientID != "0oanosuchclient00000" {
				q := callback(t, newBrowser(t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)), DemoUser, DemoPassword), testRedirectURI)
				code = q.Get("code")
			}
			_, err := conf.Exchange(env.ctx(), code, oauth2.VerifierOption(verifier))
			if tc.wantError == "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				return
			}
			re := retrieveError(t, err)
			if re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", re.Response.StatusCode)
			}
			code, desc := oktaErrorBody(t, re.Body)
			if code != tc.wantError || desc != tc.wantDescription {
				t.Errorf("got %s %q, want %s %q", code, desc, tc.wantError, tc.wantDescription)
			}
		})
	}
}

func TestRefreshTokenRotation(t *testing.T) {
	env := newTestEnv(t, Config{})
	first, conf := env.authorize("openid", "offline_access", "okta.logs.read")
	refresh := func(rt string) (*oauth2.Token, error) {
		return conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: rt}).Token()
	}

	second, err := refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("refreshing did not rotate the refresh token")
	}
	if second.AccessToken == first.AccessToken || second.Extra("id_token") == nil {
		t.Error("refresh did not issue a new access token and ID token")
	}
	if got := second.Extra("scope"); got != "openid offline_access okta.logs.read" {
		t.Errorf("scope after refresh = %q", got)
	}

	// Within the 30 s grace period the previous token still works.
	env.clock.Step(20 * time.Second)
	third, err := refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("previous refresh token within the grace period: %v", err)
	}
	if n := env.srv.ActiveRefreshTokens(testWebClientID); n != 3 {
		t.Errorf("ActiveRefreshTokens = %d, want 3 (first in grace, second, third)", n)
	}

	// After it, presenting it again is reuse: the whole grant goes.
	env.clock.Step(11 * time.Second)
	_, err = refresh(first.RefreshToken)
	re := retrieveError(t, err)
	if code, desc := oktaErrorBody(t, re.Body); code != "invalid_grant" || desc != "The refresh token is invalid or expired." {
		t.Errorf("reused refresh token: got %s %q", code, desc)
	}
	for name, rt := range map[string]string{"second": second.RefreshToken, "newest": third.RefreshToken} {
		if _, err := refresh(rt); err == nil {
			t.Errorf("the %s refresh token of a grant revoked for reuse still works", name)
		}
	}
	if n := env.srv.ActiveRefreshTokens(testWebClientID); n != 0 {
		t.Errorf("ActiveRefreshTokens = %d after reuse, want 0", n)
	}
	for _, at := range []string{first.AccessToken, second.AccessToken, third.AccessToken} {
		if resp, _ := env.getWithToken(env.url(pathLogs), at); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("access token of a revoked grant: status %d, want 401", resp.StatusCode)
		}
	}
}

func TestRefreshWithoutGracePeriod(t *testing.T) {
	env := newTestEnv(t, Config{RefreshGracePeriod: -1})
	first, conf := env.authorize("offline_access", "okta.logs.read")
	second, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	_, err = conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("immediate reuse: %s", re.ErrorCode)
	}
	if _, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: second.RefreshToken}).Token(); err == nil {
		t.Error("the newest refresh token survived reuse of its predecessor")
	}
}

func TestTokenLifetimesFollowTheClock(t *testing.T) {
	env := newTestEnv(t, Config{AccessTokenTTL: 2 * time.Minute, RefreshTokenTTL: time.Hour})
	tok, conf := env.authorize("offline_access", "okta.logs.read")
	if got := tok.Extra("expires_in"); got != float64(120) {
		t.Errorf("expires_in = %v, want 120", got)
	}

	env.clock.Step(2*time.Minute + time.Second)
	if resp, _ := env.getWithToken(env.url(pathLogs), tok.AccessToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired access token: status %d, want 401", resp.StatusCode)
	}
	status, body, _ := env.postForm(pathIntrospect, url.Values{"token": {tok.AccessToken}}, testWebClientID, testWebSecret)
	if status != http.StatusOK || body["active"] != false {
		t.Errorf("introspecting an expired access token: %d %v", status, body)
	}

	env.clock.Step(time.Hour)
	_, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("expired refresh token: %s %q", re.ErrorCode, re.ErrorDescription)
	}
}

func TestRevokeGrantsFor(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, conf := env.authorize("offline_access", "okta.logs.read")
	if n := env.srv.ActiveAccessTokens(testWebClientID); n != 1 {
		t.Fatalf("ActiveAccessTokens = %d, want 1", n)
	}
	env.srv.RevokeGrantsFor(testWebClientID)
	_, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after RevokeGrantsFor: %s", re.ErrorCode)
	}
	if n := env.srv.ActiveAccessTokens(testWebClientID); n != 0 {
		t.Errorf("ActiveAccessTokens = %d after RevokeGrantsFor, want 0", n)
	}
}

func TestClientCredentials(t *testing.T) {
	env := newTestEnv(t, Config{})
	cases := map[string]struct {
		assertion func() assertion
		clientID  string
	}{
		"RS256": {assertion: env.rsaAssertion, clientID: testServiceRSA},
		"ES256": {assertion: env.ecAssertion, clientID: testServiceEC},
		"RS256 without kid": {assertion: func() assertion {
			a := env.rsaAssertion()
			a.kid = ""
			return a
		}, clientID: testServiceRSA},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tok, err := env.clientCredentials(tc.assertion().sign(t), tc.clientID, "okta.logs.read")
			if err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Extra("scope") != "okta.logs.read" {
				t.Errorf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			if resp, _ := env.getWithToken(env.url(pathLogs), tok.AccessToken); resp.StatusCode != http.StatusOK {
				t.Errorf("GET /api/v1/logs: status %d", resp.StatusCode)
			}
			status, body, _ := env.postForm(pathIntrospect, url.Values{
				"token": {tok.AccessToken}, "client_assertion_type": {clientAssertionType},
				"client_assertion": {func() string {
					a := tc.assertion()
					a.audience = env.url(pathIntrospect)
					return a.sign(t)
				}()},
			}, "", "")
			if status != http.StatusOK || body["active"] != true || body["sub"] != tc.clientID {
				t.Errorf("introspection by the service app: %d %v", status, body)
			}
		})
	}
}

func TestClientAssertionRefusals(t *testing.T) {
	env := newTestEnv(t, Config{})
	otherKey := testOtherRSAKey()
	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	used := env.rsaAssertion().sign(t)
	if _, err := env.clientCredentials(used, testServiceRSA, "okta.logs.read"); err != nil {
		t.Fatalf("first use of the assertion: %v", err)
	}

	cases := map[string]struct {
		signed   func() string
		clientID string
		want     string
	}{
		"reused jti": {signed: func() string { return used }, want: "The client_assertion token has already been used."},
		"audience is not the token endpoint": {signed: func() string {
			a := env.rsaAssertion()
			a.audience = env.issuer
			return a.sign(t)
		}, want: "The audience claim for client_assertion must be the endpoint invoked for the request."},
		"expired": {signed: func() string {
			a := env.rsaAssertion()
			a.expiry = env.clock.Now().Add(-time.Minute)
			return a.sign(t)
		}, want: "The client_assertion token is expired."},
		"expires more than an hour ahead": {signed: func() string {
			a := env.rsaAssertion()
			a.expiry = env.clock.Now().Add(61 * time.Minute)
			return a.sign(t)
		}, want: "The client_assertion token has an expiration too far into the future."},
		"signed by an unregistered key": {signed: func() string {
			a := env.rsaAssertion()
			a.key = otherKey
			return a.sign(t)
		}, want: "The client_assertion signature is invalid."},
		"unknown kid": {signed: func() string {
			a := env.rsaAssertion()
			a.kid = "no-such-key"
			return a.sign(t)
		}, want: "The client_assertion signature is invalid."},
		"EC key of another app": {signed: func() string {
			a := env.ecAssertion()
			a.key = otherEC
			return a.sign(t)
		}, clientID: testServiceEC, want: "The client_assertion signature is invalid."},
		"issuer is not the client": {signed: func() string {
			a := env.rsaAssertion()
			a.issuer = testServiceEC
			return a.sign(t)
		}, want: "The 'iss' and 'sub' claims of the client_assertion must both be the client_id."},
		"no jti": {signed: func() string {
			a := env.rsaAssertion()
			a.jti = ""
			return a.sign(t)
		}, want: "The client_assertion token must have a 'jti' claim."},
		"unsupported algorithm": {signed: func() string {
			a := env.rsaAssertion()
			a.alg = jose.PS256
			return a.sign(t)
		}, want: "The client_assertion token is malformed or is not signed with RS256 or ES256."},
		"unknown client": {signed: func() string {
			a := env.rsaAssertion()
			a.issuer, a.subject = "0oanosuchclient00000", "0oanosuchclient00000"
			return a.sign(t)
		}, clientID: "0oanosuchclient00000", want: "Invalid value for 'client_id' parameter."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clientID := tc.clientID
			if clientID == "" {
				clientID = testServiceRSA
			}
			_, err := env.clientCredentials(tc.signed(), clientID, "okta.logs.read")
			re := retrieveError(t, err)
			if re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", re.Response.StatusCode)
			}
			if code, desc := oktaErrorBody(t, re.Body); code != "invalid_client" || desc != tc.want {
				t.Errorf("got %s %q, want invalid_client %q", code, desc, tc.want)
			}
		})
	}
}

func TestClientCredentialsScopes(t *testing.T) {
	env := newTestEnv(t, Config{})
	cases := map[string]struct {
		clientID, secret string
		scopes           []string
		error, desc      string
	}{
		"openid":            {scopes: []string{"openid", "okta.logs.read"}, error: "invalid_scope", desc: "Cannot request 'openid' scopes using client credentials."},
		"offline_access":    {scopes: []string{"offline_access", "okta.logs.read"}, error: "invalid_scope", desc: "Cannot request 'offline_access' scope using client credentials."},
		"self scope":        {scopes: []string{"okta.users.read.self"}, error: "invalid_scope", desc: "Cannot request '*.self' scopes using client credentials."},
		"unknown scope":     {scopes: []string{"okta.logs.read", "okta.nothing.read"}, error: "invalid_scope", desc: descUnknownScope},
		"custom scope":      {scopes: []string{"custom"}, error: "invalid_scope", desc: "Custom scopes are not allowed for this request."},
		"not granted":       {scopes: []string{"okta.logs.read", "okta.users.manage"}, error: "consent_required", desc: descScopeNotGranted},
		"no scope":          {scopes: nil, error: "invalid_scope", desc: descNoScope},
		"granted scopes ok": {scopes: []string{"okta.users.read", "okta.logs.read"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tok, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, tc.scopes...)
			if tc.error == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := tok.Extra("scope"); got != "okta.users.read okta.logs.read" {
					t.Errorf("scope = %q", got)
				}
				return
			}
			re := retrieveError(t, err)
			if re.Response.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", re.Response.StatusCode)
			}
			if code, desc := oktaErrorBody(t, re.Body); code != tc.error || desc != tc.desc {
				t.Errorf("got %s %q, want %s %q", code, desc, tc.error, tc.desc)
			}
		})
	}

	t.Run("web app", func(t *testing.T) {
		status, body, _ := env.postForm(pathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"}}, testWebClientID, testWebSecret)
		if status != http.StatusBadRequest || body["error"] != "unauthorized_client" ||
			body["error_description"] != "The client is not authorized to use the provided grant type. Configured grant types: [authorization_code, refresh_token]." {
			t.Errorf("%d %v", status, body)
		}
	})
}

func TestServiceClientKeyRotation(t *testing.T) {
	env := newTestEnv(t, Config{})
	newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Must(t, env.srv.SetServiceClientKeys(testServiceRSA, publicJWKS(newKey.Public(), "ec-rotated")))

	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err == nil {
		t.Error("the replaced key still authenticates")
	}
	a := env.rsaAssertion()
	a.key, a.kid, a.alg = newKey, "ec-rotated", jose.ES256
	if _, err := env.clientCredentials(a.sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("the new key does not authenticate: %v", err)
	}
	if err := env.srv.SetServiceClientKeys(testWebClientID, publicJWKS(newKey.Public(), "x")); err == nil {
		t.Error("SetServiceClientKeys accepted a web app")
	}
}

func TestRevoke(t *testing.T) {
	cases := map[string]func(tok *oauth2.Token) string{
		"refresh token": func(tok *oauth2.Token) string { return tok.RefreshToken },
		"access token":  func(tok *oauth2.Token) string { return tok.AccessToken },
	}
	for name, pick := range cases {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t, Config{})
			tok, conf := env.authorize("offline_access", "okta.logs.read")
			status, _, _ := env.postForm(pathRevoke, url.Values{"token": {pick(tok)}}, testWebClientID, testWebSecret)
			if status != http.StatusOK {
				t.Fatalf("revoke: status %d", status)
			}
			// Revoking either token revokes the grant (RFC 7009 2.1).
			if resp, _ := env.getWithToken(env.url(pathLogs), tok.AccessToken); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("access token after revocation: status %d", resp.StatusCode)
			}
			_, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Errorf("refresh after revocation: %s", re.ErrorCode)
			}
		})
	}

	t.Run("unknown token and bad client", func(t *testing.T) {
		env := newTestEnv(t, Config{})
		if status, _, _ := env.postForm(pathRevoke, url.Values{"token": {"no-such-token"}}, testWebClientID, testWebSecret); status != http.StatusOK {
			t.Errorf("revoking an unknown token: status %d, want 200", status)
		}
		status, body, _ := env.postForm(pathRevoke, url.Values{"token": {"x"}}, testWebClientID, "wrong")
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("revoking with a wrong secret: %d %v", status, body)
		}
	})
}

func TestIntrospect(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, _ := env.authorize("openid", "offline_access", "okta.logs.read")

	status, body, _ := env.postForm(pathIntrospect, url.Values{"token": {tok.AccessToken}}, testWebClientID, testWebSecret)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	now := env.clock.Now().Unix()
	want := map[string]any{
		"active": true, "scope": "openid offline_access okta.logs.read", "client_id": testWebClientID,
		"username": DemoUser, "sub": UserID(DemoUser), "token_type": "Bearer", "iss": env.issuer,
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	if exp, _ := body["exp"].(float64); int64(exp) < now+3590 || int64(exp) > now+3610 {
		t.Errorf("exp = %v, want about an hour from now (%d)", body["exp"], now+3600)
	}
	if iat, _ := body["iat"].(float64); iat == 0 {
		t.Error("no iat")
	}

	status, body, _ = env.postForm(pathIntrospect, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, testWebClientID, testWebSecret)
	if status != http.StatusOK || body["active"] != true || body["token_type"] != nil {
		t.Errorf("introspecting the refresh token: %d %v", status, body)
	}

	inactive := map[string]struct {
		token, clientID, secret string
		form                    url.Values
	}{
		"unknown token":          {token: "not-a-token", clientID: testWebClientID, secret: testWebSecret},
		"another client's token": {token: tok.AccessToken, clientID: testPostClientID, form: url.Values{"client_id": {testPostClientID}, "client_secret": {testWebSecret}}},
	}
	for name, tc := range inactive {
		t.Run(name, func(t *testing.T) {
			form := url.Values{"token": {tc.token}}
			maps.Copy(form, tc.form)
			user, pass := tc.clientID, tc.secret
			if tc.form != nil {
				user, pass = "", ""
			}
			status, body, _ := env.postForm(pathIntrospect, form, user, pass)
			raw, _ := json.Marshal(body)
			if status != http.StatusOK || string(raw) != `{"active":false}` {
				t.Errorf("%d %s, want 200 {\"active\":false}", status, raw)
			}
		})
	}

	t.Run("unauthenticated", func(t *testing.T) {
		status, body, _ := env.postForm(pathIntrospect, url.Values{"token": {tok.AccessToken}}, "", "")
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%d %v", status, body)
		}
	})
}

func TestTokenEndpointRequestErrors(t *testing.T) {
	env := newTestEnv(t, Config{})
	cases := map[string]struct {
		form        url.Values
		status      int
		error, desc string
	}{
		"no grant type": {form: url.Values{"scope": {"x"}}, status: 400, error: "invalid_request", desc: "The 'grant_type' parameter is required."},
		"password grant": {form: url.Values{"grant_type": {"password"}, "username": {DemoUser}, "password": {DemoPassword}}, status: 400,
			error: "unsupported_grant_type", desc: "The authorization grant type is not supported by the authorization server. Supported grant types: [authorization_code, refresh_token, client_credentials]."},
		"unknown refresh token": {form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, status: 400,
			error: "invalid_grant", desc: "The refresh token is invalid or expired."},
		"unknown code": {form: url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {testRedirectURI}, "code_verifier": {oauth2.GenerateVerifier()}}, status: 400,
			error: "invalid_grant", desc: "The authorization code is invalid or has expired."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body, header := env.postForm(pathToken, tc.form, testWebClientID, testWebSecret)
			if status != tc.status || body["error"] != tc.error || body["error_description"] != tc.desc || len(body) != 2 {
				t.Errorf("%d %v, want %d %s %q", status, body, tc.status, tc.error, tc.desc)
			}
			if header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", header.Get("Cache-Control"))
			}
		})
	}
}
