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
	"strings"

	josev3 "github.com/go-jose/go-jose/v3"
)

// metadata is the discovery document (RFC 8414 and OpenID Connect Discovery)
// with the fields Okta's authorization servers publish, limited to what this
// server really supports.
type metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	DPoPSigningAlgValuesSupported              []string `json:"dpop_signing_alg_values_supported"`
}

var clientAuthMethods = []string{authClientSecretBasic, authClientSecretPost, authPrivateKeyJWT}

// handleMetadata serves both /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server (under /oauth2/{id} for a custom
// authorization server); Okta serves the same document at both.
func (as *authServer) handleMetadata(w http.ResponseWriter, _ *http.Request) {
	issuer := as.issuer()
	algs := make([]string, 0, len(supportedAssertionAlgs))
	for _, a := range supportedAssertionAlgs {
		algs = append(algs, string(a))
	}
	doc := metadata{
		Issuer:                                     issuer,
		AuthorizationEndpoint:                      as.url(endpointAuthorize),
		TokenEndpoint:                              as.url(endpointToken),
		UserinfoEndpoint:                           as.url(endpointUserinfo),
		JWKSURI:                                    as.url(endpointKeys),
		RevocationEndpoint:                         as.url(endpointRevoke),
		IntrospectionEndpoint:                      as.url(endpointIntrospect),
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query", "fragment", "form_post"},
		GrantTypesSupported:                        grantTypes,
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           []string{"RS256"},
		ScopesSupported:                            as.supportedScopes(),
		TokenEndpointAuthMethodsSupported:          clientAuthMethods,
		TokenEndpointAuthSigningAlgValuesSupported: algs,
		RevocationEndpointAuthMethodsSupported:     clientAuthMethods,
		IntrospectionEndpointAuthMethodsSupported:  clientAuthMethods,
		ClaimsSupported:                            []string{"iss", "sub", "aud", "iat", "exp", "auth_time", "nonce", "at_hash", "jti", claimName, claimPreferredUsername, claimEmail},
		CodeChallengeMethodsSupported:              []string{"S256"},
		RequestParameterSupported:                  false,
		DPoPSigningAlgValuesSupported:              strings.Fields(dpopAlgList()),
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(doc)
}

// handleKeys serves the public key that signs the authorization server's ID
// tokens.
func (as *authServer) handleKeys(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeAPIError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	set := josev3.JSONWebKeySet{Keys: []josev3.JSONWebKey{as.signingKey.Public()}}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(set)
}
