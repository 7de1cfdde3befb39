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

// A fleet is the benchmark's user: it makes the namespaces, the key Secret
// each namespace's tokens share, and the OktaScopedTokens, and it watches
// them for Ready through an informer of its own.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// tokensPerNamespace spreads a run's tokens over a few namespaces, as
// teams would, without making a namespace per token.
const tokensPerNamespace = 250

// creators is how many requests the fleet has in flight while it applies
// resources: enough to keep the API server busy, few enough to leave the
// manager most of the two cores.
const creators = 8

// fleetNamespace is one namespace of tokens and the org they belong to.
type fleetNamespace struct {
	name     string
	org      *org
	clientID string
	tokens   int
	// dpop: the namespace's service app requires DPoP, and its tokens ask
	// for DPoP-bound tokens (spec.tokenBinding: DPoP).
	dpop bool
}

// planNamespaces spreads n tokens over orgs by share, and each org's
// tokens over namespaces of at most tokensPerNamespace.
func planNamespaces(prefix string, n int, orgs []*org, shares []int) []fleetNamespace {
	total := 0
	for _, s := range shares {
		total += max(s, 1)
	}
	var out []fleetNamespace
	left := n
	for i, o := range orgs {
		count := n * max(shares[i], 1) / total
		if i == len(orgs)-1 {
			count = left
		}
		left -= count
		for j := 0; count > 0; j++ {
			in := min(count, tokensPerNamespace)
			out = append(out, fleetNamespace{
				name:     fmt.Sprintf("%s-%s-%d", prefix, o.name, j),
				org:      o,
				clientID: fmt.Sprintf("0oa%s%s%d", prefix, o.name, j),
				tokens:   in,
			})
			count -= in
		}
	}
	return out
}

// prepareNamespaces makes the namespaces, registers a service app per
// namespace at its org and stores the app's key in the namespace.
func prepareNamespaces(ctx context.Context, c client.Client, namespaces []fleetNamespace) error {
	keyPEM, key, err := serviceKeyPEM()
	if err != nil {
		return err
	}
	for _, ns := range namespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name}}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns.name, err)
		}
		if err := ns.org.addServiceApp(ns.clientID, key, ns.dpop); err != nil {
			return err
		}
		if err := c.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: keySecretName, Namespace: ns.name},
			Data:       map[string][]byte{keySecretKey: keyPEM},
		}); err != nil {
			return fmt.Errorf("creating the key Secret in %s: %w", ns.name, err)
		}
	}
	return nil
}

// serviceTokens are the ClientCredentials resources of the namespaces,
// DPoP-bound in a dpop namespace.
func serviceTokens(namespaces []fleetNamespace) []*v1.OktaScopedToken {
	var out []*v1.OktaScopedToken
	for _, ns := range namespaces {
		binding := v1.TokenBinding("")
		if ns.dpop {
			binding = v1.TokenBindingDPoP
		}
		for i := range ns.tokens {
			out = append(out, &v1.OktaScopedToken{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("token-%05d", i), Namespace: ns.name},
				Spec: v1.OktaScopedTokenSpec{
					OktaDomain: ns.org.issuer(),
					ClientID:   ns.clientID,
					GrantType:  v1.GrantClientCredentials,
					PrivateKeyRef: &v1.PrivateKeyReference{
						SecretKeyReference: v1.SecretKeyReference{Name: keySecretName, Key: keySecretKey},
					},
					Scopes:       []string{serviceScope},
					TokenBinding: binding,
				},
			})
		}
	}
	return out
}

