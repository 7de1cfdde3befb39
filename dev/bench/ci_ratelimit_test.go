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

package bench_test

import (
	"testing"
	"time"

	operatorbench "github.com/okta-token-operator/okta-token-operator/dev/bench"
)

// The CI size of the rate-limit scenario. The limited org allows 240 token
// requests a minute, and its other applications have spent 220 of them
// when the operator's 30 arrive, 15 seconds before the window resets: a
// manager that sends them as fast as it can gets ten 429s at once, while
// one that paces itself from Okta's headers sends about 17 before the reset
// and the rest at 4 a second after it. (The unlimited org is paced by the
// same flag: its 30 take about 7 seconds.) About 40 seconds in all, plus
// the control plane's start.
const (
	ciRateLimitTokens     = 60
	ciRateLimitPerMinute  = 240
	ciRateLimitOtherApps  = 220
	ciRateLimitWindowLeft = 15 * time.Second
)

// TestRateLimit runs the rate-limit scenario (issue 13) at a small N and
// asserts its count: no 429 from the limited org. Its timings are printed.
func TestRateLimit(t *testing.T) {
	skipInShortMode(t)
	ctx := benchContext(t)
	binary, err := operatorbench.BuildManager(ctx, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !operatorbench.ManagerHasFlag(ctx, binary, operatorbench.RateLimitFlag) {
		t.Fatalf("the manager has no --%s flag", operatorbench.RateLimitFlag)
	}
	res := runBenchmark(ctx, t, operatorbench.Config{
		N: ciRateLimitTokens, Scenarios: []operatorbench.Scenario{operatorbench.ScenarioRateLimit},
		ManagerBinary: binary, RateLimitPerMinute: ciRateLimitPerMinute, RateLimitOtherApps: ciRateLimitOtherApps,
		RateLimitWindowLeft: ciRateLimitWindowLeft,
	})
	table := operatorbench.Table(res)
	for _, c := range res.Checks() {
		if !c.Met() {
			t.Errorf("%s: measured %.0f, target ≤ %.0f; the measured table:\n\n%s", c.Name, c.Got, c.Max, table)
		}
	}
	if !t.Failed() {
		t.Logf("measured:\n%s", table)
	}
}
