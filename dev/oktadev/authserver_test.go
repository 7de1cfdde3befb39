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
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	"golang.org/x/oauth2"
)

const (
	testSecretBasicClient = "0oatestsecretbasic01"
	testSecretPostClient  = "0oatestsecretpost001"
	testServiceSecret     = "test-service-client-secret-0123456789"
)

// addSecretServiceClients registers two service apps that authenticate with
// a client secret, one in the header and one in the body.
func (e *testEnv) addSecretServiceClients() {
	e.t.Helper()
	testenv.Must(e.t, e.srv.AddServiceClient(ServiceClient{
		ID: testSecretBasicClient, Secret: testServiceSecret, GrantedScopes: []string{"okta.logs.read"},
	}))
	testenv.Must(e.t, e.srv.AddServiceClient(ServiceClient{
		ID: testSecretPostClient, Secret: testServiceSecret, TokenEndpointAuthMethod: "client_secret_post",
		GrantedScopes: []string{"okta.logs.read"},
	}))
}

func TestCustomAuthorizationServerMetadata(t *testing.T) {
	env := newTestEnv(t, Config{})
	issuer := env.addAuthorizationServer(DefaultAuthorizationServerID, "logs:read", "logs:write")
	if want := env.issuer + "/oauth2/default"; issuer != want {
		t.Fatalf("AuthorizationServerIssuer = %q, want %q", issuer, want)
	}
	for _, doc := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		t.Run(doc, func(t *testing.T) {
			resp, body := env.getWithToken(issuer+doc, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var md map[string]any
			testenv.Must(t, json.Unmarshal(body, &md))
			for field, want := range map[string]string{
				"issuer":                 issuer,
				"authorization_endpoint": issuer + "/v1/authorize",
				"token_endpoint":         issuer + "/v1/token",
				"revocation_endpoint":    issuer + "/v1/revoke",
				"introspection_endpoint": issuer + "/v1/introspect",
				"jwks_uri":               issuer + "/v1/keys",
				"userinfo_endpoint":      issuer + "/v1/userinfo",
			} {
				if md[field] != want {
					t.Errorf("%s = %v, want %s", field, md[field], want)
				}
			}
			scopes, _ := md["scopes_supported"].([]any)
			for _, want := range []string{"logs:read", "logs:write", "openid", "offline_access"} {
				if !slices.Contains(scopes, any(want)) {
					t.Errorf("scopes_supported %v lacks %s", scopes, want)
				}
			}
			if slices.Contains(scopes, any("okta.logs.read")) {
				t.Errorf("a custom authorization server advertises okta.logs.read: %v", scopes)
			}
		})
	}

	t.Run("unknown authorization server", func(t *testing.T) {
		resp, body := env.getWithToken(env.issuer+"/oauth2/aus0nosuchserver0000/.well-known/openid-configuration", "")
		var apiErr map[string]any
		testenv.Must(t, json.Unmarshal(body, &apiErr))
		if resp.StatusCode != http.StatusNotFound || apiErr["errorCode"] != "E0000007" ||
			apiErr["errorSummary"] != "Not found: Resource not found: aus0nosuchserver0000 (AuthorizationServer)" {
			t.Errorf("status %d, body %s", resp.StatusCode, body)
		}
		status, _, _ := env.postFormTo(env.issuer+"/oauth2/aus0nosuchserver0000/v1/token", url.Values{"grant_type": {"client_credentials"}}, "", "")
		if status != http.StatusNotFound {
			t.Errorf("token endpoint of an unknown authorization server: status %d, want 404", status)
		}
	})
}

