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

// What the reconciler watches, and which events are worth a pass. A pass
// costs API reads and, when it changes something, writes; the events a pass
// itself causes (its status patch, its Secret writes, its finalizer) carry
// nothing it does not know, so they are filtered out here.

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// referencedSecretsIndex indexes OktaScopedTokens by the Secrets their spec
// references (client secret or private key), so a change to such a Secret
// finds its resources without a scan.
const referencedSecretsIndex = "spec.referencedSecrets"

func referencedSecrets(o client.Object) []string {
	obj, ok := o.(*v1.OktaScopedToken)
	if !ok {
		return nil
	}
	var out []string
	if r := obj.Spec.ClientSecretRef; r != nil {
		out = append(out, r.Name)
	}
	if r := obj.Spec.PrivateKeyRef; r != nil {
		out = append(out, r.Name)
	}
	return out
}

// SetupWithManager sets up the controller with the Manager. referenced is
// the source of the user's credentials Secrets (metadata only), mapped to
// the resources that reference them with TokensReferencing.
func (r *OktaScopedTokenReconciler) SetupWithManager(
	mgr ctrl.Manager, referenced source.TypedSource[reconcile.Request],
) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1.OktaScopedToken{},
		referencedSecretsIndex, referencedSecrets)
	if err != nil {
		return fmt.Errorf("indexing referenced Secrets: %w", err)
	}
	// State Secrets of resources this operator does not watch (another
	// Deployment's namespaces, sharing the state namespace) are not its
	// business.
	isStateSecret := predicate.NewPredicateFuncs(func(o client.Object) bool {
		if o.GetNamespace() != r.StateNamespace || o.GetLabels()[state.LabelRole] != state.RoleState {
			return false
		}
		owner, ok := state.Owner(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: o.GetAnnotations()}})
		return ok && (len(r.WatchNamespaces) == 0 || slices.Contains(r.WatchNamespaces, owner.Namespace))
	})
	opts := controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}
	if r.QueueClock != nil {
		opts.NewQueue = queueOnClock(r.QueueClock)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1.OktaScopedToken{}, builder.WithPredicates(r.worthAPass())).
		Owns(&corev1.Secret{}, builder.WithPredicates(r.notOwnWrite(kindSecret))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(stateSecretOwner),
			builder.WithPredicates(isStateSecret, r.notOwnWrite(kindSecret))).
		WithOptions(opts).
		Named("oktascopedtoken")
	if referenced != nil {
		b = b.WatchesRawSource(referenced)
	}
	r.retrigger = make(chan event.GenericEvent, 1024)
	b = b.WatchesRawSource(source.Channel(r.retrigger, &handler.EnqueueRequestForObject{}))
	return b.Complete(r)
}

// worthAPass filters the resource's own events: an update this process
// wrote itself (its status patch, its finalizer) carries nothing new, nor
// does a resync that changed nothing. Any other update does: a spec change,
// a manual trigger, a deletion. (The cache holds the resource without the
// labels and annotations the operator does not read, so the objects of an
// event cannot tell which of those changed: every change by someone else is
// worth the one pass, which reads only the cache.)
func (r *OktaScopedTokenReconciler) worthAPass() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld, e.ObjectNew
			r.mem.cacheCaughtUp(n)
			if r.mem.writes.ownEvent(kindToken, n) {
				return false
			}
			return o.GetResourceVersion() != n.GetResourceVersion()
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			r.mem.writes.forget(kindToken, e.Object)
			return true
		},
	}
}

// notOwnWrite filters the events of Secrets this process has just written.
func (r *OktaScopedTokenReconciler) notOwnWrite(kind string) predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !r.mem.writes.ownEvent(kind, e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool { return !r.mem.writes.ownEvent(kind, e.ObjectNew) },
		DeleteFunc: func(e event.DeleteEvent) bool {
			r.mem.writes.forget(kind, e.Object)
			return true
		},
	}
}

// TokensReferencing maps a user's Secret to the OktaScopedTokens that
// reference it.
func (r *OktaScopedTokenReconciler) TokensReferencing(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1.OktaScopedTokenList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{referencedSecretsIndex: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing OktaScopedTokens for a referenced Secret")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, t := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&t)})
	}
	return out
}

func stateSecretOwner(_ context.Context, o client.Object) []reconcile.Request {
	s, ok := o.(*corev1.Secret)
	if !ok {
		return nil
	}
	if owner, ok := state.Owner(s); ok {
		return []reconcile.Request{{NamespacedName: owner}}
	}
	return nil
}

// queueOnClock is a controller's work queue driven by clk: tests drive time
// with a fake clock, and the queue must follow it, or a RequeueAfter
// computed from fake time would wait in real time.
func queueOnClock(clk clock.WithTicker) func(string, workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
		return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{
			Name: name, Clock: clk,
		})
	}
}
