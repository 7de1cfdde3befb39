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

// A ClusterOktaScopedToken's status: the source's, mirrored, and where the
// token went.

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

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
	for _, ns := range firstSorted(slices.Collect(maps.Keys(d.failed))) {
		st.Failed = append(st.Failed, v1.NamespaceProblem{Namespace: ns, Message: okta.Sanitize(d.failed[ns], 1024)})
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
