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
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
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
	Recorder          recorder.EventRecorder
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

	mem memory
	// retrigger queues a resource again (see requeueNow).
	retrigger chan event.GenericEvent
}

// Revocation on delete is tried this many times before the resource is let
// go with a Warning event, so deletion never hangs on an unreachable Okta.
const maxRevokeAttempts = 3

// The operator's rights, and no more: it updates a resource only to add or
// remove its finalizer, patches status, and writes only the Secrets it owns
// (token and state Secrets); list and watch feed the cache.
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens/status,verbs=patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs one pass over one OktaScopedToken.
func (r *OktaScopedTokenReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &v1.OktaScopedToken{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.Forget(req.Namespace, req.Name)
			r.mem.forget(req.NamespacedName)
			// The org is not known here; a reservation left behind is
			// forgotten by the budget after a while.
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, obj)
	}
	r.mem.freshStatus(obj)
	run := &reconcileRun{r: r, obj: obj, key: req.NamespacedName, now: r.Clock.Now()}
	var steps []step
	if obj.Spec.GrantType == v1.GrantClientCredentials {
		steps = []step{run.loadTokenSecret, run.adoptLegacyState, run.obtainToken, run.publishToken,
			run.restartWorkloads, run.retireLegacyState}
	} else {
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
	// requeue holds times something is due that no outcome reports.
	requeue []time.Time
}

// requeueAt asks for a pass at t, whatever the outcome.
func (run *reconcileRun) requeueAt(t time.Time) {
	run.requeue = append(run.requeue, t)
}

// run runs the steps in order. The first outcome that reports something is
// the pass's; the steps after it still run (a failing rotation must not stop
// the current token from being published). Status is patched once, at the
// end, and only when it changed.
func (run *reconcileRun) run(ctx context.Context, steps []step) (result ctrl.Result, err error) {
	run.before = run.obj.Status.DeepCopy()
	var final outcome
	for _, s := range steps {
		o, stepErr := s(ctx)
		if stepErr != nil {
			err = stepErr
			break
		}
		if final.kind == proceed {
			final = o
		}
		if o.halt {
			break
		}
	}
	if err == nil {
		result = run.summarize(final)
	} else if meta.FindStatusCondition(run.obj.Status.Conditions, v1.ConditionReady) == nil {
		// Ready is always present, also before the first pass succeeds.
		run.setReady(metav1.ConditionUnknown, v1.ReasonProgressing, "retrying after an error: "+err.Error())
	}
	if patchErr := run.patchStatus(ctx); patchErr != nil {
		err = errors.Join(err, patchErr)
	}
	metrics.Observe(run.obj)
	return result, err
}

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

// credentials reads the client secret or private key, once per pass. It is
// a live read: the cache does not hold the user's Secrets' data.
func (run *reconcileRun) credentials(ctx context.Context) (*creds.Credentials, *outcome, error) {
	if run.creds != nil {
		return run.creds, nil, nil
	}
	c, err := creds.Load(ctx, run.r.APIReader, run.obj, run.r.SecretPolicy)
	if ce, ok := errors.AsType[*creds.Error](err); ok {
		o := stallOutcome(ce.Reason, ce.Message)
		return nil, &o, nil
	}
	if err != nil {
		return nil, nil, err
	}
	run.creds = &c
	return run.creds, nil, nil
}

