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
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"k8s.io/utils/clock"
)

// Priority says how much a token request matters; higher goes first.
type Priority int

// The priorities, from lowest.
const (
	// Manual is a renewal asked for with the renew-requested-at annotation.
	Manual Priority = iota
	// Early is a renewal due by the schedule while the token is still
	// valid for a while.
	Early
	// Expiring is a first token, or a renewal of one that expires soon or
	// has expired: a workload is, or will shortly be, without a token.
	Expiring
	// Person is a callback's code exchange: someone is waiting in a browser.
	Person
)

func (p Priority) String() string {
	switch p {
	case Manual:
		return "manual"
	case Early:
		return "early"
	case Expiring:
		return "expiring"
	case Person:
		return "person"
	}
	return fmt.Sprintf("priority(%d)", int(p))
}

// Defaults of Config.
const (
	// DefaultPerMinute is a third of the smallest token-endpoint limit Okta
	// publishes (300 a minute, on its free plans; paid plans have 1,200 and
	// more): the rest is left to the org's other applications — people
	// signing in to their own apps spend the same bucket — and it stays
	// under the half of a bucket that Okta lets one app use by default, in
	// case every resource names the same app.
	DefaultPerMinute = 100
	// DefaultAgingStep is how long a request waits to rank one priority
	// level higher.
	DefaultAgingStep = time.Minute
)

const (
	// minGrace bounds from below how late a reservation may come back and
	// still hold back those behind it.
	minGrace = 100 * time.Millisecond
	// staleAfter is when a reservation that never came back is forgotten.
	staleAfter = 10 * time.Minute
	// waitKeyPrefix marks the reservations of Wait, which no resource key
	// can collide with.
	waitKeyPrefix = "\x00wait/"
)

// Config configures a Budget. Zero values get the defaults in their
// comments.
type Config struct {
	// PerMinute is the most token requests sent to one org in any 60
	// seconds; default DefaultPerMinute.
	PerMinute int
	// PerOrg overrides PerMinute for some orgs, keyed by Org: orgs on
	// different Okta plans have different limits.
	PerOrg map[string]int
	// AgingStep is how long a waiting request takes to rank one priority
	// level higher; default DefaultAgingStep.
	AgingStep time.Duration
	// Clock is the only source of time; Wait needs its timers. Default the
	// real clock.
	Clock clock.Clock
	// Recorder receives the budget's metrics; default none.
	Recorder Recorder
}

// Recorder receives what a Budget measures (internal/metrics implements it
// for Prometheus). It is called with an org's lock held and must not call
// back into the Budget.
type Recorder interface {
	// Remaining is the last X-Rate-Limit-Remaining the org answered.
	Remaining(org string, remaining int)
	// Waited counts a request that found no free slot and had to wait.
	Waited(org string, p Priority)
	// RateLimited counts a 429 from the org.
	RateLimited(org string)
	// Waiting is how many requests hold a reservation at the org.
	Waiting(org string, n int)
	// Pace is how many requests a minute the org may be sent now.
	Pace(org string, perMinute float64)
	// Forget drops what was recorded of an org no resource uses any more.
	Forget(org string)
}

type nopRecorder struct{}

func (nopRecorder) Remaining(string, int)   {}
func (nopRecorder) Waited(string, Priority) {}
func (nopRecorder) RateLimited(string)      {}
func (nopRecorder) Waiting(string, int)     {}
func (nopRecorder) Pace(string, float64)    {}
func (nopRecorder) Forget(string)           {}

// Budget paces the token requests to each org. It is safe for concurrent
// use; orgs do not wait on each other.
type Budget struct {
	perMinute int
	perOrg    map[string]int
	agingStep time.Duration
	clock     clock.Clock
	recorder  Recorder

	mu   sync.Mutex
	orgs map[string]*orgBudget

	waits atomic.Uint64
}

// New makes a Budget.
func New(cfg Config) *Budget {
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = DefaultPerMinute
	}
	if cfg.AgingStep <= 0 {
		cfg.AgingStep = DefaultAgingStep
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	perOrg := map[string]int{}
	for org, n := range cfg.PerOrg {
		if n > 0 {
			perOrg[Org(org)] = n
		}
	}
	return &Budget{perMinute: cfg.PerMinute, perOrg: perOrg, agingStep: cfg.AgingStep, clock: cfg.Clock,
		recorder: cfg.Recorder, orgs: map[string]*orgBudget{}}
}

