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
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestPacing(t *testing.T) {
	tests := map[string]struct {
		perMinute int
		requests  int
	}{
		"a slow org, no burst":                {perMinute: 30, requests: 75},
		"the default":                         {perMinute: DefaultPerMinute, requests: 250},
		"a paid plan's limit":                 {perMinute: 1200, requests: 3000},
		"the benchmark's limit, 100 a second": {perMinute: 6000, requests: 6500},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			b, clk, _ := newTestBudget(tc.perMinute)
			s := simulate(b, clk, org, requests("token", tc.requests, Expiring, 0)...)
			s.run(t, t0.Add(time.Hour))

			g.Expect(s.grants).To(HaveLen(tc.requests), "every request is granted once")
			g.Expect(maxInWindow(s.grants, time.Minute)).To(BeNumerically("<=", tc.perMinute),
				"no 60 seconds hold more than the rate")
			// A burst at once, then one request per interval.
			want := t0.Add(time.Duration(tc.requests-burst(tc.perMinute)) * interval(tc.perMinute))
			g.Expect(s.grants[len(s.grants)-1].at).To(BeTemporally("~", want, time.Millisecond))
			// Within 1% of the rate over the run.
			bound := time.Duration(float64(time.Minute) * float64(tc.requests) / float64(tc.perMinute))
			g.Expect(s.grants[len(s.grants)-1].at.Sub(t0)).To(BeNumerically("<=", bound*101/100))
			for _, gr := range s.grants {
				g.Expect(gr.takes).To(BeNumerically("<=", 2),
					"%s came back once, at the time it was told, and was granted", gr.key)
			}
			g.Expect(s.order()[:3]).To(Equal([]string{"token-0000", "token-0001", "token-0002"}),
				"equal priorities are served first come, first served")
		})
	}
}

func TestNoDoubleBooking(t *testing.T) {
	g := NewWithT(t)
	b, clk, rec := newTestBudget(60) // one a second, no burst
	_, ok := b.Take(org, "ns/first", Expiring)
	g.Expect(ok).To(BeTrue(), "an idle org grants at once")

	atA, ok := b.Take(org, "ns/a", Expiring)
	g.Expect(ok).To(BeFalse())
	g.Expect(atA).To(Equal(t0.Add(time.Second)))
	again, ok := b.Take(org, "ns/a", Expiring)
	g.Expect(ok).To(BeFalse())
	g.Expect(again).To(Equal(atA), "asking again returns the same slot")

	atB, ok := b.Take(org, "ns/b", Expiring)
	g.Expect(ok).To(BeFalse())
	g.Expect(atB).To(Equal(atA.Add(time.Second)), "the next key gets the next slot, not a's")
	g.Expect(rec.waiting[org]).To(Equal(2), "two reservations, however often a asks")
	g.Expect(rec.waited[org+"/expiring"]).To(Equal(2), "a wait is counted once per request")

	clk.SetTime(atA.Add(-time.Millisecond))
	early, ok := b.Take(org, "ns/a", Expiring)
	g.Expect(ok).To(BeFalse(), "not before its slot")
	g.Expect(early).To(Equal(atA))

	clk.SetTime(atA)
	_, ok = b.Take(org, "ns/a", Expiring)
	g.Expect(ok).To(BeTrue(), "granted at its slot")
	g.Expect(rec.waiting[org]).To(Equal(1))
	next, ok := b.Take(org, "ns/a", Expiring)
	g.Expect(ok).To(BeFalse(), "a granted request is spent: a's next one is a new reservation")
	g.Expect(next).To(Equal(atB.Add(time.Second)), "behind b")
	b.Cancel(org, "ns/a")

	clk.SetTime(atB)
	_, ok = b.Take(org, "ns/b", Expiring)
	g.Expect(ok).To(BeTrue(), "b's slot was not given to a")
}

func TestCancel(t *testing.T) {
	g := NewWithT(t)
	b, clk, rec := newTestBudget(60)
	s := simulate(b, clk, org, request{key: "ns/first", prio: Expiring})
	s.run(t, t0)
	keys := []string{"ns/a", "ns/b", "ns/c"}
	slots := make([]time.Time, 0, len(keys))
	for _, key := range keys {
		at, ok := b.Take(org, key, Early)
		g.Expect(ok).To(BeFalse())
		slots = append(slots, at)
	}
	g.Expect(slots).To(Equal([]time.Time{t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(3 * time.Second)}))

	b.Cancel(org, "ns/b")
	b.Cancel(org, "ns/unknown")        // no reservation: nothing happens
	b.Cancel("other.okta.com", "ns/c") // another org's: nothing happens
	g.Expect(rec.waiting[org]).To(Equal(2))
	at, ok := b.Take(org, "ns/c", Early)
	g.Expect(ok).To(BeFalse())
	g.Expect(at).To(Equal(t0.Add(2*time.Second)), "c moves into b's slot")
	at, _ = b.Take(org, "ns/a", Early)
	g.Expect(at).To(Equal(t0.Add(time.Second)), "a keeps its own")
}