// credentialsVersion is the resourceVersion of the referenced credentials
// Secret, from the metadata cache: "" when it is missing there.
func (run *reconcileRun) credentialsVersion(ctx context.Context) string {
	ref := credentialsRef(run.obj)
	if ref == "" || run.r.ReferencedSecrets == nil {
		return ""
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := types.NamespacedName{Namespace: run.obj.Namespace, Name: ref}
	if err := run.r.ReferencedSecrets.Get(ctx, key, m); err != nil {
		return ""
	}
	return m.ResourceVersion
}

// credentialsRef is the name of the Secret the grant type's credentials
// come from.
func credentialsRef(obj *v1.OktaScopedToken) string {
	if r := obj.Spec.ClientSecretRef; r != nil {
		return r.Name
	}
	if r := obj.Spec.PrivateKeyRef; r != nil && obj.Spec.GrantType == v1.GrantClientCredentials {
		return r.Name
	}
	return ""
}

// discover finds the authorization server's endpoints, once per pass.
func (run *reconcileRun) discover(ctx context.Context) (*okta.Endpoints, *outcome) {
	if run.endpoints != nil {
		return run.endpoints, nil
	}
	ep, err := run.r.Discovery.Discover(ctx, run.obj.Spec.OktaDomain, run.obj.Spec.AuthorizationServerID)
	if insecure, ok := errors.AsType[*okta.InsecureIssuerError](err); ok {
		o := stallOutcome(v1.ReasonInsecureIssuer, insecure.Error())
		return nil, &o
	}
	if notAllowed, ok := errors.AsType[*okta.DomainNotAllowedError](err); ok {
		o := stallOutcome(v1.ReasonDomainNotAllowed, "spec.oktaDomain: "+notAllowed.Error())
		return nil, &o
	}
	if okta.ClassOf(err) == okta.Busy {
		o := busyOutcome(run.now)
		return nil, &o
	}
	if err != nil {
		// A discovery failure is a failed attempt like any other: it
		// counts in the backoff, so a broken domain is not asked again on
		// every pass.
		o := run.failed(ctx, failure{reason: v1.ReasonDiscoveryFailed, message: fmt.Sprintf(
			"cannot read the authorization server's metadata "+
				"(check spec.oktaDomain and authorizationServerID): %v", err)})
		return nil, &o
	}
	run.endpoints = &ep
	return run.endpoints, nil
}

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

// saveState writes the state Secret, creating it when missing, and makes
// the new state this pass's view. The update is guarded by the
// resourceVersion this pass read: a pass racing another writer (the
// callback) fails with a conflict instead of undoing its work.
func (run *reconcileRun) saveState(ctx context.Context, next state.State) error {
	s := run.stateSecret
	if s == nil {
		s = state.NewSecret(run.r.StateNamespace, run.key, run.obj.UID)
		state.Encode(next, s)
		err := run.write(kindSecret, s, func() error { return run.r.Create(ctx, s) })
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
		if err := run.write(kindSecret, s, func() error { return run.r.Update(ctx, s) }); err != nil {
			return fmt.Errorf("updating the state Secret: %w", err)
		}
	}
	run.stateSecret = s
	run.state = next
	return nil
}

// write sends one write of o, tracked in the write ledger so the event it
// causes costs no pass. An event of someone else's that arrived during the
// write gets its pass: the resource is queued again.
func (run *reconcileRun) write(kind string, o client.Object, send func() error) error {
	run.r.mem.writes.begin(kind, o)
	err := send()
	if run.r.mem.writes.end(kind, o, err) {
		run.r.requeueNow(run.obj)
	}
	return err
}

// requeueNow queues a resource again at once (its pass may still be
// running: the queue runs it once more afterwards).
func (r *OktaScopedTokenReconciler) requeueNow(obj *v1.OktaScopedToken) {
	select {
	case r.retrigger <- event.GenericEvent{Object: obj.DeepCopy()}:
	default:
		// Full: a burst of missed events, each of which the queue folds
		// into one pass per resource anyway; the next timer catches up.
	}
}

func (run *reconcileRun) event(eventType, reason, format string, args ...any) {
	run.r.eventf(run.obj, eventType, reason, format, args...)
}

// eventf records an Event and logs the same line.
func (r *OktaScopedTokenReconciler) eventf(obj *v1.OktaScopedToken, eventType, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.EventLog.Info(msg, "reason", reason, "type", eventType,
		"oktascopedtoken", client.ObjectKeyFromObject(obj).String())
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, eventType, reason, reason, "%s", msg)
	}
}