// PerMinute is the configured rate of org.
func (b *Budget) PerMinute(org string) int {
	if n, ok := b.perOrg[org]; ok {
		return n
	}
	return b.perMinute
}

// Org is the budget key of an issuer or endpoint URL: its host, lower-case,
// with the scheme's default port left out. Every authorization server of an
// org has the org's host, so they share a budget.
func Org(rawURL string) string { return okta.OrgKey(rawURL) }

func (b *Budget) org(name string) *orgBudget {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orgs[name]
	if !ok {
		o = &orgBudget{name: name, perMinute: b.PerMinute(name), recorder: b.recorder,
			waiting: newReservations(b.agingStep)}
		b.orgs[name] = o
		interval, _ := o.basePace()
		o.recorder.Pace(name, float64(time.Minute)/float64(interval))
	}
	return o
}

// Take asks for a slot to send one token request to org on behalf of key
// (a resource, e.g. namespace/name). When the request may go now, Take
// consumes the slot and returns ok; the caller must send it. Otherwise key
// holds a reservation and Take returns when to call again; the caller
// requeues to then (Take never blocks). Calling Take again before that
// returns the same time unless requests of higher rank arrived meanwhile.
// p may change between calls (a token that was renewed early may now be
// expiring); the reservation keeps its place in time.
//
// Requests are fair between tenants: the tenant of key is its namespace
// (what comes before its "/"; the whole key when there is none).
func (b *Budget) Take(org, key string, p Priority) (at time.Time, ok bool) {
	o := b.org(org)
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.take(b.clock.Now(), key, tenantOf(key), p)
}

// tenantOf is the tenant of a resource key, namespace/name.
func tenantOf(key string) string {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return key
	}
	return ns
}

// Forget drops everything the budget holds of org, and its metrics: no
// resource uses it any more. A request to it later starts afresh.
func (b *Budget) Forget(org string) {
	b.mu.Lock()
	_, ok := b.orgs[org]
	delete(b.orgs, org)
	b.mu.Unlock()
	if ok {
		b.recorder.Forget(org)
	}
}

// Orgs are the orgs the budget holds state for.
func (b *Budget) Orgs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.orgs))
}

// Cancel drops key's reservation at org, if it has one: the resource was
// deleted, or its token is no longer due.
func (b *Budget) Cancel(org, key string) {
	o := b.org(org)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waiting.drop(key) {
		o.recorder.Waiting(o.name, o.waiting.len())
	}
}

// Wait blocks until a request to org may be sent, for callers that cannot
// requeue (the callback, where a person waits for the answer). It returns
// ctx's error, wrapped, if ctx ends first; the slot is then not spent.
// tenant is who the request is for, as Take's keys name it (a namespace).
func (b *Budget) Wait(ctx context.Context, org, tenant string, p Priority) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for a token request slot at %s: %w", org, err)
	}
	key := fmt.Sprintf("%s%d", waitKeyPrefix, b.waits.Add(1))
	o := b.org(org)
	for {
		o.mu.Lock()
		at, ok := o.take(b.clock.Now(), key, tenant, p)
		o.mu.Unlock()
		if ok {
			return nil
		}
		timer := b.clock.NewTimer(at.Sub(b.clock.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			b.Cancel(org, key)
			return fmt.Errorf("waiting for a token request slot at %s: %w", org, ctx.Err())
		case <-timer.C():
		}
	}
}

// orgBudget is one org's pacing and reservations. Every field is guarded
// by mu.
type orgBudget struct {
	mu        sync.Mutex
	name      string
	perMinute int
	recorder  Recorder

	// tat is the bucket's theoretical arrival time (GCRA): the bucket holds
	// a request for every interval by which now+tau passes it.
	tat time.Time
	// pausedUntil is when a 429, or a window with nothing left, ends.
	pausedUntil time.Time
	// limit is the last X-Rate-Limit-Limit seen; 0 before any.
	limit int
	// slowInterval spreads what is left of Okta's window until slowUntil,
	// its reset.
	slowInterval time.Duration
	slowUntil    time.Time
	// window is the latest rate-limit window seen: its reset (Okta's Unix
	// seconds) and the least Remaining it reported.
	windowReset     int64
	windowRemaining int
	// inFlight counts requests sent and not yet answered (Observer).
	inFlight int

	waiting *reservations
}

