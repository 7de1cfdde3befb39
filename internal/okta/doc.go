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

// Package okta speaks OAuth 2.0 to an Okta authorization server on the
// operator's behalf: it discovers the endpoints, builds the sign-in URL with
// PKCE, exchanges codes, refreshes, mints client-credentials tokens with a
// private_key_jwt assertion, revokes, binds tokens to a key with DPoP
// (RFC 9449) when asked, and sorts Okta's answers into errors that say
// whether retrying can help.
//
// The grant logic is golang.org/x/oauth2's; the assertion is go-jose's. What
// is written by hand here is small and says so where it is.
//
// Nothing in this package puts a token, code, verifier or secret into an
// error string.
package okta
