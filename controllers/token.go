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

// Asking Okta for a token: a refresh (AuthorizationCode) or a
// client-credentials request, when one is due and the last failure's backoff
// allows it; and what a failed request means for the resource.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// obtainToken requests a token when one is due and the grant allows it
// without a person: a refresh, or a client-credentials request.
func (run *reconcileRun) obtainToken(ctx context.Context) (outcome, error) {
	spec := run.obj.Spec
	clientCredentials := spec.GrantType == v1.GrantClientCredentials
	if !clientCredentials && (run.state.Grant == nil || run.state.Grant.RefreshToken == "") {
		return outcome{}, nil
	}
	why, o, err := run.tokenDue(ctx)
	if why == policy.NotDue && !o.reports() && err == nil {
		run.cancelReservation()
	}
	if o.reports() || err != nil || why == policy.NotDue {
		return o, err
	}
	if o := run.holdOff(ctx, why); o.reports() {
		return o, nil
	}
	if o := run.allowedDomain(); o.reports() {
		return o, nil
	}
	// The org's budget is asked before anything else is read or sent: a
	// pass that must wait for its slot costs only cache reads.
	if o := run.takeSlot(run.priority(why)); o.reports() {
		return o, nil
	}
	if !clientCredentials {
		// The refresh token is about to be spent: read the state Secret
		// live, because a cached copy a moment behind could hold a refresh
		// token Okta has already replaced, and decide again from it.
		fresh, err := run.readStateLive(ctx)
		if err != nil || !fresh {
			return outcome{}, err
		}
		if why, o, err = run.tokenDue(ctx); o.reports() || err != nil || why == policy.NotDue {
			return o, err
		}
	}
	c, o, err := run.credentials(ctx)
	if o.reports() || err != nil {
		return o, err
	}
	ep, o := run.discover(ctx)
	if o.reports() {
		return o, nil
	}
	key, usable, err := run.dpopKey(ctx)
	if !usable || err != nil {
		// The grant is lost; ensureSignIn asks a person to sign in.
		return outcome{}, err
	}
	tok, err := run.requestToken(okta.WithDPoPKey(ctx, key), why, ep, c)
	if err != nil {
		return run.tokenRequestFailed(ctx, err)
	}
	next, err := run.grantedState(why, tok, ep, c, key)
	if err != nil {
		return outcome{}, err
	}
	if clientCredentials {
		// The token Secret is this grant's only record: publishing it is
		// storing it.
		run.state = next
	} else if err := run.saveState(ctx, next); err != nil {
		// The new refresh token is stored before the access token is
		// published. If this write fails, the token waits in memory and
		// the next pass retries the write while Okta's grace period still
		// honours the refresh token it replaced.
		run.r.mem.unpersisted.store(run.key, next.Grant)
		return outcome{}, fmt.Errorf("storing the new token (kept in memory, retrying): %w", err)
	}
	run.succeeded()
	return outcome{}, nil
}

// holdOff reports the wait outcome when a due token may not be asked for
// yet: a manual renewal within the debounce interval, or a retry before the
// last failure's backoff ends. It proceeds when the request may go.
func (run *reconcileRun) holdOff(ctx context.Context, why policy.Why) outcome {
	if why == policy.DueRenewRequested {
		if at := policy.ManualRenewalAt(run.state.ManualAt); run.now.Before(at) {
			return waitOutcome(v1.ReasonRenewalDebounced, fmt.Sprintf(
				"renewal requested; tokens asked for with %s are issued at most every %s, the next at %s",
				v1.AnnotationRenewRequestedAt, policy.MinManualRenewalInterval, at.UTC().Format(time.RFC3339)), at)
		}
	}
	failures := policy.Failures{Attempts: run.obj.Status.FailedAttempts}
	if t := run.obj.Status.NextAttemptTime; t != nil {
		failures.NextAttempt = t.Time
	}
	wait := policy.RetryNotBefore(failures, run.inputsChangedSinceFailure(ctx))
	if last := run.obj.Status.LastFailureTime; why == policy.DueRenewRequested && last != nil {
		// A person asks again after fixing something at Okta (a scope, a
		// key, the app's settings), which the operator cannot watch: tried
		// now if the last failure was a minute ago, whatever the backoff
		// or a stall, so edits of the annotation ask Okta once a minute at
		// most.
		if manual := last.Add(policy.MinManualRenewalInterval); manual.Before(wait) {
			wait = manual
		}
	}
	if run.now.Before(wait) {
		return backoffOutcome(wait)
	}
	return outcome{}
}

