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

// The token Secret: what pods mount. It holds the current access token, its
// type, expiry and scopes, and annotations that describe the token (see
// internal/state). It is made to match the grant Terraform-style: a deleted
// Secret is recreated and edited keys are put back, without asking Okta for
// anything when the grant is kept elsewhere (the state Secret of an
// AuthorizationCode resource); an unchanged Secret is never written.

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
	"github.com/okta-token-operator/okta-token-operator/internal/secrettemplate"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// loadTokenSecret reads the token Secret from the cache. For a
// ClientCredentials resource it is the grant's record: a Secret that was
// deleted, edited, or written by a version that did not describe its token
// holds no grant, and a new token is requested.
func (run *reconcileRun) loadTokenSecret(ctx context.Context) (outcome, error) {
	s, err := run.cachedTokenSecret(ctx, run.obj.TokenSecretName())
	if err != nil {
		return outcome{}, fmt.Errorf("reading the token Secret: %w", err)
	}
	run.tokenSecret = s
	if s == nil || !metav1.IsControlledBy(s, run.obj) {
		return outcome{}, nil
	}
	run.state = state.DecodeTokenSecret(s)
	if run.state.Grant == nil {
		log.FromContext(ctx).V(1).Info("the token Secret holds no token the operator issued as it is; a new one is due")
	}
	return outcome{}, nil
}

// cachedTokenSecret reads a token Secret of this resource from the cache,
// nil when missing. One the cache holds trimmed (it arrived before its
// resource did, after a restart) is read from the API server, once: the
// next write puts it in the cache whole.
func (run *reconcileRun) cachedTokenSecret(ctx context.Context, name string) (*corev1.Secret, error) {
	s, err := run.r.cachedSecret(ctx, run.obj.Namespace, name)
	if err != nil || s == nil || s.Annotations[state.AnnotationTrimmed] == "" || !metav1.IsControlledBy(s, run.obj) {
		return s, err
	}
	live := &corev1.Secret{}
	if err := run.r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), live); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return live, nil
}

// publishToken makes the token Secret match the current token and reports
// the token in status.
func (run *reconcileRun) publishToken(ctx context.Context) (outcome, error) {
	g := run.state.Grant
	if !g.HasToken() {
		return outcome{}, nil
	}
	published, err := run.ensureTokenSecret(ctx, g)
	if err != nil {
		return outcome{}, err
	}
	if published.reason == v1.ReasonSecretConflict {
		// Not published: nothing to report of the token.
		return published, nil
	}
	st := &run.obj.Status
	issued := metav1.NewTime(g.IssuedAt)
	announced := st.LastRotationTime != nil && st.LastRotationTime.Equal(&issued)
	if !run.newToken && g.Origin == state.OriginLogin && !announced {
		// A sign-in the callback completed, announced once.
		run.event(corev1.EventTypeNormal, v1.ReasonAuthorized, "signed in as %s; token for %s issued, expires %s",
			orUnknown(g.Subject), joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339))
	}
	if run.newToken && st.LastRotationTime == nil {
		run.event(corev1.EventTypeNormal, v1.ReasonIssued, "token for %s issued, expires %s",
			joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339))
	}
	st.LastRotationTime = &issued
	st.Rotations = g.Rotations
	exp := metav1.NewTime(g.Expiry)
	st.ExpiresAt = &exp
	st.GrantedScopes = g.Scopes
	st.AuthorizedSubject = g.Subject
	if g.RefreshToken != "" || run.obj.Spec.GrantType == v1.GrantClientCredentials {
		renewal := metav1.NewTime(policy.RenewalTime(g.IssuedAt, g.Expiry, run.obj.Spec, run.obj.UID))
		st.RenewalTime = &renewal
	} else {
		st.RenewalTime = nil
	}
	return published, nil
}