func TestCustomAuthorizationServerClientCredentials(t *testing.T) {
	env := newTestEnv(t, Config{})
	env.addSecretServiceClients()
	issuer := env.addAuthorizationServer("aus1custom000000000a", "logs:read", "logs:write")
	tokenURL := issuer + "/v1/token"
	keyAssertion := func() string {
		a := env.rsaAssertion()
		a.audience = tokenURL
		return a.sign(t)
	}

	cases := map[string]struct {
		request     func(scopes ...string) (*oauth2.Token, error)
		scopes      []string
		status      int
		error, desc string
	}{
		"private_key_jwt": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.clientCredentialsAt(tokenURL, keyAssertion(), testServiceRSA, scopes...)
			},
			scopes: []string{"logs:read", "logs:write"},
		},
		"client_secret_basic": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, scopes...)
			},
			scopes: []string{"logs:read"},
		},
		"client_secret_post": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretPostClient, testServiceSecret, oauth2.AuthStyleInParams, scopes...)
			},
			scopes: []string{"logs:write"},
		},
		"wrong client secret": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretBasicClient, "wrong", oauth2.AuthStyleInHeader, scopes...)
			},
			scopes: []string{"logs:read"},
			status: http.StatusUnauthorized, error: "invalid_client", desc: "The client secret supplied for a confidential client is invalid.",
		},
		"secret sent in the body by a basic app": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInParams, scopes...)
			},
			scopes: []string{"logs:read"},
			status: http.StatusUnauthorized, error: "invalid_client", desc: "Client authentication failed. The client is not configured for the 'client_secret_post' authentication method.",
		},
		"okta scope": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, scopes...)
			},
			scopes: []string{"okta.logs.read"},
			status: http.StatusBadRequest, error: "invalid_scope", desc: descUnknownScope,
		},
		"okta scope with private_key_jwt": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.clientCredentialsAt(tokenURL, keyAssertion(), testServiceRSA, scopes...)
			},
			scopes: []string{"logs:read", "okta.logs.read"},
			status: http.StatusBadRequest, error: "invalid_scope", desc: descUnknownScope,
		},
		"scope of no authorization server": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, scopes...)
			},
			scopes: []string{"logs:delete"},
			status: http.StatusBadRequest, error: "invalid_scope", desc: descUnknownScope,
		},
		"openid": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, scopes...)
			},
			scopes: []string{"openid", "logs:read"},
			status: http.StatusBadRequest, error: "invalid_scope", desc: "Cannot request 'openid' scopes using client credentials.",
		},
		"assertion meant for the org authorization server": {
			request: func(scopes ...string) (*oauth2.Token, error) {
				return env.clientCredentialsAt(tokenURL, env.rsaAssertion().sign(t), testServiceRSA, scopes...)
			},
			scopes: []string{"logs:read"},
			status: http.StatusUnauthorized, error: "invalid_client", desc: "The audience claim for client_assertion must be the endpoint invoked for the request.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tok, err := tc.request(tc.scopes...)
			if tc.error == "" {
				if err != nil {
					t.Fatalf("token request: %v", err)
				}
				if want := strings.Join(tc.scopes, " "); tok.Extra("scope") != want || tok.TokenType != "Bearer" {
					t.Errorf("scope %v, token type %q; want %q, Bearer", tok.Extra("scope"), tok.TokenType, want)
				}
				return
			}
			re := retrieveError(t, err)
			if re.Response.StatusCode != tc.status {
				t.Errorf("status %d, want %d", re.Response.StatusCode, tc.status)
			}
			if code, desc := oktaErrorBody(t, re.Body); code != tc.error || desc != tc.desc {
				t.Errorf("got %s %q, want %s %q", code, desc, tc.error, tc.desc)
			}
		})
	}
}

// Okta's org authorization server mints tokens for service apps only when
// they authenticate with private_key_jwt.
func TestOrgAuthorizationServerRefusesClientSecretsForClientCredentials(t *testing.T) {
	env := newTestEnv(t, Config{})
	env.addSecretServiceClients()
	cases := map[string]struct {
		clientID, secret string
		style            oauth2.AuthStyle
		desc             string
	}{
		"client_secret_basic": {clientID: testSecretBasicClient, secret: testServiceSecret, style: oauth2.AuthStyleInHeader, desc: descOrgClientCredentialsAuth},
		"client_secret_post":  {clientID: testSecretPostClient, secret: testServiceSecret, style: oauth2.AuthStyleInParams, desc: descOrgClientCredentialsAuth},
		"wrong secret":        {clientID: testSecretBasicClient, secret: "wrong", style: oauth2.AuthStyleInHeader, desc: "The client secret supplied for a confidential client is invalid."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := env.secretClientCredentials(env.url(pathToken), tc.clientID, tc.secret, tc.style, "okta.logs.read")
			re := retrieveError(t, err)
			if re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", re.Response.StatusCode)
			}
			if code, desc := oktaErrorBody(t, re.Body); code != "invalid_client" || desc != tc.desc {
				t.Errorf("got %s %q, want invalid_client %q", code, desc, tc.desc)
			}
		})
	}
	if n := env.srv.ActiveAccessTokens(testSecretBasicClient) + env.srv.ActiveAccessTokens(testSecretPostClient); n != 0 {
		t.Errorf("%d access tokens issued to client-secret service apps by the org authorization server", n)
	}
	// The private_key_jwt path is unchanged.
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("private_key_jwt at the org authorization server: %v", err)
	}
}

