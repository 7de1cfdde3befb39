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

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestTenantsShareTheOrg: a namespace that queues a burst of requests gets
// its share while another namespace waits, not the whole budget: the other
// namespace's request of the same priority waits for at most one of the
// burst's, and one of a lower priority is not starved either.
func TestTenantsShareTheOrg(t *testing.T) {
	const perMinute = 60 // one a second
	tests := map[string]struct {
		flood, victim Priority
		// within is how long after its arrival the victim must be served.
		within time.Duration
	}{
		"renewals against renewals":                {flood: Expiring, victim: Expiring, within: 2 * time.Second},
		"early renewals against early renewals":    {flood: Early, victim: Early, within: 2 * time.Second},
		"sign-ins against sign-ins":                {flood: Person, victim: Person, within: 2 * time.Second},
		"sign-ins against an expiring renewal":     {flood: Person, victim: Expiring, within: DefaultAgingStep + 2*time.Second},
		"expiring renewals against a manual renew": {flood: Expiring, victim: Manual, within: 2*DefaultAgingStep + 2*time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			b, clk, _ := newTestBudget(perMinute)
			reqs := make([]request, 0, 301)
			for i := range 300 {
				reqs = append(reqs, request{key: fmt.Sprintf("noisy/junk-%03d", i), prio: tc.flood})
			}
			const arrives = 10 * time.Second
			reqs = append(reqs, request{key: "quiet/logs-reader", prio: tc.victim, offset: arrives})
			s := simulate(b, clk, org, reqs...)
			s.run(t, t0.Add(time.Hour))
			got, ok := s.grantOf("quiet/logs-reader")
			g.Expect(ok).To(BeTrue())
			g.Expect(got.at.Sub(t0.Add(arrives))).To(BeNumerically("<=", tc.within),
				"the quiet namespace's request waits at most its share")
			g.Expect(maxInWindow(s.grants, time.Minute)).To(BeNumerically("<=", perMinute), "the org's limit still holds")
		})
	}
}

// TestOneTenantAloneGetsTheWholeRate: fairness costs nothing when no one
// else waits.
func TestOneTenantAloneGetsTheWholeRate(t *testing.T) {
	g := NewWithT(t)
	b, clk, _ := newTestBudget(60)
	reqs := make([]request, 0, 120)
	for i := range 120 {
		reqs = append(reqs, request{key: fmt.Sprintf("team/token-%03d", i), prio: Expiring})
	}
	s := simulate(b, clk, org, reqs...)
	s.run(t, t0.Add(time.Hour))
	last := s.grants[len(s.grants)-1].at
	g.Expect(last.Sub(t0)).To(BeNumerically("<=", 2*time.Minute+2*time.Second), "120 requests at 60 a minute")
}
