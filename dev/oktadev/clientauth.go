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
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/ory/fosite"
)

// Client authentication is fosite's: it checks client secrets (basic or
// post, as the client is configured) and client assertions (signature
// against the client's registered keys, matched by kid, iss, sub, aud, a
// single-use jti). What this file adds is Okta's policy around it and Okta's
// wording of failures:
//   - assertions must be RS256 or ES256 and expire at most an hour ahead,
//     judged by the injected clock (fosite only judges exp against the wall
//     clock, and has no upper bound);
//   - aud must be the endpoint invoked (Okta accepts an assertion for
//     /oauth2/v1/token only at /oauth2/v1/token, and one for a custom
//     authorization server's token endpoint only there).

const (
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// maxAssertionLifetime is Okta's limit on how far ahead a client
	// assertion's exp may be.
	maxAssertionLifetime = time.Hour
)

// supportedAssertionAlgs are the signing algorithms advertised in the
// metadata and accepted for client assertions.
var supportedAssertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Context keys for what fosite's client authentication needs to know about
// the request under way.
type (
	assertionAlgKey    struct{}
	invokedEndpointKey struct{}
)

const descBadClientCredentials = "Client authentication failed. Either the client or the client credentials are invalid."

// authenticateClient is fosite's ClientAuthenticationStrategy for an
// authorization server.
func (as *authServer) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	ctx = context.WithValue(ctx, invokedEndpointKey{}, as.srv.Issuer()+r.URL.Path)
	if form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "" {
		return as.authenticateAssertion(ctx, r, form)
	}
	return as.authenticateSecret(ctx, r, form)
}

func (as *authServer) authenticateSecret(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	id, _, basic := r.BasicAuth()
	if basic {
		if unescaped, err := url.QueryUnescape(id); err == nil {
			id = unescaped
		}
	} else {
		id = form.Get("client_id")
	}
	if id == "" {
		return nil, newOAuthError("invalid_client", descBadClientCredentials, http.StatusUnauthorized)
	}
	setLogClientID(ctx, id)
	c, ok := as.srv.clients.get(id)
	if !ok {
		return nil, newOAuthError("invalid_client", "Invalid value for 'client_id' parameter.", http.StatusUnauthorized)
	}
	if c.authMethod == authPrivateKeyJWT {
		return nil, newOAuthError("invalid_client", "Client authentication failed. The client is configured for the 'private_key_jwt' authentication method; a client_assertion is required.", http.StatusUnauthorized)
	}
	used := authClientSecretPost
	if basic {
		used = authClientSecretBasic
	}
	if used != c.authMethod {
		return nil, newOAuthError("invalid_client", "Client authentication failed. The client is not configured for the '"+used+"' authentication method.", http.StatusUnauthorized)
	}
	client, err := as.oauth.DefaultClientAuthenticationStrategy(ctx, r, form)
	if err != nil {
		return nil, newOAuthError("invalid_client", "The client secret supplied for a confidential client is invalid.", http.StatusUnauthorized)
	}
	return client, nil
}

func (as *authServer) authenticateAssertion(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	if form.Get("client_assertion_type") != clientAssertionType {
		return nil, newOAuthError("invalid_request", "The 'client_assertion_type' parameter must be '"+clientAssertionType+"'.", http.StatusBadRequest)
	}
	assertion := form.Get("client_assertion")
	if assertion == "" {
		return nil, newOAuthError("invalid_request", "The 'client_assertion' parameter is required with 'client_assertion_type'.", http.StatusBadRequest)
	}
	tok, err := josejwt.ParseSigned(assertion, supportedAssertionAlgs)
	if err != nil {
		return nil, newOAuthError("invalid_client", "The client_assertion token is malformed or is not signed with RS256 or ES256.", http.StatusUnauthorized)
	}
	// Read the claims before verifying the signature only to apply Okta's
	// rules and choose Okta's words; fosite verifies the signature below and
	// nothing is trusted before it has.
	var claims josejwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return nil, newOAuthError("invalid_client", "The client_assertion token is malformed.", http.StatusUnauthorized)
	}
	id := form.Get("client_id")
	if id == "" {
		id = claims.Subject
	}
	setLogClientID(ctx, id)
	c, ok := as.srv.clients.get(id)
	if !ok {
		return nil, newOAuthError("invalid_client", "Invalid value for 'client_id' parameter.", http.StatusUnauthorized)
	}
	if c.authMethod != authPrivateKeyJWT {
		return nil, newOAuthError("invalid_client", "Client authentication failed. The client is not configured for the 'private_key_jwt' authentication method.", http.StatusUnauthorized)
	}
	if claims.Issuer != id || claims.Subject != id {
		return nil, newOAuthError("invalid_client", "The 'iss' and 'sub' claims of the client_assertion must both be the client_id.", http.StatusUnauthorized)
	}
	if claims.Expiry == nil {
		return nil, newOAuthError("invalid_client", "The client_assertion token must have an 'exp' claim.", http.StatusUnauthorized)
	}
	now, exp := as.srv.clock.Now(), claims.Expiry.Time()
	if !now.Before(exp) {
		return nil, newOAuthError("invalid_client", "The client_assertion token is expired.", http.StatusUnauthorized)
	}
	if exp.After(now.Add(maxAssertionLifetime)) {
		return nil, newOAuthError("invalid_client", "The client_assertion token has an expiration too far into the future.", http.StatusUnauthorized)
	}
	if !claims.Audience.Contains(ctx.Value(invokedEndpointKey{}).(string)) {
		return nil, newOAuthError("invalid_client", "The audience claim for client_assertion must be the endpoint invoked for the request.", http.StatusUnauthorized)
	}
	ctx = context.WithValue(ctx, assertionAlgKey{}, tok.Headers[0].Algorithm)
	client, err := as.oauth.DefaultClientAuthenticationStrategy(ctx, r, form)
	switch {
	case errors.Is(err, fosite.ErrJTIKnown):
		return nil, newOAuthError("invalid_client", "The client_assertion token has already been used.", http.StatusUnauthorized)
	case err != nil:
		// fosite found no registered key that verifies the signature (wrong
		// key, unknown kid), or the assertion lacks a jti.
		var rfc *fosite.RFC6749Error
		if errors.As(err, &rfc) && rfc.HintField == "Claim 'jti' from 'client_assertion' must be set but is not." {
			return nil, newOAuthError("invalid_client", "The client_assertion token must have a 'jti' claim.", http.StatusUnauthorized)
		}
		return nil, newOAuthError("invalid_client", "The client_assertion signature is invalid.", http.StatusUnauthorized)
	}
	return client, nil
}
