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

package policy

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

func TestTokenDue(t *testing.T) {
	const uid = types.UID("3f9c2a4e-0000-4000-8000-000000000001")
	issued := t0
	expiry := t0.Add(time.Hour)
	renewal := RenewalTime(issued, expiry, v1.OktaScopedTokenSpec{}, uid)
	token := Token{Present: true, IssuedAt: issued, Expiry: expiry, KeyThumbprint: "key-a", RenewHandled: "r1"}
	tests := map[string]struct {
		in   DueInput
		want Why
	}{
		"no token": {in: DueInput{Now: t0}, want: DueNoToken},
		"a fresh token is not due": {
			in: DueInput{Token: token, Now: t0.Add(time.Minute)}, want: NotDue,
		},
		"a second before the renewal time": {
			in: DueInput{Token: token, Now: renewal.Add(-time.Second)}, want: NotDue,
		},
		"at the renewal time": {
			in: DueInput{Token: token, Now: renewal}, want: DueRenewalTime,
		},
		"past expiry": {
			in: DueInput{Token: token, Now: expiry.Add(time.Hour)}, want: DueRenewalTime,
		},
		"a new renew-requested-at value": {
			in: DueInput{Token: token, RenewRequested: "r2", Now: t0}, want: DueRenewRequested,
		},
		"the renew-requested-at value already handled": {
			in: DueInput{Token: token, RenewRequested: "r1", Now: t0}, want: NotDue,
		},
		"another private key in the Secret": {
			in: DueInput{Token: token, KeyThumbprint: "key-b", Now: t0}, want: DueKeyChanged,
		},
		"the same private key": {
			in: DueInput{Token: token, KeyThumbprint: "key-a", Now: t0}, want: NotDue,
		},
		"the key was not read (its Secret did not change)": {
			in: DueInput{Token: token, Now: t0}, want: NotDue,
		},
		"a token without a recorded key is not renewed for a key": {
			in: DueInput{Token: Token{Present: true, IssuedAt: issued, Expiry: expiry}, KeyThumbprint: "key-b", Now: t0}, want: NotDue,
		},
		"a missing token comes before a manual request": {
			in: DueInput{RenewRequested: "r9", KeyThumbprint: "key-b", Now: t0}, want: DueNoToken,
		},
		"a token for another spec (a new binding, scope or domain)": {
			in: DueInput{Token: Token{Present: true, IssuedAt: issued, Expiry: expiry, ForAnotherSpec: true}, Now: t0}, want: DueSpecChanged,
		},
		"a changed spec comes before a manual request": {
			in:   DueInput{Token: Token{Present: true, IssuedAt: issued, Expiry: expiry, ForAnotherSpec: true}, RenewRequested: "r2", Now: t0},
			want: DueSpecChanged,
		},
		"a manual request comes before a key change": {
			in: DueInput{Token: token, RenewRequested: "r2", KeyThumbprint: "key-b", Now: t0}, want: DueRenewRequested,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.UID = uid
			if got := TokenDue(tc.in); got != tc.want {
				t.Fatalf("TokenDue = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRetryNotBefore(t *testing.T) {
	next := t0.Add(10 * time.Second)
	tests := map[string]struct {
		failures Failures
		changed  bool
		want     time.Time
	}{
		"no failure":                        {failures: Failures{}, want: time.Time{}},
		"after a failure, its next attempt": {failures: Failures{Attempts: 2, NextAttempt: next}, want: next},
		"the spec or credentials changed":   {failures: Failures{Attempts: 2, NextAttempt: next}, changed: true, want: time.Time{}},
		"a next attempt left after a reset": {failures: Failures{Attempts: 0, NextAttempt: next}, want: time.Time{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := RetryNotBefore(tc.failures, tc.changed); !got.Equal(tc.want) {
				t.Fatalf("RetryNotBefore = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNextAttempt(t *testing.T) {
	const uid = types.UID("3f9c2a4e-0000-4000-8000-000000000002")
	tests := map[string]struct {
		attempts int32
		reset    time.Time
		want     time.Time
	}{
		"the backoff": {attempts: 1, want: t0.Add(Backoff(1, uid))},
		"a rate-limit reset later than the backoff": {
			attempts: 1, reset: t0.Add(40 * time.Second), want: t0.Add(40 * time.Second),
		},
		"a rate-limit reset sooner than the backoff": {
			attempts: 6, reset: t0.Add(2 * time.Second), want: t0.Add(Backoff(6, uid)),
		},
		"a reset absurdly far away is capped": {
			attempts: 1, reset: t0.Add(24 * time.Hour), want: t0.Add(MaxRateLimitWait),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := NextAttempt(t0, tc.attempts, uid, tc.reset); !got.Equal(tc.want) {
				t.Fatalf("NextAttempt = %s, want %s", got, tc.want)
			}
		})
	}
}
