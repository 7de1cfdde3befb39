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
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// t0 is the tests' start: mid-minute, like most moments.
var t0 = time.Date(2026, 3, 2, 9, 30, 20, 0, time.UTC)

const org = "dev-123456.okta.com"

// testRecorder keeps what a Budget reports.
type testRecorder struct {
	mu          sync.Mutex
	remaining   map[string]int
	waited      map[string]int
	rateLimited map[string]int
	waiting     map[string]int
	pace        map[string]float64
}

func newTestRecorder() *testRecorder {
	return &testRecorder{remaining: map[string]int{}, waited: map[string]int{}, rateLimited: map[string]int{},
		waiting: map[string]int{}, pace: map[string]float64{}}
}

func (r *testRecorder) Remaining(org string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remaining[org] = n
}

func (r *testRecorder) Waited(org string, p Priority) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waited[org+"/"+p.String()]++
}

func (r *testRecorder) RateLimited(org string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rateLimited[org]++
}

func (r *testRecorder) Waiting(org string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting[org] = n
}

func (r *testRecorder) Forget(org string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pace, org)
	delete(r.remaining, org)
	delete(r.waiting, org)
}

func (r *testRecorder) Pace(org string, perMinute float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pace[org] = perMinute
}

func newTestBudget(perMinute int) (*Budget, *clocktesting.FakeClock, *testRecorder) {
	clk := clocktesting.NewFakeClock(t0)
	rec := newTestRecorder()
	return New(Config{PerMinute: perMinute, Clock: clk, Recorder: rec}), clk, rec
}

// request is a reconcile that needs one token request: it arrives at
// offset from t0 and calls Take until it is granted, each time at the
// moment Take told it to come back.
type request struct {
	key    string
	prio   Priority
	offset time.Duration
}

// grant is a request granted, and how many Takes it made.
type grant struct {
	key   string
	at    time.Time
	takes int
}

// event is a request's next call to Take.
type event struct {
	at    time.Time
	seq   int
	req   request
	takes int
}

// simulation drives requests through a Budget on its fake clock, as a
// work queue that requeues to the time Take names would.
type simulation struct {
	b   *Budget
	clk *clocktesting.FakeClock
	org string
	seq int

	events    []event
	scheduled map[string]event
	grants    []grant
	// onGrant, when set, may add requests as each is granted.
	onGrant func(g grant, s *simulation)
}

func simulate(b *Budget, clk *clocktesting.FakeClock, org string, requests ...request) *simulation {
	s := &simulation{b: b, clk: clk, org: org, scheduled: map[string]event{}}
	for _, r := range requests {
		s.add(clk.Now().Add(r.offset), r, 0)
	}
	return s
}

// add schedules r's next Take. Like a work queue, it holds a key once: a
// key already scheduled keeps the earlier time and takes the newer
// priority (the latest reconcile decides how urgent the token is).
func (s *simulation) add(at time.Time, r request, takes int) {
	if old, ok := s.scheduled[r.key]; ok {
		i, _ := slices.BinarySearchFunc(s.events, old, compareEvents)
		s.events = slices.Delete(s.events, i, i+1)
		if old.at.Before(at) {
			at = old.at
		}
		takes = old.takes
	}
	s.seq++
	e := event{at: at, seq: s.seq, req: r, takes: takes}
	i, _ := slices.BinarySearchFunc(s.events, e, compareEvents)
	s.events = slices.Insert(s.events, i, e)
	s.scheduled[r.key] = e
}

func compareEvents(a, b event) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return a.seq - b.seq
}

// run processes events up to and including until, or until none is left.
func (s *simulation) run(t *testing.T, until time.Time) {
	t.Helper()
	for len(s.events) > 0 && !s.events[0].at.After(until) {
		e := s.events[0]
		s.events = s.events[1:]
		delete(s.scheduled, e.req.key)
		if e.at.After(s.clk.Now()) {
			s.clk.SetTime(e.at)
		}
		at, ok := s.b.Take(s.org, e.req.key, e.req.prio)
		e.takes++
		if ok {
			if !at.Equal(s.clk.Now()) {
				t.Fatalf("%s granted at %s, but the clock says %s", e.req.key, at, s.clk.Now())
			}
			g := grant{key: e.req.key, at: at, takes: e.takes}
			s.grants = append(s.grants, g)
			if s.onGrant != nil {
				s.onGrant(g, s)
			}
			continue
		}
		if !at.After(s.clk.Now()) {
			t.Fatalf("%s refused at %s and told to come back at %s, not later", e.req.key, s.clk.Now(), at)
		}
		if e.takes > 1000 {
			t.Fatalf("%s has called Take %d times", e.req.key, e.takes)
		}
		s.add(at, e.req, e.takes)
	}
}

func (s *simulation) order() []string {
	out := make([]string, 0, len(s.grants))
	for _, g := range s.grants {
		out = append(out, g.key)
	}
	return out
}

func (s *simulation) grantOf(key string) (grant, bool) {
	for _, g := range s.grants {
		if g.key == key {
			return g, true
		}
	}
	return grant{}, false
}

// countBefore is how many grants came before t.
func (s *simulation) countBefore(t time.Time) int {
	n := 0
	for _, g := range s.grants {
		if g.at.Before(t) {
			n++
		}
	}
	return n
}

// maxInWindow is the most grants in any window [t, t+span); grants are in
// time order.
func maxInWindow(grants []grant, span time.Duration) int {
	best, j := 0, 0
	for i := range grants {
		for j < len(grants) && grants[j].at.Before(grants[i].at.Add(span)) {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

func requests(prefix string, n int, p Priority, offset time.Duration) []request {
	out := make([]request, n)
	for i := range out {
		out[i] = request{key: fmt.Sprintf("%s-%04d", prefix, i), prio: p, offset: offset}
	}
	return out
}

// rateHeaders are an Okta answer's rate-limit headers, with Okta's clock
// at oktaNow.
func rateHeaders(limit, remaining int, reset, oktaNow time.Time) http.Header {
	h := http.Header{}
	h.Set(HeaderLimit, strconv.Itoa(limit))
	h.Set(HeaderRemaining, strconv.Itoa(remaining))
	h.Set(HeaderReset, strconv.FormatInt(reset.Unix(), 10))
	h.Set("Date", oktaNow.UTC().Format(http.TimeFormat))
	return h
}

// interval is the spacing of a rate's requests, burst its burst (see
// pace).
func interval(perMinute int) time.Duration {
	n := time.Duration(perMinute - perMinute/100)
	return (time.Minute + n - 1) / n
}

func burst(perMinute int) int { return 1 + perMinute/100 }
