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

// Load reads the referenced Secret key. reader should be uncached: the
// referenced Secrets are the user's, not labelled for the operator's cache.
func Load(ctx context.Context, reader client.Reader, obj *v1.OktaScopedToken) (Credentials, error) {
	switch obj.Spec.GrantType {
	case v1.GrantClientCredentials:
		ref := obj.Spec.PrivateKeyRef
		if ref == nil {
			return Credentials{}, &Error{Reason: v1.ReasonInvalidSpec, Message: "privateKeyRef is required for grantType ClientCredentials"}
		}
		data, version, err := read(ctx, reader, obj.Namespace, ref.SecretKeyReference)
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
		ref := obj.Spec.ClientSecretRef
		if ref == nil {
			return Credentials{}, &Error{Reason: v1.ReasonInvalidSpec, Message: "clientSecretRef is required for grantType AuthorizationCode"}
		}
		data, version, err := read(ctx, reader, obj.Namespace, *ref)
		if err != nil {
			return Credentials{}, err
		}
		return Credentials{App: &okta.ClientSecret{ID: obj.Spec.ClientID, Secret: string(data)}, Version: version}, nil
	}
}

func read(ctx context.Context, reader client.Reader, namespace string, ref v1.SecretKeyReference) ([]byte, string, error) {
	var s corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", &Error{Reason: v1.ReasonSecretNotFound, Message: fmt.Sprintf(
				"Secret %s/%s not found; create it, for example: kubectl -n %s create secret generic %s --from-literal=%s=...",
				namespace, ref.Name, namespace, ref.Name, ref.Key)}
		}
		return nil, "", fmt.Errorf("reading Secret %s/%s: %w", namespace, ref.Name, err)
	}
	data := s.Data[ref.Key]
	if len(data) == 0 {
		return nil, "", &Error{Reason: v1.ReasonSecretNotFound, Message: fmt.Sprintf(
			"Secret %s/%s has no key %q (or it is empty); add it or fix the key in the spec", namespace, ref.Name, ref.Key)}
	}
	return data, s.ResourceVersion, nil
}
