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

import "time"

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

// outcome is what a step ends in. Steps never write conditions: summarize
// turns the pass's outcome into conditions and the requeue.
type outcome struct {
	kind    outcomeKind
	reason  string
	message string
	// at is when something is next due: the next attempt, the sign-in
	// link's expiry, the end of a wait.
	at time.Time
	// halt stops the pass: the steps after this one must not run.
	halt bool
}

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
