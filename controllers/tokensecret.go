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

package controllers

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// tokenSecretData is what pods read.
func tokenSecretData(g *state.Grant) map[string][]byte {
	tokenType := g.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	return map[string][]byte{
		v1.TokenSecretAccessToken: []byte(g.AccessToken),
		v1.TokenSecretTokenType:   []byte(tokenType),
		v1.TokenSecretExpiry:      []byte(g.Expiry.UTC().Format(time.RFC3339)),
		v1.TokenSecretScope:       []byte(joinScopes(g.Scopes)),
	}
}

// ensureTokenSecret makes the token Secret hold g, Terraform-style: a
// deleted Secret is recreated and edited keys are put back, from the state
// Secret, without asking Okta for anything. The operator's labels and
// spec.secretTemplate are applied; other labels and annotations are left
// alone. An unchanged Secret is not written. A Secret left behind by an
// earlier spec.secretName is deleted.
func (r *OktaScopedTokenReconciler) ensureTokenSecret(
	ctx context.Context, obj *v1.OktaScopedToken, g *state.Grant,
) error {
	name := obj.TokenSecretName()
	if err := r.deleteMovedTokenSecrets(ctx, obj, name); err != nil {
		return err
	}
	// Read past the cache: right after a rotation the cache may still hold
	// the Secret as it was, and an update from that copy would fail with a
	// conflict.
	existing := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: name}, existing)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading the token Secret: %w", err)
	}
	if apierrors.IsNotFound(err) {
		existing = nil
	}
	if existing != nil && !metav1.IsControlledBy(existing, obj) {
		// The operator never takes over a Secret it did not create.
		return foreignSecretError(obj.Namespace, name)
	}
	desired := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace},
		Type:       corev1.SecretTypeOpaque,
	}
	if existing != nil {
		desired = existing.DeepCopy()
	}
	if desired.Labels == nil {
		desired.Labels = map[string]string{}
	}
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	if t := obj.Spec.SecretTemplate; t != nil {
		maps.Copy(desired.Labels, t.Labels)
		maps.Copy(desired.Annotations, t.Annotations)
	}
	desired.Labels[v1.LabelManagedBy] = v1.ManagedByValue
	desired.Labels[v1.LabelToken] = obj.Name
	desired.Labels[state.LabelRole] = state.RoleToken
	desired.Data = tokenSecretData(g)
	desired.StringData = nil
	if err := controllerutil.SetControllerReference(obj, desired, r.Scheme()); err != nil {
		return fmt.Errorf("setting the owner of the token Secret: %w", err)
	}
	if existing == nil {
		if len(desired.Annotations) == 0 {
			desired.Annotations = nil
		}
		if err := r.Create(ctx, desired); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return foreignSecretError(obj.Namespace, name)
			}
			return fmt.Errorf("creating the token Secret: %w", err)
		}
		return nil
	}
	if equality.Semantic.DeepEqual(existing.Data, desired.Data) &&
		equality.Semantic.DeepEqual(existing.Labels, desired.Labels) &&
		equality.Semantic.DeepEqual(nilIfEmpty(existing.Annotations), nilIfEmpty(desired.Annotations)) &&
		equality.Semantic.DeepEqual(existing.OwnerReferences, desired.OwnerReferences) {
		return nil
	}
	if err := r.Update(ctx, desired); err != nil {
		return fmt.Errorf("updating the token Secret: %w", err)
	}
	return nil
}

// foreignSecretError is why a token Secret cannot be written: a Secret of
// that name exists that the operator did not create.
func foreignSecretError(namespace, name string) error {
	return fmt.Errorf("a Secret %s/%s exists that the operator did not create; "+
		"delete it or choose another spec.secretName", namespace, name)
}

// deleteMovedTokenSecrets removes token Secrets this resource owns under a
// name it no longer uses.
func (r *OktaScopedTokenReconciler) deleteMovedTokenSecrets(
	ctx context.Context, obj *v1.OktaScopedToken, name string,
) error {
	var list corev1.SecretList
	if err := r.List(ctx, &list, client.InNamespace(obj.Namespace),
		client.MatchingLabels{v1.LabelToken: obj.Name, state.LabelRole: state.RoleToken}); err != nil {
		return fmt.Errorf("listing token Secrets: %w", err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if s.Name == name || !metav1.IsControlledBy(s, obj) {
			continue
		}
		if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the old token Secret %s: %w", s.Name, err)
		}
	}
	return nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
