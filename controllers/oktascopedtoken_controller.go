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
// they own and their state Secrets in the operator's namespace. It decides
// whether a token is needed (none yet, renewal due, a manual trigger, a spec
// change), obtains it the way the grant type says (a sign-in URL for a person,
// a refresh, or a client-credentials request), persists it to the state
// Secret before anything else, publishes it to the token Secret, and reports
// in status. Its steps are small functions run in order; status is patched
// once, at the end.
//
// Between rotations it writes nothing: an unchanged Secret is not rewritten
// and an unchanged status is not patched, and it requeues at exactly the
// renewal time instead of polling.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// OktaScopedTokenReconciler reconciles an OktaScopedToken object.
type OktaScopedTokenReconciler struct {
	// Client reads through the cache, which holds only managed Secrets.
	client.Client
	// APIReader reads the user's client-secret and key Secrets, which the
	// cache does not hold, and state Secrets where staleness matters.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
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

	// unpersisted holds tokens Okta issued whose state-Secret write failed,
	// so the write is retried from memory while Okta's grace period still
	// honours the refresh token it replaced.
	unpersisted sync.Map // types.NamespacedName -> *state.Grant
	// rateLimited holds, per resource, when Okta's rate limit resets.
	rateLimited sync.Map // types.NamespacedName -> time.Time
	// lastFailure holds, per resource, the last failed token request as
	// this process saw it. Status records failures too, but a pass may read
	// the resource from a cache that has not caught up with the status
	// patch, and would then ask Okta again at once instead of backing off.
	lastFailure sync.Map // types.NamespacedName -> failedRequest
	// QueueClock, when set, drives the work queue's delays (tests).
	QueueClock clock.WithTicker
	// revokeAttempts counts failed revocations during deletion.
	revokeAttempts sync.Map // types.NamespacedName -> int
}

// Revocation on delete is tried this many times before the resource is let
// go with a Warning event, so deletion never hangs on an unreachable Okta.
const maxRevokeAttempts = 3

// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the steps for one OktaScopedToken.
func (r *OktaScopedTokenReconciler) Reconcile(
	ctx context.Context, req ctrl.Request,
) (result ctrl.Result, retErr error) {
	obj := &v1.OktaScopedToken{}
	// Read past the cache: the pass that follows a rotation is triggered
	// by the rotation's own Secret writes, often before the cache has seen
	// its status patch, and from a stale status it would count and announce
	// the rotation again and patch status a second time.
	if err := r.APIReader.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.Forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, obj)
	}
	if controllerutil.AddFinalizer(obj, v1.Finalizer) {
		if err := r.Update(ctx, obj); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}

	run := &reconcileRun{r: r, obj: obj, before: obj.DeepCopy(), now: r.Clock.Now(), key: req.NamespacedName}
	defer func() {
		if err := run.patchStatus(ctx); err != nil {
			retErr = errors.Join(retErr, err)
		}
		metrics.Observe(obj)
	}()
	return run.reconcile(ctx)
}

// reconcileRun is one pass over one resource.
type reconcileRun struct {
	r      *OktaScopedTokenReconciler
	obj    *v1.OktaScopedToken
	before *v1.OktaScopedToken
	key    types.NamespacedName
	now    time.Time

	creds       creds.Credentials
	endpoints   okta.Endpoints
	stateSecret *corev1.Secret
	state       state.State
	// requeue collects the times something will be due; the earliest wins.
	requeue []time.Time
	// newToken is set when this pass obtained a token.
	newToken bool
	// reported is set once a failure has set Ready; reportReady leaves it.
	reported bool
}

func (run *reconcileRun) reconcile(ctx context.Context) (ctrl.Result, error) {
	steps := []func(context.Context) (done bool, err error){
		run.loadCredentials,
		run.discover,
		run.loadState,
		run.persistUnpersisted,
		run.checkGrantMatchesSpec,
		run.obtainToken,
		run.ensureSignIn,
		run.publishToken,
		run.reportReady,
	}
	for _, step := range steps {
		done, err := step(ctx)
		if err != nil {
			return ctrl.Result{}, err
		}
		if done {
			break
		}
	}
	return run.result(), nil
}

