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
	"slices"
	"strings"

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
// handler adds Okta's scope rules for the client-credentials grant and Okta's
// response and error shapes.
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

	resp, err := as.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		tokenError(w, r, tokenEndpointError(grantType, client, err))
		return
	}
	// Okta answers "Bearer" (fosite "bearer") and the configured lifetime
	// exactly (fosite counts down from when it stamped the expiry).
	resp.SetTokenType("Bearer")
	resp.SetExpiresIn(as.srv.cfg.AccessTokenTTL)
	as.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

func tokenError(w http.ResponseWriter, r *http.Request, oe *oauthError) {
	setLogError(r.Context(), oe.Code)
	writeOAuthError(w, oe)
}

// handleRevoke is /oauth2/v1/revoke (RFC 7009). fosite revokes the whole
// grant the token belongs to. An unknown or already revoked token is not an
// error, as RFC 7009 requires; nor is a token of another authorization
// server, which this one does not know and so leaves alone.
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
			answer.TokenType = "Bearer"
		}
		if answer.Exp < 0 {
			answer.Exp = 0
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(answer)
}
