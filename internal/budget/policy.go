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

package budget

// A pure decision the reconciler makes before it asks for a slot: how
// urgent a due renewal is. (How often a manual renewal may go is
// internal/policy's ManualRenewalAt.)

import "time"

// RenewalPriority is the priority of a token request the schedule makes
// (not a manual one, not a callback's): Expiring when there is no token,
// when it has expired, or when less than half of the time between its
// renewal time and its expiry is left; Early before that. With the default
// renewal at two thirds of an hour-long token's lifetime, a renewal is
// Early for its first ten minutes and Expiring for the last ten.
func RenewalPriority(haveToken bool, renewalTime, expiry, now time.Time) Priority {
	if !haveToken || expiry.IsZero() || !now.Before(expiry) {
		return Expiring
	}
	if renewalTime.IsZero() || !renewalTime.Before(expiry) {
		return Expiring
	}
	halfway := renewalTime.Add(expiry.Sub(renewalTime) / 2)
	if now.Before(halfway) {
		return Early
	}
	return Expiring
}
