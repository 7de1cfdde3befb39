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
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

func TestMetadataDocuments(t *testing.T) {
	env := newTestEnv(t, Config{})
	for _, path := range []string{pathOAuthMetadata, pathOIDCMetadata} {
		t.Run(path, func(t *testing.T) {
			resp, body := env.getWithToken(env.url(path), "")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			for field, want := range map[string]string{
				"issuer":                 env.issuer,
				"authorization_endpoint": env.issuer + "/oauth2/v1/authorize",
				"token_endpoint":         env.issuer + "/oauth2/v1/token",
				"revocation_endpoint":    env.issuer + "/oauth2/v1/revoke",
				"introspection_endpoint": env.issuer + "/oauth2/v1/introspect",
				"jwks_uri":               env.issuer + "/oauth2/v1/keys",
				"userinfo_endpoint":      env.issuer + "/oauth2/v1/userinfo",
			} {
				if doc[field] != want {
					t.Errorf("%s = %v, want %s", field, doc[field], want)
				}
			}
			for field, wants := range map[string][]string{
				"response_types_supported":                         {"code"},
				"grant_types_supported":                            {"authorization_code", "refresh_token", "client_credentials"},
				"scopes_supported":                                 {"openid", "profile", "email", "offline_access", "okta.logs.read", "okta.users.read"},
				"token_endpoint_auth_methods_supported":            {"client_secret_basic", "client_secret_post", "private_key_jwt"},
				"token_endpoint_auth_signing_alg_values_supported": {"RS256", "ES256"},
				"code_challenge_methods_supported":                 {"S256"},
			} {
				list, _ := doc[field].([]any)
				for _, want := range wants {
					if !slices.Contains(list, any(want)) {
						t.Errorf("%s = %v lacks %s", field, list, want)
					}
				}
			}
		})
	}
}

func TestIssuer(t *testing.T) {
	t.Run("from the listener", func(t *testing.T) {
		srv, err := New(Config{})
		testenv.Must(t, err)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		testenv.Must(t, err)
		testenv.Must(t, srv.Start(l))
		defer func() { _ = srv.Close() }()
		if want := "http://" + l.Addr().String(); srv.Issuer() != want {
			t.Errorf("Issuer() = %q, want %q", srv.Issuer(), want)
		}
		if err := srv.Start(l); err == nil {
			t.Error("a second Start succeeded")
		}
	})

	t.Run("configured", func(t *testing.T) {
		srv, err := New(Config{Issuer: "https://dev-123456.example.com/"})
		testenv.Must(t, err)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pathOIDCMetadata, nil))
		var doc map[string]any
		testenv.Must(t, json.Unmarshal(rec.Body.Bytes(), &doc))
		if doc["token_endpoint"] != "https://dev-123456.example.com/oauth2/v1/token" {
			t.Errorf("token_endpoint = %v", doc["token_endpoint"])
		}
	})

	t.Run("from the first request when only the handler is used", func(t *testing.T) {
		srv, err := New(Config{})
		testenv.Must(t, err)
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		resp, err := http.Get(hs.URL + pathOIDCMetadata)
		testenv.Must(t, err)
		defer func() { _ = resp.Body.Close() }()
		if srv.Issuer() != hs.URL {
			t.Errorf("Issuer() = %q, want %q", srv.Issuer(), hs.URL)
		}
	})
}

func TestRegistrationIsValidated(t *testing.T) {
	srv, err := New(Config{})
	testenv.Must(t, err)
	cases := map[string]error{
		"web client without redirect URI": srv.AddWebClient(WebClient{ID: "a", Secret: "s"}),
		"relative redirect URI":           srv.AddWebClient(WebClient{ID: "a", Secret: "s", RedirectURIs: []string{"/callback"}}),
		"granted openid":                  srv.AddWebClient(WebClient{ID: "a", Secret: "s", RedirectURIs: []string{testRedirectURI}, GrantedScopes: []string{"openid"}}),
		"unknown auth method":             srv.AddWebClient(WebClient{ID: "a", Secret: "s", RedirectURIs: []string{testRedirectURI}, TokenEndpointAuthMethod: "none"}),
		"service client without keys":     srv.AddServiceClient(ServiceClient{ID: "b"}),
		"service client granted a self scope": srv.AddServiceClient(ServiceClient{ID: "b",
			JWKS: publicJWKS(testRSAKey().Public(), "k"), GrantedScopes: []string{"okta.users.read.self"}}),
		"private key as a service client key": srv.AddServiceClient(ServiceClient{ID: "b", JWKS: publicJWKS(testRSAKey(), "k")}),
		"user without password":               srv.AddUser(User{Username: "u"}),
	}
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
