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
// lets it go. The token Secret goes with its owner through garbage
// collection.
//
// A ClientCredentials resource has no refresh token to protect and nothing
// to revoke, so it has neither a state Secret nor a finalizer; one made by an
// earlier version still has both, and they are retired here: the grant moves
// into the token Secret's annotations (no new token is requested), then the
// state Secret is deleted and the finalizer removed.

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// Revocation on delete is tried this many times before the resource is let
// go with a Warning event, so deletion never hangs on an unreachable Okta.
const maxRevokeAttempts = 3

// ensureFinalizer keeps the resource until its grant is revoked and its state
// Secret deleted (AuthorizationCode only: a client-credentials token has
// neither).
func (run *reconcileRun) ensureFinalizer(ctx context.Context) (outcome, error) {
	if !controllerutil.AddFinalizer(run.obj, v1.Finalizer) {
		return outcome{}, nil
	}
	status := run.obj.Status.DeepCopy()
	if err := run.write(kindToken, run.obj, func() error { return run.r.Update(ctx, run.obj) }); err != nil {
		return outcome{}, fmt.Errorf("adding the finalizer: %w", err)
	}
	// The update's answer carries the stored status; this pass keeps
	// working on (and patches) the status it read.
	run.obj.Status = *status
	return outcome{}, nil
}

// finalize revokes the grant when asked, deletes the state Secret and lets
// the resource go. Revocation is tried a bounded number of times.
func (r *OktaScopedTokenReconciler) finalize(ctx context.Context, obj *v1.OktaScopedToken) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(obj)
	if !controllerutil.ContainsFinalizer(obj, v1.Finalizer) {
		return ctrl.Result{}, nil
	}
	// Read live: the refresh token to revoke must be the current one.
	s := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.StateNamespace, Name: state.SecretName(key)}, s)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading the state Secret: %w", err)
	}
	if err == nil && state.OwnerUID(s) != "" && state.OwnerUID(s) != obj.UID {
		if owner, _ := state.Owner(s); owner != key {
			// Another resource's state under a shortened name: not ours
			// to revoke or delete.
			err = apierrors.NewNotFound(corev1.Resource("secrets"), s.Name)
		}
	}
	if err == nil {
		st := state.Decode(s)
		g := st.Grant
		revoke := obj.Spec.RevokeOnDelete == nil || *obj.Spec.RevokeOnDelete
		if revoke && g != nil && g.RefreshToken != "" && obj.Spec.GrantType == v1.GrantAuthorizationCode {
			err := r.revokeGrant(ctx, obj, g)
			if wait, ok := errors.AsType[*waitForBudget](err); ok {
				return ctrl.Result{RequeueAfter: max(wait.at.Sub(r.Clock.Now()), time.Millisecond),
					Priority: new(slotPriority)}, nil
			}
			if err != nil {
				st.RevokeAttempts++
				if st.RevokeAttempts < maxRevokeAttempts {
					log.FromContext(ctx).Info("revoking the refresh token failed; retrying",
						"attempt", st.RevokeAttempts, "error", err.Error())
					state.Encode(st, s)
					if err := r.Update(ctx, s); err != nil {
						return ctrl.Result{}, fmt.Errorf("recording the failed revocation: %w", err)
					}
					return ctrl.Result{RequeueAfter: time.Duration(st.RevokeAttempts) * 2 * time.Second,
						Priority: new(normalPriority)}, nil
				}
				r.eventf(obj, corev1.EventTypeWarning, v1.ReasonRevocationFailed,
					"could not revoke the refresh token at Okta after %d attempts (%v); "+
						"revoke the app's grants in the Okta Admin Console if needed", st.RevokeAttempts, err)
			} else {
				r.eventf(obj, corev1.EventTypeNormal, v1.ReasonRevoked, "the refresh token was revoked at Okta")
			}
		}
		if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting the state Secret: %w", err)
		}
	}
	r.mem.forget(key)
	metrics.Forget(obj.Namespace, obj.Name)
	controllerutil.RemoveFinalizer(obj, v1.Finalizer)
	if err := r.Update(ctx, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// revokeGrant revokes a grant's refresh token where the grant was obtained,
// whatever the spec says now: a spec pointed at another domain must not
// make the operator send the refresh token (or the client secret) there.
// The issuer must still be one the operator may talk to.
func (r *OktaScopedTokenReconciler) revokeGrant(ctx context.Context, obj *v1.OktaScopedToken, g *state.Grant) error {
	if r.Budget != nil && g.Issuer != "" {
		// A revocation spends the org's budget like a token request.
		if at, ok := r.Budget.Take(budget.Org(g.Issuer), client.ObjectKeyFromObject(obj).String(), budget.Early); !ok {
			return &waitForBudget{at: at}
		}
	}
	if g.ClientID != "" && g.ClientID != obj.Spec.ClientID {
		// The spec's client secret is another app's: it must not be sent to
		// this grant's org, and would not be accepted there.
		return fmt.Errorf("the grant belongs to the app %s, which the spec no longer names, "+
			"so its secret is not at hand", g.ClientID)
	}
	c, err := creds.Load(ctx, r.APIReader, obj, r.SecretPolicy)
	if err != nil {
		return err
	}
	endpoint, clientID := g.RevocationEndpoint, g.ClientID
	if g.Issuer == "" {
		// A grant stored before grants were bound (state format 1): its
		// issuer is the spec's only while the spec still describes it.
		if g.Fingerprint != state.Fingerprint(obj.Spec) {
			return fmt.Errorf("the grant was made for another domain or client than the spec names now, " +
				"and where it was made was not recorded")
		}
		ep, err := r.Discovery.Discover(ctx, obj.Spec.OktaDomain, obj.Spec.AuthorizationServerID)
		if err != nil {
			return err
		}
		endpoint, clientID = ep.RevocationEndpoint, obj.Spec.ClientID
	}
	if err := r.Discovery.Domains.CheckURL(endpoint, r.Discovery.AllowInsecure); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	app := *c.App
	app.ID = clientID
	return r.Okta.Revoke(ctx, okta.Endpoints{Issuer: g.Issuer, RevocationEndpoint: endpoint}, app,
		g.RefreshToken, "refresh_token")
}

// waitForBudget says a request must wait for its slot in the org's budget.
type waitForBudget struct{ at time.Time }

func (w *waitForBudget) Error() string {
	return "waiting for a share of the Okta org's rate limit until " + w.at.UTC().Format(time.RFC3339)
}

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
	status := run.obj.Status.DeepCopy()
	controllerutil.RemoveFinalizer(run.obj, v1.Finalizer)
	if err := run.write(kindToken, run.obj, func() error { return run.r.Update(ctx, run.obj) }); err != nil {
		return outcome{}, fmt.Errorf("removing the finalizer an earlier version added: %w", err)
	}
	run.obj.Status = *status
	return outcome{}, nil
}
