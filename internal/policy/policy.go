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

// Package policy holds the operator's timing decisions as pure functions of
// (token times, spec, resource identity, now): when a token is renewed, how
// long to back off after a failure. They are table-tested without a cluster.
package policy

import (
	"hash/fnv"
	"time"

	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

const (
	// DefaultRenewFraction renews once two thirds of the lifetime has
	// passed, cert-manager's rule: one third of the lifetime is left to
	// retry in.
	defaultRenewNumerator, defaultRenewDenominator = 1, 3
	// MinRotationInterval is the least time between issue and renewal, so
	// a token with a tiny lifetime cannot drive a tight loop of requests.
	MinRotationInterval = 10 * time.Second
	// minRotationShare is the least share of a token's lifetime between
	// issue and renewal (MinRenewalGap): with renewBeforePercentage 95 and
	// the jitter, the renewal would otherwise fall before the issue and
	// every such resource would ask Okta every 10 seconds.
	minRotationShare = 20
	// maxJitterPercent spreads renewals of tokens issued together over up
	// to this share of their renew window.
	maxJitterPercent = 10
)

// MinRenewalGap is the least time between a token's issue and its renewal,
// whatever the spec says: a twentieth of its lifetime (three minutes of an
// hour-long token), and never under MinRotationInterval. It bounds how
// often one resource asks Okta by schedule: at most twenty times per
// token lifetime. (Manual renewals have their own floor,
// MinManualRenewalInterval, and failures their backoff.)
func MinRenewalGap(lifetime time.Duration) time.Duration {
	return max(MinRotationInterval, lifetime/minRotationShare)
}

// RenewBefore is how long before expiry the token is renewed, before jitter.
func RenewBefore(lifetime time.Duration, spec v1.OktaScopedTokenSpec) time.Duration {
	switch {
	case spec.RenewBefore != nil && spec.RenewBefore.Duration > 0 && spec.RenewBefore.Duration < lifetime:
		return spec.RenewBefore.Duration
	case spec.RenewBeforePercentage != nil:
		return lifetime * time.Duration(*spec.RenewBeforePercentage) / 100
	}
	// Also the fallback when renewBefore is not shorter than the lifetime:
	// honouring it would renew at once, forever.
	return lifetime * defaultRenewNumerator / defaultRenewDenominator
}

// RenewalTime is when a token issued at issuedAt and expiring at expiry is
// due for renewal: expiry − renewBefore, moved earlier by a jitter of up to
// 10 % of renewBefore that is fixed per resource (so each resource keeps a
// stable schedule, while a thousand issued together spread out), never
// sooner than MinRotationInterval after issue.
func RenewalTime(issuedAt, expiry time.Time, spec v1.OktaScopedTokenSpec, uid types.UID) time.Time {
	lifetime := expiry.Sub(issuedAt)
	if lifetime <= 0 {
		return issuedAt.Add(MinRotationInterval).Truncate(time.Second)
	}
	before := RenewBefore(lifetime, spec)
	jitter := time.Duration(fraction(uid) * float64(before) * maxJitterPercent / 100)
	renewal := expiry.Add(-before - jitter)
	if floor := issuedAt.Add(MinRenewalGap(lifetime)); renewal.Before(floor) {
		renewal = floor
	}
	// Truncate to the second: status shows seconds, and a requeue computed
	// from the truncated value then matches what the user sees.
	return renewal.Truncate(time.Second)
}

// Backoff after failedAttempts consecutive transient failures: exponential
// from 5 s, capped at 5 min, with up to 20 % jitter fixed per resource and
// attempt (deterministic, so tests and restarts agree).
func Backoff(failedAttempts int32, uid types.UID) time.Duration {
	const base, maxDelay = 5 * time.Second, 5 * time.Minute
	if failedAttempts <= 0 {
		return 0
	}
	d := base
	for i := int32(1); i < failedAttempts && d < maxDelay; i++ {
		d *= 2
	}
	if d > maxDelay {
		d = maxDelay
	}
	// A letter a-z per attempt makes the jitter differ between attempts.
	// failedAttempts is an int32, the same type as rune, so string() of the
	// sum is that letter.
	attempt := string('a' + failedAttempts%26)
	jitter := time.Duration(fraction(types.UID(string(uid)+attempt)) * float64(d) / 5)
	return d + jitter
}

// MaxRateLimitWait bounds how long a 429 may pause a resource, whatever
// X-Rate-Limit-Reset says.
const MaxRateLimitWait = 10 * time.Minute

// RateLimitWait is how long to wait after a 429 whose reset is resetAt.
func RateLimitWait(now, resetAt time.Time) time.Duration {
	d := resetAt.Sub(now)
	switch {
	case d < time.Second:
		return time.Second
	case d > MaxRateLimitWait:
		return MaxRateLimitWait
	}
	return d
}

// fraction maps a UID to [0, 1).
func fraction(uid types.UID) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(uid))
	return float64(h.Sum64()%10000) / 10000
}
