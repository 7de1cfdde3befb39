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

// What a ClusterOktaScopedToken's reconciler watches, and the ledger that
// keeps its own writes from being made twice.

import (
	"context"
	"maps"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// copyLedger remembers, for each copy this process wrote, the
// resourceVersion it replaced and the one it wrote, until the cache shows
// the write: a pass that starts before the watch has delivered it (the
// event of another copy's write started it) would otherwise see the old
// copy and write it again, with a conflict for an answer.
type copyLedger struct {
	mu sync.Mutex
	m  map[types.NamespacedName][2]string
}

func (l *copyLedger) wrote(key types.NamespacedName, before, after string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[types.NamespacedName][2]string{}
	}
	l.m[key] = [2]string{before, after}
}

// stale says whether cached (resourceVersion "" when the cache has no
// copy) is what this process's last write replaced: the cache has not
// caught up, and the copy is current.
func (l *copyLedger) stale(key types.NamespacedName, cached string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[key]
	if !ok {
		return false
	}
	if cached == e[0] {
		return true
	}
	delete(l.m, key)
	return false
}

// forget drops a deleted copy.
func (l *copyLedger) forget(key types.NamespacedName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}

// SetupWithManager watches the cluster tokens, their sources, the copies,
// the sources' token Secrets and the namespaces.
func (r *ClusterTokenReconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := controller.Options{MaxConcurrentReconciles: 2}
	if r.QueueClock != nil {
		opts.NewQueue = queueOnClock(r.QueueClock)
	}
	namespaceMeta := &metav1.PartialObjectMetadata{}
	namespaceMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ctrl.NewControllerManagedBy(mgr).
		// Not its own status writes.
		For(&v1.ClusterOktaScopedToken{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{},
			predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Owns(&v1.OktaScopedToken{}).
		Owns(&corev1.Secret{}, builder.WithPredicates(predicate.Funcs{DeleteFunc: func(e event.DeleteEvent) bool {
			r.copies.forget(client.ObjectKeyFromObject(e.Object))
			return true
		}})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.clusterTokenOfSourceSecret)).
		WatchesMetadata(namespaceMeta, handler.EnqueueRequestsFromMapFunc(r.allClusterTokens),
			builder.WithPredicates(namespaceChanged())).
		WithOptions(opts).
		Named("clusteroktascopedtoken").
		Complete(r)
}

// clusterTokenOfSourceSecret maps a source's token Secret (controlled by an
// OktaScopedToken named cluster-*) to its cluster token.
func (r *ClusterTokenReconciler) clusterTokenOfSourceSecret(ctx context.Context, o client.Object) []reconcile.Request {
	ref := metav1.GetControllerOfNoCopy(o)
	if ref == nil || ref.Kind != "OktaScopedToken" || !strings.HasPrefix(ref.Name, sourcePrefix) {
		return nil
	}
	src := &v1.OktaScopedToken{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: o.GetNamespace(), Name: ref.Name}, src); err != nil {
		return nil
	}
	if owner := metav1.GetControllerOfNoCopy(src); owner != nil && owner.Kind == "ClusterOktaScopedToken" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: owner.Name}}}
	}
	return nil
}

// allClusterTokens enqueues every cluster token: a namespace appeared,
// changed its labels or went.
func (r *ClusterTokenReconciler) allClusterTokens(ctx context.Context, _ client.Object) []reconcile.Request {
	var list v1.ClusterOktaScopedTokenList
	if err := r.List(ctx, &list); err != nil {
		log.FromContext(ctx).Error(err, "listing ClusterOktaScopedTokens")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, c := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return out
}

// namespaceChanged passes a namespace's creation, deletion, label change or
// start of deletion.
func namespaceChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) ||
				e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
	}
}
