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
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	"golang.org/x/oauth2"
)

func TestAuthorizationCodeFlowIssuesOktaShapedTokens(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, _ := env.authorize("openid", "profile", "email", "offline_access", "okta.logs.read")

	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("want an access and a refresh token, got %+v", tok)
	}
	if tok.TokenType != "Bearer" {
		t.Errorf("token_type = %q, want Bearer", tok.TokenType)
	}
	if got := tok.Extra("expires_in"); got != float64(3600) {
		t.Errorf("expires_in = %v, want 3600", got)
	}
	if got := tok.Extra("scope"); got != "openid profile email offline_access okta.logs.read" {
		t.Errorf("scope = %q", got)
	}

	idToken, _ := tok.Extra("id_token").(string)
	claims := verifyIDToken(t, env, idToken)
	for claim, want := range map[string]string{
		"iss":                env.issuer,
		"sub":                UserID(DemoUser),
		"preferred_username": DemoUser,
		"email":              DemoUser,
		"name":               DemoUserName,
	} {
		if claims[claim] != want {
			t.Errorf("ID token %s = %v, want %q", claim, claims[claim], want)
		}
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != testWebClientID {
		t.Errorf("ID token aud = %v, want [%s]", claims["aud"], testWebClientID)
	}

	resp, _ := env.getWithToken(env.url(pathLogs), tok.AccessToken)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/logs with the new token: status %d", resp.StatusCode)
	}
}

func TestAuthorizationCodeFlowWithoutOfflineAccessOrOpenID(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, _ := env.authorize("okta.logs.read")
	if tok.RefreshToken != "" {
		t.Error("got a refresh token without offline_access")
	}
	if tok.Extra("id_token") != nil {
		t.Error("got an ID token without openid")
	}
	if got := tok.Extra("scope"); got != "okta.logs.read" {
		t.Errorf("scope = %q, want okta.logs.read", got)
	}
}

func verifyIDToken(t *testing.T, env *testEnv, raw string) map[string]any {
	t.Helper()
	return verifyIDTokenWith(t, env.jwks(env.url(pathKeys)), raw)
}

