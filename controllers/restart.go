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
// pods are replaced and read it. At most once per token and never more
// often than minRolloutRestartInterval: whoever may edit the resource can
// trigger rotations, and must not be able to restart a namespace's
// workloads in a loop. A failed restart is reported in the
// RolloutRestarted condition; it never holds up the token.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=patch

const (
	// minRolloutRestartInterval is the least time between two restarts of
	// a resource's workloads.
	minRolloutRestartInterval = 5 * time.Minute
	// annotationRestartedAt is the pod-template annotation kubectl sets.
	annotationRestartedAt = "kubectl.kubernetes.io/restartedAt"
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
	last := st.LastRolloutRestartTime
	if last != nil && !st.LastRotationTime.After(last.Time) {
		// Done for this token.
		return outcome{}, nil
	}
	if last != nil && run.now.Before(last.Add(minRolloutRestartInterval)) {
		next := last.Add(minRolloutRestartInterval)
		return outcome{at: next, rollout: &conditionReport{status: metav1.ConditionFalse, reason: v1.ReasonRestartPending,
			message: fmt.Sprintf("the new token is in the Secret; the workloads are restarted at %s, %s after the last restart",
				next.UTC().Format(time.RFC3339), minRolloutRestartInterval)}}, nil
	}
	at := run.now.UTC().Format(time.RFC3339)
	patch := client.RawPatch(types.StrategicMergePatchType, fmt.Appendf(nil,
		`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, annotationRestartedAt, at))
	var restarted []string
	var failed []error
	for _, t := range targets {
		var obj client.Object
		switch t.Kind {
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "DaemonSet":
			obj = &appsv1.DaemonSet{}
		default:
			failed = append(failed, fmt.Errorf("%s/%s: kind %q cannot be restarted", t.Kind, t.Name, t.Kind))
			continue
		}
		obj.SetNamespace(run.obj.Namespace)
		obj.SetName(t.Name)
		if err := run.r.Patch(ctx, obj, patch); err != nil {
			failed = append(failed, fmt.Errorf("%s/%s: %w", t.Kind, t.Name, err))
			continue
		}
		restarted = append(restarted, t.Kind+"/"+t.Name)
	}
	t := metav1.NewTime(run.now)
	st.LastRolloutRestartTime = &t
	if len(failed) > 0 {
		// Not retried before the next token: a workload that did not exist
		// reads the current token when it starts anyway.
		return outcome{rollout: &conditionReport{status: metav1.ConditionFalse, reason: v1.ReasonRestartFailed,
			message: fmt.Sprintf("restarting failed for %s; restarted: %s", errors.Join(failed...), orNone(restarted))}}, nil
	}
	return outcome{rollout: &conditionReport{status: metav1.ConditionTrue, reason: v1.ReasonRestarted,
		message: fmt.Sprintf("restarted %s at %s for the token issued at %s", strings.Join(restarted, ", "), at,
			st.LastRotationTime.UTC().Format(time.RFC3339))}}, nil
}
