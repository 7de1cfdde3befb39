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

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestTransitions: each transition, from states a resource really passes
// through, to the state it must leave behind. The receiver is never changed.
func TestTransitions(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	link := func() *PendingLogin {
		return &PendingLogin{StateHash: "h1", Verifier: "v", ExpiresAt: now.Add(time.Hour), AuthorizationURL: "https://okta/a"}
	}
	grant := func() *Grant {
		return &Grant{AccessToken: "at", RefreshToken: "rt", Expiry: now.Add(time.Hour), Scopes: []string{"okta.logs.read"}}
	}
	tests := map[string]struct {
		from State
		do   func(State) (State, error)
		want State
		err  error
	}{
		"claim: the pending sign-in is taken and the claim recorded": {
			from: State{Pending: link(), Grant: grant()},
			do:   claim("h1", now),
			want: State{Grant: grant(), Claimed: now},
		},
		"claim: another state is unknown, nothing changes": {
			from: State{Pending: link()},
			do:   claim("h2", now),
			want: State{Pending: link()},
			err:  ErrUnknownSignIn,
		},
		"claim: no pending sign-in": {
			from: State{Grant: grant()},
			do:   claim("h1", now),
			want: State{Grant: grant()},
			err:  ErrUnknownSignIn,
		},
		"claim: an expired link is removed but not claimed": {
			from: State{Pending: link()},
			do:   claim("h1", now.Add(time.Hour)),
			want: State{},
			err:  ErrSignInExpired,
		},
		"release: a claim that stored nothing ends": {
			from: State{Claimed: now},
			do:   func(s State) (State, error) { n, _ := s.Release(false, time.Time{}); return n, nil },
			want: State{},
		},
		"release: a failed exchange counts toward the sign-in backoff": {
			from: State{Claimed: now, SignInFailures: 1, SignInRetryAt: now},
			do:   func(s State) (State, error) { n, _ := s.Release(true, now.Add(time.Minute)); return n, nil },
			want: State{SignInFailures: 2, SignInRetryAt: now.Add(time.Minute)},
		},
		"release: without a claim, nothing changes": {
			from: State{Pending: link()},
			do:   func(s State) (State, error) { n, _ := s.Release(true, now.Add(time.Minute)); return n, nil },
			want: State{Pending: link()},
		},
		"reopen: a refused sign-in's link works again": {
			from: State{Claimed: now},
			do:   func(s State) (State, error) { n, _ := s.Reopen(link()); return n, nil },
			want: State{Pending: link()},
		},
		"reopen: a newer link wins": {
			from: State{Pending: &PendingLogin{StateHash: "h2"}, Claimed: now},
			do:   func(s State) (State, error) { n, _ := s.Reopen(link()); return n, nil },
			want: State{Pending: &PendingLogin{StateHash: "h2"}, Claimed: now},
		},
		"signed in: the grant replaces the lost one and ends every request for a person": {
			from: State{Grant: &Grant{AccessToken: "old"}, Claimed: now, ReauthorizeWanted: true, ReauthorizeHandled: "r1",
				GrantLost: "Okta no longer accepts the refresh token", SignInFailures: 2, SignInRetryAt: now, RenewHandled: "x"},
			do:   func(s State) (State, error) { return s.SignedIn(grant()), nil },
			want: State{Grant: grant(), ReauthorizeHandled: "r1", RenewHandled: "x"},
		},
		"renewed: the new grant, the renew request handled, the lost reason gone": {
			from: State{Grant: &Grant{AccessToken: "old"}, GrantLost: "x", ManualAt: now.Add(-time.Hour), Pending: link()},
			do:   func(s State) (State, error) { return s.Renewed(grant(), "r2", now), nil },
			want: State{Grant: grant(), RenewHandled: "r2", ManualAt: now, Pending: link()},
		},
		"renewed: not a manual renewal, the last manual one's time stays": {
			from: State{ManualAt: now.Add(-time.Hour)},
			do:   func(s State) (State, error) { return s.Renewed(grant(), "", time.Time{}), nil },
			want: State{Grant: grant(), ManualAt: now.Add(-time.Hour)},
		},
		"grant lost: the access token stays, the refresh token goes": {
			from: State{Grant: grant()},
			do:   func(s State) (State, error) { return s.LoseGrant("refused"), nil },
			want: State{Grant: &Grant{AccessToken: "at", Expiry: now.Add(time.Hour), Scopes: []string{"okta.logs.read"}},
				GrantLost: "refused"},
		},
		"grant dropped: nothing of it stays": {
			from: State{Grant: grant(), Pending: link()},
			do:   func(s State) (State, error) { return s.DropGrant("the spec changed"), nil },
			want: State{Pending: link(), GrantLost: "the spec changed"},
		},
		"sign-in published: a re-authorization stays wanted": {
			from: State{Grant: grant()},
			do:   func(s State) (State, error) { return s.PublishSignIn(link(), "r3"), nil },
			want: State{Grant: grant(), Pending: link(), ReauthorizeHandled: "r3", ReauthorizeWanted: true},
		},
		"sign-in published: a plain new link": {
			from: State{Pending: &PendingLogin{StateHash: "h0"}, ReauthorizeWanted: true},
			do:   func(s State) (State, error) { return s.PublishSignIn(link(), ""), nil },
			want: State{Pending: link(), ReauthorizeWanted: true},
		},
		"sign-in withdrawn": {
			from: State{Grant: grant(), Pending: link()},
			do:   func(s State) (State, error) { n, _ := s.WithdrawSignIn(); return n, nil },
			want: State{Grant: grant()},
		},
		"a failed revocation is counted": {
			from: State{Grant: grant(), RevokeAttempts: 1},
			do:   func(s State) (State, error) { return s.RevokeFailed(), nil },
			want: State{Grant: grant(), RevokeAttempts: 2},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := deepCopy(tc.from)
			got, err := tc.do(tc.from)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("\n got %+v %+v\nwant %+v %+v", got, got.Grant, tc.want, tc.want.Grant)
			}
			if !reflect.DeepEqual(tc.from, before) {
				t.Fatalf("the transition changed the state it started from: %+v", tc.from)
			}
		})
	}
}

func claim(hash string, now time.Time) func(State) (State, error) {
	return func(s State) (State, error) {
		n, _, err := s.Claim(hash, now)
		return n, err
	}
}

// deepCopy copies what the transitions could change through a pointer.
func deepCopy(s State) State {
	if s.Grant != nil {
		g := *s.Grant
		s.Grant = &g
	}
	if s.Pending != nil {
		p := *s.Pending
		s.Pending = &p
	}
	return s
}

// TestSignInBackingOff: a new link waits only while failed sign-ins' backoff
// lasts.
func TestSignInBackingOff(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		s    State
		wait bool
	}{
		"no failure":            {s: State{}, wait: false},
		"failed, backoff ahead": {s: State{SignInFailures: 1, SignInRetryAt: now.Add(time.Second)}, wait: true},
		"failed, backoff over":  {s: State{SignInFailures: 3, SignInRetryAt: now}, wait: false},
	} {
		t.Run(name, func(t *testing.T) {
			at, wait := tc.s.SignInBackingOff(now)
			if wait != tc.wait || (wait && !at.Equal(tc.s.SignInRetryAt)) {
				t.Fatalf("waits %v until %s", wait, at)
			}
		})
	}
}
