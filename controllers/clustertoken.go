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

// The ClusterOktaScopedToken front end. A ClusterOktaScopedToken is one
// token shared by many namespaces, and the token is obtained by the same
// reconciler core as any other: the front end keeps one OktaScopedToken,
// its source, in the credentials namespace (controlled by it, named
// "cluster-<name>", its spec the cluster resource's spec.token), so the
// grant, the sign-in, DPoP, templates, renewal, the org's budget and
// revocation are the OktaScopedToken's. The front end then copies the
// source's token Secret into every selected namespace (copies.go), restarts
// the workloads there that use it, and reports both.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=oktatoken.dev,resources=clusteroktascopedtokens,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=clusteroktascopedtokens/status,verbs=patch
// +kubebuilder:rbac:groups=oktatoken.dev,resources=clusteroktascopedtokens/finalizers,verbs=update
// +kubebuilder:rbac:groups=oktatoken.dev,resources=oktascopedtokens,verbs=create;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

const (
	// sourcePrefix begins the name of a cluster token's source.
	sourcePrefix = "cluster-"
	// copyRetry is how soon copies that failed are written again.
	copyRetry = 15 * time.Second
	// maxListed bounds status.conflicts and status.failed.
	maxListed = 20
)

// ClusterTokenReconciler reconciles ClusterOktaScopedTokens.
type ClusterTokenReconciler struct {
	// Client reads through the manager's cache (cluster tokens, their
	// sources, namespaces, the copies) and writes.
	client.Client
	// APIReader reads workloads, which are not cached.
	APIReader client.Reader
	Clock     clock.Clock
	// QueueClock, when set, drives the work queue (tests).
	QueueClock clock.WithTicker
	// StateNamespace is the operator's namespace, the default credentials
	// namespace.
	StateNamespace string
	// WatchNamespaces, when set, are the only namespaces that get copies
	// (and the credentials namespace must be one of them).
	WatchNamespaces []string
	// MaxConcurrentWrites bounds the copies written at once; default 8.
	MaxConcurrentWrites int

	// copies remembers the copies this process just wrote (copyLedger).
	copies copyLedger
}

// SourceName is the name of the OktaScopedToken that obtains a cluster
// token's token.
func SourceName(c *v1.ClusterOktaScopedToken) string { return sourcePrefix + c.Name }

func (r *ClusterTokenReconciler) credentialsNamespace(c *v1.ClusterOktaScopedToken) string {
	if c.Spec.CredentialsNamespace != "" {
		return c.Spec.CredentialsNamespace
	}
	return r.StateNamespace
}

// clusterRun is one pass over one cluster token.
type clusterRun struct {
	r      *ClusterTokenReconciler
	obj    *v1.ClusterOktaScopedToken
	before *v1.ClusterOktaScopedTokenStatus
	now    time.Time
	// source is the OktaScopedToken that holds the token (nil: none yet).
	source *v1.OktaScopedToken
}

