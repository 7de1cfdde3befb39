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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// GrantType is the OAuth 2.0 grant the operator uses to obtain tokens.
// +kubebuilder:validation:Enum=AuthorizationCode;ClientCredentials
type GrantType string

const (
	// GrantAuthorizationCode is the authorization-code grant with PKCE, for an
	// Okta web app: a person signs in once, the operator keeps the refresh token.
	GrantAuthorizationCode GrantType = "AuthorizationCode"
	// GrantClientCredentials is the client-credentials grant with
	// private_key_jwt client authentication, for an Okta API service app.
	GrantClientCredentials GrantType = "ClientCredentials"
)

// TokenBinding says how the tokens are bound to their holder.
// +kubebuilder:validation:Enum=Bearer;DPoP
type TokenBinding string

const (
	// TokenBindingBearer: plain bearer tokens; whoever holds one can use it.
	TokenBindingBearer TokenBinding = "Bearer"
	// TokenBindingDPoP: DPoP (RFC 9449) sender-constrained tokens, bound
	// to a key the operator makes. Okta requires it for API service apps
	// created since 2024 ("Require Demonstrating Proof of Possession
	// (DPoP) header in token requests").
	TokenBindingDPoP TokenBinding = "DPoP"
)

// SecretKeyReference names one key of a Secret in the resource's namespace.
type SecretKeyReference struct {
	// name of the Secret, in the same namespace as the OktaScopedToken.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +required
	Key string `json:"key"`
}

// PrivateKeyReference names the Secret key that holds the PEM-encoded private
// key of an Okta service app (PKCS#1 or PKCS#8 RSA, or EC P-256).
type PrivateKeyReference struct {
	SecretKeyReference `json:",inline"`

	// keyID is the "kid" of the public key registered with the Okta app.
	// It is sent in the client assertion's header so Okta can pick the key
	// when the app has more than one. Optional.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	KeyID string `json:"keyID,omitempty"`
}

// SecretTemplate shapes the token Secret beyond its four standard keys.
type SecretTemplate struct {
	// labels added to the token Secret, next to the operator's own labels:
	// at most 32, each key at most 317 characters (a 253-character prefix,
	// a slash, a 63-character name) and each value at most 63, as
	// Kubernetes allows on any object. The operator keeps every resource in
	// memory, so what a resource may carry is bounded here.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('oktatoken.dev/') && k != 'app.kubernetes.io/managed-by')",message="secretTemplate.labels: the oktatoken.dev/ labels and app.kubernetes.io/managed-by are the operator's own"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && size(self[k]) <= 63)",message="secretTemplate.labels: a label key is at most 317 characters and a value at most 63, as Kubernetes allows"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations added to the token Secret: at most 32, keys and values
	// together at most 16 KiB.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('oktatoken.dev/'))",message="secretTemplate.annotations: the oktatoken.dev/ annotations are the operator's own"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && size(self[k]) <= 16384)",message="secretTemplate.annotations: a key is at most 317 characters and a value at most 16 KiB"
	// +kubebuilder:validation:XValidation:rule="self.map(k, size(k) + size(self[k])).sum() <= 16384",message="secretTemplate.annotations: the annotations, keys and values together, are at most 16 KiB"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// data adds keys to the token Secret, each rendered from a template
	// that may name the token's fields and nothing else: {{ .accessToken }},
	// {{ .tokenType }}, {{ .expiry }} (RFC 3339) and {{ .scope }} (space-
	// separated), for example authorization: "Bearer {{ .accessToken }}",
	// or a configuration file a log shipper reads. The standard keys
	// access_token, token_type, expiry and scope are always written too,
	// and cannot be templated.
	// At most 16 keys, and the templates at most 16 KiB together.
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[-._a-zA-Z0-9]+$') && size(k) <= 253)",message="secretTemplate.data: keys must be valid Secret keys: letters, digits, '-', '_' and '.'"
	// +kubebuilder:validation:XValidation:rule="self.map(k, size(self[k])).sum() <= 16384",message="secretTemplate.data: the templates are at most 16 KiB together"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k in ['access_token', 'token_type', 'expiry', 'scope']))",message="secretTemplate.data: access_token, token_type, expiry and scope are the token Secret's standard keys; use another key"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].matches('^([^{]|[{][^{]|[{][{]-? *[.](accessToken|tokenType|expiry|scope) *-?[}][}])*[{]?$'))",message="secretTemplate.data: a template may only name the token's fields, as {{ .accessToken }}, {{ .tokenType }}, {{ .expiry }} or {{ .scope }}; no functions, pipelines or other actions"
	// +optional
	Data map[string]TemplateString `json:"data,omitempty"`
}