// rate is the requests per minute allowed, before any slowdown.
func (o *orgBudget) rate() int {
	r := o.perMinute
	if o.limit > 0 && o.limit < r {
		r = o.limit
	}
	return r
}

// pace is the interval between requests and the burst at now. The burst is
// 1% of the rate, and the interval is widened by as much, so that no 60
// seconds hold more than the rate whatever the burst did.
func (o *orgBudget) pace(now time.Time) (interval time.Duration, burst int) {
	interval, burst = o.basePace()
	if now.Before(o.slowUntil) && o.slowInterval > interval {
		return o.slowInterval, 1
	}
	return interval, burst
}

// basePace is pace without the slowdown that Okta's headers ask for.
func (o *orgBudget) basePace() (interval time.Duration, burst int) {
	r := o.rate()
	extra := r / 100
	// Rounded up: 99 intervals of a rate of 100 must not fall short of a
	// minute by a nanosecond.
	n := time.Duration(r - extra)
	return (time.Minute + n - 1) / n, 1 + extra
}

// available is how many requests the bucket holds at now.
func (o *orgBudget) available(now time.Time, interval time.Duration, burst int) int {
	if now.Before(o.pausedUntil) {
		return 0
	}
	if !o.tat.After(now) {
		return burst
	}
	tau := time.Duration(burst-1) * interval
	d := now.Sub(o.tat) + tau
	if d < 0 {
		return 0
	}
	return min(int(d/interval)+1, burst)
}

// grant spends one request of the bucket.
func (o *orgBudget) grant(now time.Time, interval time.Duration) {
	o.tat = later(o.tat, now).Add(interval)
}

func (o *orgBudget) take(now time.Time, key, tenant string, p Priority) (time.Time, bool) {
	interval, burst := o.pace(now)
	// A request whose time passed more than grace ago is late or gone, and
	// does not hold back those behind it until it comes back.
	o.waiting.park(now, max(2*interval, minGrace))
	r, isNew := o.waiting.join(now, key, tenant, p, interval)
	before := o.waiting.place(r)

	avail := o.available(now, interval, burst)
	if avail > before {
		o.grant(now, interval)
		o.waiting.drop(key)
		o.recorder.Waiting(o.name, o.waiting.len())
		return now, true
	}

	// The bucket must first hold a request for each of those ahead. As
	// they spend theirs on time, this one's comes before intervals after
	// the bucket's next; when the bucket is already full, those ahead have
	// to make room first.
	var at time.Time
	if avail == burst {
		at = o.nthSlot(now, before+1-burst)
	} else {
		tau := time.Duration(burst-1) * interval
		at = o.nthSlot(o.tat.Add(-tau), before)
	}
	at = later(at, o.pausedUntil)
	o.waiting.promise(r, at)
	if isNew {
		o.recorder.Waited(o.name, p)
	}
	o.recorder.Waiting(o.name, o.waiting.len())
	return at, false
}

// nthSlot is when the bucket, whose next request is at start, has its
// n-th after that: at the slower pace until the window that asked for it
// resets, at the configured pace after. (A promise made while the org is
// slowed must not keep a request waiting at that pace after the reset.)
func (o *orgBudget) nthSlot(start time.Time, n int) time.Time {
	base, _ := o.basePace()
	if start.Before(o.slowUntil) && o.slowInterval > base {
		fit := int((o.slowUntil.Sub(start) + o.slowInterval - 1) / o.slowInterval)
		if n < fit {
			return start.Add(time.Duration(n) * o.slowInterval)
		}
		start = later(start.Add(time.Duration(fit)*o.slowInterval), o.slowUntil)
		n -= fit
	}
	return start.Add(time.Duration(n) * base)
}

// pause stops the org's requests until until: every reservation moves after
// it, and the first request then has the bucket to itself.
func (o *orgBudget) pause(now, until time.Time) {
	if !until.After(now) {
		return
	}
	o.pausedUntil = later(o.pausedUntil, until)
	interval, burst := o.pace(until)
	o.tat = later(o.tat, until.Add(time.Duration(burst-1)*interval))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

type tenantContext struct{}

// WithTenant records in ctx who the requests sent with it are for (a
// namespace), for a request that must wait for its slot deep in a
// transport (a DPoP nonce retry): see TenantFrom.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantContext{}, tenant)
}

// TenantFrom is the tenant WithTenant recorded, "" when none.
func TenantFrom(ctx context.Context) string {
	t, _ := ctx.Value(tenantContext{}).(string)
	return t
}
