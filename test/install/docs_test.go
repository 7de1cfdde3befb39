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

package install

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// docSection is the text of the "## " section of a doc whose title starts
// with prefix.
func docSection(t *testing.T, doc, prefix string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), doc))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## "+prefix)
	if start < 0 {
		t.Fatalf("%s has no section %q", doc, prefix)
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+4]
	}
	return text
}

// TestServiceAppStepsWork runs the shell blocks of docs/service-apps.md's
// steps 6 and 7 as a user copies them, with bash and the kubectl built
// beside the control plane, against the API server, from a folder holding
// the key.pem step 2 made: the key Secret lands in the namespace of the
// sample the next step applies, and the `kubectl get` that follows finds
// the token there. (No operator runs: that the token is then issued is
// TestHelmChartSignInToRevoke's and the controller tests' business.)
func TestServiceAppStepsWork(t *testing.T) {
	g := NewWithT(t)
	kubectlPath, err := testenv.Kubectl()
	g.Expect(err).NotTo(HaveOccurred())
	dir := t.TempDir()
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	g.Expect(err).NotTo(HaveOccurred())
	der, err := x509.MarshalPKCS8PrivateKey(key)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)).To(Succeed())
	g.Expect(os.Symlink(filepath.Join(testenv.RepoRoot(), "config"), filepath.Join(dir, "config"))).To(Succeed())

	run := func(step, script string) string {
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+filepath.Dir(kubectlPath)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), "docs/service-apps.md %s:\n%s\n%s", step, script, out)
		return string(out)
	}
	var last string
	for _, step := range []string{"6.", "7."} {
		blocks := shellBlock.FindAllStringSubmatch(docSection(t, "docs/service-apps.md", step), -1)
		g.Expect(blocks).NotTo(BeEmpty(), "step %s has a shell block", step)
		for _, b := range blocks {
			last = run("step "+step, b[1])
		}
	}
	g.Expect(last).To(ContainSubstring("logs-reader-service"), "the last command of step 7 shows the token")

	check := func(args ...string) string {
		out, err := exec.Command(kubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, out)
		return string(out)
	}
	ns := strings.TrimSpace(check("get", "ost", "-A", "--field-selector", "metadata.name=logs-reader-service",
		"-o", "jsonpath={.items[0].metadata.namespace}"))
	g.Expect(ns).NotTo(BeEmpty())
	g.Expect(check("-n", ns, "get", "secret", "okta-service-app", "-o", "jsonpath={.data.privateKey}")).NotTo(BeEmpty(),
		"the key Secret is in the token's namespace, %s, under the key the sample names", ns)
	g.Expect(check("-n", ns, "get", "ost", "logs-reader-service", "-o", "jsonpath={.spec.privateKeyRef.name}/{.spec.privateKeyRef.key}")).
		To(Equal("okta-service-app/privateKey"))
	t.Cleanup(func() {
		_ = exec.Command(kubectlPath, "--kubeconfig", kubeconfig, "-n", ns, "delete", "ost", "logs-reader-service",
			"--wait=false").Run()
	})
}
