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

// Package e2e tests the human sign-in the way a person goes through it:
// kubectl applies the sample OktaScopedToken, a real browser (headless
// Chromium, driven by chromedp) opens the link the operator publishes in
// status.authorizationURL, signs in on the Okta dev server's page, lands on
// the operator's callback page, and kubectl then shows the resource Ready and
// the token Secret filled.
//
// The control plane, the Okta dev server and the operator run in the test
// process; only the browser and kubectl are separate programs. Chromium comes
// from Debian's package (hack/install-chromium.sh). Without it the tests fail,
// unless E2E_SKIP_BROWSER=1 asks them to skip. Screenshots land in
// artifacts/e2e/.
package e2e
