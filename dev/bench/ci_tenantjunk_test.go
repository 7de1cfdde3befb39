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

	operatorbench "github.com/okta-token-operator/okta-token-operator/dev/bench"
)

// ciTenantJunkPeakRSS bounds the manager's peak RSS in the tenant-junk
// scenario at N = 40, under the default GOMEMLIMIT of 128 MiB. Measured on
// two shared cores over five runs (docs/performance.md), the image's build
// and the quick one, with and without -race: peaks of 43-53 MiB started
// among the 40 MiB of junk Secrets, 68-73 MiB once the 30 big resources
// were served, 62-69 MiB restarted among all of it. A manager whose Secret
// cache kept the junk whole (its trim turned off) peaked at 83, 125 and
// 116 MiB: the last two fail the bound by far.
const ciTenantJunkPeakRSS = 88 << 20

// TestTenantJunkMemory runs the tenant-junk scenario at a small N: Secrets
// labelled as the operator's, 1 MiB each, and resources at the CRD's caps
// beside ordinary tokens. It asserts what an operator's user would look
// at: the manager stays far below its memory limit, the ordinary tokens
// are Ready at every reading, and the resources at the caps are served too.
func TestTenantJunkMemory(t *testing.T) {
	skipInShortMode(t)
	res := runBenchmark(benchContext(t), t, operatorbench.Config{
		N: ciTokens, Scenarios: []operatorbench.Scenario{operatorbench.ScenarioTenantJunk}, QuickBuild: true,
	})
	table := operatorbench.Table(res)
	j := res.TenantJunk
	if len(j.Phases) != 3 {
		t.Fatalf("%d readings of the manager's memory, want 3; the measured table:\n\n%s", len(j.Phases), table)
	}
	for _, p := range j.Phases {
		if p.PeakRSS > ciTenantJunkPeakRSS {
			t.Errorf("%s: the manager's peak RSS is %d MiB, more than %d MiB (its GOMEMLIMIT is %d MiB)", p.Name,
				p.PeakRSS>>20, ciTenantJunkPeakRSS>>20, j.MemoryLimit>>20)
		}
		if p.Ready != j.Tokens {
			t.Errorf("%s: %d of the %d ordinary tokens Ready", p.Name, p.Ready, j.Tokens)
		}
	}
	if j.BigReady != j.BigTokens {
		t.Errorf("%d of the %d resources at the CRD's caps Ready: a resource within the caps must work", j.BigReady,
			j.BigTokens)
	}
	if t.Failed() {
		t.Logf("the measured table:\n\n%s", table)
	} else {
		t.Logf("measured:\n%s", table)
	}
}
