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

	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// Grant types, as grant_type and the apps' settings name them.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// grantTypes are the grants an Okta web app or service app can use at an
// authorization server.
var grantTypes = []string{grantAuthorizationCode, grantRefreshToken, grantClientCredentials}

// descOrgClientCredentialsAuth is Okta's refusal of a client-credentials
// request authenticated with a client secret at the org authorization server.
// Okta documents the sentence; the error code (invalid_client, 401) is the
// one Okta gives every client-authentication refusal.
const descOrgClientCredentialsAuth = "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method."

// handleToken is /oauth2/v1/token (or a custom authorization server's).
// fosite authenticates the client, runs the grant and mints the tokens; this
// handler adds Okta's scope rules for the client-credentials grant, DPoP
// (dpop.go), and Okta's response and error shapes.
func (as *authServer) handleToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		tokenError(w, r, newOAuthError("invalid_request", "The token endpoint only accepts POST requests.", http.StatusMethodNotAllowed))
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, r, newOAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded.", http.StatusBadRequest))
		return
	}
	grantType := r.PostForm.Get("grant_type")
	switch {
	case grantType == "":
		tokenError(w, r, newOAuthError("invalid_request", "The 'grant_type' parameter is required.", http.StatusBadRequest))
		return
	case !slices.Contains(grantTypes, grantType):
		tokenError(w, r, newOAuthError("unsupported_grant_type", "The authorization grant type is not supported by the authorization server. Supported grant types: ["+strings.Join(grantTypes, ", ")+"].", http.StatusBadRequest))
		return
	}
	jkt, ok := as.tokenEndpointProof(w, r)
	if !ok {
		return
	}

	session := &openid.DefaultSession{}
	ar, err := as.oauth.NewAccessRequest(ctx, r, session)
	var client *registeredClient
	if ar != nil {
		// Set only once fosite has authenticated the client.
		client, _ = ar.GetClient().(*registeredClient)
	}
	if client != nil {
		setLogClientID(ctx, client.id)
		// fosite checks the scopes of a client-credentials request before
		// the client's grant types; Okta tells a web app first that it may
		// not use the grant at all.
		if grantType == grantClientCredentials && client.kind != serviceClientKind {
			tokenError(w, r, tokenEndpointError(grantType, client, fosite.ErrUnauthorizedClient))
			return
		}
		// The org authorization server only mints okta.* scopes for service
		// apps that prove themselves with a key; custom ones accept secrets.
		if grantType == grantClientCredentials && as.isOrg() && client.authMethod != authPrivateKeyJWT {
			tokenError(w, r, newOAuthError("invalid_client", descOrgClientCredentialsAuth, http.StatusUnauthorized))
			return
		}
	}
	if err != nil {
		if client != nil && grantType == grantClientCredentials && fosite.ErrorToRFC6749Error(err).ErrorField == "invalid_scope" {
			if oe := as.clientCredentialsScopeError(client, ar.GetRequestedScopes()); oe != nil {
				err = oe
			}
		}
		tokenError(w, r, tokenEndpointError(grantType, client, err))
		return
	}

	if grantType == grantClientCredentials {
		if oe := as.clientCredentialsScopeError(client, ar.GetRequestedScopes()); oe != nil {
			tokenError(w, r, oe)
			return
		}
		// fosite leaves granting to the server; every scope that passed the
		// checks above is granted. The app itself is the subject, as at Okta.
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		session.Subject = client.id
	}

	// The access token is bound to the proof's key; the refresh token to the
	// key the grant was bound to when its code was exchanged, which a
	// refresh must prove it holds. fosite has checked the refresh token
	// (and rotated nothing yet), so a refusal here costs the client nothing.
	binding := tokenBinding{access: jkt}
	switch grantType {
	case grantAuthorizationCode:
		binding.refresh = jkt
	case grantRefreshToken:
		bound, _ := as.store.refreshTokenBinding(as.tokens.RefreshTokenSignature(ctx, r.PostForm.Get("refresh_token")))
		switch {
		case bound != "" && jkt == "":
			tokenError(w, r, newOAuthError(errInvalidDPoPProof, descDPoPMissing, http.StatusBadRequest))
			return
		case bound != "" && jkt != bound:
			tokenError(w, r, newOAuthError(errInvalidDPoPProof, descDPoPRefreshKey, http.StatusBadRequest))
			return
		}
		binding.refresh = bound
	}
	ctx = withTokenBinding(ctx, binding)

	resp, err := as.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		tokenError(w, r, tokenEndpointError(grantType, client, err))
		return
	}
	// Okta answers "Bearer" (fosite "bearer"), or "DPoP" for a DPoP-bound
	// token, and the configured lifetime exactly (fosite counts down from
	// when it stamped the expiry).
	resp.SetTokenType(schemeBearer)
	if binding.access != "" {
		resp.SetTokenType(tokenTypeDPoP)
	}
	resp.SetExpiresIn(as.srv.cfg.AccessTokenTTL)
	as.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

// tokenEndpointProof checks a token request's DPoP proof and returns the
// thumbprint of its key, "" when the request has none and its app does not
// require one. Otherwise it answers the refusal and returns false.
//
// It runs before fosite sees the request: fosite uses up the authorization
// code's PKCE session and the client assertion's jti as soon as it handles
// the grant, and the retry that answers a nonce challenge (or fixes a
// missing proof) needs both. So the app that requires DPoP is the one the
// request names, before fosite has authenticated it; the refusal tells an
// impostor no more than that the app wants DPoP.
func (as *authServer) tokenEndpointProof(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !hasDPoPProof(r) {
		if c, ok := as.srv.clients.get(namedClientID(r)); ok && c.requireDPoP {
			setLogClientID(r.Context(), c.id)
			tokenError(w, r, newOAuthError(errInvalidDPoPProof, descDPoPMissing, http.StatusBadRequest))
			return "", false
		}
		return "", true
	}
	return as.authorizationServerProof(w, r, false)
}