// A token belongs to the authorization server that issued it: no other one
// introspects it as active, revokes it, or lets it call its resources, and
// only the org authorization server's tokens call Okta's API.
func TestTokensStayWithTheirAuthorizationServer(t *testing.T) {
	env := newTestEnv(t, Config{})
	env.addSecretServiceClients()
	ids := map[string]string{"org": "", "a": "aus1serverA000000000", "b": "aus1serverB000000000"}
	servers := map[string]string{
		"org": env.issuer + "/oauth2",
		"a":   env.addAuthorizationServer(ids["a"], "logs:read"),
		"b":   env.addAuthorizationServer(ids["b"], "logs:read"),
	}
	// Endpoint URLs of each server: the org's are under /oauth2/v1, a custom
	// one's under its issuer.
	endpoint := func(server, ep string) string { return servers[server] + ep }
	tokens := map[string]*oauth2.Token{}
	for name := range servers {
		var tok *oauth2.Token
		var err error
		if name == "org" {
			tok, err = env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
		} else {
			tok, err = env.secretClientCredentials(endpoint(name, endpointToken), testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, "logs:read")
		}
		if err != nil {
			t.Fatalf("token from %s: %v", name, err)
		}
		tokens[name] = tok
	}
	// introspect asks server about the token issued by owner, as its client.
	introspect := func(server, owner string) map[string]any {
		t.Helper()
		client, secret := testSecretBasicClient, testServiceSecret
		form := url.Values{"token": {tokens[owner].AccessToken}}
		if owner == "org" {
			a := env.rsaAssertion()
			a.audience = endpoint(server, endpointIntrospect)
			form.Set("client_assertion_type", clientAssertionType)
			form.Set("client_assertion", a.sign(t))
			client, secret = "", ""
		}
		status, body, _ := env.postFormTo(endpoint(server, endpointIntrospect), form, client, secret)
		if status != http.StatusOK {
			t.Fatalf("introspect at %s: status %d %v", server, status, body)
		}
		return body
	}

	for owner := range servers {
		for server := range servers {
			body := introspect(server, owner)
			if want := server == owner; body["active"] != want {
				t.Errorf("token of %s introspected at %s: active = %v, want %v", owner, server, body["active"], want)
			}
			if server == owner && body["iss"] != env.srv.AuthorizationServerIssuer(ids[owner]) {
				t.Errorf("token of %s: iss = %v", owner, body["iss"])
			}
		}
	}

	// Revoking at another authorization server is not an error (RFC 7009:
	// an unknown token), and leaves the token alone.
	status, _, _ := env.postFormTo(endpoint("b", endpointRevoke), url.Values{"token": {tokens["a"].AccessToken}}, testSecretBasicClient, testServiceSecret)
	if status != http.StatusOK {
		t.Errorf("revoking a's token at b: status %d, want 200", status)
	}
	if introspect("a", "a")["active"] != true {
		t.Error("revoking a's token at b revoked it")
	}

	// Okta's API takes only the org authorization server's tokens.
	for name, want := range map[string]int{"org": http.StatusOK, "a": http.StatusUnauthorized} {
		if resp, _ := env.getWithToken(env.url(pathLogs), tokens[name].AccessToken); resp.StatusCode != want {
			t.Errorf("GET /api/v1/logs with %s's token: status %d, want %d", name, resp.StatusCode, want)
		}
	}

	// Revoking at the right authorization server works.
	status, _, _ = env.postFormTo(endpoint("a", endpointRevoke), url.Values{"token": {tokens["a"].AccessToken}}, testSecretBasicClient, testServiceSecret)
	if status != http.StatusOK || introspect("a", "a")["active"] != false {
		t.Errorf("revoking a's token at a: status %d, still active", status)
	}
}