// loadCredentials reads the client secret or private key. A missing Secret
// or a bad key stalls the resource until the Secret changes.
func (run *reconcileRun) loadCredentials(ctx context.Context) (bool, error) {
	c, err := creds.Load(ctx, run.r.APIReader, run.obj)
	if ce, ok := errors.AsType[*creds.Error](err); ok {
		run.stall(ce.Reason, ce.Message)
		return true, nil
	}
	if err != nil {
		return true, err
	}
	run.creds = c
	return false, nil
}

// discover finds the authorization server's endpoints.
func (run *reconcileRun) discover(ctx context.Context) (bool, error) {
	ep, err := run.r.Discovery.Discover(ctx, run.obj.Spec.OktaDomain, run.obj.Spec.AuthorizationServerID)
	if insecure, ok := errors.AsType[*okta.InsecureIssuerError](err); ok {
		run.stall(v1.ReasonInsecureIssuer, insecure.Error())
		return true, nil
	}
	if err != nil {
		run.transientFailure(v1.ReasonDiscoveryFailed, fmt.Sprintf(
			"cannot read the authorization server's metadata "+
				"(check spec.oktaDomain and authorizationServerID): %v", err), time.Time{})
		return true, nil
	}
	run.endpoints = ep
	return false, nil
}

// loadState reads the state Secret; a missing one is an empty state. It is
// read past the cache: a stale copy would hold the refresh token Okta has
// just replaced, and a rotation that already happened would look due.
func (run *reconcileRun) loadState(ctx context.Context) (bool, error) {
	s := &corev1.Secret{}
	err := run.r.APIReader.Get(ctx,
		types.NamespacedName{Namespace: run.r.StateNamespace, Name: state.SecretName(run.key)}, s)
	switch {
	case apierrors.IsNotFound(err):
		run.stateSecret = nil
	case err != nil:
		return true, fmt.Errorf("reading the state Secret: %w", err)
	default:
		run.stateSecret = s
	}
	run.state = state.Decode(run.stateSecret)
	return false, nil
}

// persistUnpersisted retries the write of a token Okta issued but an earlier
// pass failed to store.
func (run *reconcileRun) persistUnpersisted(ctx context.Context) (bool, error) {
	v, ok := run.r.unpersisted.Load(run.key)
	if !ok {
		return false, nil
	}
	g := v.(*state.Grant)
	next := run.state
	next.Grant = g
	if err := run.saveState(ctx, next); err != nil {
		return true, fmt.Errorf("storing the token issued earlier (kept in memory, retrying): %w", err)
	}
	run.r.unpersisted.Delete(run.key)
	run.newToken = true
	return false, nil
}

// checkGrantMatchesSpec drops a grant made for another domain, client,
// grant type or scope set: it no longer answers the spec.
func (run *reconcileRun) checkGrantMatchesSpec(ctx context.Context) (bool, error) {
	g := run.state.Grant
	if g == nil || g.Fingerprint == state.Fingerprint(run.obj.Spec) {
		return false, nil
	}
	next := run.state
	next.Grant = nil
	next.GrantLost = "the spec changed (domain, client, grant type or scopes), so the stored grant no longer applies"
	if err := run.saveState(ctx, next); err != nil {
		return true, err
	}
	run.event(corev1.EventTypeNormal, "GrantReset", "%s", next.GrantLost)
	return false, nil
}

