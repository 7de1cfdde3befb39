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

// What a step can end in. Steps never write conditions: each returns an
// outcome, and summarize (status.go) turns the pass's outcomes into
// conditions and the requeue. The zero outcome, proceed, is the one
// encoding of "nothing to report".

import (
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// outcomeKind is how a pass ends, as far as the user is concerned.
type outcomeKind int

const (
	// proceed: the step found nothing worth reporting; the next step runs.
	// A pass whose steps all proceed ends with the token in place: Ready
	// says whether it is valid.
	proceed outcomeKind = iota
	// signInRequired: a person must open the sign-in link in status.
	signInRequired
	// retrying: a failure retrying may fix; the next attempt is at `at`.
	retrying
	// stalled: a failure retrying cannot fix until the spec, a referenced
	// Secret or the Okta app changes.
	stalled
	// backingOff: the last failure's backoff has not passed; the conditions
	// that reported it stand until the next attempt at `at`.
	backingOff
	// waiting: not a failure; the next step is at `at` (for example a share
	// of an Okta org's rate limit).
	waiting
)

// outcome is what a step ends in.
type outcome struct {
	kind    outcomeKind
	reason  string
	message string
	// at is when something is next due: the next attempt, the sign-in
	// link's expiry, the end of a wait. A proceed outcome may carry one
	// too: something a later pass must do (a restart held back).
	at time.Time
	// halt stops the pass: the steps after this one must not run.
	halt bool
	// rollout is the RolloutRestarted condition a step reports, whatever
	// the pass's outcome (nil: the step says nothing of it).
	rollout *conditionReport
}

// conditionReport is a condition a step reports beside the pass's outcome.
type conditionReport struct {
	// remove takes the condition away (no restart targets any more).
	remove  bool
	status  metav1.ConditionStatus
	reason  string
	message string
}

// reports says whether the outcome is the pass's to report: anything but
// proceed.
func (o outcome) reports() bool { return o.kind != proceed }

func signInOutcome(reason, message string, linkExpiry time.Time) outcome {
	return outcome{kind: signInRequired, reason: reason, message: message, at: linkExpiry}
}

func retryOutcome(reason, message string, at time.Time) outcome {
	return outcome{kind: retrying, reason: reason, message: message, at: at}
}

func stallOutcome(reason, message string) outcome {
	return outcome{kind: stalled, reason: reason, message: message}
}

func backoffOutcome(at time.Time) outcome {
	return outcome{kind: backingOff, at: at}
}

func waitOutcome(reason, message string, at time.Time) outcome {
	return outcome{kind: waiting, reason: reason, message: message, at: at}
}

// busyRetry is how soon a resource whose Okta host was busy is tried again.
const busyRetry = 2 * time.Second

// busyOutcome: the Okta host had as many of the operator's requests in
// flight as allowed, so none was sent. Not a failure: the conditions stand
// and the resource is tried again shortly.
func busyOutcome(now time.Time) outcome {
	return backoffOutcome(now.Add(busyRetry))
}

// How outcomes' messages name things.

// joinScopes writes scopes space-separated, the way OAuth 2.0 writes a scope
// parameter (RFC 6749 section 3.3).
func joinScopes(s []string) string {
	return strings.Join(s, " ")
}

// orNone lists names, or says there are none.
func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// roundUpToMinute is how a time far enough ahead is written in a message
// that passes repeat: to the minute, so status stays the same across them.
func roundUpToMinute(t time.Time) time.Time {
	if r := t.Truncate(time.Minute); !r.Equal(t) {
		return r.Add(time.Minute)
	}
	return t
}

// earliest is the first of times, zero when there are none.
func earliest(times []time.Time) time.Time {
	if len(times) == 0 {
		return time.Time{}
	}
	return slices.MinFunc(times, func(a, b time.Time) int { return a.Compare(b) })
}
