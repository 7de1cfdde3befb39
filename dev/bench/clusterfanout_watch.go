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

package bench

// copyWatch follows a cluster token's copies through an informer of the
// benchmark's own, on Secrets labelled as copies: which token each
// selected namespace's copy holds, when the last of them came to hold a
// new one, and how many changes it saw (each write that changed a copy is
// one event with a new resourceVersion; a write that changed nothing is
// not, which is why the writes themselves are counted by the proxy).

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

type copyWatch struct {
	secretName string
	targets    map[string]bool
	clock      clock.Clock // times the copies' arrival and the wait for them
	informerRun

	mu sync.Mutex
	// tokens and versions are each selected namespace's copy: its access
	// token and resourceVersion.
	tokens, versions map[string]string
	// changes counts the copies' events with a new resourceVersion.
	changes int
	// strays are namespaces outside the selection that hold a copy.
	strays map[string]bool
	// old is the token the current wait is for copies to leave behind ("":
	// any token will do), fresh how many copies hold another; arrived is
	// closed, and at set, when all do.
	old     string
	fresh   int
	arrived chan struct{}
	at      time.Time
}

// watchCopies starts an informer on the copies named secretName with cfg
// (whose requests the caller counts) and returns once it has synced.
func watchCopies(ctx context.Context, clk clock.Clock, cfg *rest.Config, secretName string, targets []string) (*copyWatch, error) {
	copies, err := labels.NewRequirement(v1.LabelClusterToken, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	c, err := cache.New(cfg, cache.Options{Scheme: scheme.Scheme, DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: labels.NewSelector().Add(*copies)}}})
	if err != nil {
		return nil, fmt.Errorf("creating the benchmark's cache of copies: %w", err)
	}
	inf, err := c.GetInformer(ctx, &corev1.Secret{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("watching the copies: %w", err)
	}
	w := &copyWatch{secretName: secretName, targets: map[string]bool{}, clock: clk,
		tokens: map[string]string{}, versions: map[string]string{}, strays: map[string]bool{}, arrived: make(chan struct{})}
	for _, ns := range targets {
		w.targets[ns] = true
	}
	if w.informerRun, err = runInformer(ctx, c, inf, w.observe, w.forget); err != nil {
		return nil, fmt.Errorf("the copies: %w", err)
	}
	return w, nil
}

func (w *copyWatch) observe(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok || s.Name != w.secretName {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.targets[s.Namespace] {
		w.strays[s.Namespace] = true
		return
	}
	if w.versions[s.Namespace] == s.ResourceVersion {
		return
	}
	w.versions[s.Namespace] = s.ResourceVersion
	w.changes++
	w.setToken(s.Namespace, string(s.Data[v1.TokenSecretAccessToken]))
}

func (w *copyWatch) forget(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*corev1.Secret)
	if !ok || s.Name != w.secretName {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.strays, s.Namespace)
	if w.targets[s.Namespace] {
		delete(w.versions, s.Namespace)
		w.setToken(s.Namespace, "")
	}
}

// setToken records ns's copy's token ("" for none); w.mu is held.
func (w *copyWatch) setToken(ns, token string) {
	was := w.isFresh(w.tokens[ns])
	if token == "" {
		delete(w.tokens, ns)
	} else {
		w.tokens[ns] = token
	}
	switch now := w.isFresh(token); {
	case now && !was:
		w.fresh++
	case !now && was:
		w.fresh--
	}
	w.noteArrival()
}

func (w *copyWatch) isFresh(token string) bool { return token != "" && token != w.old }

// noteArrival closes arrived the first time every copy is fresh; w.mu is
// held.
func (w *copyWatch) noteArrival() {
	if w.fresh >= len(w.targets) && w.at.IsZero() {
		w.at = w.clock.Now()
		close(w.arrived)
	}
}

// expect starts a wait for every copy to hold a token other than old (""
// for any token).
func (w *copyWatch) expect(old string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.old, w.fresh, w.at, w.arrived = old, 0, time.Time{}, make(chan struct{})
	for _, t := range w.tokens {
		if w.isFresh(t) {
			w.fresh++
		}
	}
	w.noteArrival()
}

// wait returns when, by the watch's clock, every copy held a token the
// wait expects, or an error that says how far they got.
func (w *copyWatch) wait(ctx context.Context, timeout time.Duration, failed func() error) (time.Time, error) {
	w.mu.Lock()
	arrived := w.arrived
	w.mu.Unlock()
	timer := w.clock.NewTimer(timeout)
	defer timer.Stop()
	// A timer reset on every tick: clock.Clock has no tickers.
	tick := w.clock.NewTimer(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-arrived:
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.at, nil
		case <-timer.C():
			return time.Time{}, fmt.Errorf("after %s: %s", timeout, w.progress())
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-tick.C():
			tick.Reset(time.Second)
			if err := failed(); err != nil {
				return time.Time{}, fmt.Errorf("%w (%s)", err, w.progress())
			}
		}
	}
}

// progress says how many copies hold the expected token.
func (w *copyWatch) progress() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d of %d selected namespaces hold the expected token, %d hold a copy", w.fresh, len(w.targets),
		len(w.tokens))
}

// state is the copies now: the distinct tokens they hold, with how many
// hold each, the changes seen so far, and the namespaces outside the
// selection that hold a copy.
func (w *copyWatch) state() (tokens map[string]int, changes int, strays []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tokens = map[string]int{}
	for _, t := range w.tokens {
		tokens[t]++
	}
	for ns := range w.strays {
		strays = append(strays, ns)
	}
	return tokens, w.changes, strays
}