// obtainToken requests a token when one is due and the grant allows it
// without a person: a refresh, or a client-credentials request.
func (run *reconcileRun) obtainToken(ctx context.Context) (bool, error) {
	g := run.state.Grant
	spec := run.obj.Spec
	canRequest := spec.GrantType == v1.GrantClientCredentials || (g != nil && g.RefreshToken != "")
	if !canRequest {
		return false, nil
	}
	due, why := run.tokenDue()
	if !due {
		return false, nil
	}
	if wait := run.retryNotBefore(); run.now.Before(wait) {
		run.requeueAt(wait)
		// Until the next attempt, the conditions that reported the last
		// failure (Stalled, or Reconciling with RotationFailing) stand: a
		// pass that merely waits must not report the token as fine again.
		expired := g.HasToken() && !run.now.Before(g.Expiry)
		run.reported = run.obj.Status.FailedAttempts > 0 && !expired
		return false, nil
	}
	log.FromContext(ctx).V(1).Info("requesting a token", "why", why)
	start := run.r.Clock.Now()
	var tok *okta.Token
	var err error
	grant := string(spec.GrantType)
	if spec.GrantType == v1.GrantClientCredentials {
		tok, err = run.r.Okta.ClientCredentials(ctx, run.endpoints, spec.ClientID, run.creds.Key, spec.Scopes)
	} else {
		tok, err = run.r.Okta.Refresh(ctx, run.endpoints, *run.creds.App, g.RefreshToken)
	}
	metrics.TokenRequest(grant, err, run.r.Clock.Since(start))
	if err != nil {
		return run.tokenRequestFailed(ctx, err)
	}
	origin := state.OriginRefresh
	if spec.GrantType == v1.GrantClientCredentials {
		origin = state.OriginMint
	}
	next := run.state
	next.Grant = state.GrantFromToken(tok, spec, origin, g)
	if k := run.creds.Key; k != nil {
		next.Grant.KeyThumbprint = k.Thumbprint
	}
	next.RenewHandled = run.obj.Annotations[v1.AnnotationRenewRequestedAt]
	next.GrantLost = ""
	// The new refresh token is persisted before the access token is
	// published: if this write fails, the token waits in memory and the
	// next pass retries the write while Okta's grace period still honours
	// the refresh token it replaced.
	if err := run.saveState(ctx, next); err != nil {
		run.r.unpersisted.Store(run.key, next.Grant)
		return true, fmt.Errorf("storing the new token (kept in memory, retrying): %w", err)
	}
	run.newToken = true
	run.obj.Status.FailedAttempts = 0
	run.obj.Status.LastFailureTime = nil
	run.r.rateLimited.Delete(run.key)
	run.r.lastFailure.Delete(run.key)
	return false, nil
}

// tokenDue says whether a new token should be requested now, and why.
func (run *reconcileRun) tokenDue() (bool, string) {
	g := run.state.Grant
	if !g.HasToken() {
		return true, "no token yet"
	}
	if v := run.obj.Annotations[v1.AnnotationRenewRequestedAt]; v != "" && v != run.state.RenewHandled {
		return true, "renewal requested by annotation"
	}
	// A replaced private key is tried at once, while the current token is
	// still valid: after a key rotation at Okta the old key stops working,
	// and the sooner a wrong new key shows up in status, the better.
	if k := run.creds.Key; k != nil && g.KeyThumbprint != "" && g.KeyThumbprint != k.Thumbprint {
		return true, "the private key changed"
	}
	renewal := policy.RenewalTime(g.IssuedAt, g.Expiry, run.obj.Spec, run.obj.UID)
	if !run.now.Before(renewal) {
		return true, "renewal time reached"
	}
	return false, ""
}

// failedRequest is a failed token request, as lastFailure keeps it.
type failedRequest struct {
	retryAt time.Time
	// credentials identifies what the request was made with (see
	// credentialsID); a backoff earned by other credentials does not apply.
	credentials string
}

