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

// Package bench runs the operator's benchmark (internal/bench) at a small N
// against a real control plane, the Okta dev server and the manager binary
// built from the tree, and asserts the figures issue 9 sets countable
// targets on: reconciles, GETs and writes per new token, writes per
// rotation, and no write in an idle hour; and issue 13's count: no 429 from
// a rate-limited org while the operator issues more tokens than its window
// has left. Timings and memory are printed, never asserted: two shared
// cores make them noise at this size.
package bench
