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
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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

// stall reports a source that cannot be kept.
func (run *clusterRun) stall(p sourceProblem) {
	st := &run.obj.Status
	st.ObservedGeneration = run.obj.Generation
	run.setCondition(v1.ConditionReady, metav1.ConditionFalse, p.reason, p.message)
	run.setCondition(v1.ConditionStalled, metav1.ConditionTrue, p.reason, p.message)
	meta.RemoveStatusCondition(&st.Conditions, v1.ConditionReconciling)
}

func (run *clusterRun) setCondition(t string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&run.obj.Status.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason,
		Message: message, ObservedGeneration: run.obj.Generation, LastTransitionTime: metav1.NewTime(run.now)})
}

// report mirrors the source's status (the token's conditions and times)
// and says where the token went.
func (run *clusterRun) report(d distribution) {
	st := &run.obj.Status
	st.ObservedGeneration = run.obj.Generation
	src := run.source
	if src == nil {
		return
	}
	s := src.Status
	st.AuthorizationURL, st.AuthorizationExpiresAt, st.AuthorizedSubject = s.AuthorizationURL, s.AuthorizationExpiresAt, s.AuthorizedSubject
	st.GrantedScopes, st.ExpiresAt, st.RenewalTime = s.GrantedScopes, s.ExpiresAt, s.RenewalTime
	st.LastRotationTime, st.Rotations = s.LastRotationTime, s.Rotations
	for _, t := range []string{v1.ConditionReady, v1.ConditionReconciling, v1.ConditionStalled} {
		if c := meta.FindStatusCondition(s.Conditions, t); c != nil {
			run.setCondition(t, c.Status, c.Reason, c.Message)
		} else if t == v1.ConditionReady {
			run.setCondition(t, metav1.ConditionUnknown, v1.ReasonProgressing, "the token is being obtained")
		} else {
			meta.RemoveStatusCondition(&st.Conditions, t)
		}
	}
	st.Targets, st.Served = int32(d.targets), int32(len(d.served))
	st.Conflicts = firstSorted(d.conflicts)
	st.Failed = nil
	for _, ns := range firstSorted(sortedKeys(d.failed)) {
		st.Failed = append(st.Failed, v1.NamespaceProblem{Namespace: ns, Message: truncate(d.failed[ns], 1024)})
	}
	secret := run.obj.CopySecretName()
	switch {
	case !d.haveToken:
		run.setCondition(v1.ConditionDistributed, metav1.ConditionFalse, v1.ReasonWaitingForToken,
			fmt.Sprintf("no token yet to write into %d namespaces; see Ready", d.targets))
	case len(d.failed) > 0:
		run.setCondition(v1.ConditionDistributed, metav1.ConditionFalse, v1.ReasonCopyFailed, fmt.Sprintf(
			"Secret %s holds the current token in %d of %d namespaces; writing it failed in %d (status.failed), "+
				"retried in %s%s", secret, len(d.served), d.targets, len(d.failed), copyRetry, conflictNote(d.conflicts, secret)))
	case len(d.conflicts) > 0:
		run.setCondition(v1.ConditionDistributed, metav1.ConditionFalse, v1.ReasonSecretConflict, fmt.Sprintf(
			"Secret %s holds the current token in %d of %d namespaces%s", secret, len(d.served), d.targets,
			conflictNote(d.conflicts, secret)))
	default:
		run.setCondition(v1.ConditionDistributed, metav1.ConditionTrue, v1.ReasonDistributed, fmt.Sprintf(
			"Secret %s holds the current token in all %d selected namespaces", secret, d.targets))
	}
}

func conflictNote(conflicts []string, secret string) string {
	if len(conflicts) == 0 {
		return ""
	}
	return fmt.Sprintf("; in %d a Secret %s exists that the operator did not write, which it never overwrites "+
		"(status.conflicts): delete it, or choose another spec.secretName", len(conflicts), secret)
}

func firstSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s) > maxListed {
		s = s[:maxListed]
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-len("…")] + "…"
}

// patchStatus writes the status when it changed.
func (run *clusterRun) patchStatus(ctx context.Context) error {
	if equality.Semantic.DeepEqual(*run.before, run.obj.Status) {
		return nil
	}
	patched := run.obj.DeepCopy()
	base := run.obj.DeepCopy()
	base.Status = *run.before
	return run.r.Status().Patch(ctx, patched, client.MergeFrom(base))
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

// SetupWithManager watches the cluster tokens, their sources, the copies,
// the sources' token Secrets and the namespaces.
func (r *ClusterTokenReconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := controller.Options{MaxConcurrentReconciles: 2}
	if r.QueueClock != nil {
		opts.NewQueue = func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
			return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{
				Name: name, Clock: r.QueueClock,
			})
		}
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