func TestCustomAuthorizationServerSignIn(t *testing.T) {
	env := newTestEnv(t, Config{})
	issuer := env.addAuthorizationServer(DefaultAuthorizationServerID, "logs:read")
	conf := env.webConfig("openid", "profile", "email", "offline_access", "logs:read")
	conf.Endpoint.AuthURL, conf.Endpoint.TokenURL = issuer+"/v1/authorize", issuer+"/v1/token"

	verifier := oauth2.GenerateVerifier()
	q := callback(t, newBrowser(t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)), DemoUser, DemoPassword), testRedirectURI)
	tok, err := conf.Exchange(env.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange at the custom authorization server: %v", err)
	}
	if got := tok.Extra("scope"); got != "openid profile email offline_access logs:read" {
		t.Errorf("scope = %q", got)
	}
	idToken, _ := tok.Extra("id_token").(string)
	claims := verifyIDTokenWith(t, env.jwks(issuer+"/v1/keys"), idToken)
	if claims["iss"] != issuer {
		t.Errorf("ID token iss = %v, want %s", claims["iss"], issuer)
	}
	// Each authorization server signs with a key of its own.
	if _, err := parseIDToken(env.jwks(env.url(pathKeys)), idToken); err == nil {
		t.Error("the org authorization server's keys verify a custom authorization server's ID token")
	}

	refreshed, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || refreshed.AccessToken == tok.AccessToken {
		t.Fatalf("refresh at the custom authorization server: %v", err)
	}
	resp, body := env.getWithToken(issuer+"/v1/userinfo", refreshed.AccessToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d %s", resp.StatusCode, body)
	}
	var info map[string]any
	testenv.Must(t, json.Unmarshal(body, &info))
	if info["sub"] != UserID(DemoUser) || info["email"] != DemoUser {
		t.Errorf("userinfo %v", info)
	}
	if resp, _ := env.getWithToken(env.url(pathUserinfo), refreshed.AccessToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the org authorization server's userinfo took a custom one's token: %d", resp.StatusCode)
	}

	t.Run("okta scopes are the org authorization server's", func(t *testing.T) {
		conf := *conf
		conf.Scopes = []string{"openid", "okta.logs.read"}
		p := newBrowser(t).get(conf.AuthCodeURL("state-5678", oauth2.S256ChallengeOption(verifier)))
		q := callback(t, p, testRedirectURI)
		if q.Get("error") != "invalid_scope" || q.Get("error_description") != descUnknownScope || q.Get("state") != "state-5678" {
			t.Errorf("callback query %v", q)
		}
	})
}

func TestAddAuthorizationServer(t *testing.T) {
	env := newTestEnv(t, Config{})
	for name, as := range map[string]AuthorizationServer{
		"empty id":             {},
		"id with a slash":      {ID: "a/b"},
		"id v1":                {ID: "v1"},
		"okta scope":           {ID: "x", Scopes: []string{"okta.logs.read"}},
		"OpenID Connect scope": {ID: "x", Scopes: []string{"openid"}},
		"scope with a space":   {ID: "x", Scopes: []string{"a b"}},
	} {
		if err := env.srv.AddAuthorizationServer(as); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	// Adding it again replaces its scopes; its tokens stay valid.
	issuer := env.addAuthorizationServer("aus1editable00000000", "old:scope")
	tokenURL := issuer + "/v1/token"
	env.addSecretServiceClients()
	old, err := env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, "old:scope")
	testenv.Must(t, err)
	env.addAuthorizationServer("aus1editable00000000", "new:scope")
	if _, err := env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, "old:scope"); err == nil {
		t.Error("a removed scope is still minted")
	}
	if _, err := env.secretClientCredentials(tokenURL, testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, "new:scope"); err != nil {
		t.Errorf("the added scope: %v", err)
	}
	status, body, _ := env.postFormTo(issuer+"/v1/introspect", url.Values{"token": {old.AccessToken}}, testSecretBasicClient, testServiceSecret)
	if status != http.StatusOK || body["active"] != true {
		t.Errorf("a token issued before the edit: %d %v", status, body)
	}
}

func TestServiceClientRegistration(t *testing.T) {
	srv, err := New(Config{})
	testenv.Must(t, err)
	keys := publicJWKS(testRSAKey().Public(), "k")
	cases := map[string]struct {
		client ServiceClient
		ok     bool
	}{
		"keys":                        {client: ServiceClient{ID: "a", JWKS: keys}, ok: true},
		"secret":                      {client: ServiceClient{ID: "a", Secret: "s"}, ok: true},
		"secret, post":                {client: ServiceClient{ID: "a", Secret: "s", TokenEndpointAuthMethod: "client_secret_post"}, ok: true},
		"nothing to authenticate":     {client: ServiceClient{ID: "a"}},
		"keys and a secret":           {client: ServiceClient{ID: "a", JWKS: keys, Secret: "s"}},
		"secret method without one":   {client: ServiceClient{ID: "a", JWKS: keys, TokenEndpointAuthMethod: "client_secret_basic"}},
		"private_key_jwt with secret": {client: ServiceClient{ID: "a", Secret: "s", TokenEndpointAuthMethod: "private_key_jwt"}},
		"unknown method":              {client: ServiceClient{ID: "a", Secret: "s", TokenEndpointAuthMethod: "client_secret_jwt"}},
	}
	for name, tc := range cases {
		if err := srv.AddServiceClient(tc.client); (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok=%v", name, err, tc.ok)
		}
	}
	testenv.Must(t, srv.AddServiceClient(ServiceClient{ID: "secret-app", Secret: "s"}))
	if err := srv.SetServiceClientKeys("secret-app", keys); err == nil {
		t.Error("SetServiceClientKeys accepted a client-secret app")
	}
}