// createAll creates objs with a few requests in flight and returns when,
// by clk, the first create was sent.
func createAll[T client.Object](ctx context.Context, clk clock.PassiveClock, c client.Client, objs []T) (time.Time, error) {
	var (
		first   time.Time
		once    sync.Once
		mu      sync.Mutex
		errs    []error
		work    = make(chan T)
		workers sync.WaitGroup
	)
	for range creators {
		workers.Go(func() {
			for obj := range work {
				once.Do(func() { first = clk.Now() })
				if err := c.Create(ctx, obj); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("creating %s/%s: %w", obj.GetNamespace(), obj.GetName(), err))
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, obj := range objs {
		select {
		case work <- obj:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	workers.Wait()
	if len(errs) > 0 {
		return first, fmt.Errorf("%d of %d creates failed, the first: %w", len(errs), len(objs), errs[0])
	}
	return first, ctx.Err()
}

// readyWatch follows the OktaScopedTokens through an informer and notes
// when the last of them became Ready=True, in all and per org.
type readyWatch struct {
	want  int
	clock clock.Clock // times the tokens' Ready and the wait for them
	informerRun
	// orgOf maps a namespace to its org; orgWant counts each org's tokens.
	orgOf   map[string]string
	orgWant map[string]int

	mu       sync.Mutex
	ready    map[string]bool
	orgReady map[string]int
	// allReady is closed, and at set, the first time want are ready;
	// orgAt is the same per org.
	allReady chan struct{}
	at       time.Time
	orgAt    map[string]time.Time
	// reasons are the not-ready resources' Ready reasons, for a message
	// when they never all get there; stalled the Stalled ones' messages.
	reasons map[string]string
	stalled map[string]string
}

// watchReady starts an informer on OktaScopedTokens with cfg (whose
// requests the caller counts) and returns once it has synced. clk times
// the tokens' Ready.
func watchReady(ctx context.Context, clk clock.Clock, cfg *rest.Config, namespaces []fleetNamespace) (*readyWatch, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: scheme.Scheme,
		DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return nil, fmt.Errorf("creating the benchmark's cache: %w", err)
	}
	inf, err := c.GetInformer(ctx, &v1.OktaScopedToken{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("watching OktaScopedTokens: %w", err)
	}
	w := &readyWatch{clock: clk,
		orgOf: map[string]string{}, orgWant: map[string]int{}, orgReady: map[string]int{}, orgAt: map[string]time.Time{},
		ready: map[string]bool{}, allReady: make(chan struct{}), reasons: map[string]string{}, stalled: map[string]string{}}
	for _, ns := range namespaces {
		w.want += ns.tokens
		w.orgOf[ns.name] = ns.org.name
		w.orgWant[ns.org.name] += ns.tokens
	}
	if w.informerRun, err = runInformer(ctx, c, inf, w.observe, w.forget); err != nil {
		return nil, err
	}
	return w, nil
}

// informerRun is a benchmark informer's cache, started: stop ends it.
type informerRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// runInformer hands inf's adds and updates to observe and its deletes to
// forget, starts c, and returns once c has synced.
func runInformer(ctx context.Context, c cache.Cache, inf cache.Informer, observe, forget func(any)) (informerRun, error) {
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: forget,
	}); err != nil {
		return informerRun{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	run := informerRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(run.done)
		_ = c.Start(ctx)
	}()
	if !c.WaitForCacheSync(ctx) {
		run.stop()
		return informerRun{}, errors.New("the benchmark's informer did not sync")
	}
	return run, nil
}

// stop ends the informer and its watch.
func (r informerRun) stop() {
	r.cancel()
	<-r.done
}

func (w *readyWatch) observe(obj any) {
	t, ok := obj.(*v1.OktaScopedToken)
	if !ok || !w.watches(t.Namespace) {
		return
	}
	reason := "no Ready condition yet"
	if c := meta.FindStatusCondition(t.Status.Conditions, v1.ConditionReady); c != nil {
		reason = c.Reason
	}
	w.set(t.Namespace, t.Name, meta.IsStatusConditionTrue(t.Status.Conditions, v1.ConditionReady), reason)
	stalled := ""
	if c := meta.FindStatusCondition(t.Status.Conditions, v1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		stalled = c.Reason + ": " + c.Message
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if stalled == "" {
		delete(w.stalled, t.Namespace+"/"+t.Name)
	} else {
		w.stalled[t.Namespace+"/"+t.Name] = stalled
	}
}

func (w *readyWatch) forget(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if t, ok := obj.(*v1.OktaScopedToken); ok && w.watches(t.Namespace) {
		w.set(t.Namespace, t.Name, false, "")
		w.mu.Lock()
		delete(w.stalled, t.Namespace+"/"+t.Name)
		w.mu.Unlock()
	}
}

// watches says whether namespace holds tokens of this watch: a scenario
// can apply several fleets to one cluster, one after the other.
func (w *readyWatch) watches(namespace string) bool {
	_, ok := w.orgOf[namespace]
	return ok
}

// set records whether a resource is ready; reason "" forgets it.
func (w *readyWatch) set(namespace, name string, ready bool, reason string) {
	key := namespace + "/" + name
	org := w.orgOf[namespace]
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case ready && !w.ready[key]:
		w.ready[key] = true
		w.orgReady[org]++
	case !ready && w.ready[key]:
		delete(w.ready, key)
		w.orgReady[org]--
	}
	delete(w.reasons, key)
	if !ready && reason != "" {
		w.reasons[key] = reason
	}
	now := w.clock.Now()
	if _, seen := w.orgAt[org]; !seen && w.orgReady[org] >= w.orgWant[org] {
		w.orgAt[org] = now
	}
	if len(w.ready) >= w.want && w.at.IsZero() {
		w.at = now
		close(w.allReady)
	}
}

// readyCount is how many of the watched tokens are Ready=True now.
func (w *readyWatch) readyCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ready)
}

// orgTimes is when each org's tokens were all ready.
func (w *readyWatch) orgTimes() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.orgAt)
}

// wait returns when all are ready, or an error that says how far they got.
func (w *readyWatch) wait(ctx context.Context, timeout time.Duration, failed func() error) (time.Time, error) {
	timer := w.clock.NewTimer(timeout)
	defer timer.Stop()
	// A timer reset on every tick: clock.Clock has no tickers.
	tick := w.clock.NewTimer(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-w.allReady:
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
			// Retrying cannot help a stalled resource: say why now rather
			// than at the timeout.
			if key, why, ok := w.firstStalled(); ok {
				return time.Time{}, fmt.Errorf("%s is stalled, %s (%s)", key, why, w.progress())
			}
		}
	}
}

// firstStalled returns a stalled resource and why, if there is one.
func (w *readyWatch) firstStalled() (string, string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := sortedKeys(w.stalled)
	if len(keys) == 0 {
		return "", "", false
	}
	return keys[0], w.stalled[keys[0]], true
}

// progress says how many are ready and why the others are not.
func (w *readyWatch) progress() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	reasons := map[string]int{}
	for _, r := range w.reasons {
		reasons[r]++
	}
	return fmt.Sprintf("%d of %d tokens Ready; the others' Ready reasons: %v", len(w.ready), w.want, reasons)
}
