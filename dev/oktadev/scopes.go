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
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// scopeOfflineAccess asks for a refresh token.
const scopeOfflineAccess = "offline_access"

// oidcScopes are the OpenID Connect scopes every web app may request from
// any of the org's authorization servers without a grant.
var oidcScopes = []string{"openid", "profile", "email", "address", "phone", scopeOfflineAccess}

// oktaScopes is the part of Okta's management-API scope catalog that the org
// authorization server advertises. The org authorization server has no custom
// scopes: a scope outside this list (and outside oidcScopes) is unknown to it.
var oktaScopes = []string{
	"okta.apps.manage", "okta.apps.read",
	"okta.authenticators.manage", "okta.authenticators.read",
	"okta.authorizationServers.manage", "okta.authorizationServers.read",
	"okta.clients.manage", "okta.clients.read", "okta.clients.register",
	"okta.devices.manage", "okta.devices.read",
	"okta.domains.manage", "okta.domains.read",
	"okta.eventHooks.manage", "okta.eventHooks.read",
	"okta.factors.manage", "okta.factors.read",
	"okta.groups.manage", "okta.groups.read",
	"okta.idps.manage", "okta.idps.read",
	"okta.inlineHooks.manage", "okta.inlineHooks.read",
	"okta.logs.read",
	"okta.orgs.manage", "okta.orgs.read",
	"okta.policies.manage", "okta.policies.read",
	"okta.profileMappings.manage", "okta.profileMappings.read",
	"okta.roles.manage", "okta.roles.read",
	"okta.schemas.manage", "okta.schemas.read",
	"okta.sessions.manage", "okta.sessions.read",
	"okta.templates.manage", "okta.templates.read",
	"okta.trustedOrigins.manage", "okta.trustedOrigins.read",
	"okta.userTypes.manage", "okta.userTypes.read",
	"okta.users.manage", "okta.users.manage.self", "okta.users.read", "okta.users.read.self",
}

// Okta's words for scope problems.
const (
	descUnknownScope    = "One or more scopes are not configured for the authorization server resource."
	descCustomScope     = "Custom scopes are not allowed for this request."
	descScopeNotGranted = "You are not allowed any of the requested scopes."
	descNoScope         = "The authorization server resource does not have any configured default scopes, 'scope' must be provided."
)

// checkGrantableScopes rejects, at registration, scopes that cannot be
// granted to an app: only okta.* scopes are granted; the OpenID Connect ones
// need no grant.
func checkGrantableScopes(scopes []string) error {
	for _, sc := range scopes {
		if !isOktaScope(sc) {
			return fmt.Errorf("only okta.* scopes are granted to apps, not %q", sc)
		}
	}
	return nil
}

func isOktaScope(scope string) bool { return strings.HasPrefix(scope, "okta.") }

// requestableScopes is what fosite lets a client request here. At the org
// authorization server: the okta.* scopes granted to the app, plus the
// OpenID Connect scopes for a web app. At a custom authorization server: its
// own scopes, plus the OpenID Connect scopes for a web app.
func (as *authServer) requestableScopes(c *registeredClient) []string {
	var scopes []string
	if as.isOrg() {
		scopes = slices.Clone(c.grantedScopes)
	} else {
		scopes = as.customScopes()
	}
	if c.kind == webClientKind {
		scopes = append(scopes, oidcScopes...)
	}
	return scopes
}

// knownScope reports whether the authorization server knows a scope at all.
// At the org authorization server a scope granted to the asking client counts
// as known, so tests may grant scopes missing from the catalog above.
func (as *authServer) knownScope(c *registeredClient, scope string) bool {
	if slices.Contains(oidcScopes, scope) {
		return true
	}
	if !as.isOrg() {
		return slices.Contains(as.customScopes(), scope)
	}
	return slices.Contains(oktaScopes, scope) || slices.Contains(c.grantedScopes, scope)
}

// unknownScopeError is Okta's answer to a scope the authorization server
// does not have: the org authorization server has no custom scopes at all
// and says so; an unknown okta.* scope there, or any scope a custom
// authorization server lacks (okta.* ones included: only the org
// authorization server mints them), is "not configured".
func (as *authServer) unknownScopeError(c *registeredClient, requested []string) *oauthError {
	if as.isOrg() {
		for _, sc := range requested {
			if !as.knownScope(c, sc) && !isOktaScope(sc) {
				return newOAuthError("invalid_scope", descCustomScope, http.StatusBadRequest)
			}
		}
	}
	for _, sc := range requested {
		if !as.knownScope(c, sc) {
			return newOAuthError("invalid_scope", descUnknownScope, http.StatusBadRequest)
		}
	}
	return nil
}

// authorizeScopeError explains, in Okta's words, why fosite refused the scopes
// of an authorization request: an unknown scope is invalid_scope; a known
// okta.* scope that was not granted to the app needs an admin's consent.
func (as *authServer) authorizeScopeError(c *registeredClient, requested []string) *oauthError {
	if oe := as.unknownScopeError(c, requested); oe != nil {
		return oe
	}
	return newOAuthError("consent_required", descScopeNotGranted, http.StatusBadRequest)
}

// clientCredentialsScopeError applies Okta's rules for the scopes of a
// client-credentials request, or returns nil when they are acceptable. There
// is no user, so no OpenID Connect scope, no refresh token and no *.self
// scope makes sense.
func (as *authServer) clientCredentialsScopeError(c *registeredClient, requested []string) *oauthError {
	if len(requested) == 0 {
		return newOAuthError("invalid_scope", descNoScope, http.StatusBadRequest)
	}
	for _, sc := range requested {
		switch {
		case sc == scopeOfflineAccess:
			return newOAuthError("invalid_scope", "Cannot request 'offline_access' scope using client credentials.", http.StatusBadRequest)
		case slices.Contains(oidcScopes, sc):
			return newOAuthError("invalid_scope", "Cannot request 'openid' scopes using client credentials.", http.StatusBadRequest)
		case isOktaScope(sc) && strings.HasSuffix(sc, ".self"):
			return newOAuthError("invalid_scope", "Cannot request '*.self' scopes using client credentials.", http.StatusBadRequest)
		}
	}
	if oe := as.unknownScopeError(c, requested); oe != nil {
		return oe
	}
	if !as.isOrg() {
		// A custom authorization server's access policy grants its scopes to
		// every app here.
		return nil
	}
	for _, sc := range requested {
		if !slices.Contains(c.grantedScopes, sc) {
			return newOAuthError("consent_required", descScopeNotGranted, http.StatusBadRequest)
		}
	}
	return nil
}

// supportedScopes is the scopes_supported list of the metadata documents.
func (as *authServer) supportedScopes() []string {
	if as.isOrg() {
		return append(slices.Clone(oidcScopes), oktaScopes...)
	}
	return append(as.customScopes(), oidcScopes...)
}
