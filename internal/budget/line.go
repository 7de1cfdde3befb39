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

// The reservations of one org. A fresh install puts thousands of them in
// one org at once, and each comes back to Take at least once, so finding
// how many go before one must not cost a pass over all of them: the line
// keeps the expected ones in service order (a request's place is its
// index), a heap by promised time finds those that did not come back, and
// those are parked outside the line until they do.

import (
	"container/heap"
	"slices"
	"time"
)

// reservation is a request waiting for a slot.
type reservation struct {
	key   string
	prio  Priority
	since time.Time
	// tenant is who the request is for (a namespace): its requests are
	// spaced in virtual time, so one tenant cannot crowd out the others.
	tenant string
	// tag is the request's place in virtual time (VirtualClock fair
	// queueing): when it started waiting, or, when its tenant already has
	// requests in line, one interval after the tenant's last one.
	tag time.Time
	// seq orders requests that started waiting at the same moment.
	seq uint64
	// at is the time the request was last told to come back.
	at time.Time
	// parked is set while the request is late: it is out of the line.
	parked bool
	// dueIndex is its place in the due heap while in the line.
	dueIndex int
}

// ahead says whether a is served before b.
func ahead(a, b *reservation, agingStep time.Duration) bool {
	va, vb := a.virtualArrival(agingStep), b.virtualArrival(agingStep)
	if !va.Equal(vb) {
		return va.Before(vb)
	}
	return a.seq < b.seq
}

// virtualArrival is the request's tag, brought forward by an aging step
// per priority level above Manual: a person's sign-in three steps, an
// expiring token two, an early renewal one. A request that waited one step
// longer ranks with those one level above it; and since a tenant's tags are
// spaced by the org's interval, its requests go before another tenant's of
// the next lower level only as far as its share allows.
func (r *reservation) virtualArrival(agingStep time.Duration) time.Time {
	return r.tag.Add(-time.Duration(r.prio) * agingStep)
}

// reservations are an org's waiting requests.
type reservations struct {
	agingStep time.Duration
	all       map[string]*reservation
	// line holds the expected requests in service order.
	line []*reservation
	// due orders the line by promised time, earliest first.
	due dueHeap
	// parked holds the late ones.
	parked    map[string]*reservation
	lastSweep time.Time
	seq       uint64
	// lastTag is each tenant's latest tag.
	lastTag map[string]time.Time
}

func newReservations(agingStep time.Duration) *reservations {
	return &reservations{agingStep: agingStep, all: map[string]*reservation{}, parked: map[string]*reservation{},
		lastTag: map[string]time.Time{}}
}

// nextTag is the tag of tenant's next request at now: now, or one interval
// after its last tag when that is later (VirtualClock: each tenant's
// requests are spaced by the org's interval, so a tenant alone gets the
// whole rate, and tenants that all have requests waiting take turns).
func (rs *reservations) nextTag(tenant string, now time.Time, interval time.Duration) time.Time {
	tag := now
	if last, ok := rs.lastTag[tenant]; ok && last.Add(interval).After(tag) {
		tag = last.Add(interval)
	}
	rs.lastTag[tenant] = tag
	return tag
}

func (rs *reservations) len() int { return len(rs.all) }

// place is r's index in the line, or where it would go: the first index
// whose request is not ahead of r, found by binary search.
func (rs *reservations) place(r *reservation) int {
	i, _ := slices.BinarySearchFunc(rs.line, r, func(e, target *reservation) int {
		if ahead(e, target, rs.agingStep) {
			return -1
		}
		return 1
	})
	return i
}

func (rs *reservations) enter(r *reservation) {
	r.parked = false
	rs.line = slices.Insert(rs.line, rs.place(r), r)
	heap.Push(&rs.due, r)
}

func (rs *reservations) leave(r *reservation) {
	if r.parked {
		delete(rs.parked, r.key)
		return
	}
	if i := rs.place(r); i < len(rs.line) && rs.line[i] == r {
		rs.line = slices.Delete(rs.line, i, i+1)
	}
	heap.Remove(&rs.due, r.dueIndex)
}

// park takes out of the line the requests whose time passed more than
// grace ago, and forgets those late by more than staleAfter (looked for at
// most once a minute).
func (rs *reservations) park(now time.Time, grace time.Duration) {
	for len(rs.due) > 0 && now.Sub(rs.due[0].at) > grace {
		r := rs.due[0]
		rs.leave(r)
		r.parked = true
		rs.parked[r.key] = r
	}
	if now.Sub(rs.lastSweep) < time.Minute {
		return
	}
	rs.lastSweep = now
	for key, r := range rs.parked {
		if now.Sub(r.at) > staleAfter {
			delete(rs.parked, key)
			delete(rs.all, key)
		}
	}
	// A tenant whose last tag has passed starts again from now anyway.
	for tenant, tag := range rs.lastTag {
		if tag.Before(now) {
			delete(rs.lastTag, tenant)
		}
	}
}

// join returns key's reservation with priority p, in the line: a new one
// (since now), or the one it has, back from parking or moved to p's place.
// isNew says which.
func (rs *reservations) join(now time.Time, key, tenant string, p Priority, interval time.Duration) (r *reservation, isNew bool) {
	r, ok := rs.all[key]
	if !ok {
		rs.seq++
		r = &reservation{key: key, prio: p, since: now, seq: rs.seq, at: now, tenant: tenant,
			tag: rs.nextTag(tenant, now, interval)}
		rs.all[key] = r
		rs.enter(r)
		return r, true
	}
	if r.parked || r.prio != p {
		rs.leave(r)
		r.prio = p
		rs.enter(r)
	}
	return r, false
}

// promise records when r was told to come back.
func (rs *reservations) promise(r *reservation, at time.Time) {
	r.at = at
	heap.Fix(&rs.due, r.dueIndex)
}

func (rs *reservations) drop(key string) bool {
	r, ok := rs.all[key]
	if !ok {
		return false
	}
	rs.leave(r)
	delete(rs.all, key)
	return true
}

// dueHeap is a heap of reservations by promised time.
type dueHeap []*reservation

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].key < h[j].key
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].dueIndex, h[j].dueIndex = i, j
}
func (h *dueHeap) Push(x any) {
	r := x.(*reservation)
	r.dueIndex = len(*h)
	*h = append(*h, r)
}
func (h *dueHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.dueIndex = -1
	return r
}
