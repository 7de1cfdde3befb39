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
// Okta's org authorization server without a grant.
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
	descScopeNotGranted = "You are not allowed any of the requested scopes."
	descNoScope         = "The authorization server resource does not have any configured default scopes, 'scope' must be provided."
)

// checkGrantableScopes rejects, at registration, scopes that cannot be
// granted to an app: only okta.* scopes are granted; the OpenID Connect ones
// need no grant.
func checkGrantableScopes(scopes []string) error {
	for _, sc := range scopes {
		if !strings.HasPrefix(sc, "okta.") {
			return fmt.Errorf("only okta.* scopes are granted to apps, not %q", sc)
		}
	}
	return nil
}

// knownScope reports whether the org authorization server knows a scope at
// all. A scope granted to the asking client counts as known, so tests may
// grant scopes missing from the catalog above.
func knownScope(c *registeredClient, scope string) bool {
	return slices.Contains(oidcScopes, scope) || slices.Contains(oktaScopes, scope) ||
		slices.Contains(c.grantedScopes, scope)
}

// authorizeScopeError explains, in Okta's words, why fosite refused the scopes
// of an authorization request: an unknown scope is invalid_scope; a known
// okta.* scope that was not granted to the app needs an admin's consent.
func authorizeScopeError(c *registeredClient, requested []string) *oauthError {
	for _, sc := range requested {
		if !knownScope(c, sc) {
			return newOAuthError("invalid_scope", descUnknownScope, http.StatusBadRequest)
		}
	}
	return newOAuthError("consent_required", descScopeNotGranted, http.StatusBadRequest)
}

// clientCredentialsScopeError applies Okta's rules for the scopes of a
// client-credentials request, or returns nil when they are acceptable. There
// is no user, so no OpenID Connect scope, no refresh token and no *.self
// scope makes sense.
func clientCredentialsScopeError(c *registeredClient, requested []string) *oauthError {
	if len(requested) == 0 {
		return newOAuthError("invalid_scope", descNoScope, http.StatusBadRequest)
	}
	for _, sc := range requested {
		switch {
		case sc == scopeOfflineAccess:
			return newOAuthError("invalid_scope", "Cannot request 'offline_access' scope using client credentials.", http.StatusBadRequest)
		case slices.Contains(oidcScopes, sc):
			return newOAuthError("invalid_scope", "Cannot request 'openid' scopes using client credentials.", http.StatusBadRequest)
		case strings.HasSuffix(sc, ".self"):
			return newOAuthError("invalid_scope", "Cannot request '*.self' scopes using client credentials.", http.StatusBadRequest)
		}
	}
	for _, sc := range requested {
		if !knownScope(c, sc) {
			return newOAuthError("invalid_scope", descUnknownScope, http.StatusBadRequest)
		}
	}
	for _, sc := range requested {
		if !slices.Contains(c.grantedScopes, sc) {
			return newOAuthError("consent_required", descScopeNotGranted, http.StatusBadRequest)
		}
	}
	return nil
}

// supportedScopes is the scopes_supported list of the metadata documents.
func supportedScopes() []string {
	return append(slices.Clone(oidcScopes), oktaScopes...)
}
