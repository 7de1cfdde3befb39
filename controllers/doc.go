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

// Package controllers holds the OktaScopedToken reconciler: one reconciler,
// split by concern. A pass is a list of steps (reconciler.go); each step
// returns an outcome and never writes a condition; summarize turns the
// pass's outcome into conditions and the requeue; status is patched once.
// Deletion is a pass like the others, with its own steps.
//
// The files, from the pass down to what the steps share:
//
//   - reconciler.go: the reconciler, its RBAC, the steps of each kind of
//     pass (AuthorizationCode, ClientCredentials, deletion), and how a pass
//     reads and writes its objects.
//   - status.go: summarize (a pure function, table-tested) and the status
//     patch.
//   - outcome.go: what a step can end in, and how messages name things.
//   - the steps, in the order a pass runs them: statesecret.go (the state
//     Secret, AuthorizationCode), signin.go (the grant kept and the sign-in
//     link a person opens), token.go (is a token due, and asking Okta for it,
//     inside the org's budget), tokensecret.go (the Secret pods mount),
//     restart.go (rollout restarts), legacy.go (the state an earlier version
//     kept for ClientCredentials), finalize.go (the finalizer and the
//     deletion steps).
//   - what several steps share: credentials.go (the app's credentials and
//     the authorization server's endpoints, read at most once per pass),
//     failures.go (what a failed attempt leaves in status), revoke.go
//     (revoking a grant where it was made), events.go (Events, each also
//     logged), memory.go (what the reconciler keeps in memory: caches that
//     may be lost at any time without harm, and the write ledger).
//   - setup.go: what is watched, and which events are worth a pass.
//
// Decisions are pure functions elsewhere: when a token is due and when a
// retry may go in internal/policy, the state Secret's transitions in
// internal/state, the budget's order in internal/budget; the OAuth protocol
// is internal/okta's.
package controllers