// authorizationServerProof verifies the proof sent to one of the
// authorization server's endpoints, answering a refusal itself. Every answer
// to a request with a proof carries the current nonce (RFC 9449 section
// 8.2), so a client learns of a rotation before its nonce runs out.
func (as *authServer) authorizationServerProof(w http.ResponseWriter, r *http.Request, nonceOptional bool) (string, bool) {
	jkt, refusal := as.srv.verifyProof(r, proofCheck{
		nonces: as.nonces, nonceOptional: nonceOptional, nonceDescription: descDPoPNonceAuthorization,
	})
	w.Header().Set(headerDPoPNonce, as.nonces.current())
	if refusal != nil {
		tokenError(w, r, newOAuthError(refusal.code, refusal.description, http.StatusBadRequest))
		return "", false
	}
	return jkt, true
}

// namedClientID is the app a token request says it comes from: the basic
// authentication user, the client_id parameter, or the client assertion's
// subject. Nothing is verified: it only tells whether the app requires DPoP.
func namedClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if unescaped, err := url.QueryUnescape(id); err == nil {
			return unescaped
		}
		return id
	}
	if id := r.PostForm.Get("client_id"); id != "" {
		return id
	}
	if raw := r.PostForm.Get("client_assertion"); raw != "" {
		if tok, err := josejwt.ParseSigned(raw, supportedAssertionAlgs); err == nil {
			var claims josejwt.Claims
			if tok.UnsafeClaimsWithoutVerification(&claims) == nil {
				return claims.Subject
			}
		}
	}
	return ""
}

func tokenError(w http.ResponseWriter, r *http.Request, oe *oauthError) {
	setLogError(r.Context(), oe.Code)
	writeOAuthError(w, oe)
}

// handleRevoke is /oauth2/v1/revoke (RFC 7009). fosite revokes the whole
// grant the token belongs to. An unknown or already revoked token is not an
// error, as RFC 7009 requires; nor is a token of another authorization
// server, which this one does not know and so leaves alone. Like Okta it
// needs no DPoP proof, even for a DPoP-bound token, but checks one that is
// sent (with the revocation endpoint as htu), and its nonce only if it has
// one.
func (as *authServer) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		tokenError(w, r, newOAuthError("invalid_request", "The revocation endpoint only accepts POST requests.", http.StatusMethodNotAllowed))
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		tokenError(w, r, newOAuthError("invalid_request", "The 'token' parameter is required.", http.StatusBadRequest))
		return
	}
	if hasDPoPProof(r) {
		if _, ok := as.authorizationServerProof(w, r, true); !ok {
			return
		}
	}
	if err := as.oauth.NewRevocationRequest(ctx, r); err != nil {
		oe := tokenEndpointError("", nil, err)
		if oe.Code == "unauthorized_client" {
			// The token belongs to another client; Okta answers as if it had
			// revoked it, revealing nothing about other clients' tokens.
			w.WriteHeader(http.StatusOK)
			return
		}
		tokenError(w, r, oe)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// introspection is Okta's /introspect response for an active token.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	Username  string `json:"username,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Iss       string `json:"iss,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	// Cnf names the DPoP key a DPoP-bound access token is bound to (RFC
	// 9449 section 6.2).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// confirmation is a token's cnf claim: the RFC 7638 thumbprint of its key.
type confirmation struct {
	JKT string `json:"jkt"`
}

// handleIntrospect is /oauth2/v1/introspect (RFC 7662). The client
// authenticates like at /token (fosite's NewIntrospectionRequest only knows
// HTTP basic authentication, Okta accepts every method). A client may only
// introspect its own tokens of this authorization server; anything else, like
// an unknown, expired or revoked token or one of another authorization
// server, is {"active":false}.
func (as *authServer) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		tokenError(w, r, newOAuthError("invalid_request", "The introspection endpoint only accepts POST requests.", http.StatusMethodNotAllowed))
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		tokenError(w, r, newOAuthError("invalid_request", "The 'token' parameter is required.", http.StatusBadRequest))
		return
	}
	client, err := as.oauth.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		tokenError(w, r, tokenEndpointError("", nil, err))
		return
	}
	setLogClientID(ctx, client.GetID())

	answer := introspection{}
	use, ar, err := as.oauth.IntrospectToken(ctx, r.PostForm.Get("token"), fosite.TokenUse(r.PostForm.Get("token_type_hint")), &openid.DefaultSession{})
	if err == nil && ar.GetClient().GetID() == client.GetID() {
		answer = introspection{
			Active:   true,
			Scope:    strings.Join(ar.GetGrantedScopes(), " "),
			Username: ar.GetSession().GetUsername(),
			Exp:      ar.GetSession().GetExpiresAt(use).Unix(),
			Iat:      ar.GetRequestedAt().Unix(),
			Sub:      ar.GetSession().GetSubject(),
			Iss:      as.issuer(),
			ClientID: ar.GetClient().GetID(),
		}
		if use == fosite.AccessToken {
			answer.TokenType = schemeBearer
			if jkt, _ := as.store.accessTokenBinding(as.tokens.AccessTokenSignature(ctx, r.PostForm.Get("token"))); jkt != "" {
				answer.TokenType = tokenTypeDPoP
				answer.Cnf = &confirmation{JKT: jkt}
			}
		}
		if answer.Exp < 0 {
			answer.Exp = 0
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(answer)
}
