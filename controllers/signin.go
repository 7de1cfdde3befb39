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

// The AuthorizationCode grant's person-facing half: the grant kept in the
// state Secret, and the sign-in link published in status while a person
// must sign in (no grant yet, a revoked grant, or a re-authorization asked
// for). The callback (internal/callback) finishes the sign-in and stores the
// grant; the next pass publishes it.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// persistUnpersisted retries the write of a token Okta issued but an earlier
// pass failed to store.
func (run *reconcileRun) persistUnpersisted(ctx context.Context) (outcome, error) {
	g, ok := run.r.mem.unpersisted.load(run.key)
	if !ok {
		return outcome{}, nil
	}
	next := run.state.Renewed(g, run.obj.Annotations[v1.AnnotationRenewRequestedAt], time.Time{})
	if err := run.saveState(ctx, next); err != nil {
		return outcome{}, fmt.Errorf("storing the token issued earlier (kept in memory, retrying): %w", err)
	}
	run.r.mem.unpersisted.delete(run.key)
	run.succeeded()
	return outcome{}, nil
}

// dropMismatchedGrant drops a grant made for another domain, client, grant
// type or scope set: it no longer answers the spec.
func (run *reconcileRun) dropMismatchedGrant(ctx context.Context) (outcome, error) {
	g := run.state.Grant
	if g == nil || g.Fingerprint == state.Fingerprint(run.obj.Spec) {
		return outcome{}, nil
	}
	// Before anything is sent to the new domain, the old grant is revoked
	// where it was made (once, best effort: it is dropped either way).
	revoked := "it was revoked at " + g.Issuer
	if g.RefreshToken == "" {
		revoked = "it had no refresh token left to revoke"
	} else if err := run.r.revokeGrant(ctx, run.obj, g); err != nil {
		if wait, ok := errors.AsType[*waitForBudget](err); ok {
			return waitOutcome(v1.ReasonWaitingForRateLimit,
				"the spec changed; the old grant is revoked first, "+wait.Error(), wait.at), nil
		}
		revoked = fmt.Sprintf("revoking it failed (%v); revoke the app's grants in the Okta Admin Console if needed", err)
	}
	next := run.state.DropGrant(
		"the spec changed (domain, client, grant type or scopes), so the stored grant no longer applies")
	if err := run.saveState(ctx, next); err != nil {
		return outcome{}, err
	}
	run.event(corev1.EventTypeNormal, v1.ReasonGrantReset, "%s; %s", next.GrantLost, revoked)
	return outcome{}, nil
}

