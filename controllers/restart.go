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

// Rollout restarts for workloads that read the token only when they start
// (spec.rolloutRestartTargets): after a new token is in the Secret, their
// pod template gets the annotation `kubectl rollout restart` sets, so their
// pods are replaced and read it.
//
// Whoever may create an OktaScopedToken can name any workload of the
// namespace, so two rules keep that from being a way to restart workloads
// one could not otherwise touch:
//
//   - a workload is restarted only if its pod template uses the token Secret
//     (a secret or projected volume, env or envFrom of a container or an
//     init container); any other is reported and never written;
//   - a workload is restarted at most once every minRolloutRestartInterval,
//     whichever OktaScopedToken asks: the restart is recorded on the
//     workload itself (annotationWorkloadRestartedAt), read live before
//     each restart, and the patch carries the resourceVersion it was read
//     at, so of two resources racing only one restarts it.
//
// Each target is restarted at most once per token: one restarted (by any
// resource) since this token was issued already runs it. A failed restart is
// reported in the RolloutRestarted condition; it never holds up the token.

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// Workloads are read live (APIReader), only when a restart is due: caching
// them would keep every Deployment, StatefulSet and DaemonSet of the
// cluster in memory.
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;patch

const (
	// minRolloutRestartInterval is the least time between two restarts of
	// a workload, by whichever resources name it.
	minRolloutRestartInterval = 5 * time.Minute
	// annotationRestartedAt is the pod-template annotation kubectl sets.
	annotationRestartedAt = "kubectl.kubernetes.io/restartedAt"
	// annotationWorkloadRestartedAt, on the workload's own metadata, is when
	// the operator last restarted it (RFC 3339), for any OktaScopedToken.
	annotationWorkloadRestartedAt = "oktatoken.dev/restarted-at"
	// restartConflictRetry is how soon a workload that changed while it was
	// being restarted is read again.
	restartConflictRetry = 2 * time.Second
)

// restartWorkloads restarts spec.rolloutRestartTargets once for each new
// token.
func (run *reconcileRun) restartWorkloads(ctx context.Context) (outcome, error) {
	st := &run.obj.Status
	targets := run.obj.Spec.RolloutRestartTargets
	if len(targets) == 0 {
		return outcome{rollout: &conditionReport{remove: true}}, nil
	}
	if !run.state.Grant.HasToken() || st.LastRotationTime == nil {
		return outcome{}, nil
	}
	rs := restarter{reader: run.r.APIReader, writer: run.r.Client, namespace: run.obj.Namespace,
		secret: run.obj.TokenSecretName(), now: run.now}
	res, ran := restartForToken(ctx, []restarter{rs}, targets, st.LastRotationTime.Time, &st.LastRolloutRestartTime)
	if !ran {
		return outcome{}, nil
	}
	return outcome{at: res.next, rollout: res.report(run.obj.TokenSecretName(), st.LastRotationTime.Time)}, nil
}

// restartForToken restarts targets in each restarter's namespace once for
// the token issued at issued, unless *last says that was done already
// (ran is then false). *last becomes the time it was done once no target
// waits.
func restartForToken(ctx context.Context, restarters []restarter, targets []v1.RolloutRestartTarget, issued time.Time,
	last **metav1.Time) (res restartResults, ran bool) {
	if *last != nil && !issued.After((*last).Time) {
		return res, false
	}
	for _, rs := range restarters {
		// A restart for the token is recorded no earlier than it was
		// issued: its issue time is the clock's after Okta answered, the
		// pass's time the clock's before.
		at := rs.now
		if issued.After(at) {
			at = issued
		}
		for _, t := range targets {
			tr := rs.restart(ctx, t, issued, at)
			if rs.qualified {
				tr.name = rs.namespace + "/" + tr.name
			}
			res.add(tr)
		}
	}
	if len(res.waiting) == 0 {
		// Done for this token: recorded as the latest restart a target had
		// (not the pass's time, which may be later than the next token when
		// the pass runs late), or then when none was restarted.
		done := issued
		if len(restarters) > 0 && restarters[0].now.After(done) {
			done = restarters[0].now
		}
		if !res.latest.IsZero() {
			done = res.latest
		}
		t := metav1.NewTime(done)
		*last = &t
	}
	return res, true
}

