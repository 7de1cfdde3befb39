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

// Package install tests the operator as a cluster administrator installs it:
// the Helm chart (rendered through the Helm Go SDK) and config/default
// (rendered through kustomize's Go API) are applied to a real control
// plane, and the manager runs in-process with nothing but a token of the
// ServiceAccount those manifests create, configured by the arguments and
// environment of the Deployment they render. A sign-in, a rotation, a drift
// repair and a delete with revocation then prove that the manifests grant
// what the operator needs, pass flags the binary knows, and wire the
// callback correctly.
//
// The fixture (install_test.go) goes render → apply → ServiceAccount config →
// running manager, and the other install modes build on it: two releases
// splitting the tokens by shard (shard_test.go), a release limited to one
// namespace with namespaced RBAC (namespaced_test.go), and an upgrade over
// the objects operator v0.1 left behind (upgrade_test.go). The README's
// Installing section is checked as a user copies it (readme_test.go). All
// share one control plane; a release whose rights a test proves gets a name
// and a namespace of its own, so no other test's bindings lend it rights.
package install
