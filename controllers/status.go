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

// The one place a pass's outcome becomes conditions and a requeue, following
// kstatus: Ready is always present; Reconciling while a failure is being
// retried (or the operator waits its turn); Stalled while retrying cannot
// help.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// summarize sets the conditions from the pass's outcome and the token it
// leaves in place, and says when the next pass is due.
func (run *reconcileRun) summarize(o outcome) ctrl.Result {
	st := &run.obj.Status
	g := run.state.Grant
	valid := g.HasToken() && run.now.Before(g.Expiry)
	requeue := run.requeue
	switch o.kind {
	case proceed:
		switch {
		case valid:
			renewal := ""
			if st.RenewalTime != nil {
				renewal = "; renews at " + st.RenewalTime.UTC().Format(time.RFC3339)
			}
			run.setReady(metav1.ConditionTrue, v1.ReasonIssued, fmt.Sprintf("token for %s is valid until %s%s",
				joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339), renewal))
		case g.HasToken():
			run.setReady(metav1.ConditionFalse, v1.ReasonExpired, "the token expired at "+g.Expiry.UTC().Format(time.RFC3339))
		default:
			run.setReady(metav1.ConditionFalse, v1.ReasonProgressing, "no token yet")
		}
		run.clear(v1.ConditionStalled, v1.ConditionReconciling)
	case signInRequired:
		run.setReady(metav1.ConditionFalse, o.reason, o.message)
		run.clear(v1.ConditionStalled, v1.ConditionReconciling)
	case retrying, waiting:
		run.setCondition(v1.ConditionReconciling, metav1.ConditionTrue, o.reason, o.message)
		run.clear(v1.ConditionStalled)
		if valid {
			reason, msg := v1.ReasonRotationFailing, fmt.Sprintf(
				"the current token is valid until %s, but renewing it fails: %s",
				g.Expiry.UTC().Format(time.RFC3339), o.message)
			if o.kind == waiting {
				reason, msg = v1.ReasonIssued, fmt.Sprintf("token for %s is valid until %s; %s",
					joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339), o.message)
			}
			run.setReady(metav1.ConditionTrue, reason, msg)
		} else if g.HasToken() {
			run.setReady(metav1.ConditionFalse, v1.ReasonExpired, fmt.Sprintf("the token expired at %s; %s",
				g.Expiry.UTC().Format(time.RFC3339), o.message))
		} else {
			run.setReady(metav1.ConditionFalse, o.reason, o.message)
		}
	case stalled:
		run.setCondition(v1.ConditionStalled, metav1.ConditionTrue, o.reason, o.message)
		run.clear(v1.ConditionReconciling)
		run.setReady(metav1.ConditionFalse, o.reason, o.message)
	case backingOff:
		// The conditions that reported the last failure stand until the
		// next attempt; only a token that expired meanwhile stops Ready
		// from being True.
		if ready := meta.FindStatusCondition(st.Conditions, v1.ConditionReady); ready != nil &&
			ready.Status == metav1.ConditionTrue && !valid {
			msg := "the token expired at " + g.Expiry.UTC().Format(time.RFC3339)
			if c := meta.FindStatusCondition(st.Conditions, v1.ConditionReconciling); c != nil {
				msg += "; " + c.Message
			}
			run.setReady(metav1.ConditionFalse, v1.ReasonExpired, msg)
		}
	}
	if !o.at.IsZero() {
		requeue = append(requeue, o.at)
	}
	if valid {
		if st.RenewalTime != nil && o.kind != stalled {
			requeue = append(requeue, st.RenewalTime.Time)
		}
		// Ready must turn False when the token expires, whatever else.
		requeue = append(requeue, g.Expiry)
	}
	if len(requeue) == 0 {
		return ctrl.Result{Priority: new(normalPriority)}
	}
	next := slices.MinFunc(requeue, func(a, b time.Time) int { return a.Compare(b) })
	// Never sooner than a second, a requeue at "now" would spin; but a slot
	// in an org's budget is kept to the millisecond (at 1,200 a minute they
	// are 50 ms apart), and goes before the other work in the queue: a slot
	// missed by more than the budget's small burst is lost to the org.
	floor, priority := time.Second, normalPriority
	if o.kind == waiting {
		floor = time.Millisecond
	}
	if o.reason == v1.ReasonWaitingForRateLimit {
		priority = slotPriority
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(run.now), floor), Priority: new(priority)}
}

// Priorities of a resource's next pass in the work queue: a pass that
// comes back for its slot in an org's rate-limit budget goes before
// everything else; every other pass at the normal priority, so that the
// slot's priority does not stick to the resource (controller-runtime keeps
// a request's priority unless the result sets one).
const (
	normalPriority = 0
	slotPriority   = 10
)

func (run *reconcileRun) setReady(status metav1.ConditionStatus, reason, msg string) {
	run.setCondition(v1.ConditionReady, status, reason, msg)
}

func (run *reconcileRun) setCondition(t string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&run.obj.Status.Conditions, metav1.Condition{Type: t, Status: status,
		Reason: reason, Message: msg, ObservedGeneration: run.obj.Generation})
}

func (run *reconcileRun) clear(types ...string) {
	for _, t := range types {
		meta.RemoveStatusCondition(&run.obj.Status.Conditions, t)
	}
}

// patchStatus patches status once, only when it changed.
func (run *reconcileRun) patchStatus(ctx context.Context) error {
	run.obj.Status.ObservedGeneration = run.obj.Generation
	if equality.Semantic.DeepEqual(*run.before, run.obj.Status) {
		return nil
	}
	before := run.obj.DeepCopy()
	before.Status = *run.before
	patch := client.MergeFrom(before)
	// Status times are stored to the second: times that differ only below
	// it make an empty patch, which is not worth a request.
	if data, err := patch.Data(run.obj); err == nil && string(data) == "{}" {
		return nil
	}
	onto := run.obj.ResourceVersion
	if err := run.r.Status().Patch(ctx, run.obj, patch); err != nil {
		return fmt.Errorf("patching status: %w", client.IgnoreNotFound(err))
	}
	run.r.mem.statusWritten.store(run.key, writtenStatus{onto: onto, status: run.obj.Status.DeepCopy()})
	return nil
}
