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

// Events: each one the reconciler records is also logged, as the same line.

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

func (run *reconcileRun) event(eventType, reason, format string, args ...any) {
	run.r.eventf(run.obj, eventType, reason, format, args...)
}

// eventf records an Event and logs the same line.
func (r *OktaScopedTokenReconciler) eventf(obj *v1.OktaScopedToken, eventType, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.EventLog.Info(msg, "reason", reason, "type", eventType,
		"oktascopedtoken", client.ObjectKeyFromObject(obj).String())
	if r.Recorder != nil {
		r.Recorder.Event(obj, eventType, reason, msg)
	}
}
