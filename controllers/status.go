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
// help. summarize is a pure function of the outcome and what the pass
// observed, so it is table-tested without a client; patchStatus writes its
// result once, at the end of the pass, and only when it changed.

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// observed is what a pass leaves in place, as summarize judges it.
type observed struct {
	now        time.Time
	generation int64
	// grant is the token the pass leaves in place (nil: none).
	grant *state.Grant
	// renewalTime is status.renewalTime as the pass leaves it.
	renewalTime *metav1.Time
	// conditions are the resource's conditions before summarize.
	conditions []metav1.Condition
	// requeue are times something is due that the outcome does not carry.
	requeue []time.Time
	// rollout is what the restart step reported (nil: nothing).
	rollout *conditionReport
	// deleting: the pass is the finalizer's; only a wait or a retry is
	// reported, and Ready is left as it was.
	deleting bool
	// err ended the pass early: an API request failed, and the work
	// queue's backoff retries it.
	err error
}

// summary is what summarize decides: the conditions to store and when the
// next pass is due.
type summary struct {
	conditions []metav1.Condition
	result     ctrl.Result
}

// conditionSet edits a copy of a resource's conditions.
type conditionSet struct {
	list       []metav1.Condition
	generation int64
}

func (c *conditionSet) set(t string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&c.list, metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: c.generation})
}

func (c *conditionSet) clear(types ...string) {
	for _, t := range types {
		meta.RemoveStatusCondition(&c.list, t)
	}
}

func (c *conditionSet) find(t string) *metav1.Condition { return meta.FindStatusCondition(c.list, t) }

// summarize turns a pass's outcome, and the token it leaves in place, into
// conditions, and says when the next pass is due.
func summarize(o outcome, in observed) summary {
	c := &conditionSet{generation: in.generation}
	for _, cond := range in.conditions {
		c.list = append(c.list, *cond.DeepCopy())
	}
	if r := in.rollout; r != nil {
		if r.remove {
			c.clear(v1.ConditionRolloutRestarted)
		} else {
			c.set(v1.ConditionRolloutRestarted, r.status, r.reason, r.message)
		}
	}
	switch {
	case in.err != nil:
		if c.find(v1.ConditionReady) == nil {
			// Ready is always present, also before the first pass succeeds.
			c.set(v1.ConditionReady, metav1.ConditionUnknown, v1.ReasonProgressing, "retrying after an error: "+in.err.Error())
		}
		return summary{conditions: c.list}
	case in.deleting:
		return summarizeDeletion(o, in, c)
	}
	g := in.grant
	valid := g.HasToken() && in.now.Before(g.Expiry)
	requeue := in.requeue
	switch o.kind {
	case proceed:
		switch {
		case valid:
			renewal := ""
			if in.renewalTime != nil {
				renewal = "; renews at " + in.renewalTime.UTC().Format(time.RFC3339)
			}
			c.set(v1.ConditionReady, metav1.ConditionTrue, v1.ReasonIssued, fmt.Sprintf("token for %s is valid until %s%s",
				joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339), renewal))
		case g.HasToken():
			c.set(v1.ConditionReady, metav1.ConditionFalse, v1.ReasonExpired, "the token expired at "+g.Expiry.UTC().Format(time.RFC3339))
		default:
			c.set(v1.ConditionReady, metav1.ConditionFalse, v1.ReasonProgressing, "no token yet")
		}
		c.clear(v1.ConditionStalled, v1.ConditionReconciling)
	case signInRequired:
		c.set(v1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
		c.clear(v1.ConditionStalled, v1.ConditionReconciling)
	case retrying, waiting:
		c.set(v1.ConditionReconciling, metav1.ConditionTrue, o.reason, o.message)
		c.clear(v1.ConditionStalled)
		switch {
		case valid && o.kind == waiting:
			c.set(v1.ConditionReady, metav1.ConditionTrue, v1.ReasonIssued, fmt.Sprintf("token for %s is valid until %s; %s",
				joinScopes(g.Scopes), g.Expiry.UTC().Format(time.RFC3339), o.message))
		case valid:
			c.set(v1.ConditionReady, metav1.ConditionTrue, v1.ReasonRotationFailing, fmt.Sprintf(
				"the current token is valid until %s, but renewing it fails: %s", g.Expiry.UTC().Format(time.RFC3339), o.message))
		case g.HasToken():
			c.set(v1.ConditionReady, metav1.ConditionFalse, v1.ReasonExpired, fmt.Sprintf("the token expired at %s; %s",
				g.Expiry.UTC().Format(time.RFC3339), o.message))
		default:
			c.set(v1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
		}
	case stalled:
		c.set(v1.ConditionStalled, metav1.ConditionTrue, o.reason, o.message)
		c.clear(v1.ConditionReconciling)
		c.set(v1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
	case backingOff:
		// The conditions that reported the last failure stand until the
		// next attempt; only a token that expired meanwhile stops Ready
		// from being True.
		if ready := c.find(v1.ConditionReady); ready != nil && ready.Status == metav1.ConditionTrue && !valid {
			msg := "the token expired at " + g.Expiry.UTC().Format(time.RFC3339)
			if r := c.find(v1.ConditionReconciling); r != nil {
				msg += "; " + r.Message
			}
			c.set(v1.ConditionReady, metav1.ConditionFalse, v1.ReasonExpired, msg)
		}
	}
	if !o.at.IsZero() {
		requeue = append(requeue, o.at)
	}
	if valid {
		if in.renewalTime != nil && o.kind != stalled {
			requeue = append(requeue, in.renewalTime.Time)
		}
		// Ready must turn False when the token expires, whatever else.
		requeue = append(requeue, g.Expiry)
	}
	return summary{conditions: c.list, result: requeueResult(o, in.now, requeue)}
}

// summarizeDeletion reports what holds up a deletion (the org's budget, or
// a revocation being retried); Ready is left as it was, the resource is
// going.
func summarizeDeletion(o outcome, in observed, c *conditionSet) summary {
	switch o.kind {
	case waiting, retrying:
		c.set(v1.ConditionReconciling, metav1.ConditionTrue, o.reason, o.message)
		return summary{conditions: c.list, result: requeueResult(o, in.now, []time.Time{o.at})}
	}
	return summary{conditions: c.list, result: ctrl.Result{Priority: new(normalPriority)}}
}

// requeueResult asks for the next pass at the earliest of times.
func requeueResult(o outcome, now time.Time, times []time.Time) ctrl.Result {
	if len(times) == 0 {
		return ctrl.Result{Priority: new(normalPriority)}
	}
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
	return ctrl.Result{RequeueAfter: max(earliest(times).Sub(now), floor), Priority: new(priority)}
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
	// Kept before the write: the write's own event can arrive before its
	// answer, and that event is what drops it again (cacheCaughtUp). Kept
	// only after the answer, it stayed for every resource whose event came
	// first, most of them at 10,000 (5 MB).
	sent := writtenStatus{onto: run.obj.ResourceVersion, status: run.obj.Status.DeepCopy()}
	run.r.mem.statusWritten.store(run.key, sent)
	if err := run.write(ctx, kindToken, run.obj, func() error { return run.r.Status().Patch(ctx, run.obj, patch) }); err != nil {
		run.r.mem.statusWritten.delete(run.key)
		return fmt.Errorf("patching status: %w", client.IgnoreNotFound(err))
	}
	run.r.mem.statusWritten.replaceIf(run.key, writtenStatus{onto: sent.onto, status: run.obj.Status.DeepCopy()},
		func(w writtenStatus) bool { return w.status == sent.status })
	return nil
}
