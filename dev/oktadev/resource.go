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
	"fmt"
	"net/http"
	"strings"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// Okta's wording for a refused bearer token, in the WWW-Authenticate header
// (RFC 6750) and in the API error body.
const (
	descInvalidToken      = "The access token is invalid."
	descInsufficientScope = "The access token provided does not contain the required scopes."
)

// accessToken is the request's access token and the scheme it was sent
// with: "Bearer", "DPoP" or "" (none, or another scheme).
func accessToken(r *http.Request) (scheme, token string) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case ok && strings.EqualFold(scheme, schemeBearer):
		return schemeBearer, strings.TrimSpace(token)
	case ok && strings.EqualFold(scheme, schemeDPoP):
		return schemeDPoP, strings.TrimSpace(token)
	}
	return "", ""
}

// authorizeBearer lets a request through to one of Okta's own resources
// (/api/v1/...) only with an active access token of the org authorization
// server that carries requiredScope: tokens of custom authorization servers
// are for other APIs, never Okta's. It answers the refusal itself, like Okta:
// 401 for a missing, unknown, expired or revoked token or a refused DPoP
// proof, 403 for a token without the scope. Okta's resource servers demand a
// DPoP nonce of their own unless Config.DisableResourceDPoPNonce.
func (s *Server) authorizeBearer(w http.ResponseWriter, r *http.Request, requiredScope string) (fosite.AccessRequester, bool) {
	return s.org.authorizeAccess(w, r, requiredScope, s.resourceNonces)
}

// authorizeBearer is Server.authorizeBearer for a resource of this
// authorization server, such as its /userinfo, which demands no DPoP nonce.
func (as *authServer) authorizeBearer(w http.ResponseWriter, r *http.Request, requiredScope string) (fosite.AccessRequester, bool) {
	return as.authorizeAccess(w, r, requiredScope, nil)
}

// authorizeAccess checks the request's access token, and, for a DPoP-bound
// one, the DPoP proof that must come with it (RFC 9449 section 7): the DPoP
// scheme, a proof for this request (htm, htu) and this token (ath) by the
// key the token is bound to, and, when nonces is not nil, one of their
// nonces. A bearer token must come with the Bearer scheme. A refusal's
// challenge names the scheme the token needs.
func (as *authServer) authorizeAccess(w http.ResponseWriter, r *http.Request, requiredScope string, nonces *nonceSource) (fosite.AccessRequester, bool) {
	ctx := r.Context()
	scheme, token := accessToken(r)
	if scheme == "" {
		scheme = schemeBearer
	}
	if token == "" {
		as.refuseAccess(w, r, scheme, requiredScope, "invalid_token", descInvalidToken, http.StatusUnauthorized)
		return nil, false
	}
	// fosite looks the token up and checks it (expiry by Config.Clock,
	// revocation); a refresh token is no bearer token.
	use, ar, err := as.oauth.IntrospectToken(ctx, token, fosite.AccessToken, &openid.DefaultSession{})
	jkt, found := "", false
	if err == nil && use == fosite.AccessToken {
		jkt, found = as.store.accessTokenBinding(as.tokens.AccessTokenSignature(ctx, token))
	}
	if !found {
		as.refuseAccess(w, r, scheme, requiredScope, "invalid_token", descInvalidToken, http.StatusUnauthorized)
		return nil, false
	}
	setLogClientID(ctx, ar.GetClient().GetID())
	needs := schemeBearer
	if jkt != "" {
		needs = schemeDPoP
	}
	switch {
	case scheme != needs && jkt != "":
		as.refuseAccess(w, r, needs, requiredScope, "invalid_token", descDPoPBoundTokenAsBearer, http.StatusUnauthorized)
		return nil, false
	case scheme != needs:
		as.refuseAccess(w, r, needs, requiredScope, "invalid_token", descDPoPBearerTokenWithDPoP, http.StatusUnauthorized)
		return nil, false
	case jkt != "":
		_, refusal := as.srv.verifyProof(r, proofCheck{
			accessToken: token, boundTo: jkt, nonces: nonces, nonceDescription: descDPoPNonceResource,
		})
		if nonces != nil {
			w.Header().Set(headerDPoPNonce, nonces.current())
		}
		if refusal != nil {
			as.refuseAccess(w, r, schemeDPoP, requiredScope, refusal.code, refusal.description, http.StatusUnauthorized)
			return nil, false
		}
	}
	if !ar.GetGrantedScopes().Has(requiredScope) {
		as.refuseAccess(w, r, needs, requiredScope, "insufficient_scope", descInsufficientScope, http.StatusForbidden)
		return nil, false
	}
	return ar, true
}

// refuseAccess answers a refused resource request like Okta: a challenge in
// WWW-Authenticate (RFC 6750 for Bearer, RFC 9449 for DPoP, which also lists
// the proof algorithms accepted) and Okta's API error body.
func (as *authServer) refuseAccess(w http.ResponseWriter, r *http.Request, scheme, scope, code, desc string, status int) {
	apiCode, apiSummary := errorInvalidToken, summaryInvalidToken
	if status == http.StatusForbidden {
		apiCode, apiSummary = errorForbidden, summaryForbidden
	}
	setLogError(r.Context(), code)
	challenge := fmt.Sprintf(`Bearer authorization_uri="%s", realm="IdP", scope="%s", error="%s", error_description="%s", resource="%s"`,
		as.url(endpointAuthorize), scope, code, desc, r.URL.Path)
	if scheme == schemeDPoP {
		// Okta's DPoP challenge names the org as the realm.
		challenge = fmt.Sprintf(`DPoP algs="%s", authorization_uri="%s", realm="%s", scope="%s", error="%s", error_description="%s", resource="%s"`,
			dpopAlgList(), as.url(endpointAuthorize), as.issuer(), scope, code, desc, r.URL.Path)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeAPIError(w, status, apiCode, apiSummary)
}

// dpopAlgList is dpopAlgs as a challenge's algs parameter lists them.
func dpopAlgList() string {
	names := make([]string, 0, len(dpopAlgs))
	for _, a := range dpopAlgs {
		names = append(names, string(a))
	}
	return strings.Join(names, " ")
}

// handleUserinfo is /oauth2/v1/userinfo (or a custom authorization
// server's): the signed-in person's claims, as far as the token's scopes
// allow.
func (as *authServer) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeAPIError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	ar, ok := as.authorizeBearer(w, r, "openid")
	if !ok {
		return
	}
	claims := map[string]any{"sub": ar.GetSession().GetSubject()}
	if sess, ok := ar.GetSession().(*openid.DefaultSession); ok && sess.Claims != nil {
		scopes := ar.GetGrantedScopes()
		if scopes.Has("profile") {
			claims[claimName] = sess.Claims.Extra[claimName]
			claims[claimPreferredUsername] = sess.Claims.Extra[claimPreferredUsername]
		}
		if scopes.Has("email") {
			claims[claimEmail] = sess.Claims.Extra[claimEmail]
			claims["email_verified"] = true
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(claims)
}
