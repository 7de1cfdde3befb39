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

// A ClientCredentials resource has no refresh token to protect and nothing
// to revoke, so it has neither a state Secret nor a finalizer; one made by an
// earlier version still has both, and they are retired here: the grant moves
// into the token Secret's annotations (no new token is requested), then the
// state Secret is deleted and the finalizer removed.

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// adoptLegacyState takes the grant of a ClientCredentials resource from the
// state Secret an earlier version kept, when the token Secret does not
// describe it yet: the upgrade then requests no new token.
func (run *reconcileRun) adoptLegacyState(ctx context.Context) (outcome, error) {
	if !controllerutil.ContainsFinalizer(run.obj, v1.Finalizer) {
		return outcome{}, nil
	}
	s, err := run.r.cachedSecret(ctx, run.r.StateNamespace, state.SecretName(run.key))
	if err != nil {
		return outcome{}, fmt.Errorf("reading the state Secret: %w", err)
	}
	run.legacy = s
	if s == nil || run.state.Grant != nil {
		return outcome{}, nil
	}
	legacy := state.Decode(s)
	if g := legacy.Grant; g.HasToken() {
		g.IssuedAt, g.Expiry = g.IssuedAt.Truncate(time.Second), g.Expiry.Truncate(time.Second)
		g.RefreshToken = ""
		// The earlier version kept the count in status only.
		g.Rotations = max(g.Rotations, run.obj.Status.Rotations)
		run.state = state.State{Grant: g, RenewHandled: legacy.RenewHandled, Format: state.Format}
	}
	return outcome{}, nil
}

// retireLegacyState deletes the state Secret and removes the finalizer of a
// ClientCredentials resource, once its token Secret holds the grant.
func (run *reconcileRun) retireLegacyState(ctx context.Context) (outcome, error) {
	if !controllerutil.ContainsFinalizer(run.obj, v1.Finalizer) {
		return outcome{}, nil
	}
	if run.state.Grant.HasToken() && (run.tokenSecret == nil || state.DecodeTokenSecret(run.tokenSecret).Grant == nil) {
		// The grant is not in the token Secret yet (its write failed):
		// keep the state Secret until it is.
		return outcome{}, nil
	}
	if run.legacy != nil {
		if err := run.r.Delete(ctx, run.legacy); client.IgnoreNotFound(err) != nil {
			return outcome{}, fmt.Errorf("deleting the state Secret an earlier version kept: %w", err)
		}
	}
	if err := run.patchFinalizers(ctx, func(o *v1.OktaScopedToken) bool { return controllerutil.RemoveFinalizer(o, v1.Finalizer) }); err != nil {
		return outcome{}, fmt.Errorf("removing the finalizer an earlier version added: %w", err)
	}
	return outcome{}, nil
}