func TestPriorities(t *testing.T) {
	// One request a second and no burst; at t0 the first Manual request
	// takes the bucket and the others queue behind it.
	queued := requests("manual", 4, Manual, 0)
	tests := map[string]struct {
		later []request
		want  []string
	}{
		"a person overtakes queued manual renewals": {
			later: []request{{key: "person", prio: Person, offset: 500 * time.Millisecond}},
			want:  []string{"manual-0000", "person", "manual-0001", "manual-0002", "manual-0003"},
		},
		"an expiring token overtakes queued manual renewals": {
			later: []request{{key: "expiring", prio: Expiring, offset: 500 * time.Millisecond}},
			want:  []string{"manual-0000", "expiring", "manual-0001", "manual-0002", "manual-0003"},
		},
		"a person goes before an expiring token that came first": {
			later: []request{{key: "expiring", prio: Expiring, offset: 200 * time.Millisecond},
				{key: "person", prio: Person, offset: 700 * time.Millisecond}},
			want: []string{"manual-0000", "person", "expiring", "manual-0001", "manual-0002", "manual-0003"},
		},
		"expiring, then early, then manual": {
			later: []request{{key: "early", prio: Early, offset: 200 * time.Millisecond},
				{key: "expiring", prio: Expiring, offset: 700 * time.Millisecond}},
			want: []string{"manual-0000", "expiring", "early", "manual-0001", "manual-0002", "manual-0003"},
		},
		"a renewal that became urgent keeps its place in time and moves up": {
			later: []request{{key: "manual-0003", prio: Expiring, offset: 100 * time.Millisecond}},
			want:  []string{"manual-0000", "manual-0003", "manual-0001", "manual-0002"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			b, clk, _ := newTestBudget(60)
			s := simulate(b, clk, org, append(append([]request{}, queued...), tc.later...)...)
			s.run(t, t0.Add(time.Hour))
			g.Expect(s.order()).To(Equal(tc.want))
		})
	}
}

func TestStarvationFreedom(t *testing.T) {
	// Higher-priority requests arrive twice as fast as the org may be sent
	// them, for ten minutes; one lower-priority request arrives ten seconds
	// in. Each aging step it waits counts one level, so it goes after the
	// stream's requests that arrived less than (levels × step) after it,
	// and before the rest: it is served, and exactly when the rule says.
	const arrivalEvery = 500 * time.Millisecond
	tests := map[string]struct {
		stream, waiting Priority
		levels          int
	}{
		"manual under a stream of expiring tokens": {stream: Expiring, waiting: Manual, levels: 2},
		"early under a stream of expiring tokens":  {stream: Expiring, waiting: Early, levels: 1},
		"manual under a stream of early renewals":  {stream: Early, waiting: Manual, levels: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			b, clk, _ := newTestBudget(60)
			const streamed = 1200
			reqs := make([]request, 0, streamed+1)
			for i := range streamed {
				reqs = append(reqs, request{key: fmt.Sprintf("stream-%04d", i), prio: tc.stream,
					offset: time.Duration(i) * arrivalEvery})
			}
			// Between two of the stream's arrivals, so that none ties.
			arrived := 10*time.Second + arrivalEvery/2
			reqs = append(reqs, request{key: "waiting", prio: tc.waiting, offset: arrived})
			s := simulate(b, clk, org, reqs...)
			s.run(t, t0.Add(30*time.Minute))

			waited, ok := s.grantOf("waiting")
			g.Expect(ok).To(BeTrue(), "the lower-priority request is served")
			boundary := arrived + time.Duration(tc.levels)*DefaultAgingStep
			for i, key := range s.order() {
				if key == "waiting" {
					continue
				}
				var idx int
				_, _ = fmt.Sscanf(key, "stream-%d", &idx)
				arrival := time.Duration(idx) * arrivalEvery
				gr := s.grants[i]
				if arrival < boundary {
					g.Expect(gr.at).To(BeTemporally("<", waited.at), "%s arrived %s in, before the boundary", key, arrival)
				} else {
					g.Expect(gr.at).To(BeTemporally(">", waited.at), "%s arrived %s in, after the boundary", key, arrival)
				}
			}
			g.Expect(maxInWindow(s.grants, time.Minute)).To(BeNumerically("<=", 60))
		})
	}
}

func TestOrgsIndependent(t *testing.T) {
	g := NewWithT(t)
	b, clk, _ := newTestBudget(60)
	const busy, quiet = "busy.okta.com", "quiet.okta.com"
	for i := range 1000 {
		b.Take(busy, fmt.Sprintf("ns/busy-%04d", i), Expiring)
	}
	b.Observe(busy, http.StatusTooManyRequests, rateHeaders(60, 0, t0.Add(40*time.Second), t0))
	b.Observe(busy, http.StatusOK, rateHeaders(60, 1, t0.Add(40*time.Second), t0))

	for i := range 5 {
		clk.Step(time.Second)
		_, ok := b.Take(quiet, fmt.Sprintf("ns/quiet-%d", i), Manual)
		g.Expect(ok).To(BeTrue(), "a saturated, paused org does not delay another's requests")
	}
	at, ok := b.Take(busy, "ns/late", Person)
	g.Expect(ok).To(BeFalse())
	g.Expect(at).To(BeTemporally(">=", t0.Add(40*time.Second)), "the busy org is still paused")
}

func TestPerOrgRate(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(t0)
	b := New(Config{PerMinute: 60, PerOrg: map[string]int{"https://Enterprise.okta.com": 600}, Clock: clk})
	g.Expect(b.PerMinute("enterprise.okta.com")).To(Equal(600), "keyed like Org")
	g.Expect(b.PerMinute("free.okta.com")).To(Equal(60))
	for org, want := range map[string]int{"enterprise.okta.com": 600, "free.okta.com": 60} {
		s := simulate(b, clk, org, requests(org, 2*want, Expiring, 0)...)
		s.run(t, t0.Add(2*time.Minute))
		g.Expect(s.countBefore(t0.Add(time.Minute))).To(Equal(want), "%s: its own rate", org)
		clk.SetTime(t0)
	}
}
