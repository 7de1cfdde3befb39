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

// Package oktadev is a development stand-in for an Okta org's authorization
// servers, for tests and demos of okta-token-operator.
//
// It is a real OAuth 2.0 server, built on github.com/ory/fosite: fosite
// parses and validates requests, authenticates clients (client_secret_basic,
// client_secret_post, private_key_jwt), runs the authorization-code (with
// PKCE), refresh-token and client-credentials grants, mints opaque access and
// refresh tokens and signed ID tokens (with the request's nonce), and revokes
// and introspects them. This package adds what makes it look like Okta to a
// client:
//
//   - the org authorization server at Okta's paths (/oauth2/v1/authorize,
//     /token, /revoke, /introspect, /keys, /userinfo), with metadata at
//     /.well-known/openid-configuration and
//     /.well-known/oauth-authorization-server; it mints okta.* scopes and
//     refuses custom ones, and service apps must use private_key_jwt with it;
//   - custom authorization servers (AddAuthorizationServer), each with its
//     own issuer ({issuer}/oauth2/{id}), endpoints under /oauth2/{id}/v1/,
//     metadata under /oauth2/{id}/.well-known/, signing key, token store and
//     scopes: they mint their own scopes and the OpenID Connect ones, never
//     okta.* scopes, and accept client secrets from service apps. No token of
//     one authorization server is accepted, introspected or revoked by
//     another, and only the org authorization server's tokens call Okta's API;
//   - a sign-in page for the authorization-code flow, with Okta's form ids,
//     for as many users as are added (usernames match without regard to case);
//   - Okta's policy where fosite is neutral: PKCE per app, exact redirect-URI
//     match, okta.* scopes granted per app, client-assertion lifetime, refresh
//     token rotation with a grace period and reuse detection;
//   - Okta's error names and sentences, Okta's API error body;
//   - Okta's per-minute rate limits per endpoint, with X-Rate-Limit-* headers
//     on every rate-limited endpoint's response, a token-endpoint limit of its own
//     (Config.TokenRateLimitPerMinute) that custom authorization servers share,
//     and an exact count of the 429s served (RateLimitedResponses);
//   - GET /api/v1/logs, a System Log resource that demands okta.logs.read;
//   - DPoP (RFC 9449) the way Okta does it: a token request with a DPoP
//     proof (typ dpop+jwt, RS256 or ES256, the public key in jwk, htm, htu,
//     iat within 5 minutes back and 1 ahead, a single-use jti) gets tokens
//     bound to the key's thumbprint (token_type DPoP, cnf.jkt at
//     introspection), at every authorization server and for every grant; a
//     proof without a current nonce is answered with use_dpop_nonce and a
//     DPoP-Nonce header (each authorization server's nonce rotates every 24h
//     and is accepted for 72h); apps can require DPoP (RequireDPoP, Okta's
//     checkbox); a refresh must prove the key the grant was bound to;
//     revocation checks a proof that is sent; /api/v1/logs takes a DPoP-bound
//     token only with the DPoP scheme and a proof for the request and the
//     token (ath) by the bound key, carrying a nonce of the resource server's
//     own, refusing like Okta (401, WWW-Authenticate: DPoP ...). Tests can
//     count the challenges (DPoPNonceChallenges, ResourceDPoPNonceChallenges)
//     and rotate the nonces (RotateDPoPNonces, or by moving the clock);
//   - fault injection on the token endpoints (5xx, 429, hangs) for tests.
//
// It is built to be driven hard: the store forgets expired tokens, codes and
// assertion ids as the clock passes them (a sweep at most once a minute, not
// a pass per request), the DPoP replay cache forgets a proof's jti as soon as
// the proof would be too old anyway, each authorization server locks only
// its own store, and client secrets are compared with a salted SHA-256
// rather than bcrypt (see BenchmarkClientCredentials).
//
// A Server starts with no clients, users or custom authorization servers.
// Tests add them and serve on a loopback listener:
//
//	srv, err := oktadev.New(oktadev.Config{Clock: fakeClock})
//	...
//	srv.AddWebClient(oktadev.WebClient{ID: "web", Secret: "s", RedirectURIs: []string{cb}, GrantedScopes: []string{"okta.logs.read"}})
//	srv.AddServiceClient(oktadev.ServiceClient{ID: "svc", Secret: "s"}) // a custom authorization server's client
//	srv.AddAuthorizationServer(oktadev.AuthorizationServer{ID: oktadev.DefaultAuthorizationServerID, Scopes: []string{"logs:read"}})
//	srv.AddUser(oktadev.User{Username: oktadev.DemoUser, Password: oktadev.DemoPassword})
//	l, _ := net.Listen("tcp", "127.0.0.1:0")
//	srv.Start(l)
//	defer srv.Close()
//	issuer := srv.AuthorizationServerIssuer(oktadev.DefaultAuthorizationServerID)
//
// dev/oktadev/cmd/okta-dev-server runs the same server as a program.
package oktadev