// requestToken sends the token request the grant type calls for (a
// client-credentials request, signed with the private key or with the
// client secret, or a refresh) and records it in the metrics.
func (run *reconcileRun) requestToken(ctx context.Context, why policy.Why, ep *okta.Endpoints,
	c *creds.Credentials) (*okta.Token, error) {
	spec := run.obj.Spec
	clientCredentials := spec.GrantType == v1.GrantClientCredentials
	log.FromContext(ctx).V(1).Info("requesting a token", "why", string(why))
	start := run.r.Clock.Now()
	var tok *okta.Token
	var err error
	switch {
	case clientCredentials && c.Key != nil:
		tok, err = run.r.Okta.ClientCredentials(ctx, *ep, spec.ClientID, c.Key, spec.Scopes)
	case clientCredentials:
		tok, err = run.r.Okta.ClientCredentialsWithSecret(ctx, *ep, *c.App, spec.Scopes)
	default:
		tok, err = run.r.Okta.Refresh(ctx, *ep, *c.App, run.state.Grant.RefreshToken)
	}
	metrics.TokenRequest(string(spec.GrantType), err, run.r.Clock.Since(start))
	return tok, err
}

// dpopKey is the key the token asked for is bound to (nil for a bearer
// token): a fresh one for each ClientCredentials token, which nothing else
// needs to be proven with; the grant's own for a refresh, which Okta
// accepts only with a proof by the key the grant was bound to. A grant
// whose key cannot be read is lost (usable false): a person must sign in
// again.
func (run *reconcileRun) dpopKey(ctx context.Context) (key *okta.DPoPKey, usable bool, err error) {
	if run.obj.Spec.TokenBinding != v1.TokenBindingDPoP {
		return nil, true, nil
	}
	if run.obj.Spec.GrantType == v1.GrantClientCredentials {
		key, err := okta.NewDPoPKey()
		return key, true, err
	}
	if key, err = okta.ParseDPoPKey([]byte(run.state.Grant.DPoPKey)); err == nil {
		return key, true, nil
	}
	next := run.state.LoseGrant("the DPoP key the grant is bound to cannot be read from the state Secret (" + err.Error() + ")")
	if err := run.saveState(ctx, next); err != nil {
		return nil, false, err
	}
	run.event(corev1.EventTypeWarning, v1.ReasonReauthorizationRequired,
		"%s; a person must sign in again at status.authorizationURL", next.GrantLost)
	return nil, false, nil
}

// grantedState is the pass's state with the grant tok makes, bound to the
// endpoints and credentials it was obtained with, and to key.
func (run *reconcileRun) grantedState(why policy.Why, tok *okta.Token, ep *okta.Endpoints,
	c *creds.Credentials, key *okta.DPoPKey) (state.State, error) {
	spec := run.obj.Spec
	origin := state.OriginRefresh
	if spec.GrantType == v1.GrantClientCredentials {
		origin = state.OriginMint
	}
	g := state.GrantFromToken(tok, spec, origin, run.state.Grant)
	if c.Key != nil {
		g.KeyThumbprint = c.Key.Thumbprint
	}
	g.CredentialsVersion = c.Version
	g.BindTo(*ep, spec.ClientID)
	if key != nil {
		jwk, err := key.PrivateJWK()
		if err != nil {
			return state.State{}, err
		}
		g.DPoPKey = string(jwk)
	}
	var manualAt time.Time
	if why == policy.DueRenewRequested {
		manualAt = run.now
	}
	return run.state.Renewed(g, run.obj.Annotations[v1.AnnotationRenewRequestedAt], manualAt), nil
}

