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

// The state Secret of an AuthorizationCode resource, in the operator's
// namespace where no workload can read it: the grant (refresh token
// included) and its bookkeeping. It is read from the cache at the start of a
// pass (one left by an earlier resource of the same name is revoked and
// discarded; another resource's is left alone) and written guarded by the
// resourceVersion the pass read.

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// loadState reads the state Secret from the cache; a missing one is an
// empty state.
func (run *reconcileRun) loadState(ctx context.Context) (outcome, error) {
	s, err := run.r.cachedSecret(ctx, run.r.StateNamespace, state.SecretName(run.key))
	if err != nil {
		return outcome{}, fmt.Errorf("reading the state Secret: %w", err)
	}
	if s != nil {
		if uid := state.OwnerUID(s); uid != "" && uid != run.obj.UID {
			return run.foreignState(ctx, s)
		}
	}
	run.useState(s)
	return outcome{}, nil
}

// useState makes s (nil when missing) this pass's state Secret.
func (run *reconcileRun) useState(s *corev1.Secret) {
	run.stateSecret = s
	run.state = state.Decode(s)
	if g := run.state.Grant; s != nil && run.state.Format == "" && g != nil && g.Rotations == 0 {
		// Format 1 kept the count in status only.
		g.Rotations = run.obj.Status.Rotations
	}
}

// foreignState handles a state Secret of this resource's name that another
// resource wrote. Left behind by an earlier resource of the same name (its
// finalizer was removed by hand), it is revoked where it was made and
// deleted; the new resource starts without a grant. Written for another
// resource whose name shortened to the same Secret name, it is left alone
// and the resource stalls.
func (run *reconcileRun) foreignState(ctx context.Context, s *corev1.Secret) (outcome, error) {
	if owner, _ := state.Owner(s); owner != run.key {
		o := stallOutcome(v1.ReasonStateConflict, fmt.Sprintf("the state Secret %s/%s belongs to the OktaScopedToken %s; "+
			"this resource cannot keep its grant there: give it a shorter name", s.Namespace, s.Name, owner))
		// Nothing of this pass may touch that Secret.
		o.halt = true
		return o, nil
	}
	revoked := ""
	if g := state.Decode(s).Grant; g != nil && g.RefreshToken != "" {
		revoked = "; its grant was revoked at " + g.Issuer
		if err := run.r.revokeGrant(ctx, run.obj, g); err != nil {
			if wait, ok := errors.AsType[*waitForBudget](err); ok {
				o := waitOutcome(v1.ReasonWaitingForRateLimit, "a state Secret left by an earlier resource of this name is "+
					"revoked first, "+wait.Error(), wait.at)
				o.halt = true
				return o, nil
			}
			revoked = fmt.Sprintf("; revoking its grant failed (%v)", err)
		}
	}
	preconditions := client.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}
	if err := run.r.Delete(ctx, s, preconditions); client.IgnoreNotFound(err) != nil {
		return outcome{}, fmt.Errorf("deleting the state Secret an earlier resource of this name left: %w", err)
	}
	run.event(corev1.EventTypeWarning, v1.ReasonStateConflict,
		"the state Secret left by an earlier OktaScopedToken of this name (UID %s) was discarded%s; a new sign-in is needed",
		state.OwnerUID(s), revoked)
	run.stateSecret = nil
	run.state = state.State{}
	return outcome{}, nil
}

// saveState writes the state Secret, creating it when missing, and makes
// the new state this pass's view. The update is guarded by the
// resourceVersion this pass read: a pass racing another writer (the
// callback) fails with a conflict instead of undoing its work.
func (run *reconcileRun) saveState(ctx context.Context, next state.State) error {
	s := run.stateSecret
	if s == nil {
		s = state.NewSecret(run.r.StateNamespace, run.key, run.obj.UID)
		state.Encode(next, s)
		err := run.write(ctx, kindSecret, s, func() error { return run.r.Create(ctx, s) })
		if apierrors.IsAlreadyExists(err) {
			// The cache had not seen it yet: read it live and write over
			// it, if it is this resource's.
			live := &corev1.Secret{}
			if err := run.r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), live); err != nil {
				return fmt.Errorf("reading the state Secret: %w", err)
			}
			if uid := state.OwnerUID(live); uid != "" && uid != run.obj.UID {
				return fmt.Errorf("the state Secret %s/%s belongs to another resource (UID %s)", live.Namespace, live.Name, uid)
			}
			run.stateSecret = live
			return run.saveState(ctx, next)
		}
		if err != nil {
			return fmt.Errorf("creating the state Secret: %w", err)
		}
	} else {
		s = s.DeepCopy()
		state.Encode(next, s)
		// A Secret written before owner UIDs were recorded is adopted.
		state.SetOwnerUID(s, run.obj.UID)
		if err := run.write(ctx, kindSecret, s, func() error { return run.r.Update(ctx, s) }); err != nil {
			return fmt.Errorf("updating the state Secret: %w", err)
		}
	}
	run.stateSecret = s
	run.state = next
	return nil
}
