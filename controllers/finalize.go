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

// Deleting: an AuthorizationCode resource's grant is revoked at Okta (when
// spec.revokeOnDelete) and its state Secret deleted before the finalizer
// lets it go: the steps of a deletion pass, which ends through summarize
// like any other. The token Secret goes with its owner through garbage
// collection. A ClientCredentials resource has no finalizer (legacy.go).

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// Revocation on delete is tried this many times before the resource is let
// go with a Warning event, so deletion never hangs on an unreachable Okta.
const maxRevokeAttempts = 3

// ensureFinalizer keeps the resource until its grant is revoked and its state
// Secret deleted (AuthorizationCode only: a client-credentials token has
// neither).
func (run *reconcileRun) ensureFinalizer(ctx context.Context) (outcome, error) {
	if err := run.patchFinalizers(ctx, func(o *v1.OktaScopedToken) bool { return controllerutil.AddFinalizer(o, v1.Finalizer) }); err != nil {
		return outcome{}, fmt.Errorf("adding the finalizer: %w", err)
	}
	return outcome{}, nil
}

// patchFinalizers applies change to the resource's finalizers with a patch
// of them alone, guarded by the resourceVersion the pass read. Never an
// update of the whole object: the cache holds the resource without the
// labels and annotations the operator does not read, and an update from it
// would remove them.
func (run *reconcileRun) patchFinalizers(ctx context.Context, change func(*v1.OktaScopedToken) bool) error {
	base := run.obj.DeepCopy()
	if !change(run.obj) {
		return nil
	}
	patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	status := run.obj.Status.DeepCopy()
	err := run.write(ctx, kindToken, run.obj, func() error { return run.r.Patch(ctx, run.obj, patch) })
	// The patch's answer carries the stored status; this pass keeps
	// working on (and patches) the status it read.
	run.obj.Status = *status
	return err
}

// loadStateForDeletion reads the state Secret live: the refresh token to
// revoke must be the current one. A resource without the finalizer has
// nothing to clean up; another resource's state (a name that shortened to
// the same Secret name) is not this one's to revoke or delete.
func (run *reconcileRun) loadStateForDeletion(ctx context.Context) (outcome, error) {
	if !controllerutil.ContainsFinalizer(run.obj, v1.Finalizer) {
		run.gone = true
		return outcome{halt: true}, nil
	}
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: run.r.StateNamespace, Name: state.SecretName(run.key)}
	if err := run.r.APIReader.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return outcome{}, nil
		}
		return outcome{}, fmt.Errorf("reading the state Secret: %w", err)
	}
	if uid := state.OwnerUID(s); uid != "" && uid != run.obj.UID {
		if owner, _ := state.Owner(s); owner != run.key {
			return outcome{}, nil
		}
	}
	run.useState(s)
	return outcome{}, nil
}

// revokeOnDelete revokes the grant at Okta when spec.revokeOnDelete asks
// (the default), at most maxRevokeAttempts times: deletion never hangs on
// an unreachable Okta.
func (run *reconcileRun) revokeOnDelete(ctx context.Context) (outcome, error) {
	g := run.state.Grant
	revoke := run.obj.Spec.RevokeOnDelete == nil || *run.obj.Spec.RevokeOnDelete
	if run.stateSecret == nil || !revoke || g == nil || g.RefreshToken == "" ||
		run.obj.Spec.GrantType != v1.GrantAuthorizationCode {
		return outcome{}, nil
	}
	err := run.r.revokeGrant(ctx, run.obj, g)
	if wait, ok := errors.AsType[*waitForBudget](err); ok {
		o := waitOutcome(v1.ReasonWaitingForRateLimit, "the resource is being deleted; its grant is revoked first, "+
			wait.Error(), wait.at)
		o.halt = true
		return o, nil
	}
	if err == nil {
		run.event(corev1.EventTypeNormal, v1.ReasonRevoked, "the refresh token was revoked at Okta")
		return outcome{}, nil
	}
	next := run.state.RevokeFailed()
	if next.RevokeAttempts < maxRevokeAttempts {
		log.FromContext(ctx).Info("revoking the refresh token failed; retrying",
			"attempt", next.RevokeAttempts, "error", err.Error())
		if err := run.saveState(ctx, next); err != nil {
			return outcome{}, fmt.Errorf("recording the failed revocation: %w", err)
		}
		o := retryOutcome(v1.ReasonRevocationFailed, fmt.Sprintf(
			"the resource is being deleted; revoking its refresh token at Okta failed (attempt %d of %d): %v",
			next.RevokeAttempts, maxRevokeAttempts, err), run.now.Add(time.Duration(next.RevokeAttempts)*2*time.Second))
		o.halt = true
		return o, nil
	}
	run.event(corev1.EventTypeWarning, v1.ReasonRevocationFailed,
		"could not revoke the refresh token at Okta after %d attempts (%v); "+
			"revoke the app's grants in the Okta Admin Console if needed", next.RevokeAttempts, err)
	return outcome{}, nil
}

// deleteState deletes the state Secret.
func (run *reconcileRun) deleteState(ctx context.Context) (outcome, error) {
	if run.stateSecret == nil {
		return outcome{}, nil
	}
	if err := run.r.Delete(ctx, run.stateSecret); client.IgnoreNotFound(err) != nil {
		return outcome{}, fmt.Errorf("deleting the state Secret: %w", err)
	}
	return outcome{}, nil
}

// releaseResource forgets the resource and removes the finalizer, letting
// it go. The token Secret goes with its owner through garbage collection.
func (run *reconcileRun) releaseResource(ctx context.Context) (outcome, error) {
	run.r.mem.forget(run.key)
	run.r.forgetOrg(run.r.mem.orgs.release(run.key))
	if err := run.patchFinalizers(ctx, func(o *v1.OktaScopedToken) bool { return controllerutil.RemoveFinalizer(o, v1.Finalizer) }); err != nil {
		return outcome{}, client.IgnoreNotFound(err)
	}
	run.gone = true
	return outcome{}, nil
}
