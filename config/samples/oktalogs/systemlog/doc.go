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

// Package systemlog reads the Okta System Log (GET {oktaDomain}/api/v1/logs)
// with an access token that okta-token-operator keeps fresh in a Secret. It is
// the library behind config/samples/oktalogs and the end of `make demo`, and the model
// for any workload that consumes the operator's tokens.
//
// The token is read from the mounted Secret before every request. The kubelet
// updates a Secret volume in place (it writes the new version into a fresh
// directory and swaps the ..data symlink), so re-reading the file picks up a
// rotation without a restart; a file is a few hundred bytes, cheaper than the
// request it authorizes. A subPath mount is never updated, and neither is an
// environment variable: see docs/consumers.md.
//
// Paging follows Okta's System Log API: the first request carries since,
// until, limit and filter; every later one is the Link rel="next" URL of the
// previous answer. A bounded query (since and until) ends at the page without
// a next link. A polling query (no until, ascending order) has a next link on
// every page, even the last: an empty page means the reader has caught up, and
// asking the same next link later returns what was logged since.
//
// The X-Rate-Limit-Limit, -Remaining and -Reset headers pace the requests: a
// Client spreads its last requests over the rest of the window, and waits for
// the reset after a 429. A 401 is retried once if the token file changed in
// the meantime (a rotation between reading the token and using it). Waits run
// on an injected clock, and the token never reaches a log line or an error.
package systemlog
