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

func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authorizeBearer lets a request through to one of Okta's own resources
// (/api/v1/...) only with an active access token of the org authorization
// server that carries requiredScope: tokens of custom authorization servers
// are for other APIs, never Okta's. It answers the refusal itself, like Okta:
// 401 for a missing, unknown, expired or revoked token, 403 for a token
// without the scope.
func (s *Server) authorizeBearer(w http.ResponseWriter, r *http.Request, requiredScope string) (fosite.AccessRequester, bool) {
	return s.org.authorizeBearer(w, r, requiredScope)
}

// authorizeBearer is Server.authorizeBearer for a resource of this
// authorization server, such as its /userinfo.
func (as *authServer) authorizeBearer(w http.ResponseWriter, r *http.Request, requiredScope string) (fosite.AccessRequester, bool) {
	ctx := r.Context()
	token := bearerToken(r)
	if token == "" {
		as.refuseBearer(w, r, requiredScope, http.StatusUnauthorized)
		return nil, false
	}
	// fosite looks the token up and checks it (expiry by Config.Clock,
	// revocation); a refresh token is no bearer token.
	use, ar, err := as.oauth.IntrospectToken(ctx, token, fosite.AccessToken, &openid.DefaultSession{})
	if err != nil || use != fosite.AccessToken {
		as.refuseBearer(w, r, requiredScope, http.StatusUnauthorized)
		return nil, false
	}
	setLogClientID(ctx, ar.GetClient().GetID())
	if !ar.GetGrantedScopes().Has(requiredScope) {
		as.refuseBearer(w, r, requiredScope, http.StatusForbidden)
		return nil, false
	}
	return ar, true
}

func (as *authServer) refuseBearer(w http.ResponseWriter, r *http.Request, scope string, status int) {
	code, desc := "invalid_token", descInvalidToken
	apiCode, apiSummary := errorInvalidToken, summaryInvalidToken
	if status == http.StatusForbidden {
		code, desc = "insufficient_scope", descInsufficientScope
		apiCode, apiSummary = errorForbidden, summaryForbidden
	}
	setLogError(r.Context(), code)
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(
		`Bearer authorization_uri="%s", realm="IdP", scope="%s", error="%s", error_description="%s", resource="%s"`,
		as.url(endpointAuthorize), scope, code, desc, r.URL.Path))
	writeAPIError(w, status, apiCode, apiSummary)
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
