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

package state

// The transitions of a resource's state. Each is a method that returns the
// next state and leaves its receiver as it was (a Grant is copied before it
// changes), so a caller can compute the next state, try to store it, and
// still hold the state it read if the write fails. Callers store what a
// transition returns; they never set State's fields themselves.

import (
	"errors"
	"time"
)

// Errors of Claim.
var (
	// ErrUnknownSignIn: no pending sign-in has that state (it was used, or
	// replaced by a newer link, or never existed).
	ErrUnknownSignIn = errors.New("no pending sign-in has this state")
	// ErrSignInExpired: the pending sign-in's link has expired. The state
	// Claim returns with it no longer holds the link.
	ErrSignInExpired = errors.New("the sign-in link has expired")
)

// Claim takes the pending sign-in whose state hashes to stateHash, so that
// the state is accepted once: the next state holds no pending sign-in and
// records when it was claimed, so that no new link is made while the code is
// exchanged. An expired link is removed too, but not claimed.
func (s State) Claim(stateHash string, now time.Time) (State, *PendingLogin, error) {
	p := s.Pending
	if p == nil || p.StateHash != stateHash {
		return s, nil, ErrUnknownSignIn
	}
	s.Pending = nil
	if !now.Before(p.ExpiresAt) {
		return s, nil, ErrSignInExpired
	}
	s.Claimed = now
	return s, p, nil
}

// Release ends a claim whose code exchange stored no grant. When failed,
// the exchange failed (Okta refused the code, or could not be reached) and
// counts toward the sign-in backoff: the next link is made no sooner than
// retryAt. It reports false when there was no claim to release.
func (s State) Release(failed bool, retryAt time.Time) (State, bool) {
	if s.Claimed.IsZero() {
		return s, false
	}
	s.Claimed = time.Time{}
	if failed {
		s.SignInFailures++
		s.SignInRetryAt = retryAt
	}
	return s, true
}

// Reopen puts back a sign-in that was claimed and refused (the wrong
// person signed in), so its link works for the next person until it
// expires. A newer link made meanwhile wins: Reopen then reports false.
func (s State) Reopen(p *PendingLogin) (State, bool) {
	if s.Pending != nil {
		return s, false
	}
	s.Pending = p
	s.Claimed = time.Time{}
	return s, true
}

// SignedIn stores the grant a sign-in earned: it replaces any grant, ends
// the claim, a requested re-authorization, a lost grant's reason and the
// sign-in backoff.
func (s State) SignedIn(g *Grant) State {
	s.Grant = g
	s.Claimed = time.Time{}
	s.ReauthorizeWanted = false
	s.GrantLost = ""
	s.SignInFailures = 0
	s.SignInRetryAt = time.Time{}
	return s
}

// Renewed stores a grant obtained without a person (a refresh, or a
// client-credentials token). renewHandled is the renew-requested-at value
// acted on; manualAt, when not zero, is when a token asked for with it was
// obtained (the debounce counts from there).
func (s State) Renewed(g *Grant, renewHandled string, manualAt time.Time) State {
	s.Grant = g
	s.RenewHandled = renewHandled
	if !manualAt.IsZero() {
		s.ManualAt = manualAt
	}
	s.GrantLost = ""
	return s
}

// LoseGrant records that Okta no longer accepts the refresh token: the
// access token stays until it expires, the refresh token goes, and reason
// says why until a sign-in replaces the grant.
func (s State) LoseGrant(reason string) State {
	if s.Grant != nil {
		g := *s.Grant
		g.RefreshToken = ""
		s.Grant = &g
	}
	s.GrantLost = reason
	return s
}

// DropGrant drops a grant that no longer answers the spec (another domain,
// client, grant type or scope set); reason says why until a sign-in
// replaces it.
func (s State) DropGrant(reason string) State {
	s.Grant = nil
	s.GrantLost = reason
	return s
}

// PublishSignIn makes p the pending sign-in, replacing any other link. A
// non-empty reauthorization is the reauthorize-requested-at value it
// answers: the request then stays wanted, link after link, until a sign-in
// completes.
func (s State) PublishSignIn(p *PendingLogin, reauthorization string) State {
	s.Pending = p
	if reauthorization != "" {
		s.ReauthorizeHandled = reauthorization
		s.ReauthorizeWanted = true
	}
	return s
}

// WithdrawSignIn removes a pending sign-in nobody needs any more (a grant
// was stored meanwhile), so its link stops working. It reports false when
// there was none.
func (s State) WithdrawSignIn() (State, bool) {
	if s.Pending == nil {
		return s, false
	}
	s.Pending = nil
	return s, true
}

// RevokeFailed counts a failed revocation while the resource is deleted, so
// the bound on attempts survives a restart.
func (s State) RevokeFailed() State {
	s.RevokeAttempts++
	return s
}

// SignInBackingOff says whether a new sign-in link must wait, and until
// when: the last sign-ins' code exchanges failed.
func (s State) SignInBackingOff(now time.Time) (time.Time, bool) {
	if s.SignInFailures == 0 || !now.Before(s.SignInRetryAt) {
		return time.Time{}, false
	}
	return s.SignInRetryAt, true
}