// tokenDue decides whether a token is due from the grant this pass holds.
// The private key is read only when the credentials Secret's version is not
// the one the token was minted with: between rotations a pass reads nothing.
func (run *reconcileRun) tokenDue(ctx context.Context) (policy.Why, outcome, error) {
	g := run.state.Grant
	in := policy.DueInput{
		RenewRequested: run.obj.Annotations[v1.AnnotationRenewRequestedAt],
		Spec:           run.obj.Spec, UID: run.obj.UID, Now: run.now,
	}
	if g.HasToken() {
		in.Token = policy.Token{Present: true, IssuedAt: g.IssuedAt, Expiry: g.Expiry,
			KeyThumbprint: g.KeyThumbprint, RenewHandled: run.state.RenewHandled,
			// An AuthorizationCode grant for another spec was dropped
			// before this step (dropMismatchedGrant); a ClientCredentials
			// token is simply minted again.
			ForAnotherSpec: g.Fingerprint != "" && g.Fingerprint != state.Fingerprint(run.obj.Spec)}
		if run.obj.Spec.GrantType == v1.GrantClientCredentials && g.KeyThumbprint != "" &&
			run.credentialsVersion(ctx) != g.CredentialsVersion {
			c, o, err := run.credentials(ctx)
			if o.reports() || err != nil {
				return policy.NotDue, o, err
			}
			if c.Key != nil {
				in.KeyThumbprint = c.Key.Thumbprint
			}
		}
	}
	return policy.TokenDue(in), outcome{}, nil
}

// readStateLive replaces this pass's state with the state Secret as the API
// server has it. It reports false when the Secret is gone (the resource is
// being deleted, or the state was lost): there is no refresh token to spend.
func (run *reconcileRun) readStateLive(ctx context.Context) (bool, error) {
	s := &corev1.Secret{}
	if err := run.r.APIReader.Get(ctx, client.ObjectKeyFromObject(run.stateSecretOrNew()), s); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	run.useState(s)
	g := run.state.Grant
	return g != nil && g.RefreshToken != "", nil
}

func (run *reconcileRun) stateSecretOrNew() *corev1.Secret {
	if run.stateSecret != nil {
		return run.stateSecret
	}
	return state.NewSecret(run.r.StateNamespace, run.key, run.obj.UID)
}

// tokenRequestFailed sorts a failed request into what the user must know:
// a grant that is gone (a person must sign in again), a failure retrying
// cannot fix (Stalled), or one it may (Reconciling, with a backoff).
func (run *reconcileRun) tokenRequestFailed(ctx context.Context, err error) (outcome, error) {
	oe, ok := errors.AsType[*okta.Error](err)
	if !ok {
		oe = &okta.Error{Class: okta.Transient, Op: "requesting a token"}
	}
	spec := run.obj.Spec
	switch oe.Class {
	case okta.Busy:
		return busyOutcome(run.now), nil
	case okta.GrantInvalid:
		// The grant is gone. Keep the current access token until it
		// expires; a person must sign in again (ensureSignIn follows).
		next := run.state.LoseGrant(fmt.Sprintf("Okta no longer accepts the refresh token (%s)", oe.Error()))
		if err := run.saveState(ctx, next); err != nil {
			return outcome{}, err
		}
		run.event(corev1.EventTypeWarning, v1.ReasonReauthorizationRequired,
			"%s; a person must sign in again at status.authorizationURL", next.GrantLost)
		return outcome{}, nil
	case okta.ClientInvalid:
		hint := "check spec.clientID and the app's credentials in the referenced Secret"
		if ref := spec.PrivateKeyRef; spec.GrantType == v1.GrantClientCredentials && ref != nil {
			hint = fmt.Sprintf("check spec.clientID, that the app's public keys (JWKS) in Okta include the public half "+
				"of the private key in Secret %s/%s key %q, and that spec.privateKeyRef.keyID names that key "+
				"(Okta needs it once the app has more than one key)", run.obj.Namespace, ref.Name, ref.Key)
		}
		return run.failed(ctx, failure{reason: v1.ReasonInvalidClient, message: fmt.Sprintf("%s; %s", oe.Error(), hint),
			permanent: true}), nil
	case okta.ScopesRefused:
		return run.failed(ctx, failure{reason: v1.ReasonScopesNotGranted, message: oe.Error() + "; " + scopesHint(spec),
			permanent: true}), nil
	case okta.RateLimited:
		// Not this resource's failure: the org's budget is spent, and the
		// answer has paused every request to the org until its reset.
		reset := run.now.Add(policy.RateLimitWait(run.now, oe.RetryAt))
		if run.r.Budget != nil {
			org, prio := budget.Org(spec.OktaDomain), run.priority(policy.DueRenewalTime)
			if at, ok := run.r.Budget.Take(org, run.key.String(), prio); !ok {
				reset = at
			}
		}
		return waitOutcome(v1.ReasonWaitingForRateLimit, fmt.Sprintf(
			"%s; every request to the org waits until its limit resets, this one until about %s",
			oe.Error(), roundUpToMinute(reset).UTC().Format(time.RFC3339)), reset), nil
	case okta.DPoPRefused:
		if spec.TokenBinding != v1.TokenBindingDPoP {
			return run.failed(ctx, failure{reason: v1.ReasonDPoPRequired, message: oe.Error() + "; the Okta app requires " +
				"DPoP (\"Require Demonstrating Proof of Possession (DPoP) header in token requests\"): set " +
				"spec.tokenBinding: DPoP and the operator proves possession of a key it makes", permanent: true}), nil
		}
		// A fresh proof is made for every attempt, so one that was
		// refused for its jti or a nonce goes through on the retry; one
		// refused for the clock or the URL keeps failing, with Okta's
		// words and this hint.
		return run.failed(ctx, failure{reason: v1.ReasonDPoPProofRefused, message: oe.Error() + "; Okta refused the " +
			"operator's DPoP proof: check that the operator's clock is right (a proof's iat may be only a few minutes " +
			"off) and that nothing between the operator and Okta rewrites the URL of " + spec.OktaDomain}), nil
	case okta.Permanent:
		return run.failed(ctx, failure{reason: v1.ReasonTokenRequestFailed, message: oe.Error(), permanent: true}), nil
	}
	return run.failed(ctx, failure{reason: v1.ReasonTokenRequestFailed, message: oe.Error()}), nil
}

