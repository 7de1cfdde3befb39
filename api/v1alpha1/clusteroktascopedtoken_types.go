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

// ClusterOktaScopedTokenSpec is one token shared by many namespaces: the
// operator obtains and renews it once, and writes the same token into a
// Secret of every namespace it selects.
//
// +kubebuilder:validation:XValidation:rule="has(self.namespaceSelector) || (has(self.namespaces) && size(self.namespaces) > 0)",message="name the namespaces that get the token: set namespaceSelector, namespaces, or both"
// +kubebuilder:validation:XValidation:rule="!has(self.token.secretName)",message="set spec.secretName, the name of the Secret in every selected namespace, instead of spec.token.secretName"
type ClusterOktaScopedTokenSpec struct {
	// token is the token wanted, as an OktaScopedToken's spec. Its
	// clientSecretRef and privateKeyRef name Secrets in
	// credentialsNamespace, never in a selected namespace; its
	// rolloutRestartTargets name workloads in each selected namespace
	// (restarted only where their pod template uses the Secret); its
	// secretName is not used (see spec.secretName).
	// +required
	Token OktaScopedTokenSpec `json:"token"`

	// namespaceSelector selects the namespaces that get the token by
	// their labels. A namespace that comes to match gets its Secret at
	// once; one that stops matching loses the Secret the operator wrote.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// namespaces names namespaces that get the token, in addition to those
	// namespaceSelector selects.
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// secretName is the name of the Secret in every selected namespace.
	// Defaults to the resource's name. A Secret of that name the operator
	// did not write is never overwritten: that namespace is reported in
	// status.conflicts and the others are served.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// credentialsNamespace is where token.clientSecretRef and
	// token.privateKeyRef are read, and where the operator keeps the
	// token's source. Defaults to the operator's own namespace. Only
	// cluster administrators can create a ClusterOktaScopedToken, so only
	// they choose it.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	CredentialsNamespace string `json:"credentialsNamespace,omitempty"`
}

// NamespaceProblem is a selected namespace the token could not be
// written to.
type NamespaceProblem struct {
	// namespace that was not served.
	// +required
	Namespace string `json:"namespace"`
	// message says why.
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Message string `json:"message"`
}

// ClusterOktaScopedTokenStatus is what the operator observed: the token's
// (as an OktaScopedToken's status) and where it was written. It never
// holds a token, a code or a secret.
type ClusterOktaScopedTokenStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling and Stalled are the token's, as on an
	// OktaScopedToken; Distributed says whether every selected namespace
	// has the current token.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// authorizationURL is where a person signs in to grant the token, while
	// a sign-in is needed.
	// +optional
	AuthorizationURL string `json:"authorizationURL,omitempty"`
	// authorizationExpiresAt is when authorizationURL stops being accepted.
	// +optional
	AuthorizationExpiresAt *metav1.Time `json:"authorizationExpiresAt,omitempty"`
	// authorizedSubject is who signed in, from the ID token.
	// +optional
	AuthorizedSubject string `json:"authorizedSubject,omitempty"`
	// grantedScopes are the scopes Okta granted.
	// +listType=atomic
	// +optional
	GrantedScopes []string `json:"grantedScopes,omitempty"`
	// expiresAt is when the current access token expires.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// renewalTime is when the operator renews it.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	// lastRotationTime is when the token last changed.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`
	// rotations counts the tokens issued after the first.
	// +optional
	Rotations int64 `json:"rotations,omitempty"`

	// targets is how many namespaces are selected.
	// +optional
	Targets int32 `json:"targets,omitempty"`
	// served is how many of them hold the current token.
	// +optional
	Served int32 `json:"served,omitempty"`
	// conflicts are selected namespaces where a Secret named
	// spec.secretName exists that the operator did not write (the first
	// 20, sorted; Distributed's message gives the count).
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Conflicts []string `json:"conflicts,omitempty"`
	// failed are selected namespaces where writing the Secret failed (the
	// first 20, sorted).
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Failed []NamespaceProblem `json:"failed,omitempty"`
	// lastRolloutRestartTime is when the workloads in
	// spec.token.rolloutRestartTargets were last restarted for a new token,
	// in every selected namespace.
	// +optional
	LastRolloutRestartTime *metav1.Time `json:"lastRolloutRestartTime,omitempty"`
}

// ClusterOktaScopedToken keeps one scoped Okta access token, renewed once,
// in a Secret of every namespace it selects. Cluster-scoped: only cluster
// RBAC can create one, and its credentials are read from the operator's
// namespace (or spec.credentialsNamespace), never from a selected one.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cost,categories=okta
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 200",message="the name of a ClusterOktaScopedToken is at most 200 characters"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Targets",type=integer,JSONPath=`.status.targets`
// +kubebuilder:printcolumn:name="Served",type=integer,JSONPath=`.status.served`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretName`,priority=1
// +kubebuilder:printcolumn:name="Distributed",type=string,JSONPath=`.status.conditions[?(@.type=="Distributed")].reason`,priority=1
type ClusterOktaScopedToken struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the token wanted and where it goes.
	// +required
	Spec ClusterOktaScopedTokenSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status ClusterOktaScopedTokenStatus `json:"status,omitzero"`
}

// CopySecretName is the name of the Secret in each selected namespace.
func (c *ClusterOktaScopedToken) CopySecretName() string {
	if c.Spec.SecretName != "" {
		return c.Spec.SecretName
	}
	return c.Name
}

// +kubebuilder:object:root=true

// ClusterOktaScopedTokenList contains a list of ClusterOktaScopedToken.
type ClusterOktaScopedTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []ClusterOktaScopedToken `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &ClusterOktaScopedToken{}, &ClusterOktaScopedTokenList{})
		return nil
	})
}