// Reconcile keeps the source, the copies, the restarts and the status.
func (r *ClusterTokenReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &v1.ClusterOktaScopedToken{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	run := &clusterRun{r: r, obj: obj, before: obj.Status.DeepCopy(), now: r.Clock.Now()}
	if !obj.DeletionTimestamp.IsZero() {
		return run.finalize(ctx)
	}
	if !controllerutil.ContainsFinalizer(obj, v1.Finalizer) {
		patch := client.MergeFromWithOptions(obj.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(obj, v1.Finalizer)
		if err := r.Patch(ctx, obj, patch); err != nil {
			return ctrl.Result{}, err
		}
	}
	if problem := run.ensureSource(ctx); problem != nil {
		run.stall(*problem)
		return ctrl.Result{}, run.patchStatus(ctx)
	}
	dist, err := run.distribute(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	next := dist.retryAt
	if at := run.restartWorkloads(ctx, dist.served); !at.IsZero() && (next.IsZero() || at.Before(next)) {
		next = at
	}
	run.report(dist)
	if err := run.patchStatus(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(run.now), time.Second)}, nil
}

// sourceProblem is why the source cannot be kept: a reason and message for
// a stalled Ready.
type sourceProblem struct{ reason, message string }

// ensureSource creates or updates the source OktaScopedToken: the cluster
// token's spec.token, its renew and reauthorize annotations and its shard
// label, controlled by it. An OktaScopedToken of that name the operator
// did not make is never touched.
func (run *clusterRun) ensureSource(ctx context.Context) *sourceProblem {
	c, r := run.obj, run.r
	ns := r.credentialsNamespace(c)
	if len(r.WatchNamespaces) > 0 && !slices.Contains(r.WatchNamespaces, ns) {
		return &sourceProblem{v1.ReasonInvalidSpec, fmt.Sprintf("the operator watches only the namespaces %v, and the "+
			"credentials namespace %s is not one of them: add it to --watch-namespaces (Helm: watchNamespaces), or set "+
			"spec.credentialsNamespace to one of them", r.WatchNamespaces, ns)}
	}
	spec := *c.Spec.Token.DeepCopy()
	spec.SecretName = ""
	spec.RolloutRestartTargets = nil
	annotations := map[string]string{}
	for _, k := range []string{v1.AnnotationRenewRequestedAt, v1.AnnotationReauthorizeRequestedAt} {
		if v, ok := c.Annotations[k]; ok {
			annotations[k] = v
		}
	}
	labels := map[string]string{}
	if v, ok := c.Labels[v1.LabelShard]; ok {
		labels[v1.LabelShard] = v
	}
	cur := &v1.OktaScopedToken{}
	key := types.NamespacedName{Namespace: ns, Name: SourceName(c)}
	err := r.Get(ctx, key, cur)
	switch {
	case apierrors.IsNotFound(err):
		src := &v1.OktaScopedToken{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name, Labels: labels, Annotations: annotations},
			Spec:       spec,
		}
		if err := controllerutil.SetControllerReference(c, src, r.Scheme()); err != nil {
			return &sourceProblem{v1.ReasonInvalidSpec, err.Error()}
		}
		if err := r.Create(ctx, src); err != nil {
			log.FromContext(ctx).Error(err, "creating the source OktaScopedToken")
			return &sourceProblem{v1.ReasonProgressing, fmt.Sprintf("creating the OktaScopedToken %s failed: %v", key, err)}
		}
		run.source = src
		return nil
	case err != nil:
		return &sourceProblem{v1.ReasonProgressing, fmt.Sprintf("reading the OktaScopedToken %s failed: %v", key, err)}
	}
	if !metav1.IsControlledBy(cur, c) {
		return &sourceProblem{v1.ReasonSourceConflict, fmt.Sprintf("an OktaScopedToken %s exists that this "+
			"ClusterOktaScopedToken did not create; the operator keeps the shared token there: rename or delete it", key)}
	}
	if !equality.Semantic.DeepEqual(cur.Spec, spec) || !sameEntries(cur.Annotations, annotations, v1.AnnotationRenewRequestedAt,
		v1.AnnotationReauthorizeRequestedAt) || !sameEntries(cur.Labels, labels, v1.LabelShard) {
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec = spec
		cur.Annotations = mergeEntries(cur.Annotations, annotations, v1.AnnotationRenewRequestedAt, v1.AnnotationReauthorizeRequestedAt)
		cur.Labels = mergeEntries(cur.Labels, labels, v1.LabelShard)
		if err := r.Patch(ctx, cur, patch); err != nil {
			return &sourceProblem{v1.ReasonProgressing, fmt.Sprintf("updating the OktaScopedToken %s failed: %v", key, err)}
		}
	}
	run.source = cur
	return nil
}

// sameEntries says whether a and b agree on keys.
func sameEntries(a, b map[string]string, keys ...string) bool {
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if oka != okb || va != vb {
			return false
		}
	}
	return true
}

// mergeEntries is m with keys set as in want (removed where want lacks them).
func mergeEntries(m, want map[string]string, keys ...string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	for _, k := range keys {
		if v, ok := want[k]; ok {
			m[k] = v
		} else {
			delete(m, k)
		}
	}
	return m
}

// finalize removes the copies the operator wrote and the source (whose own
// finalizer revokes the grant, as spec.token.revokeOnDelete says), then
// lets the cluster token go.
func (run *clusterRun) finalize(ctx context.Context) (ctrl.Result, error) {
	c, r := run.obj, run.r
	if !controllerutil.ContainsFinalizer(c, v1.Finalizer) {
		return ctrl.Result{}, nil
	}
	if err := run.deleteCopies(ctx, nil); err != nil {
		return ctrl.Result{}, err
	}
	src := &v1.OktaScopedToken{}
	key := types.NamespacedName{Namespace: r.credentialsNamespace(c), Name: SourceName(c)}
	if err := r.Get(ctx, key, src); err == nil && metav1.IsControlledBy(src, c) {
		if src.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, src, client.Preconditions{UID: &src.UID}); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
		}
		// Back when the source is gone (its deletion is an event).
		return ctrl.Result{}, nil
	} else if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	patch := client.MergeFromWithOptions(c.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(c, v1.Finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, c, patch))
}