// ensureTokenSecret writes the token Secret when it differs from what g
// makes of it. The operator's labels and annotations and spec.secretTemplate
// are applied; other labels and annotations are left alone. A Secret left
// behind by an earlier spec.secretName is deleted.
func (run *reconcileRun) ensureTokenSecret(ctx context.Context, g *state.Grant) (outcome, error) {
	obj := run.obj
	name := obj.TokenSecretName()
	if err := run.deleteMovedTokenSecrets(ctx, name); err != nil {
		return outcome{}, err
	}
	existing := run.tokenSecret
	if existing == nil || existing.Name != name {
		var err error
		if existing, err = run.cachedTokenSecret(ctx, name); err != nil {
			return outcome{}, fmt.Errorf("reading the token Secret: %w", err)
		}
	}
	if existing != nil && !metav1.IsControlledBy(existing, obj) {
		// The operator never takes over a Secret it did not create.
		return foreignSecret(obj.Namespace, name), nil
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
	maps.Copy(desired.Annotations, state.TokenSecretAnnotations(g, run.state.RenewHandled, run.state.ManualAt))
	desired.Data = state.TokenSecretData(g)
	desired.StringData = nil
	// spec.secretTemplate.data adds keys; a template that cannot be
	// rendered leaves them out, never the token itself.
	var templateFailed outcome
	if t := obj.Spec.SecretTemplate; t != nil && len(t.Data) > 0 {
		texts := make(map[string]string, len(t.Data))
		for k, v := range t.Data {
			texts[k] = string(v)
		}
		d := desired.Data
		rendered, err := secrettemplate.Render(texts, secrettemplate.Values{
			AccessToken: string(d[v1.TokenSecretAccessToken]),
			TokenType:   string(d[v1.TokenSecretTokenType]),
			Expiry:      string(d[v1.TokenSecretExpiry]),
			Scope:       string(d[v1.TokenSecretScope]),
		})
		maps.Copy(desired.Data, rendered)
		if err != nil {
			templateFailed = stallOutcome(v1.ReasonInvalidTemplate, err.Error()+
				"; the standard keys access_token, token_type, expiry and scope are written without it")
		}
	}
	if err := controllerutil.SetControllerReference(obj, desired, run.r.Scheme()); err != nil {
		return outcome{}, fmt.Errorf("setting the owner of the token Secret: %w", err)
	}
	if existing == nil {
		if err := run.write(ctx, kindSecret, desired, func() error { return run.r.Create(ctx, desired) }); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return run.alreadyExists(ctx, name)
			}
			return outcome{}, fmt.Errorf("creating the token Secret: %w", err)
		}
		run.tokenSecret = desired
		return templateFailed, nil
	}
	if equality.Semantic.DeepEqual(existing.Data, desired.Data) &&
		equality.Semantic.DeepEqual(existing.Labels, desired.Labels) &&
		equality.Semantic.DeepEqual(existing.Annotations, desired.Annotations) &&
		equality.Semantic.DeepEqual(existing.OwnerReferences, desired.OwnerReferences) {
		return templateFailed, nil
	}
	if err := run.write(ctx, kindSecret, desired, func() error { return run.r.Update(ctx, desired) }); err != nil {
		return outcome{}, fmt.Errorf("updating the token Secret: %w", err)
	}
	run.tokenSecret = desired
	return templateFailed, nil
}

// alreadyExists handles a create that found a Secret of that name: either
// the cache had not seen this operator's own earlier create (retry the pass
// once it has), or the Secret is someone else's.
func (run *reconcileRun) alreadyExists(ctx context.Context, name string) (outcome, error) {
	s := &corev1.Secret{}
	if err := run.r.APIReader.Get(ctx, client.ObjectKey{Namespace: run.obj.Namespace, Name: name}, s); err != nil {
		return outcome{}, fmt.Errorf("reading the token Secret: %w", err)
	}
	if metav1.IsControlledBy(s, run.obj) {
		return outcome{}, fmt.Errorf("the token Secret %s/%s was created meanwhile; retrying from a fresh read",
			run.obj.Namespace, name)
	}
	return foreignSecret(run.obj.Namespace, name), nil
}

// foreignSecret is why a token Secret cannot be written: a Secret of that
// name exists that the operator did not create.
func foreignSecret(namespace, name string) outcome {
	return stallOutcome(v1.ReasonSecretConflict, fmt.Sprintf("a Secret %s/%s exists that the operator did not create; "+
		"delete it or choose another spec.secretName", namespace, name))
}

// deleteMovedTokenSecrets removes token Secrets this resource owns under a
// name it no longer uses.
func (run *reconcileRun) deleteMovedTokenSecrets(ctx context.Context, name string) error {
	var list corev1.SecretList
	if err := run.r.List(ctx, &list, client.InNamespace(run.obj.Namespace),
		client.MatchingLabels{v1.LabelToken: run.obj.Name, state.LabelRole: state.RoleToken}); err != nil {
		return fmt.Errorf("listing token Secrets: %w", err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if s.Name == name || !metav1.IsControlledBy(s, run.obj) {
			continue
		}
		if err := run.r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the old token Secret %s: %w", s.Name, err)
		}
	}
	return nil
}

// orUnknown names who signed in, or says nobody is known.
func orUnknown(s string) string {
	if s == "" {
		return "an unknown user"
	}
	return s
}
