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
// split by concern.
//
//   - reconciler.go: the reconciler, its RBAC, one pass as a list of steps
//     for each grant type, and how a pass reads and writes its Secrets.
//   - outcome.go, status.go: what a step can end in, and the one function
//     that turns it into Ready, Reconciling and Stalled and the requeue.
//   - credentials.go: the app's credentials and the authorization server's
//     endpoints, read at most once per pass.
//   - token.go: when a token is due, and asking Okta for it.
//   - signin.go: the sign-in link a person opens (AuthorizationCode).
//   - statesecret.go: the state Secret, where an AuthorizationCode
//     resource's grant is kept.
//   - tokensecret.go: the Secret pods mount.
//   - finalize.go: the finalizer, revocation on delete, and retiring the
//     state Secret of a ClientCredentials resource made by an earlier
//     version.
//   - events.go: Events, each also logged.
//   - setup.go: what is watched, and which events are worth a pass.
//   - memory.go: what the reconciler keeps in memory — caches that may be
//     lost at any time without harm.
//
// Timing decisions are pure functions in internal/policy; the OAuth protocol
// is in internal/okta; the state Secret's layout is in internal/state.
package controllers
