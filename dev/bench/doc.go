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

// Package bench measures what the operator costs per token: time and
// tokens/s to issue N ClientCredentials tokens, reconciles, API requests and
// writes per token, writes per rotation and in an idle hour, and the
// manager's memory, with and without unrelated Secrets in the cluster; and
// how it keeps to an Okta org's rate limit: the 429s a limited org answers,
// the time its tokens take against the time its limit allows, and whether
// another org's tokens slow down beside it (ratelimit.go); what DPoP's
// nonce costs when every app requires DPoP (the dpop scenario); and the
// manager's memory beside what tenants can make big: Secrets labelled as
// the operator's and resources at the CRD's caps (tenantjunk.go); and one
// ClusterOktaScopedToken copied into many namespaces: the time to every
// copy, its token requests and its writes per copy, created, rotated and
// with nothing changed (clusterfanout.go). The manager runs under a
// GOMEMLIMIT, its Deployment's 128 MiB by default.
//
// It drives only the project's stable surfaces, so it measures whatever
// reconciler is in the tree: the manager binary (built from ./cmd and run as
// a separate process, so its RSS and CPU are its own), the control plane of
// dev/testenv, the Okta dev server of dev/oktadev served
// in-process, the API types, and internal/operator in-process for the
// fake-clock rotation scenarios.
//
// Every figure issue 9's targets are set on comes from a counter, not a
// stopwatch: the manager's controller_runtime_reconcile_total, the API
// server's apiserver_request_total (minus its own loopback requests and
// the benchmark's, which are counted client-side), split by namespace
// where a scenario needs it by a counting proxy in front of the API server
// (apiproxy.go), and the writes the in-process operator sends. Those are returned in Result so a test can
// assert them; timings and memory are printed only, since they depend on
// how busy the machine is.
//
// dev/bench/cmd/bench prints the table (make bench); the ci_*_test.go files
// of this package run it at a small N in `make test` and assert the counts.
package bench
