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

// The OktaScopedToken reconciler watches OktaScopedTokens, the token Secrets
// they own, their state Secrets in the operator's namespace and (as metadata
// only) the Secrets their spec references. It decides whether a token is
// needed (none yet, renewal due, a manual trigger, a replaced key), obtains
// it the way the grant type says (a sign-in link for a person, a refresh, or
// a client-credentials request), keeps what renews it where no workload can
// read it, publishes the token to the token Secret, and reports in status.
//
// It reads from the informer cache. The one live read is the state Secret
// right before a refresh token is spent (a stale copy could hold a refresh
// token Okta has already replaced, and a replay makes Okta revoke the
// grant); every write is guarded by the resourceVersion it was computed
// from, so a pass that read a cache a moment behind fails with a conflict
// and is retried, instead of undoing newer work. Between rotations a pass
// reads nothing from the API server and writes nothing.

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// OktaScopedTokenReconciler reconciles an OktaScopedToken object.
type OktaScopedTokenReconciler struct {
	// Client reads through the manager's cache, which holds the
	// OktaScopedTokens and the Secrets the operator manages, and writes.
	client.Client
	// APIReader reads past the cache: the state Secret right before a
	// refresh, and the user's credentials Secrets, whose data the operator
	// does not cache.
	APIReader client.Reader
	// ReferencedSecrets is a metadata-only cache of the Secrets resources
	// may reference (name and resourceVersion, nothing else): enough to
	// know whether credentials changed without reading them.
	ReferencedSecrets client.Reader
	Recorder          record.EventRecorder
	// EventLog logs every Event as it is recorded (the zero value discards).
	EventLog  logr.Logger
	Clock     clock.PassiveClock
	Okta      *okta.Client
	Discovery *okta.Discoverer
	// StateNamespace holds the state Secrets.
	StateNamespace string
	// CallbackURL is the redirect URI registered with the Okta app.
	CallbackURL string
	// AuthorizationURLTTL is how long a sign-in URL stays valid.
	AuthorizationURLTTL     time.Duration
	MaxConcurrentReconciles int
	// QueueClock, when set, drives the work queue's delays (tests).
	QueueClock clock.WithTicker
	// SecretPolicy says which referenced Secrets may be read.
	SecretPolicy creds.Policy
	// WatchNamespaces are the namespaces this operator manages; empty
	// means all.
	WatchNamespaces []string
	// Budget paces token requests per Okta org (nil: unpaced).
	Budget *budget.Budget
	// ForgetOrg drops everything kept for an Okta org (budget.Org) no
	// resource uses any more: its budget and metric series, cached
	// metadata, key sets and DPoP nonces (nil: nothing is dropped).
	ForgetOrg func(org string)

	mem memory
	// retrigger queues a resource again (see requeueNow).
	retrigger chan event.GenericEvent
}