// credentialsID identifies the credentials a token request is made with —
// the private key's thumbprint or a SHA-256 of the client secret — without
// keeping the secret itself.
func (run *reconcileRun) credentialsID() string {
	h := sha256.New()
	if k := run.creds.Key; k != nil {
		h.Write([]byte("key\x00" + k.Thumbprint))
	}
	if a := run.creds.App; a != nil {
		h.Write([]byte("secret\x00" + a.Secret))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// retryNotBefore is the earliest time another token request may be made
// after failures: the backoff, or Okta's rate-limit reset. The backoff is
// skipped when the spec, the private key or the client secret changed since
// the failure: it was earned by what was there before, and the referenced
// Secrets are watched so that a fix is tried at once.
func (run *reconcileRun) retryNotBefore() time.Time {
	var t time.Time
	changed := run.obj.Status.ObservedGeneration != run.obj.Generation
	if v, ok := run.r.lastFailure.Load(run.key); ok {
		f := v.(failedRequest)
		changed = changed || f.credentials != run.credentialsID()
		if !changed {
			t = f.retryAt
		}
	}
	st := run.obj.Status
	if !changed && st.FailedAttempts > 0 && st.LastFailureTime != nil {
		if b := st.LastFailureTime.Add(policy.Backoff(st.FailedAttempts, run.obj.UID)); b.After(t) {
			t = b
		}
	}
	if v, ok := run.r.rateLimited.Load(run.key); ok && v.(time.Time).After(t) {
		t = v.(time.Time)
	}
	return t
}

func (run *reconcileRun) tokenRequestFailed(ctx context.Context, err error) (bool, error) {
	var oe *okta.Error
	if !errors.As(err, &oe) {
		oe = &okta.Error{Class: okta.Transient, Op: "requesting a token"}
	}
	hint := ""
	switch oe.Class {
	case okta.GrantInvalid:
		// The grant is gone. Keep the current access token until it
		// expires; a person must sign in again.
		next := run.state
		if next.Grant != nil {
			g := *next.Grant
			g.RefreshToken = ""
			next.Grant = &g
		}
		next.GrantLost = fmt.Sprintf("Okta no longer accepts the refresh token (%s)", oe.Error())
		if err := run.saveState(ctx, next); err != nil {
			return true, err
		}
		run.event(corev1.EventTypeWarning, v1.ReasonReauthorizationRequired,
			"%s; a person must sign in again at status.authorizationURL", next.GrantLost)
		return false, nil
	case okta.ClientInvalid:
		hint = "check spec.clientID and the app's credentials in the referenced Secret"
		if ref := run.obj.Spec.PrivateKeyRef; run.obj.Spec.GrantType == v1.GrantClientCredentials && ref != nil {
			hint = fmt.Sprintf("check spec.clientID, that the app's public keys (JWKS) in Okta include the public half "+
				"of the private key in Secret %s/%s key %q, and that spec.privateKeyRef.keyID names that key "+
				"(Okta needs it once the app has more than one key)", run.obj.Namespace, ref.Name, ref.Key)
		}
		run.failed(oe)
		run.stall(v1.ReasonInvalidClient, fmt.Sprintf("%s; %s", oe.Error(), hint))
		return false, nil
	case okta.ScopesRefused:
		hint = fmt.Sprintf("grant %s to the app in the Okta Admin Console, Okta API Scopes tab",
			joinScopes(run.obj.Spec.Scopes))
		run.failed(oe)
		run.stall(v1.ReasonScopesNotGranted, fmt.Sprintf("%s; %s", oe.Error(), hint))
		return false, nil
	case okta.RateLimited:
		run.failed(oe)
		wait := run.now.Add(policy.RateLimitWait(run.now, oe.RetryAt))
		run.r.rateLimited.Store(run.key, wait)
		run.transientFailure(v1.ReasonRateLimited, fmt.Sprintf("%s; waiting until %s before the next request",
			oe.Error(), wait.UTC().Format(time.RFC3339)), wait)
		return false, nil
	case okta.Permanent:
		run.failed(oe)
		run.stall(v1.ReasonTokenRequestFailed, oe.Error())
		return false, nil
	}
	run.failed(oe)
	run.transientFailure(v1.ReasonTokenRequestFailed, oe.Error(), time.Time{})
	return false, nil
}

// failed records a failed token request in status.
func (run *reconcileRun) failed(err error) {
	st := &run.obj.Status
	st.FailedAttempts++
	t := metav1.NewTime(run.now)
	st.LastFailureTime = &t
	run.r.lastFailure.Store(run.key, failedRequest{
		retryAt:     run.now.Add(policy.Backoff(st.FailedAttempts, run.obj.UID)),
		credentials: run.credentialsID(),
	})
	run.event(corev1.EventTypeWarning, "RotationFailed", "%v", err)
}

// ensureSignIn publishes a sign-in URL while the grant needs a person: no
// refresh token yet, a revoked grant, or a re-authorization requested.
func (run *reconcileRun) ensureSignIn(ctx context.Context) (bool, error) {
	spec := run.obj.Spec
	st := &run.obj.Status
	g := run.state.Grant
	reauth := run.obj.Annotations[v1.AnnotationReauthorizeRequestedAt]
	reauthRequested := reauth != "" && reauth != run.state.ReauthorizeHandled
	needed := spec.GrantType == v1.GrantAuthorizationCode &&
		(g == nil || g.RefreshToken == "" || reauthRequested || run.state.ReauthorizeWanted)
	if !needed {
		st.AuthorizationURL = ""
		st.AuthorizationExpiresAt = nil
		if run.state.Pending != nil {
			// A sign-in link made while the callback was storing a grant:
			// nothing needs it now, so it must stop working.
			next := run.state
			next.Pending = nil
			if err := run.saveState(ctx, next); err != nil {
				return true, err
			}
		}
		return false, nil
	}
	fp := state.Fingerprint(spec)
	if p := run.state.Pending; p != nil && !reauthRequested && p.Fingerprint == fp && p.RedirectURI == run.r.CallbackURL &&
		run.now.Before(p.ExpiresAt) && p.AuthorizationURL != "" {
		st.AuthorizationURL = p.AuthorizationURL
		exp := metav1.NewTime(p.ExpiresAt)
		st.AuthorizationExpiresAt = &exp
		run.requeueAt(p.ExpiresAt)
		return false, nil
	}
	login, err := okta.NewPendingLogin(run.now, run.r.AuthorizationURLTTL)
	if err != nil {
		return true, err
	}
	scopes := append([]string{"openid", "offline_access"}, spec.Scopes...)
	next := run.state
	next.Pending = &state.PendingLogin{
		StateHash: login.StateHash, Verifier: login.Verifier, ExpiresAt: login.ExpiresAt,
		RedirectURI: run.r.CallbackURL, Fingerprint: fp,
		AuthorizationURL: okta.AuthCodeURL(run.endpoints, spec.ClientID, run.r.CallbackURL, dedupe(scopes), login),
	}
	if reauthRequested {
		next.ReauthorizeHandled = reauth
		next.ReauthorizeWanted = true
	}
	// The write is guarded by the resourceVersion this pass read: a pass
	// racing another writer (the callback) fails with a conflict here
	// instead of replacing a link someone may already be using.
	if err := run.saveState(ctx, next); err != nil {
		return true, err
	}
	st.AuthorizationURL = next.Pending.AuthorizationURL
	exp := metav1.NewTime(login.ExpiresAt)
	st.AuthorizationExpiresAt = &exp
	run.requeueAt(login.ExpiresAt)
	run.event(corev1.EventTypeNormal, v1.ReasonAuthorizationRequired,
		"a person must sign in to grant %s: open status.authorizationURL before %s",
		joinScopes(spec.Scopes), login.ExpiresAt.UTC().Format(time.RFC3339))
	return false, nil
}

// publishToken makes the token Secret match the current token.
func (run *reconcileRun) publishToken(ctx context.Context) (bool, error) {
	g := run.state.Grant
	if !g.HasToken() {
		return false, nil
	}
	if err := run.r.ensureTokenSecret(ctx, run.obj, g); err != nil {
		return true, err
	}
	st := &run.obj.Status
	// Status times are stored to the second, so they are compared to the
	// second: at full precision a token read back from the API server would
	// look new on every pass, counting and announcing it again and again.
	// A token this pass obtained is new even within the same second.
	issued := metav1.NewTime(g.IssuedAt.Truncate(time.Second))
	if run.newToken || st.LastRotationTime == nil || !st.LastRotationTime.Equal(&issued) {
		// A token this status has not reported yet: from a sign-in (the
		// callback stored it), or from a refresh above.
		if g.Origin == state.OriginLogin {
			st.Rotations = 0
			run.event(corev1.EventTypeNormal, "Authorized", "signed in as %s; token for %s issued, expires %s",
				orUnknown(g.Subject), joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339))
		} else {
			st.Rotations++
			run.event(corev1.EventTypeNormal, "Rotated", "new token for %s issued, expires %s",
				joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339))
		}
		st.LastRotationTime = &issued
	}
	exp := metav1.NewTime(g.Expiry.Truncate(time.Second))
	st.ExpiresAt = &exp
	st.GrantedScopes = g.Scopes
	st.AuthorizedSubject = g.Subject
	if g.RefreshToken != "" || run.obj.Spec.GrantType == v1.GrantClientCredentials {
		renewal := metav1.NewTime(policy.RenewalTime(g.IssuedAt, g.Expiry, run.obj.Spec, run.obj.UID))
		st.RenewalTime = &renewal
		run.requeueAt(renewal.Time)
	} else {
		st.RenewalTime = nil
	}
	run.requeueAt(g.Expiry)
	return false, nil
}

