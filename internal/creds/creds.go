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

// Package creds loads an app's credentials from the Secrets an
// OktaScopedToken references, with errors a person can act on.
package creds

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Error is a credential problem: the reason for the Ready condition and a
// message that says how to fix it. Retrying does not help until the Secret
// changes.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Credentials are what the spec's grant needs.
type Credentials struct {
	// App is a web app's client secret (AuthorizationCode), else nil.
	App *okta.ClientSecret
	// Key is a service app's signing key (ClientCredentials), else nil.
	Key *okta.PrivateKey
	// Version is the resourceVersion of the Secret they were read from.
	Version string
}

// Policy is what the operator may read.
type Policy struct {
	// RequireLabel reads only Secrets labelled
	// oktatoken.dev/allow-reference=true.
	RequireLabel bool
}

// refusedTypes are Secret types a resource may never reference: their
// values are credentials to the cluster or to registries, not to Okta, and
// the operator would send them to Okta's token endpoint.
var refusedTypes = map[corev1.SecretType]bool{
	corev1.SecretTypeServiceAccountToken: true,
	corev1.SecretTypeBootstrapToken:      true,
	corev1.SecretTypeDockerConfigJson:    true,
	corev1.SecretTypeDockercfg:           true,
}

// Load reads the referenced Secret key. reader should be uncached: the
// referenced Secrets are the user's, not labelled for the operator's cache.
func Load(ctx context.Context, reader client.Reader, obj *v1.OktaScopedToken, p Policy) (Credentials, error) {
	switch {
	case obj.Spec.GrantType == v1.GrantClientCredentials && obj.Spec.ClientSecretRef == nil:
		ref := obj.Spec.PrivateKeyRef
		if ref == nil {
			return Credentials{}, &Error{Reason: v1.ReasonInvalidSpec, Message: "privateKeyRef is required for grantType ClientCredentials"}
		}
		data, version, err := read(ctx, reader, obj.Namespace, ref.SecretKeyReference, p, true)
		if err != nil {
			return Credentials{}, err
		}
		key, err := okta.ParsePrivateKey(data, ref.KeyID)
		if err != nil {
			return Credentials{}, &Error{Reason: v1.ReasonInvalidPrivateKey, Message: fmt.Sprintf(
				"the private key in Secret %s/%s key %q cannot be used: %v", obj.Namespace, ref.Name, ref.Key, err)}
		}
		return Credentials{Key: key, Version: version}, nil
	default:
		// A web app's secret, or a service app's at a custom
		// authorization server.
		ref := obj.Spec.ClientSecretRef
		if ref == nil {
			return Credentials{}, &Error{Reason: v1.ReasonInvalidSpec, Message: "clientSecretRef is required for grantType AuthorizationCode"}
		}
		data, version, err := read(ctx, reader, obj.Namespace, *ref, p, false)
		if err != nil {
			return Credentials{}, err
		}
		return Credentials{App: &okta.ClientSecret{ID: obj.Spec.ClientID, Secret: string(data)}, Version: version}, nil
	}
}

// read reads one key of a Secret in the resource's namespace. Whatever
// keeps it from being used — no such Secret, no such key, a type or Secret
// the operator never reads, a missing label — gets the same message, which
// names only what the spec says: a person who may write OktaScopedTokens
// but not read Secrets learns nothing about the namespace's Secrets from it.
// read reads one Secret key; pem says it should hold a PEM private key
// (privateKeyRef), for the hint on how to create it.
func read(ctx context.Context, reader client.Reader, namespace string, ref v1.SecretKeyReference, p Policy,
	pem bool) ([]byte, string, error) {
	var s corev1.Secret
	err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, &s)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("reading Secret %s/%s: %w", namespace, ref.Name, err)
	}
	data := s.Data[ref.Key]
	usable := err == nil && len(data) > 0 && !refusedTypes[s.Type] &&
		s.Labels[v1.LabelManagedBy] != v1.ManagedByValue &&
		(!p.RequireLabel || s.Labels[v1.LabelAllowReference] == "true")
	if !usable {
		msg := fmt.Sprintf("Secret %s/%s key %q cannot be used: there is no such Secret or key, or it is one the operator "+
			"never reads (service-account and bootstrap tokens, image-pull Secrets, the operator's own Secrets)",
			namespace, ref.Name, ref.Key)
		if p.RequireLabel {
			msg += "; this operator reads only Secrets labelled " + v1.LabelAllowReference + "=true"
		}
		// A private key is a PEM file: --from-literal would take the
		// file's name, not the key.
		how := "--from-literal=" + ref.Key + "=..."
		if pem {
			how = "--from-file=" + ref.Key + "=key.pem"
		}
		msg += fmt.Sprintf("; to create it: kubectl -n %s create secret generic %s %s", namespace, ref.Name, how)
		return nil, "", &Error{Reason: v1.ReasonSecretNotUsable, Message: msg}
	}
	return data, s.ResourceVersion, nil
}
