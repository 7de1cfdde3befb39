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

// Package oktadev is a development stand-in for Okta's org authorization
// server, for tests and demos of okta-token-operator.
//
// It is a real OAuth 2.0 server, built on github.com/ory/fosite: fosite
// parses and validates requests, authenticates clients (client_secret_basic,
// client_secret_post, private_key_jwt), runs the authorization-code (with
// PKCE), refresh-token and client-credentials grants, mints opaque access and
// refresh tokens and signed ID tokens, and revokes and introspects them. This
// package adds what makes it look like Okta to a client:
//
//   - Okta's paths (/oauth2/v1/authorize, /token, /revoke, /introspect, /keys,
//     /userinfo) and metadata at /.well-known/openid-configuration and
//     /.well-known/oauth-authorization-server;
//   - a sign-in page for the authorization-code flow, with Okta's form ids;
//   - Okta's policy where fosite is neutral: PKCE per app, exact redirect-URI
//     match, okta.* scopes granted per app, client-assertion lifetime, refresh
//     token rotation with a grace period and reuse detection;
//   - Okta's error names and sentences, Okta's API error body, and Okta's
//     rate-limit headers;
//   - GET /api/v1/logs, a System Log resource that demands okta.logs.read;
//   - fault injection on the token endpoint (5xx, 429, hangs) for tests.
//
// A Server starts with no clients and no users. Tests add them and serve on a
// loopback listener:
//
//	srv, err := oktadev.New(oktadev.Config{Clock: fakeClock})
//	...
//	srv.AddWebClient(oktadev.WebClient{ID: "web", Secret: "s", RedirectURIs: []string{cb}, GrantedScopes: []string{"okta.logs.read"}})
//	srv.AddUser(oktadev.User{Username: oktadev.DemoUser, Password: oktadev.DemoPassword})
//	l, _ := net.Listen("tcp", "127.0.0.1:0")
//	srv.Start(l)
//	defer srv.Close()
//
// cmd/okta-dev-server runs the same server as a program.
package oktadev