// reportReady sets Ready from what the steps found.
func (run *reconcileRun) reportReady(context.Context) (bool, error) {
	if run.reported {
		return false, nil
	}
	st := &run.obj.Status
	g := run.state.Grant
	valid := g.HasToken() && run.now.Before(g.Expiry)
	if st.AuthorizationURL != "" {
		reason := v1.ReasonAuthorizationRequired
		msg := "a person must sign in at status.authorizationURL to grant " + joinScopes(run.obj.Spec.Scopes)
		if lost := run.state.GrantLost; lost != "" || (g != nil && g.RefreshToken == "") {
			reason = v1.ReasonReauthorizationRequired
			if lost != "" {
				msg = lost + "; " + msg
			}
		}
		if valid {
			msg += fmt.Sprintf("; the current token stays in place until it expires at %s", g.Expiry.UTC().Format(time.RFC3339))
		}
		run.setReady(metav1.ConditionFalse, reason, msg)
		meta.RemoveStatusCondition(&st.Conditions, v1.ConditionStalled)
		meta.RemoveStatusCondition(&st.Conditions, v1.ConditionReconciling)
		return false, nil
	}
	if !valid {
		if g.HasToken() {
			run.setReady(metav1.ConditionFalse, v1.ReasonExpired, "the token expired at "+g.Expiry.UTC().Format(time.RFC3339))
		}
		return false, nil
	}
	renewal := ""
	if st.RenewalTime != nil {
		renewal = "; renews at " + st.RenewalTime.UTC().Format(time.RFC3339)
	}
	run.setReady(metav1.ConditionTrue, v1.ReasonIssued, fmt.Sprintf("token for %s is valid until %s%s",
		joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339), renewal))
	meta.RemoveStatusCondition(&st.Conditions, v1.ConditionStalled)
	meta.RemoveStatusCondition(&st.Conditions, v1.ConditionReconciling)
	return false, nil
}

