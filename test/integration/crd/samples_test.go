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

package crd

import (
	"path/filepath"
	"slices"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// TestEverySampleApplies applies every file in config/samples with kubectl,
// as the samples' own comments tell a user to: all of them at once through
// their kustomization, and each file on its own.
func TestEverySampleApplies(t *testing.T) {
	g := NewWithT(t)
	run := kubectl(t, g)
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	g.Expect(len(files)).To(BeNumerically(">=", 4))

	kustomized := run("apply", "-k", "config/samples")
	for _, f := range files {
		g.Expect(run("apply", "-f", f)).To(ContainSubstring("unchanged"), "%s is applied by the kustomization too", filepath.Base(f))
	}
	g.Expect(kustomized).To(ContainSubstring("namespace/monitoring"))
	g.Expect(kustomized).To(ContainSubstring("deployment.apps/oktalogs"))
	g.Expect(kustomized).To(ContainSubstring("oktascopedtoken.oktatoken.dev/shipper-token"))
	g.Expect(run("get", "ost", "-n", "monitoring", "-o", "name")).To(And(
		ContainSubstring("logs-reader"), ContainSubstring("logs-reader-service"), ContainSubstring("shipper-token")))
}