// targetState is what became of one restart target in a pass.
type targetState int

const (
	// targetRestarted: restarted by this pass, or by any resource since the
	// token was issued.
	targetRestarted targetState = iota
	// targetWaiting: restarted less than minRolloutRestartInterval ago, or
	// changed while being restarted; tried again at `next`.
	targetWaiting
	// targetRefused: its pod template does not use the token Secret.
	targetRefused
	// targetFailed: missing, unreadable or not patched.
	targetFailed
)

// targetResult is one target's part of the RolloutRestarted condition.
type targetResult struct {
	name  string
	state targetState
	// restarted is when it was (last) restarted, zero when never.
	restarted time.Time
	// next is when a waiting target is tried again.
	next time.Time
	// conflict: it changed while being restarted.
	conflict bool
	err      error
}

// restarter restarts the workloads of one namespace that use one token
// Secret: an OktaScopedToken's, or a ClusterOktaScopedToken's copy.
type restarter struct {
	// reader reads workloads live (they are not cached).
	reader    client.Reader
	writer    client.Writer
	namespace string
	// secret is the token Secret a workload must use to be restarted.
	secret string
	now    time.Time
	// qualified names the workloads with their namespace in the
	// condition (a cluster token restarts in many).
	qualified bool
}

// restart restarts one target unless it does not use the token Secret, was
// restarted since the token was issued, or was restarted less than
// minRolloutRestartInterval ago.
func (rs restarter) restart(ctx context.Context, t v1.RolloutRestartTarget, issued, at time.Time) targetResult {
	res := targetResult{name: t.Kind + "/" + t.Name}
	obj, template := workloadOf(t.Kind)
	if obj == nil {
		res.state, res.err = targetFailed, fmt.Errorf("kind %q cannot be restarted", t.Kind)
		return res
	}
	key := types.NamespacedName{Namespace: rs.namespace, Name: t.Name}
	if err := rs.reader.Get(ctx, key, obj); err != nil {
		res.state, res.err = targetFailed, err
		return res
	}
	if !consumesSecret(template, rs.secret) {
		res.state = targetRefused
		return res
	}
	if last, err := time.Parse(time.RFC3339, obj.GetAnnotations()[annotationWorkloadRestartedAt]); err == nil {
		res.restarted = last
		if !last.Before(issued) && !last.After(rs.now) {
			// Its pods started after this token was in the Secret.
			res.state = targetRestarted
			return res
		}
		// A time ahead of the clock (another replica's clock, or an edit)
		// holds the restart back no longer than one interval from now.
		if next := minTime(last, rs.now).Add(minRolloutRestartInterval); rs.now.Before(next) {
			res.state, res.next = targetWaiting, next
			return res
		}
	}
	stamp := at.UTC().Format(time.RFC3339)
	// The patch carries the resourceVersion the workload was read at: a
	// resource that restarted it meanwhile makes it fail with a conflict,
	// and the workload is read again.
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[annotationWorkloadRestartedAt] = stamp
	obj.SetAnnotations(annotations)
	if template.Annotations == nil {
		template.Annotations = map[string]string{}
	}
	template.Annotations[annotationRestartedAt] = stamp
	if err := rs.writer.Patch(ctx, obj, patch); err != nil {
		if apierrors.IsConflict(err) {
			res.state, res.conflict, res.next = targetWaiting, true, rs.now.Add(restartConflictRetry)
			return res
		}
		res.state, res.err = targetFailed, err
		return res
	}
	res.state, res.restarted = targetRestarted, at
	return res
}