// The operator's rights, and no more: it patches a resource only to add or
// remove its finalizer, patches status, and writes only the Secrets it owns
// (token and state Secrets); list and watch feed the cache.
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens/status,verbs=patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile runs one pass over one OktaScopedToken.
func (r *OktaScopedTokenReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &v1.OktaScopedToken{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.mem.forget(req.NamespacedName)
			r.forgetOrg(r.mem.orgs.release(req.NamespacedName))
			// The org is not known here; a reservation left behind is
			// forgotten by the budget after a while.
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.mem.freshStatus(obj)
	if !obj.DeletionTimestamp.IsZero() {
		// Still used until the grant is revoked; released with the
		// finalizer.
	} else if r.Discovery.Domains.CheckURL(okta.IssuerURL(obj.Spec.OktaDomain, obj.Spec.AuthorizationServerID),
		r.Discovery.AllowInsecure) == nil {
		r.forgetOrg(r.mem.orgs.use(req.NamespacedName, budget.Org(obj.Spec.OktaDomain)))
	} else {
		// A host the operator may not talk to has nothing kept for it.
		r.forgetOrg(r.mem.orgs.release(req.NamespacedName))
	}
	// A request that must wait for its slot deep in a transport (a DPoP
	// nonce retry) counts in this namespace's share of the org's budget.
	ctx = budget.WithTenant(ctx, req.Namespace)
	run := &reconcileRun{r: r, obj: obj, key: req.NamespacedName, now: r.Clock.Now()}
	var steps []step
	switch {
	case !obj.DeletionTimestamp.IsZero():
		run.deleting = true
		steps = []step{run.loadStateForDeletion, run.revokeOnDelete, run.deleteState, run.releaseResource}
	case obj.Spec.GrantType == v1.GrantClientCredentials:
		steps = []step{run.loadTokenSecret, run.adoptLegacyState, run.obtainToken, run.publishToken,
			run.restartWorkloads, run.retireLegacyState}
	default:
		steps = []step{run.ensureFinalizer, run.loadState, run.persistUnpersisted, run.dropMismatchedGrant,
			run.obtainToken, run.ensureSignIn, run.publishToken, run.restartWorkloads}
	}
	return run.run(ctx, steps)
}

// step is one stage of a pass. It returns an outcome to report (the zero
// outcome, proceed, reports nothing) or an error from the API server, which
// ends the pass and retries it with the work queue's backoff.
type step func(context.Context) (outcome, error)

// reconcileRun is one pass over one resource.
type reconcileRun struct {
	r   *OktaScopedTokenReconciler
	obj *v1.OktaScopedToken
	// before is the status as read, to patch only what changed.
	before *v1.OktaScopedTokenStatus
	key    types.NamespacedName
	now    time.Time

	// stateSecret and tokenSecret are the Secrets as this pass last read or
	// wrote them (nil when missing).
	stateSecret *corev1.Secret
	tokenSecret *corev1.Secret
	// state is the grant and bookkeeping: from the state Secret
	// (AuthorizationCode) or the token Secret (ClientCredentials).
	state state.State
	// legacy is the state Secret an earlier version kept for a
	// ClientCredentials resource, until it is retired.
	legacy *corev1.Secret

	creds     *creds.Credentials
	endpoints *okta.Endpoints
	// newToken is set when this pass obtained a token.
	newToken bool
	// deleting: the pass is the finalizer's; gone, once it let the
	// resource go (there is no status left to patch).
	deleting, gone bool
}

// run runs the steps in order. The first outcome that reports something is
// the pass's; the steps after it still run (a failing rotation must not stop
// the current token from being published), unless it halts the pass. The
// times and the restart condition that proceeding steps report are kept
// too. summarize turns it all into conditions and the requeue, and status is
// patched once, at the end, only when it changed.
func (run *reconcileRun) run(ctx context.Context, steps []step) (ctrl.Result, error) {
	run.before = run.obj.Status.DeepCopy()
	var final outcome
	var requeue []time.Time
	var rollout *conditionReport
	var err error
	for _, s := range steps {
		o, stepErr := s(ctx)
		if stepErr != nil {
			err = stepErr
			break
		}
		if o.rollout != nil {
			rollout = o.rollout
		}
		switch {
		case o.reports() && !final.reports():
			final = o
		case !o.reports() && !o.at.IsZero():
			// Something a later pass must do; nothing to report now.
			requeue = append(requeue, o.at)
		}
		if o.halt {
			break
		}
	}
	st := &run.obj.Status
	sum := summarize(final, observed{
		now: run.now, generation: run.obj.Generation, grant: run.state.Grant, renewalTime: st.RenewalTime,
		conditions: st.Conditions, requeue: requeue, rollout: rollout, deleting: run.deleting, err: err,
	})
	st.Conditions = sum.conditions
	if !run.gone {
		if patchErr := run.patchStatus(ctx); patchErr != nil {
			err = errors.Join(err, patchErr)
		}
	}
	return sum.result, err
}

// cachedSecret reads a managed Secret from the cache, nil when missing.
func (r *OktaScopedTokenReconciler) cachedSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// write sends one write of o, tracked in the write ledger so the event it
// causes costs no pass. An event of someone else's that arrived during the
// write gets its pass: the resource is queued again.
func (run *reconcileRun) write(ctx context.Context, kind string, o client.Object, send func() error) error {
	run.r.mem.writes.begin(kind, o)
	err := send()
	if run.r.mem.writes.end(kind, o, err) {
		run.r.requeueNow(ctx, run.obj)
	}
	return err
}

// requeueNow queues a resource again at once (its pass may still be
// running: the queue runs it once more afterwards). The channel's reader
// only hands the event to the work queue, so a full buffer empties at
// once; the send waits for room rather than drop an event no timer would
// bring back.
func (r *OktaScopedTokenReconciler) requeueNow(ctx context.Context, obj *v1.OktaScopedToken) {
	select {
	case r.retrigger <- event.GenericEvent{Object: obj.DeepCopy()}:
	case <-ctx.Done():
	}
}

// forgetOrg drops what is kept for org, when there is an org to drop.
func (r *OktaScopedTokenReconciler) forgetOrg(org string) {
	if org != "" && r.ForgetOrg != nil {
		r.ForgetOrg(org)
	}
}