// priority is how urgent a request for why is inside its org's budget.
func (run *reconcileRun) priority(why policy.Why) budget.Priority {
	if why == policy.DueRenewRequested {
		return budget.Manual
	}
	g := run.state.Grant
	if !g.HasToken() {
		return budget.Expiring
	}
	renewal := policy.RenewalTime(g.IssuedAt, g.Expiry, run.obj.Spec, run.obj.UID)
	return budget.RenewalPriority(true, renewal, g.Expiry, run.now)
}

// takeSlot asks the org's budget for a slot for this resource's request. It
// reports a wait outcome when the slot is later; the resource comes back
// then and is granted it.
func (run *reconcileRun) takeSlot(p budget.Priority) outcome {
	b := run.r.Budget
	if b == nil {
		return outcome{}
	}
	org := budget.Org(run.obj.Spec.OktaDomain)
	at, ok := b.Take(org, run.key.String(), p)
	if ok {
		return outcome{}
	}
	// The minute, not the instant: the message (and so status) stays the
	// same across the passes that wait.
	return waitOutcome(v1.ReasonWaitingForRateLimit, fmt.Sprintf(
		"waiting for a share of %s's rate limit (%d token requests a minute for all its resources, --okta-rate-limit); "+
			"this %s request goes before %s", org, b.PerMinute(org), strings.ToLower(p.String()),
		roundUpToMinute(at).UTC().Format(time.RFC3339)), at)
}

// cancelReservation gives up a slot reserved for a request that is no
// longer due.
func (run *reconcileRun) cancelReservation() {
	if b := run.r.Budget; b != nil {
		b.Cancel(budget.Org(run.obj.Spec.OktaDomain), run.key.String())
	}
}

// scopesHint says where the refused scopes are granted: the app's Okta API
// Scopes tab at the org authorization server; at a custom one, its Scopes
// and an Access Policy rule that allows the grant type.
func scopesHint(spec v1.OktaScopedTokenSpec) string {
	if spec.AuthorizationServerID == "" {
		return fmt.Sprintf("grant %s to the app in the Okta Admin Console, Okta API Scopes tab", joinScopes(spec.Scopes))
	}
	grant := "Client Credentials"
	if spec.GrantType == v1.GrantAuthorizationCode {
		grant = "Authorization Code"
	}
	return fmt.Sprintf("at custom authorization server %s (Security > API > Authorization Servers), create %s on the "+
		"Scopes tab if missing, and on the Access Policies tab add a policy for the app with a rule that allows the %s "+
		"grant and these scopes", spec.AuthorizationServerID, joinScopes(spec.Scopes), grant)
}