// TemplateString is one template of secretTemplate.data.
// +kubebuilder:validation:MaxLength=4096
type TemplateString string

// RolloutRestartTarget names a workload in the resource's namespace that
// reads the token only when it starts.
type RolloutRestartTarget struct {
	// kind of the workload.
	// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet
	// +required
	Kind string `json:"kind"`

	// name of the workload, in the same namespace as the OktaScopedToken.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// OktaScopedTokenSpec is what the user asks for: a token for these scopes,
// from this Okta org and app, kept in this Secret, renewed at this point of
// its lifetime.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.renewBefore) && has(self.renewBeforePercentage))",message="set either renewBefore or renewBeforePercentage, not both"
// +kubebuilder:validation:XValidation:rule="self.grantType != 'AuthorizationCode' || has(self.clientSecretRef)",message="clientSecretRef is required when grantType is AuthorizationCode: name the Secret that holds the Okta web app's client secret"
// +kubebuilder:validation:XValidation:rule="self.grantType != 'ClientCredentials' || has(self.privateKeyRef) || has(self.clientSecretRef)",message="grantType ClientCredentials needs privateKeyRef: name the Secret that holds the Okta service app's private key (PEM)"
// +kubebuilder:validation:XValidation:rule="self.grantType != 'ClientCredentials' || !has(self.clientSecretRef) || (has(self.authorizationServerID) && size(self.authorizationServerID) > 0)",message="clientSecretRef with grantType ClientCredentials works only with a custom authorization server (authorizationServerID): Okta's org authorization server requires private_key_jwt, so use privateKeyRef"
// +kubebuilder:validation:XValidation:rule="!has(self.privateKeyRef) || !has(self.clientSecretRef)",message="set either privateKeyRef or clientSecretRef, not both"
// +kubebuilder:validation:XValidation:rule="self.grantType != 'AuthorizationCode' || !has(self.privateKeyRef)",message="privateKeyRef is only used with grantType ClientCredentials"
// +kubebuilder:validation:XValidation:rule="self.grantType == 'AuthorizationCode' || !has(self.allowedSubjects)",message="allowedSubjects applies to grantType AuthorizationCode: no person signs in for a ClientCredentials token"
// +kubebuilder:validation:XValidation:rule="self.grantType != 'ClientCredentials' || self.scopes.all(s, !s.endsWith('.self') && s != 'openid' && s != 'offline_access' && s != 'profile' && s != 'email')",message="grantType ClientCredentials cannot request user scopes: remove openid, profile, email, offline_access and any *.self scope"
type OktaScopedTokenSpec struct {
	// oktaDomain is the base URL of the Okta org, such as
	// https://dev-123456.okta.com. Its org authorization server mints the
	// okta.* scopes. It must be https; http is accepted only for loopback
	// hosts (local development, together with the operator's
	// --allow-insecure-issuers flag).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^[\\x21-\\x7e]+$')",message="oktaDomain must be written in ASCII: write an internationalized host name in its punycode form (xn--...), which is the name that is dialled and the one the operator's allowlist compares; a lookalike letter such as İ is not an i"
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['https', 'http']",message="oktaDomain must be a URL such as https://dev-123456.okta.com"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getScheme() != 'http' || url(self).getHostname() in ['localhost', '127.0.0.1', '::1']",message="oktaDomain must use https://; http:// is allowed only for localhost, 127.0.0.1 or ::1"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getEscapedPath() in ['', '/']",message="oktaDomain must be the org's base URL without a path, such as https://dev-123456.okta.com; use authorizationServerID for a custom authorization server"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getQuery().size() == 0",message="oktaDomain must not have a query string"
	// +required
	OktaDomain string `json:"oktaDomain"`

	// authorizationServerID selects a custom authorization server, such as
	// "default" or "aus1a2b3c4d". Leave it empty for the org authorization
	// server, the only one that can mint okta.* scopes.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]*$`
	// +optional
	AuthorizationServerID string `json:"authorizationServerID,omitempty"`

	// clientID is the Okta app's client ID, such as 0oa1b2c3d4e5f6g7h8i9.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._~-]+$`
	// +required
	ClientID string `json:"clientID"`

	// grantType is how the operator obtains tokens: AuthorizationCode (an
	// Okta web app with its client secret, clientSecretRef; a person signs
	// in once at status.authorizationURL, which needs the operator's
	// --callback-url) or ClientCredentials (an Okta API service app, with
	// its private key, privateKeyRef; or, at a custom authorization server
	// only, with its client secret, clientSecretRef).
	// +kubebuilder:default=AuthorizationCode
	// +optional
	GrantType GrantType `json:"grantType,omitempty"`

	// clientSecretRef names the Secret key holding the app's client secret,
	// used with client_secret_basic. Required for AuthorizationCode; with
	// ClientCredentials, allowed only for a custom authorization server
	// (Okta's org authorization server requires private_key_jwt).
	// +optional
	ClientSecretRef *SecretKeyReference `json:"clientSecretRef,omitempty"`

	// privateKeyRef names the Secret key holding the service app's private
	// key in PEM (RSA or EC P-256), used for private_key_jwt client
	// authentication. Required for ClientCredentials, unless the app
	// authenticates with a client secret (clientSecretRef) at a custom
	// authorization server; not allowed with AuthorizationCode.
	// +optional
	PrivateKeyRef *PrivateKeyReference `json:"privateKeyRef,omitempty"`

	// scopes the token is limited to, such as okta.logs.read. For
	// AuthorizationCode the operator adds openid, profile, email and
	// offline_access itself.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[\x21\x23-\x5B\x5D-\x7E]+$`
	// +listType=set
	// +required
	Scopes []string `json:"scopes"`

	// secretName is the name of the token Secret in the resource's
	// namespace. Defaults to the resource's name.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// secretTemplate shapes the token Secret: labels and annotations
	// copied onto it, and data, extra keys rendered from the token (for
	// consumers that want another key name or format).
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`

	// renewBefore is how long before the access token expires the operator
	// renews it, such as 15m. Between 10s and 24h. When neither renewBefore
	// nor renewBeforePercentage is set, the token is renewed once two thirds
	// of its lifetime has passed. If renewBefore is longer than the token's
	// lifetime, the default rule applies.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=duration
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="renewBefore must be between 10s and 24h"
	// +optional
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// renewBeforePercentage renews the token when this share of its lifetime
	// is left, such as 33 (renew with a third of the lifetime left).
	// Between 5 and 95.
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=95
	// +optional
	RenewBeforePercentage *int32 `json:"renewBeforePercentage,omitempty"`

	// rolloutRestartTargets are workloads in this namespace that read the
	// token only when they start: after each new token is in the Secret,
	// the operator restarts them the way `kubectl rollout restart` does (the
	// pod template's kubectl.kubernetes.io/restartedAt annotation), at most
	// once per rotation and never more often than every five minutes. A
	// failure shows in the RolloutRestarted condition and never holds up a
	// rotation. Workloads that re-read the mounted Secret need none of
	// this (docs/consumers.md).
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	// +optional
	RolloutRestartTargets []RolloutRestartTarget `json:"rolloutRestartTargets,omitempty"`

	// allowedSubjects limits who may complete a sign-in (AuthorizationCode
	// only): Okta user ids (sub), logins or emails, or every login of a
	// domain, "*@example.com", or of its subdomains, "*@*.example.com".
	// Who signed in is read from the verified ID token. A sign-in by anyone
	// else stores nothing, and the link stays valid for the right person.
	// Empty: anyone who can sign in to the Okta app.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[-A-Za-z0-9._%+@*!#$&'=?^~|]+$`
	// +kubebuilder:validation:XValidation:rule="self.all(s, !s.contains('*') || s.matches('^[*]@([*][.])?[A-Za-z0-9-]+([.][A-Za-z0-9-]+)+$'))",message="allowedSubjects: a wildcard is allowed only as the whole local part, *@example.com, or for subdomains, *@*.example.com"
	// +listType=set
	// +optional
	AllowedSubjects []string `json:"allowedSubjects,omitempty"`

	// revokeOnDelete revokes the refresh token at Okta when the resource is
	// deleted. Defaults to true. It does nothing for ClientCredentials,
	// which has no refresh token: its access token stays valid until it
	// expires.
	// +kubebuilder:default=true
	// +optional
	RevokeOnDelete *bool `json:"revokeOnDelete,omitempty"`

	// tokenBinding binds the tokens to a key: Bearer (the default) or DPoP.
	// With DPoP the operator makes a P-256 key, proves possession of it on
	// every token request (Okta's "Require Demonstrating Proof of Possession
	// (DPoP) header in token requests", on by default for API service apps
	// since 2024), and the token is useless without the key. The token
	// Secret then holds token_type DPoP and the key as a private JWK in
	// dpop_key, for a workload that signs its own proofs or for the token
	// proxy sidecar (docs/consumers.md). A ClientCredentials token gets a
	// fresh key each time; a sign-in's key lasts as long as its grant,
	// because each refresh must be proven with it. Changing it starts a new
	// grant.
	// +kubebuilder:default=Bearer
	// +optional
	TokenBinding TokenBinding `json:"tokenBinding,omitempty"`
}

// OktaScopedTokenStatus is what the operator observed. It never holds a
// token, a code or a secret.
type OktaScopedTokenStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is always present; Reconciling and Stalled appear
	// only while true. Stalled means retrying cannot help until the spec,
	// a referenced Secret or the Okta app changes.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// authorizationURL is where a person signs in to grant the token. It is
	// set only while a sign-in is needed, and replaced by a new one when it
	// expires.
	// +optional
	AuthorizationURL string `json:"authorizationURL,omitempty"`

	// authorizationExpiresAt is when authorizationURL stops being accepted.
	// +optional
	AuthorizationExpiresAt *metav1.Time `json:"authorizationExpiresAt,omitempty"`

	// authorizedSubject is who signed in, from the ID token.
	// +optional
	AuthorizedSubject string `json:"authorizedSubject,omitempty"`

	// grantedScopes are the scopes Okta granted, as its token response said.
	// +listType=atomic
	// +optional
	GrantedScopes []string `json:"grantedScopes,omitempty"`

	// expiresAt is when the current access token expires.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// renewalTime is when the next rotation is due.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`

	// lastRotationTime is when the token Secret last received a new token.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`

	// rotations counts the tokens issued after the first: for
	// AuthorizationCode since the last sign-in, for ClientCredentials since
	// the first token (or the last change of domain, client, grant type or
	// scopes).
	// +optional
	Rotations int64 `json:"rotations,omitempty"`

	// failedAttempts counts token requests that failed since the last
	// success.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`

	// lastFailureTime is when the last token request failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`

	// lastRolloutRestartTime is when the workloads in
	// spec.rolloutRestartTargets were last restarted for a new token.
	// +optional
	LastRolloutRestartTime *metav1.Time `json:"lastRolloutRestartTime,omitempty"`

	// nextAttemptTime is set only after a failed token request: when the
	// operator asks Okta again (its backoff, or Okta's rate-limit reset).
	// It is cleared by the next success. A change to the spec or to the
	// referenced Secret is tried at once.
	// +optional
	NextAttemptTime *metav1.Time `json:"nextAttemptTime,omitempty"`
}

// OktaScopedToken keeps a scoped "OAuth for Okta" access token in a Secret
// and renews it before it expires.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ost,categories=okta
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Renewal",type=string,JSONPath=`.status.renewalTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretName`,priority=1
// +kubebuilder:printcolumn:name="Grant",type=string,JSONPath=`.spec.grantType`,priority=1
// +kubebuilder:printcolumn:name="Subject",type=string,JSONPath=`.status.authorizedSubject`,priority=1
// +kubebuilder:printcolumn:name="Rotations",type=integer,JSONPath=`.status.rotations`,priority=1
type OktaScopedToken struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the token wanted.
	// +required
	Spec OktaScopedTokenSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status OktaScopedTokenStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// OktaScopedTokenList contains a list of OktaScopedToken.
type OktaScopedTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []OktaScopedToken `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &OktaScopedToken{}, &OktaScopedTokenList{})
		return nil
	})
}