// stall reports a failure retrying cannot fix. The current token, if still
// valid, stays in the Secret; Ready says so.
func (run *reconcileRun) stall(reason, msg string) {
	run.reported = true
	st := &run.obj.Status
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: reason, Message: msg, ObservedGeneration: run.obj.Generation})
	meta.RemoveStatusCondition(&st.Conditions, v1.ConditionReconciling)
	run.setReady(metav1.ConditionFalse, reason, msg)
	// Still keep the published token honest about its expiry.
	if g := run.state.Grant; g.HasToken() {
		run.requeueAt(g.Expiry)
	}
}

// transientFailure reports a failure that retrying may fix: Ready stays True
// while the current token is valid, and a retry is scheduled.
func (run *reconcileRun) transientFailure(reason, msg string, retryAt time.Time) {
	run.reported = true
	st := &run.obj.Status
	if retryAt.IsZero() {
		retryAt = run.now.Add(policy.Backoff(max(st.FailedAttempts, 1), run.obj.UID))
	}
	run.requeueAt(retryAt)
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1.ConditionReconciling, Status: metav1.ConditionTrue,
		Reason: reason, Message: msg, ObservedGeneration: run.obj.Generation})
	meta.RemoveStatusCondition(&st.Conditions, v1.ConditionStalled)
	g := run.state.Grant
	if g.HasToken() && run.now.Before(g.Expiry) {
		run.setReady(metav1.ConditionTrue, v1.ReasonRotationFailing, fmt.Sprintf(
			"the current token is valid until %s, but renewing it fails: %s", g.Expiry.UTC().Format(time.RFC3339), msg))
		run.requeueAt(g.Expiry)
		return
	}
	run.setReady(metav1.ConditionFalse, reason, msg)
}

