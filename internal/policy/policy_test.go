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
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestRenewalTime(t *testing.T) {
	tests := map[string]struct {
		lifetime time.Duration
		spec     v1.OktaScopedTokenSpec
		// renewal is expected within [earliest, latest] after issue:
		// the jitter moves it earlier by up to 10 % of renewBefore.
		earliest, latest time.Duration
	}{
		"default renews at two thirds of an hour": {
			lifetime: time.Hour, earliest: 40*time.Minute - 2*time.Minute, latest: 40 * time.Minute,
		},
		"renewBefore 15m": {
			lifetime: time.Hour, spec: v1.OktaScopedTokenSpec{RenewBefore: &metav1.Duration{Duration: 15 * time.Minute}},
			earliest: 45*time.Minute - 90*time.Second, latest: 45 * time.Minute,
		},
		"renewBefore longer than the lifetime falls back to two thirds": {
			lifetime: 10 * time.Minute, spec: v1.OktaScopedTokenSpec{RenewBefore: &metav1.Duration{Duration: time.Hour}},
			earliest: 400*time.Second - 20*time.Second, latest: 400 * time.Second,
		},
		"renewBeforePercentage 50": {
			lifetime: time.Hour, spec: v1.OktaScopedTokenSpec{RenewBeforePercentage: ptr.To[int32](50)},
			earliest: 30*time.Minute - 3*time.Minute, latest: 30 * time.Minute,
		},
		"two-minute demo token": {
			lifetime: 2 * time.Minute, earliest: 80*time.Second - 4*time.Second, latest: 80 * time.Second,
		},
		"tiny lifetime hits the floor": {
			lifetime: 3 * time.Second, earliest: MinRotationInterval, latest: MinRotationInterval,
		},
		"expired at issue hits the floor": {
			lifetime: 0, earliest: MinRotationInterval, latest: MinRotationInterval,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for i := range 50 {
				uid := types.UID(fmt.Sprintf("uid-%d", i))
				got := RenewalTime(t0, t0.Add(tc.lifetime), tc.spec, uid).Sub(t0)
				if got < tc.earliest || got > tc.latest {
					t.Fatalf("uid %s: renewal %s after issue, want within [%s, %s]", uid, got, tc.earliest, tc.latest)
				}
				if got%time.Second != 0 {
					t.Fatalf("renewal %s is not truncated to the second", got)
				}
			}
		})
	}
}

func TestRenewalTimeIsStablePerResourceAndSpreadAcrossResources(t *testing.T) {
	spec := v1.OktaScopedTokenSpec{}
	a := RenewalTime(t0, t0.Add(time.Hour), spec, "a")
	if b := RenewalTime(t0, t0.Add(time.Hour), spec, "a"); !a.Equal(b) {
		t.Fatalf("same resource, different renewal: %s vs %s", a, b)
	}
	distinct := map[time.Time]bool{}
	for i := range 1000 {
		distinct[RenewalTime(t0, t0.Add(time.Hour), spec, types.UID(fmt.Sprintf("uid-%d", i)))] = true
	}
	// 1000 tokens issued together spread over the two-minute jitter
	// window (120 distinct seconds at most).
	if len(distinct) < 100 {
		t.Fatalf("1000 tokens renew in only %d distinct seconds", len(distinct))
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int32
		min, max time.Duration
	}{
		{0, 0, 0},
		{1, 5 * time.Second, 6 * time.Second},
		{2, 10 * time.Second, 12 * time.Second},
		{3, 20 * time.Second, 24 * time.Second},
		{6, 160 * time.Second, 192 * time.Second},
		{7, 5 * time.Minute, 6 * time.Minute},
		{100, 5 * time.Minute, 6 * time.Minute},
	}
	for _, tc := range tests {
		got := Backoff(tc.attempts, "uid")
		if got < tc.min || got > tc.max {
			t.Errorf("Backoff(%d) = %s, want within [%s, %s]", tc.attempts, got, tc.min, tc.max)
		}
	}
}

func TestRateLimitWait(t *testing.T) {
	tests := map[string]struct {
		reset time.Time
		want  time.Duration
	}{
		"reset in 42s":       {t0.Add(42 * time.Second), 42 * time.Second},
		"reset in the past":  {t0.Add(-time.Minute), time.Second},
		"reset absurdly far": {t0.Add(24 * time.Hour), MaxRateLimitWait},
	}
	for name, tc := range tests {
		if got := RateLimitWait(t0, tc.reset); got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}

// TestRenewalFloorDependsOnTheLifetime: the most aggressive spec allowed
// (renewBeforePercentage 95) with the jitter cannot make a resource ask
// Okta more often than every twentieth of its token's lifetime, for every
// resource, not just some.
func TestRenewalFloorDependsOnTheLifetime(t *testing.T) {
	pct := int32(95)
	spec := v1.OktaScopedTokenSpec{RenewBeforePercentage: &pct}
	issued := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, lifetime := range []time.Duration{time.Hour, 5 * time.Minute, 2 * time.Minute, 30 * time.Second} {
		floor := max(MinRotationInterval, lifetime/20)
		atFloor := 0
		for i := range 1000 {
			uid := types.UID(fmt.Sprintf("uid-%04d", i))
			gap := RenewalTime(issued, issued.Add(lifetime), spec, uid).Sub(issued)
			if gap < floor.Truncate(time.Second) {
				t.Fatalf("lifetime %s: %s renews %s after issue, under the floor of %s", lifetime, uid, gap, floor)
			}
			if gap == floor.Truncate(time.Second) {
				atFloor++
			}
		}
		if atFloor == 0 {
			t.Errorf("lifetime %s: no resource reached the floor; the test does not reach the rule", lifetime)
		}
		if MinRenewalGap(lifetime) != floor {
			t.Errorf("MinRenewalGap(%s) = %s, want %s", lifetime, MinRenewalGap(lifetime), floor)
		}
	}
}
