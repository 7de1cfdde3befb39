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

// What a failed attempt to get a token leaves behind: the count, the time
// and the next attempt in status (they survive a restart there), a Warning
// Event on the transition into failing, and the version of the credentials
// it was made with (a fix is tried at once, without waiting out the
// backoff). Token requests and discovery both fail this way.

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
)

// failure is a failed attempt as the user is told of it.
type failure struct {
	reason, message string
	// permanent failures stall the resource: retrying cannot fix them.
	permanent bool
}

// failed records a failed attempt in status (it survives a restart there)
// and says what the pass ends in. A Warning Event marks the transition into
// failing, or to another failure, not every retry.
func (run *reconcileRun) failed(ctx context.Context, f failure) outcome {
	reason, msg := f.reason, f.message
	st := &run.obj.Status
	previous := failureReason(run.before)
	st.FailedAttempts++
	t := metav1.NewTime(run.now)
	st.LastFailureTime = &t
	next := metav1.NewTime(policy.NextAttempt(run.now, st.FailedAttempts, run.obj.UID, time.Time{}))
	st.NextAttemptTime = &next
	run.r.mem.failedWith.store(run.key, run.credentialsVersion(ctx))
	if previous != reason {
		run.event(corev1.EventTypeWarning, v1.ReasonRotationFailed, "%s", msg)
	}
	if f.permanent {
		return stallOutcome(reason, msg)
	}
	return retryOutcome(reason, msg, next.Time)
}

// failureReason is the reason of the failure a status reports, "" when it
// reports none.
func failureReason(st *v1.OktaScopedTokenStatus) string {
	if st == nil || st.FailedAttempts == 0 {
		return ""
	}
	for _, c := range st.Conditions {
		if (c.Type == v1.ConditionStalled || c.Type == v1.ConditionReconciling) && c.Status == metav1.ConditionTrue {
			return c.Reason
		}
	}
	return ""
}

// inputsChangedSinceFailure says whether the spec or the credentials Secret
// changed since the last failed request: the backoff it earned was earned
// by what was there before.
func (run *reconcileRun) inputsChangedSinceFailure(ctx context.Context) bool {
	if run.obj.Status.ObservedGeneration != run.obj.Generation {
		return true
	}
	if v, ok := run.r.mem.failedWith.load(run.key); ok {
		return v != run.credentialsVersion(ctx)
	}
	return false
}

// succeeded clears the failure record after a token was obtained.
func (run *reconcileRun) succeeded() {
	st := &run.obj.Status
	if st.FailedAttempts > 0 {
		run.event(corev1.EventTypeNormal, v1.ReasonRecovered, "a token was issued again after %d failed attempts",
			st.FailedAttempts)
	}
	run.newToken = true
	st.FailedAttempts = 0
	st.LastFailureTime = nil
	st.NextAttemptTime = nil
	run.r.mem.failedWith.delete(run.key)
}