// ensureSignIn publishes a sign-in link while the grant needs a person: no
// refresh token yet, a revoked grant, or a re-authorization requested. The
// link is kept in the state Secret, so every pass and every replica shows
// the same one until it expires.
func (run *reconcileRun) ensureSignIn(ctx context.Context) (outcome, error) {
	spec := run.obj.Spec
	st := &run.obj.Status
	g := run.state.Grant
	reauth := run.obj.Annotations[v1.AnnotationReauthorizeRequestedAt]
	reauthRequested := reauth != "" && reauth != run.state.ReauthorizeHandled
	if g != nil && g.RefreshToken != "" && !reauthRequested && !run.state.ReauthorizeWanted {
		st.AuthorizationURL = ""
		st.AuthorizationExpiresAt = nil
		if next, withdrawn := run.state.WithdrawSignIn(); withdrawn {
			// A sign-in link made while the callback was storing a grant:
			// nothing needs it now, so it must stop working.
			if err := run.saveState(ctx, next); err != nil {
				return outcome{}, err
			}
		}
		return outcome{}, nil
	}
	if c := run.state.Claimed; !c.IsZero() && run.now.Before(c.Add(state.ClaimTimeout)) {
		// A person has signed in and the callback is exchanging the code:
		// the conditions stand until it stores the grant or gives up.
		return backoffOutcome(c.Add(state.ClaimTimeout)), nil
	}
	if run.r.CallbackURL == "" {
		// Nobody could finish a sign-in: publish no link.
		st.AuthorizationURL, st.AuthorizationExpiresAt = "", nil
		msg := "this token needs a person to sign in, and the operator serves no sign-in callback: start the manager with " +
			"--callback-url (Helm: callback.host or callback.url) and register that redirect URI with the Okta web app, " +
			"or use grantType: ClientCredentials with an Okta service app"
		if g.HasToken() && run.now.Before(g.Expiry) {
			msg += fmt.Sprintf("; the current token stays in place until it expires at %s", g.Expiry.UTC().Format(time.RFC3339))
		}
		return stallOutcome(v1.ReasonCallbackNotConfigured, msg), nil
	}
	fp := state.Fingerprint(spec)
	p := run.state.Pending
	current := p != nil && !reauthRequested && p.Fingerprint == fp && p.RedirectURI == run.r.CallbackURL &&
		run.now.Before(p.ExpiresAt) && p.AuthorizationURL != ""
	if !current {
		if at, wait := run.state.SignInBackingOff(run.now); wait {
			// The last sign-ins failed at the code exchange: no new link
			// (and no code exchange, which spends the org's budget) until
			// the backoff has passed.
			st.AuthorizationURL, st.AuthorizationExpiresAt = "", nil
			return signInOutcome(v1.ReasonSignInBackingOff, fmt.Sprintf(
				"the last %d sign-ins failed when the operator exchanged their code with Okta; a new sign-in link "+
					"is published at %s", run.state.SignInFailures, at.UTC().Format(time.RFC3339)), at), nil
		}
		ep, o := run.discover(ctx)
		if o.reports() {
			return o, nil
		}
		login, err := okta.NewPendingLogin(run.now, run.r.AuthorizationURLTTL)
		if err != nil {
			return outcome{}, err
		}
		// profile and email put the person's login and email in the ID
		// token (Okta leaves them out otherwise): allowedSubjects and
		// status.authorizedSubject name people by them.
		scopes := append([]string{"openid", "profile", "email", "offline_access"}, spec.Scopes...)
		answers := ""
		if reauthRequested {
			answers = reauth
		}
		next := run.state.PublishSignIn(&state.PendingLogin{
			StateHash: login.StateHash, Verifier: login.Verifier, ExpiresAt: login.ExpiresAt,
			RedirectURI: run.r.CallbackURL, Fingerprint: fp, Nonce: login.Nonce,
			AuthorizationURL: okta.AuthCodeURL(*ep, spec.ClientID, run.r.CallbackURL, dedupe(scopes), login),
		}, answers)
		// Guarded by the resourceVersion this pass read: a pass racing the
		// callback fails with a conflict here instead of replacing a link
		// someone may be using.
		if err := run.saveState(ctx, next); err != nil {
			return outcome{}, err
		}
		p = next.Pending
	}
	if st.AuthorizationURL == "" {
		// The transition into needing a person, not every new link.
		run.event(corev1.EventTypeNormal, v1.ReasonAuthorizationRequired,
			"a person must sign in to grant %s: open status.authorizationURL before %s",
			joinScopes(spec.Scopes), p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	st.AuthorizationURL = p.AuthorizationURL
	exp := metav1.NewTime(p.ExpiresAt)
	st.AuthorizationExpiresAt = &exp

	reason := v1.ReasonAuthorizationRequired
	msg := "a person must sign in at status.authorizationURL to grant " + joinScopes(spec.Scopes)
	if lost := run.state.GrantLost; lost != "" {
		reason = v1.ReasonReauthorizationRequired
		msg = lost + "; " + msg
	} else if g != nil && g.RefreshToken == "" {
		// Signed in, but Okta gave no refresh token to renew with.
		reason = v1.ReasonNoRefreshToken
		msg = "the last sign-in got no refresh token from Okta, so the token cannot be renewed without a person: " +
			"enable the Refresh Token grant on the Okta web app (Applications > the app > General > Grant type: " +
			"Refresh Token), then " + msg
	}
	if g.HasToken() && run.now.Before(g.Expiry) {
		msg += fmt.Sprintf("; the current token stays in place until it expires at %s", g.Expiry.UTC().Format(time.RFC3339))
	}
	return signInOutcome(reason, msg, p.ExpiresAt), nil
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