// workloadOf is an empty workload of kind and its pod template, nil for a
// kind that cannot be restarted.
func workloadOf(kind string) (client.Object, *corev1.PodTemplateSpec) {
	switch kind {
	case "Deployment":
		d := &appsv1.Deployment{}
		return d, &d.Spec.Template
	case "StatefulSet":
		s := &appsv1.StatefulSet{}
		return s, &s.Spec.Template
	case "DaemonSet":
		d := &appsv1.DaemonSet{}
		return d, &d.Spec.Template
	}
	return nil, nil
}

// consumesSecret says whether a pod template uses Secret name: a secret
// volume, a projected volume's secret source, or a container's or init
// container's env (secretKeyRef) or envFrom (secretRef).
func consumesSecret(t *corev1.PodTemplateSpec, name string) bool {
	for _, v := range t.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == name {
			return true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil && s.Secret.Name == name {
					return true
				}
			}
		}
	}
	for _, containers := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
		for _, c := range containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == name {
					return true
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil && e.SecretRef.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// restartResults gathers the targets' results of a pass.
type restartResults struct {
	restarted, refused, failed, waiting []string
	// latest is the latest restart among the restarted targets.
	latest time.Time
	// next is the earliest time a waiting target is tried again.
	next time.Time
}

func (r *restartResults) add(t targetResult) {
	switch t.state {
	case targetRestarted:
		r.restarted = append(r.restarted, t.name)
		if t.restarted.After(r.latest) {
			r.latest = t.restarted
		}
	case targetRefused:
		r.refused = append(r.refused, t.name)
	case targetFailed:
		r.failed = append(r.failed, fmt.Sprintf("%s could not be restarted: %v", t.name, t.err))
	case targetWaiting:
		if t.conflict {
			r.waiting = append(r.waiting, fmt.Sprintf("%s changed while it was being restarted and is read again at %s",
				t.name, t.next.UTC().Format(time.RFC3339)))
		} else {
			r.waiting = append(r.waiting, fmt.Sprintf("%s was restarted at %s and is restarted again at %s",
				t.name, t.restarted.UTC().Format(time.RFC3339), t.next.UTC().Format(time.RFC3339)))
		}
		if r.next.IsZero() || t.next.Before(r.next) {
			r.next = t.next
		}
	}
}

// report is the RolloutRestarted condition: RestartFailed while a target
// is refused or failed, else RestartPending while one waits, else
// Restarted.
func (r *restartResults) report(secret string, issued time.Time) *conditionReport {
	var waiting string
	if len(r.waiting) > 0 {
		waiting = fmt.Sprintf("waiting: %s (a workload is restarted at most once every %s, whichever OktaScopedToken names it)",
			strings.Join(r.waiting, "; "), minRolloutRestartInterval)
	}
	if len(r.refused)+len(r.failed) > 0 {
		parts := append([]string(nil), r.failed...)
		if len(r.refused) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s not mount or reference Secret %s, so the operator will not restart %s "+
				"(it restarts only workloads whose pod template uses the token Secret: a secret or projected volume, env or envFrom)",
				strings.Join(r.refused, ", "), plural(len(r.refused), "does", "do"), secret, plural(len(r.refused), "it", "them")))
		}
		parts = append(parts, "restarted: "+orNone(r.restarted))
		if waiting != "" {
			parts = append(parts, waiting)
		}
		return &conditionReport{status: metav1.ConditionFalse, reason: v1.ReasonRestartFailed, message: strings.Join(parts, "; ")}
	}
	if waiting != "" {
		return &conditionReport{status: metav1.ConditionFalse, reason: v1.ReasonRestartPending,
			message: fmt.Sprintf("the new token is in the Secret; %s; restarted: %s", waiting, orNone(r.restarted))}
	}
	return &conditionReport{status: metav1.ConditionTrue, reason: v1.ReasonRestarted,
		message: fmt.Sprintf("restarted %s at %s for the token issued at %s", strings.Join(r.restarted, ", "),
			r.latest.UTC().Format(time.RFC3339), issued.UTC().Format(time.RFC3339))}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
