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

// Package budget keeps the operator's token requests to each Okta org
// inside one shared rate-limit budget.
//
// Okta limits its token endpoints per org, not per client: every code
// exchange, refresh, client-credentials grant and revocation the operator
// sends to an org spends the same per-minute bucket, and so do the org's
// other applications. A 429 for one resource is a 429 for all of them. A
// Budget therefore paces every such request of an org together, keyed by the
// org's host (Org): the org authorization server and the custom ones share
// it, which is stricter than Okta (it gives them two buckets) and never
// looser.
//
// # Pacing
//
// An org may be sent at most Config.PerMinute requests in any 60 seconds.
// The budget is a token bucket (GCRA) whose burst is 1% of the rate, with
// the emission interval widened by the same 1% (60s / (PerMinute − burst))
// so that a burst never lets a window of a minute hold more than PerMinute:
// Okta counts fixed windows, and the budget must be safe wherever they fall.
//
// Okta's answers lower the pace, never raise it above PerMinute:
//   - X-Rate-Limit-Limit below PerMinute becomes the rate;
//   - X-Rate-Limit-Remaining and -Reset spread what is left of the window
//     until its reset, keeping back the requests still in flight and one
//     burst (the org's other applications spend the same window, so
//     Remaining can fall faster than the operator's own requests explain);
//     when nothing is left, the org waits for the reset;
//   - a 429 pauses the whole org until X-Rate-Limit-Reset (at least a
//     second, a minute when the header is missing), and every reservation
//     moves after it.
//
// The reset is Okta's Unix time, so it is compared with the response's Date
// header (Okta's clock) rather than the operator's, which may differ. A
// reset more than a minute ahead of both clocks is not believed: Okta's
// windows are a minute long.
//
// # Priorities and reservations
//
// Take never blocks: a request that may go now is granted; any other gets
// a reservation and the time to come back, and the reconciler requeues to
// it instead of holding a worker. Calling Take again with the same key
// finds the same reservation (no key is booked twice) and, while nothing
// ahead of it changed, the same time.
//
// Reservations are served by virtual arrival time: the request's tag minus
// Config.AgingStep (default one minute) for each priority level above
// Manual (Early one step, Expiring two, Person — a callback's code
// exchange, someone waiting in a browser — three). A request that has
// waited one AgingStep longer ranks with those one level above it that
// arrive now, so a steady stream of Expiring requests delays a Manual one
// by at most two AgingSteps (plus what was already queued ahead of it): it
// is never starved.
//
// The tag makes tenants share the org fairly (VirtualClock fair queueing).
// The tenant is a request's namespace: the part of Take's key before "/",
// or what Wait is told. A request's tag is when it started waiting, or one
// interval after its tenant's previous tag when that is later: a tenant
// alone still gets the whole rate, but one that queues a hundred requests
// tags them a hundred intervals into the future, and another tenant's
// request of the same priority arriving meanwhile goes before all of them
// but the one or two already due. No namespace's sign-ins, manual renewals
// or failures can hold another namespace's renewal back by more than its
// share: at the same priority, one of its requests; a level below, one
// AgingStep's worth (TestTenantsShareTheOrg).
//
// A reservation whose time passed more than a grace period ago (two
// intervals, at least 100ms) no longer holds back those behind it: its
// reconcile is late or gone, and the slot goes to whoever asks. When it
// comes back, it keeps its place in the order. One not seen for ten minutes
// is forgotten.
//
// Wait is the blocking form, for the callback.
//
// RenewalPriority says how urgent a due renewal is.
package budget
