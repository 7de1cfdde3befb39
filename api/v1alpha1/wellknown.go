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

// Condition types, following kstatus: Ready is always present, Reconciling
// and Stalled only while true.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionRolloutRestarted says whether the workloads in
	// spec.rolloutRestartTargets were restarted for the current token;
	// present only when the spec names some.
	ConditionRolloutRestarted = "RolloutRestarted"
	// ConditionDistributed, on a ClusterOktaScopedToken, says whether every
	// selected namespace holds the current token.
	ConditionDistributed = "Distributed"
)

// Reasons a user sees in `kubectl get ost`.
const (
	ReasonIssued                  = "Issued"
	ReasonAuthorizationRequired   = "AuthorizationRequired"
	ReasonReauthorizationRequired = "ReauthorizationRequired"
	ReasonRotationFailing         = "RotationFailing"
	ReasonExpired                 = "Expired"
	ReasonInvalidSpec             = "InvalidSpec"
	ReasonInvalidPrivateKey       = "InvalidPrivateKey"
	ReasonDiscoveryFailed         = "DiscoveryFailed"
	ReasonInsecureIssuer          = "InsecureIssuer"
	ReasonInvalidClient           = "InvalidClient"
	ReasonScopesNotGranted        = "ScopesNotGranted"
	ReasonTokenRequestFailed      = "TokenRequestFailed"
	ReasonProgressing             = "Progressing"
	ReasonSecretConflict          = "SecretConflict"
	ReasonDomainNotAllowed        = "DomainNotAllowed"
	ReasonSecretNotUsable         = "SecretNotUsable"
	ReasonStateConflict           = "StateConflict"
	ReasonSubjectNotAllowed       = "SubjectNotAllowed"
	ReasonRestarted               = "Restarted"
	ReasonRestartFailed           = "RestartFailed"
	ReasonRestartPending          = "RestartPending"
	ReasonInvalidTemplate         = "InvalidTemplate"
	ReasonWaitingForRateLimit     = "WaitingForRateLimit"
	ReasonRenewalDebounced        = "RenewalDebounced"
	// ReasonSignInBackingOff: the last sign-ins failed at the code
	// exchange; the next link waits for a backoff.
	ReasonSignInBackingOff = "SignInBackingOff"
	// ReasonDPoPRequired: Okta wants a DPoP proof and spec.tokenBinding
	// is not DPoP.
	ReasonDPoPRequired = "DPoPRequired"
	// ReasonDPoPProofRefused: Okta refused the operator's DPoP proof.
	ReasonDPoPProofRefused = "DPoPProofRefused"
	// ReasonCallbackNotConfigured: an AuthorizationCode token needs a
	// sign-in, and the manager runs without --callback-url.
	ReasonCallbackNotConfigured = "CallbackNotConfigured"
	// ReasonNoRefreshToken: the sign-in succeeded but Okta issued no
	// refresh token (the web app lacks the Refresh Token grant), so the
	// token cannot be renewed without a person.
	ReasonNoRefreshToken = "NoRefreshToken"
	// Reasons of a ClusterOktaScopedToken's Distributed condition (and
	// SecretConflict): every selected namespace has the current token; some
	// could not be written; there is no token yet to write.
	ReasonDistributed     = "Distributed"
	ReasonCopyFailed      = "CopyFailed"
	ReasonWaitingForToken = "WaitingForToken"
	// ReasonSourceConflict: an OktaScopedToken the operator did not make
	// has the name of a ClusterOktaScopedToken's source.
	ReasonSourceConflict = "SourceConflict"
)

// Reasons of the Events the operator records. Events mark transitions — the
// first token, a sign-in, a failure starting or changing, a recovery, a
// grant lost — not every routine rotation (status.lastRotationTime,
// status.rotations and the metrics record those).
const (
	ReasonAuthorized       = "Authorized"
	ReasonRotationFailed   = "RotationFailed"
	ReasonRecovered        = "Recovered"
	ReasonGrantReset       = "GrantReset"
	ReasonRevoked          = "Revoked"
	ReasonRevocationFailed = "RevocationFailed"
)

// Labels and annotations the operator reads or writes.
const (
	// LabelManagedBy marks every Secret the operator manages; the informer
	// cache holds only Secrets with this label.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "okta-token-operator"
	// LabelToken names the OktaScopedToken a token Secret belongs to.
	LabelToken = "oktatoken.dev/token"
	// LabelOwnerNamespace and LabelOwnerName name the OktaScopedToken a
	// state Secret belongs to (the state Secret lives in another namespace,
	// so it cannot carry an owner reference).
	LabelOwnerNamespace = "oktatoken.dev/owner-namespace"
	LabelOwnerName      = "oktatoken.dev/owner-name"

	// LabelAllowReference marks a Secret that OktaScopedTokens may reference
	// when the operator runs with --require-secret-label.
	LabelAllowReference = "oktatoken.dev/allow-reference"

	// LabelShard assigns an OktaScopedToken to the operator Deployment
	// started with --shard=<value>; without it, the one started without
	// --shard manages it.
	LabelShard = "oktatoken.dev/shard"

	// LabelClusterToken names the ClusterOktaScopedToken a copy of its
	// token in a selected namespace, or its source OktaScopedToken in the
	// credentials namespace, belongs to.
	LabelClusterToken = "oktatoken.dev/cluster-token"

	// AnnotationRenewRequestedAt rotates the token now, once per distinct value.
	AnnotationRenewRequestedAt = "oktatoken.dev/renew-requested-at"
	// AnnotationReauthorizeRequestedAt starts a new sign-in, once per
	// distinct value, keeping the current token until the new one arrives.
	AnnotationReauthorizeRequestedAt = "oktatoken.dev/reauthorize-requested-at"

	// Finalizer revokes the grant and removes the state Secret on delete.
	Finalizer = "oktatoken.dev/finalizer"
)

// Keys of the token Secret, the one workloads mount.
const (
	TokenSecretAccessToken = "access_token"
	TokenSecretTokenType   = "token_type"
	TokenSecretExpiry      = "expiry"
	TokenSecretScope       = "scope"
	// TokenSecretDPoPKey holds, for a DPoP-bound token, the private key it
	// is bound to, as a JSON Web Key: a workload signs a proof with it for
	// every request.
	TokenSecretDPoPKey = "dpop_key"
)

// TokenSecretName is the name of the token Secret: spec.secretName, or the
// resource's name.
func (o *OktaScopedToken) TokenSecretName() string {
	if o.Spec.SecretName != "" {
		return o.Spec.SecretName
	}
	return o.Name
}