func (run *reconcileRun) setReady(status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&run.obj.Status.Conditions, metav1.Condition{Type: v1.ConditionReady, Status: status,
		Reason: reason, Message: msg, ObservedGeneration: run.obj.Generation})
}

// saveState writes the state Secret, creating it when missing, and makes
// the new state this pass's view.
func (run *reconcileRun) saveState(ctx context.Context, next state.State) error {
	s := run.stateSecret
	if s == nil {
		s = state.NewSecret(run.r.StateNamespace, run.key)
		state.Encode(next, s)
		if err := run.r.Create(ctx, s); err != nil {
			return fmt.Errorf("creating the state Secret: %w", err)
		}
	} else {
		s = s.DeepCopy()
		state.Encode(next, s)
		if err := run.r.Update(ctx, s); err != nil {
			return fmt.Errorf("updating the state Secret: %w", err)
		}
	}
	run.stateSecret = s
	run.state = next
	return nil
}

// patchStatus patches status once, only when it changed.
func (run *reconcileRun) patchStatus(ctx context.Context) error {
	run.obj.Status.ObservedGeneration = run.obj.Generation
	if equality.Semantic.DeepEqual(run.before.Status, run.obj.Status) {
		return nil
	}
	// Status times are stored to the second: times that differ only below
	// it make an empty patch, which is not worth a request.
	patch := client.MergeFrom(run.before)
	if data, err := patch.Data(run.obj); err == nil && string(data) == "{}" {
		return nil
	}
	if err := run.r.Status().Patch(ctx, run.obj, patch); err != nil {
		return fmt.Errorf("patching status: %w", client.IgnoreNotFound(err))
	}
	return nil
}

func (run *reconcileRun) requeueAt(t time.Time) {
	if !t.IsZero() {
		run.requeue = append(run.requeue, t)
	}
}

