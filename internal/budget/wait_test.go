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
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// queueManual spends the bucket of a 60-a-minute org and queues n Manual
// reservations behind it, one per second from t0+1s.
func queueManual(t *testing.T, b *Budget, n int) {
	t.Helper()
	if _, ok := b.Take(org, "first", Manual); !ok {
		t.Fatal("an idle org refused a request")
	}
	for i := range n {
		if at, ok := b.Take(org, fmt.Sprintf("manual-%d", i), Manual); ok || !at.Equal(t0.Add(time.Duration(i+1)*time.Second)) {
			t.Fatalf("manual-%d: at %s, ok %v", i, at, ok)
		}
	}
}

func TestWaitServesAPersonFirst(t *testing.T) {
	g := NewWithT(t)
	b, clk, rec := newTestBudget(60)
	queueManual(t, b, 10)

	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background(), org, "ns", Person) }()
	g.Eventually(clk.HasWaiters).Should(BeTrue(), "Wait is waiting for its slot")
	g.Expect(done).NotTo(Receive(), "not before the bucket has room")
	clk.Step(time.Second)
	g.Eventually(done).Should(Receive(BeNil()), "granted at the first slot, ahead of ten queued renewals")
	g.Expect(rec.waited[org+"/person"]).To(Equal(1))

	at, ok := b.Take(org, "manual-0", Manual)
	g.Expect(ok).To(BeFalse(), "the first queued renewal lost its slot to the person")
	g.Expect(at).To(Equal(t0.Add(2 * time.Second)))
}

func TestWaitWithAnEndedContext(t *testing.T) {
	t.Run("ended before", func(t *testing.T) {
		g := NewWithT(t)
		b, _, rec := newTestBudget(60)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := b.Wait(ctx, org, "ns", Person)
		g.Expect(errors.Is(err, context.Canceled)).To(BeTrue(), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring(org))
		_, ok := b.Take(org, "next", Manual)
		g.Expect(ok).To(BeTrue(), "the slot was not spent")
		g.Expect(rec.waiting[org]).To(BeZero())
	})
	t.Run("ended while waiting", func(t *testing.T) {
		g := NewWithT(t)
		b, clk, rec := newTestBudget(60)
		queueManual(t, b, 3)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Wait(ctx, org, "ns", Person) }()
		g.Eventually(clk.HasWaiters).Should(BeTrue())
		g.Eventually(func() int { return rec.snapshotWaiting(org) }).Should(Equal(4), "three renewals and the person")
		cancel()
		var err error
		g.Eventually(done).Should(Receive(&err))
		g.Expect(errors.Is(err, context.Canceled)).To(BeTrue(), "%v", err)
		g.Expect(rec.snapshotWaiting(org)).To(Equal(3), "its reservation is dropped")

		clk.SetTime(t0.Add(time.Second))
		_, ok := b.Take(org, "manual-0", Manual)
		g.Expect(ok).To(BeTrue(), "the renewal it had overtaken has its slot back")
	})
}

func (r *testRecorder) snapshotWaiting(org string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waiting[org]
}

// TestConcurrentUse has reconciles, callbacks and answers from Okta use a
// Budget at once, on two orgs, while the clock moves; run it with -race.
// However they interleave, no request is granted twice, every one not
// cancelled is granted, and no minute holds more than the rate.
func TestConcurrentUse(t *testing.T) {
	g := NewWithT(t)
	const (
		perMinute = 120
		perOrg    = 150
	)
	b, clk, _ := newTestBudget(perMinute)
	orgs := []string{"a.okta.com", "b.okta.com"}

	var (
		mu        sync.Mutex
		granted   = map[string][]time.Time{}
		cancelled int
	)
	var requests sync.WaitGroup
	// Reconciles: each takes, requeues on the fake clock to the time it is
	// told, and sometimes gives up (the resource was deleted).
	for i := range 2 * perOrg {
		requests.Go(func() {
			org, key := orgs[i%2], fmt.Sprintf("ns/token-%d", i)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for {
				at, ok := b.Take(org, key, Priority(rng.IntN(3)))
				if ok {
					mu.Lock()
					granted[org] = append(granted[org], at)
					granted[key] = append(granted[key], at)
					mu.Unlock()
					return
				}
				if rng.IntN(40) == 0 {
					b.Cancel(org, key)
					mu.Lock()
					cancelled++
					mu.Unlock()
					return
				}
				if rng.IntN(5) == 0 {
					now := clk.Now()
					b.Observe(org, http.StatusOK, rateHeaders(perMinute, 60+rng.IntN(60), now.Truncate(time.Minute).Add(time.Minute), now))
				}
				<-clk.NewTimer(at.Sub(clk.Now())).C()
			}
		})
	}
	// Callbacks: people signing in.
	var people atomic.Int64
	for i := range 10 {
		requests.Go(func() {
			if err := b.Wait(context.Background(), orgs[i%2], "ns", Person); err == nil {
				people.Add(1)
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		requests.Wait()
		close(finished)
	}()
	for stepping := true; stepping; {
		select {
		case <-finished:
			stepping = false
		default:
			clk.Step(50 * time.Millisecond)
			runtime.Gosched()
		}
	}

	mu.Lock()
	defer mu.Unlock()
	total := 0
	for key, times := range granted {
		if slices.Contains(orgs, key) {
			slices.SortFunc(times, time.Time.Compare)
			grants := make([]grant, len(times))
			for i, at := range times {
				grants[i].at = at
			}
			g.Expect(maxInWindow(grants, time.Minute)).To(BeNumerically("<=", perMinute), "org %s", key)
			continue
		}
		g.Expect(times).To(HaveLen(1), "%s granted once", key)
		total++
	}
	g.Expect(total+cancelled).To(Equal(2*perOrg), "every request not cancelled was granted")
	g.Expect(people.Load()).To(BeEquivalentTo(10))
}