func TestAuthorizeRefusals(t *testing.T) {
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	base := url.Values{
		"client_id":             {testWebClientID},
		"response_type":         {"code"},
		"redirect_uri":          {testRedirectURI},
		"scope":                 {"openid offline_access okta.logs.read"},
		"state":                 {"state-1234"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	with := func(change func(url.Values)) url.Values {
		q := url.Values{}
		for k, v := range base {
			q[k] = append([]string(nil), v...)
		}
		change(q)
		return q
	}

	// These are refused before the sign-in page, with an error redirect.
	redirected := map[string]struct {
		query       url.Values
		error, desc string
		wantState   string
	}{
		"missing state": {
			query: with(func(q url.Values) { q.Del("state") }),
			error: "invalid_request", desc: "The authorization request is missing the 'state' parameter.",
		},
		"no PKCE": {
			query: with(func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }),
			error: "invalid_request", desc: "PKCE code challenge is required by the client app settings.", wantState: "state-1234",
		},
		"plain PKCE": {
			query: with(func(q url.Values) { q.Set("code_challenge", verifier); q.Set("code_challenge_method", "plain") }),
			error: "invalid_request", desc: "PKCE code challenge method is not supported. Use 'S256'.", wantState: "state-1234",
		},
		"custom scope at the org authorization server": {
			query: with(func(q url.Values) { q.Set("scope", "openid okta.logs.read custom.scope") }),
			error: "invalid_scope", desc: "Custom scopes are not allowed for this request.", wantState: "state-1234",
		},
		"unknown okta scope": {
			query: with(func(q url.Values) { q.Set("scope", "openid okta.logs.read okta.nothing.read") }),
			error: "invalid_scope", desc: descUnknownScope, wantState: "state-1234",
		},
		"okta scope not granted to the app": {
			query: with(func(q url.Values) { q.Set("scope", "openid okta.users.manage") }),
			error: "consent_required", desc: descScopeNotGranted, wantState: "state-1234",
		},
		"response type other than code": {
			query: with(func(q url.Values) { q.Set("response_type", "token") }),
			error: "unsupported_response_type", desc: "The response type is not supported by the authorization server. Configured response types: [code].", wantState: "state-1234",
		},
		"prompt=none without a session": {
			query: with(func(q url.Values) { q.Set("prompt", "none") }),
			error: "login_required", desc: "The client specified not to prompt, but the user is not logged in.", wantState: "state-1234",
		},
	}
	env := newTestEnv(t, Config{})
	for name, tc := range redirected {
		t.Run(name, func(t *testing.T) {
			p := newBrowser(t).get(env.url(pathAuthorize) + "?" + tc.query.Encode())
			q := callback(t, p, testRedirectURI)
			if q.Get("error") != tc.error || q.Get("error_description") != tc.desc {
				t.Errorf("error=%q error_description=%q, want %q %q", q.Get("error"), q.Get("error_description"), tc.error, tc.desc)
			}
			if q.Get("state") != tc.wantState {
				t.Errorf("state = %q, want %q", q.Get("state"), tc.wantState)
			}
			if q.Has("code") {
				t.Error("an error redirect carries a code")
			}
		})
	}

	// These must never redirect: the redirect URI cannot be trusted.
	pages := map[string]struct {
		query url.Values
		text  string
	}{
		"redirect URI not registered": {
			query: with(func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/callback") }),
			text:  "The &#39;redirect_uri&#39; parameter must be a Login redirect URI in the client app settings.",
		},
		"redirect URI differs only in its port": {
			query: with(func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:8084/callback") }),
			text:  "must be a Login redirect URI",
		},
		"missing redirect URI": {
			query: with(func(q url.Values) { q.Del("redirect_uri") }),
			text:  "must be a Login redirect URI",
		},
		"unknown client": {
			query: with(func(q url.Values) { q.Set("client_id", "0oanosuchclient00000") }),
			text:  "Invalid value for &#39;client_id&#39; parameter.",
		},
		"service app": {
			query: with(func(q url.Values) { q.Set("client_id", testServiceRSA) }),
			text:  "Invalid value for &#39;client_id&#39; parameter.",
		},
	}
	for name, tc := range pages {
		t.Run(name, func(t *testing.T) {
			p := newBrowser(t).get(env.url(pathAuthorize) + "?" + tc.query.Encode())
			if p.status != http.StatusBadRequest || p.location != "" {
				t.Fatalf("status %d, Location %q; want 400 and no redirect", p.status, p.location)
			}
			if !strings.Contains(p.body, tc.text) {
				t.Errorf("error page does not say %q:\n%s", tc.text, p.body)
			}
		})
	}
}

func TestSignInPage(t *testing.T) {
	env := newTestEnv(t, Config{})
	conf := env.webConfig("openid", "okta.logs.read")
	authURL := conf.AuthCodeURL("state-5678", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	t.Run("has Okta's stable form ids", func(t *testing.T) {
		p := newBrowser(t).get(authURL)
		for _, want := range []string{
			`<input type="text" id="okta-signin-username" name="username"`,
			`<input type="password" id="okta-signin-password" name="password"`,
			`id="okta-signin-submit"`,
			`id="okta-signin-cancel"`,
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("sign-in page lacks %s", want)
			}
		}
		if got := p.header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("Content-Security-Policy = %q, want framing forbidden", got)
		}
	})

	t.Run("wrong password shows an error and the form again", func(t *testing.T) {
		b := newBrowser(t)
		p := b.signIn(authURL, DemoUser, "not-the-password")
		if p.status != http.StatusUnauthorized || p.location != "" {
			t.Fatalf("status %d, Location %q; want 401 and no redirect", p.status, p.location)
		}
		if !strings.Contains(p.body, msgSignInFailed) || !strings.Contains(p.body, `value="`+DemoUser+`"`) {
			t.Errorf("page lacks the error or the username:\n%s", p.body)
		}
		// The page that shows the error can be used to sign in.
		p = b.submit(authURL, p, url.Values{"username": {DemoUser}, "password": {DemoPassword}})
		if q := callback(t, p, testRedirectURI); q.Get("code") == "" {
			t.Errorf("no code after a second, correct attempt: %v", q)
		}
	})

	t.Run("unknown user gets the same error", func(t *testing.T) {
		p := newBrowser(t).signIn(authURL, "nobody@example.com", DemoPassword)
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, msgSignInFailed) {
			t.Errorf("status %d; want 401 with %q", p.status, msgSignInFailed)
		}
	})

	t.Run("cancel sends access_denied with the state", func(t *testing.T) {
		b := newBrowser(t)
		p := b.submit(authURL, b.get(authURL), url.Values{"action": {"cancel"}})
		q := callback(t, p, testRedirectURI)
		if q.Get("error") != "access_denied" ||
			q.Get("error_description") != "The resource owner or authorization server denied the request." ||
			q.Get("state") != "state-5678" {
			t.Errorf("callback query %v", q)
		}
	})

	t.Run("a form posted without the CSRF cookie is refused", func(t *testing.T) {
		login := newBrowser(t).get(authURL)
		// Another browser (no cookie) replays the form with its token.
		p := newBrowser(t).submit(authURL, login, url.Values{"username": {DemoUser}, "password": {DemoPassword}})
		if p.status != http.StatusForbidden || p.location != "" {
			t.Errorf("status %d, Location %q; want 403 and no redirect", p.status, p.location)
		}
	})

	t.Run("a forged CSRF token is refused", func(t *testing.T) {
		b := newBrowser(t)
		login := b.get(authURL)
		login.body = csrfField.ReplaceAllString(login.body, `name="csrf_token" value="forged"`)
		p := b.submit(authURL, login, url.Values{"username": {DemoUser}, "password": {DemoPassword}})
		if p.status != http.StatusForbidden {
			t.Errorf("status %d; want 403", p.status)
		}
	})
}

func TestAuthorizationCodeIsSingleUseAndBoundToPKCE(t *testing.T) {
	env := newTestEnv(t, Config{})
	conf := env.webConfig("openid", "offline_access", "okta.logs.read")
	verifier := oauth2.GenerateVerifier()
	signIn := func() string {
		q := callback(t, newBrowser(t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)), DemoUser, DemoPassword), testRedirectURI)
		return q.Get("code")
	}

	t.Run("wrong verifier", func(t *testing.T) {
		_, err := conf.Exchange(env.ctx(), signIn(), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		re := retrieveError(t, err)
		if re.ErrorCode != "invalid_grant" || re.ErrorDescription != "PKCE verification failed." {
			t.Errorf("got %s %q", re.ErrorCode, re.ErrorDescription)
		}
	})

	t.Run("no verifier", func(t *testing.T) {
		_, err := conf.Exchange(env.ctx(), signIn())
		re := retrieveError(t, err)
		if re.ErrorCode != "invalid_grant" || re.ErrorDescription != "PKCE verification failed." {
			t.Errorf("got %s %q", re.ErrorCode, re.ErrorDescription)
		}
	})

	t.Run("second use revokes what the first issued", func(t *testing.T) {
		code := signIn()
		tok, err := conf.Exchange(env.ctx(), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conf.Exchange(env.ctx(), code, oauth2.VerifierOption(verifier))
		re := retrieveError(t, err)
		if re.ErrorCode != "invalid_grant" || re.ErrorDescription != "The authorization code is invalid or has expired." {
			t.Errorf("got %s %q", re.ErrorCode, re.ErrorDescription)
		}
		if resp, _ := env.getWithToken(env.url(pathLogs), tok.AccessToken); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("access token from a replayed code: status %d, want 401", resp.StatusCode)
		}
	})

	t.Run("other redirect URI at the token endpoint", func(t *testing.T) {
		other := *conf
		other.RedirectURL = testOtherRedirect
		_, err := other.Exchange(env.ctx(), signIn(), oauth2.VerifierOption(verifier))
		re := retrieveError(t, err)
		if re.ErrorCode != "invalid_grant" || !strings.Contains(re.ErrorDescription, "redirect_uri") {
			t.Errorf("got %s %q", re.ErrorCode, re.ErrorDescription)
		}
	})

	// Last: stepping the clock ages every code issued afterwards too.
	t.Run("expired code", func(t *testing.T) {
		code := signIn()
		env.clock.Step(authorizeCodeLifetime + time.Second)
		_, err := conf.Exchange(env.ctx(), code, oauth2.VerifierOption(verifier))
		re := retrieveError(t, err)
		if re.ErrorCode != "invalid_grant" {
			t.Errorf("got %s %q", re.ErrorCode, re.ErrorDescription)
		}
	})
}

func TestWebClientWithoutPKCE(t *testing.T) {
	env := newTestEnv(t, Config{})
	testenv.Must(t, env.srv.AddWebClient(WebClient{
		ID: "0oalegacywebclient01", Secret: testWebSecret, RedirectURIs: []string{testRedirectURI},
		PKCEOptional: true,
	}))
	conf := env.webConfig("openid")
	conf.ClientID = "0oalegacywebclient01"
	q := callback(t, newBrowser(t).signIn(conf.AuthCodeURL("state-1234"), DemoUser, DemoPassword), testRedirectURI)
	if _, err := conf.Exchange(env.ctx(), q.Get("code")); err != nil {
		t.Errorf("exchanging a code obtained without PKCE: %v", err)
	}
}
