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

package controllers

// What the reconciler keeps in memory. Everything that must survive a
// restart lives in the resource's status, its token Secret or its state
// Secret; what is here is a cache, and losing it (a restart, a new leader)
// costs at most one extra pass or one backoff served in full, never a wrong
// decision.

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// Kinds in the write ledger.
const (
	kindToken  = "OktaScopedToken"
	kindSecret = "Secret"
)

// writeLedger remembers the resourceVersion of each object this process
// wrote, so the watch event its own write causes does not cost a pass.
// Measured (make bench, N = 1,000, against a manager built with -tags
// nowriteledger): 1.00 reconcile per new token with it, 2.00 without,
// the same writes and GETs either way; at this N the extra passes cost no
// time a two-core machine can tell apart (the API server is the bound), but
// they double the work per token the CI benchmark asserts. The
// event may arrive before the write's answer: while a write is in flight,
// the events of its object are held back, and when the answer shows one of
// them was someone else's, the writing pass asks for another. When the
// ledger is lost, an event of the operator's own costs one pass that finds
// nothing to do.
type writeLedger struct {
	mu       sync.Mutex
	rv       map[ledgerKey]string
	inflight map[ledgerKey]int
	held     map[ledgerKey][]string
}

type ledgerKey struct {
	kind string
	types.NamespacedName
}

func keyOf(kind string, o client.Object) ledgerKey {
	return ledgerKey{kind: kind, NamespacedName: client.ObjectKeyFromObject(o)}
}

func (l *writeLedger) init() {
	if l.rv == nil {
		l.rv, l.inflight, l.held = map[ledgerKey]string{}, map[ledgerKey]int{}, map[ledgerKey][]string{}
	}
}

// begin marks a write of o as in flight.
func (l *writeLedger) begin(kind string, o client.Object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.inflight[keyOf(kind, o)]++
}

// end records the write's answer (o as written, or err). It reports whether
// an event held back during the write was not this write's: that one still
// needs a pass.
func (l *writeLedger) end(kind string, o client.Object, err error) (missed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := keyOf(kind, o)
	if l.inflight[k]--; l.inflight[k] <= 0 {
		delete(l.inflight, k)
	}
	if err == nil {
		l.rv[k] = o.GetResourceVersion()
	}
	for _, rv := range l.held[k] {
		missed = missed || err != nil || rv != o.GetResourceVersion()
	}
	delete(l.held, k)
	return missed
}

// ownEvent says whether o, as an event delivers it, is this process's own
// last write (or arrived while a write of it was in flight). The entry
// stays — several handlers may ask about one event — until someone else's
// write is seen or the object is deleted.
func (l *writeLedger) ownEvent(kind string, o client.Object) bool {
	if !writeLedgerEnabled {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	k := keyOf(kind, o)
	if l.inflight[k] > 0 {
		l.held[k] = append(l.held[k], o.GetResourceVersion())
		return true
	}
	rv, ok := l.rv[k]
	if !ok {
		return false
	}
	if rv == o.GetResourceVersion() {
		return true
	}
	delete(l.rv, k)
	return false
}

// forget drops what is known of a deleted object.
func (l *writeLedger) forget(kind string, o client.Object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.rv, keyOf(kind, o))
}

// keyed is a map from resource to V, safe for concurrent use.
type keyed[V any] struct {
	mu sync.Mutex
	m  map[types.NamespacedName]V
}

func (k *keyed[V]) load(key types.NamespacedName) (V, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok
}

func (k *keyed[V]) store(key types.NamespacedName, v V) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[types.NamespacedName]V{}
	}
	k.m[key] = v
}

// replaceIf stores v under key only while the entry there is one still
// accepts.
func (k *keyed[V]) replaceIf(key types.NamespacedName, v V, still func(V) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.m[key]; ok && still(old) {
		k.m[key] = v
	}
}

func (k *keyed[V]) delete(key types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
}

// orgUse counts the resources that use each Okta org (budget.Org of their
// oktaDomain), so that what the operator keeps per org — a budget and its
// metric series, cached metadata and key sets, DPoP nonces — goes when the
// last of them does (ForgetOrg). Lost with the process, it is rebuilt as
// each resource has its first pass.
type orgUse struct {
	mu    sync.Mutex
	byKey map[types.NamespacedName]string
	count map[string]int
}

// use records that key uses org; it returns the org key used before when
// no resource uses that one any more ("" otherwise).
func (u *orgUse) use(key types.NamespacedName, org string) (unused string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byKey == nil {
		u.byKey, u.count = map[types.NamespacedName]string{}, map[string]int{}
	}
	old, had := u.byKey[key]
	if had && old == org {
		return ""
	}
	u.byKey[key] = org
	u.count[org]++
	if had {
		return u.drop(old)
	}
	return ""
}

// release records that key is gone; it returns its org when no resource
// uses it any more.
func (u *orgUse) release(key types.NamespacedName) (unused string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	org, ok := u.byKey[key]
	if !ok {
		return ""
	}
	delete(u.byKey, key)
	return u.drop(org)
}

func (u *orgUse) drop(org string) string {
	if u.count[org]--; u.count[org] > 0 {
		return ""
	}
	delete(u.count, org)
	return org
}

// used says whether a resource uses org.
func (u *orgUse) used(org string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count[org] > 0
}

// memory is everything the reconciler holds between passes.
type memory struct {
	writes writeLedger
	orgs   orgUse
	// unpersisted holds tokens Okta issued whose state-Secret write failed,
	// so the write is retried from memory while Okta's grace period still
	// honours the refresh token it replaced. Lost with the process, the
	// next manager refreshes with the stored (replaced) refresh token,
	// which Okta accepts within its grace period.
	unpersisted keyed[*state.Grant]
	// failedWith is the version of the credentials Secret the last failed
	// request was made with. When the Secret has changed since, the backoff
	// the failure earned is skipped so a fix is tried at once. Lost, the
	// backoff (kept in status) is served in full.
	failedWith keyed[string]
	// statusWritten is the last status this process patched onto a
	// resource, with the resourceVersion it was patched onto: a pass that
	// reads the resource at that version from a cache that has not seen the
	// patch yet works from the status it wrote instead, and does not count,
	// announce or patch the same thing twice. Lost, such a pass repeats one
	// patch.
	statusWritten keyed[writtenStatus]
}

type writtenStatus struct {
	onto   string
	status *v1.OktaScopedTokenStatus
}

// freshStatus replaces obj's status with the one this process wrote last
// when obj was read from a cache behind that write.
func (m *memory) freshStatus(obj *v1.OktaScopedToken) {
	key := client.ObjectKeyFromObject(obj)
	w, ok := m.statusWritten.load(key)
	if !ok {
		return
	}
	if w.onto == obj.ResourceVersion {
		obj.Status = *w.status.DeepCopy()
		return
	}
	m.statusWritten.delete(key)
}

// cacheCaughtUp drops the status written onto another version than the one
// an event delivers: the cache, updated before its events are, has moved
// past the write, so nothing needs to stand in for it (without this, each
// resource kept its last status here until its next pass: 7.6 MB at
// 10,000 resources).
func (m *memory) cacheCaughtUp(obj client.Object) {
	key := client.ObjectKeyFromObject(obj)
	if w, ok := m.statusWritten.load(key); ok && w.onto != obj.GetResourceVersion() {
		m.statusWritten.delete(key)
	}
}

// forget drops everything held for a resource that is gone.
func (m *memory) forget(key types.NamespacedName) {
	m.unpersisted.delete(key)
	m.failedWith.delete(key)
	m.statusWritten.delete(key)
}