// result requeues at the earliest due time, never sooner than a second.
func (run *reconcileRun) result() ctrl.Result {
	if len(run.requeue) == 0 {
		return ctrl.Result{}
	}
	d := slices.MinFunc(run.requeue, func(a, b time.Time) int { return a.Compare(b) }).Sub(run.now)
	return ctrl.Result{RequeueAfter: max(d, time.Second)}
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

// finalize revokes the grant when asked, deletes the state Secret and lets
// the resource go. Revocation is tried a bounded number of times.
func (r *OktaScopedTokenReconciler) finalize(ctx context.Context, obj *v1.OktaScopedToken) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, v1.Finalizer) {
		return ctrl.Result{}, nil
	}
	key := client.ObjectKeyFromObject(obj)
	stateKey := types.NamespacedName{Namespace: r.StateNamespace, Name: state.SecretName(key)}
	s := &corev1.Secret{}
	err := r.APIReader.Get(ctx, stateKey, s)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading the state Secret: %w", err)
	}
	if err == nil {
		g := state.Decode(s).Grant
		revoke := obj.Spec.RevokeOnDelete == nil || *obj.Spec.RevokeOnDelete
		if revoke && g != nil && g.RefreshToken != "" && obj.Spec.GrantType == v1.GrantAuthorizationCode {
			if err := r.revoke(ctx, obj, g.RefreshToken); err != nil {
				n := 1
				if v, ok := r.revokeAttempts.Load(key); ok {
					n = v.(int) + 1
				}
				r.revokeAttempts.Store(key, n)
				if n < maxRevokeAttempts {
					log.FromContext(ctx).Info("revoking the refresh token failed; retrying", "attempt", n, "error", err.Error())
					return ctrl.Result{RequeueAfter: time.Duration(n) * 2 * time.Second}, nil
				}
				r.eventf(obj, corev1.EventTypeWarning, "RevocationFailed",
					"could not revoke the refresh token at Okta after %d attempts (%v); "+
						"revoke the app's grants in the Okta Admin Console if needed", n, err)
			} else {
				r.eventf(obj, corev1.EventTypeNormal, "Revoked", "the refresh token was revoked at Okta")
			}
		}
		if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting the state Secret: %w", err)
		}
	}
	r.revokeAttempts.Delete(key)
	r.unpersisted.Delete(key)
	r.rateLimited.Delete(key)
	r.lastFailure.Delete(key)
	metrics.Forget(obj.Namespace, obj.Name)
	controllerutil.RemoveFinalizer(obj, v1.Finalizer)
	if err := r.Update(ctx, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

func (r *OktaScopedTokenReconciler) revoke(ctx context.Context, obj *v1.OktaScopedToken, refreshToken string) error {
	c, err := creds.Load(ctx, r.APIReader, obj)
	if err != nil {
		return err
	}
	ep, err := r.Discovery.Discover(ctx, obj.Spec.OktaDomain, obj.Spec.AuthorizationServerID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return r.Okta.Revoke(ctx, ep, *c.App, refreshToken, "refresh_token")
}

// referencedSecretsIndex indexes OktaScopedTokens by the Secrets their spec
// references (client secret or private key), so a change to such a Secret
// finds its resources without a scan.
const referencedSecretsIndex = "spec.referencedSecrets"

func referencedSecrets(o client.Object) []string {
	obj, ok := o.(*v1.OktaScopedToken)
	if !ok {
		return nil
	}
	var out []string
	if r := obj.Spec.ClientSecretRef; r != nil {
		out = append(out, r.Name)
	}
	if r := obj.Spec.PrivateKeyRef; r != nil {
		out = append(out, r.Name)
	}
	return out
}

// SetupWithManager sets up the controller with the Manager.
//
// referencedSecrets is a metadata-only source for the user's Secrets: the
// manager's cache holds only managed Secrets, so the client-secret and key
// Secrets are watched through their metadata, which is enough to notice a
// change and small enough to hold for every Secret in the cluster.
func (r *OktaScopedTokenReconciler) SetupWithManager(
	mgr ctrl.Manager, referenced source.TypedSource[reconcile.Request],
) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1.OktaScopedToken{},
		referencedSecretsIndex, referencedSecrets)
	if err != nil {
		return fmt.Errorf("indexing referenced Secrets: %w", err)
	}
	isStateSecret := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == r.StateNamespace && o.GetLabels()[state.LabelRole] == state.RoleState
	})
	opts := controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}
	if r.QueueClock != nil {
		// Tests drive time with a fake clock; the work queue must follow
		// it, or a RequeueAfter computed from fake time would wait in
		// real time.
		opts.NewQueue = func(
			name string, rl workqueue.TypedRateLimiter[reconcile.Request],
		) workqueue.TypedRateLimitingInterface[reconcile.Request] {
			return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{
				Name: name, Clock: r.QueueClock,
			})
		}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1.OktaScopedToken{}).
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(stateSecretOwner),
			builder.WithPredicates(isStateSecret)).
		WithOptions(opts).
		Named("oktascopedtoken")
	if referenced != nil {
		b = b.WatchesRawSource(referenced)
	}
	return b.Complete(r)
}

// TokensReferencing maps a user's Secret to the OktaScopedTokens that
// reference it.
func (r *OktaScopedTokenReconciler) TokensReferencing(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1.OktaScopedTokenList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{referencedSecretsIndex: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing OktaScopedTokens for a referenced Secret")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, t := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&t)})
	}
	return out
}

func stateSecretOwner(_ context.Context, o client.Object) []reconcile.Request {
	s, ok := o.(*corev1.Secret)
	if !ok {
		return nil
	}
	if owner, ok := state.Owner(s); ok {
		return []reconcile.Request{{NamespacedName: owner}}
	}
	return nil
}

// joinScopes writes scopes space-separated, the way OAuth 2.0 writes a scope
// parameter (RFC 6749 section 3.3).
func joinScopes(s []string) string {
	return strings.Join(s, " ")
}

func dedupe(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown user"
	}
	return s
}
