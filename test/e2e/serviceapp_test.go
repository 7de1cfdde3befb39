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

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/gomega"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/yaml"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

const serviceSamplePath = "config/samples/oktatoken_v1alpha1_oktascopedtoken_serviceapp.yaml"

// TestServiceAppTokenReadsTheSystemLog follows docs/service-apps.md with
// kubectl: a key pair is made, its public half registered with the service
// app, the private key stored with `kubectl create secret generic
// --from-file`, the service-app sample applied; no person signs in, and the
// token in the Secret reads /api/v1/logs.
func TestServiceAppTokenReadsTheSystemLog(t *testing.T) {
	g := NewWithT(t)
	printLogsOnFailure(t)
	ns := "e2e-svc-" + utilrand.String(6)
	clientID := "0oae2eservice" + utilrand.String(6)

	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), serviceSamplePath))
	g.Expect(err).NotTo(HaveOccurred())
	var token map[string]any
	g.Expect(yaml.Unmarshal(raw, &token)).To(Succeed())
	spec, ok := token["spec"].(map[string]any)
	g.Expect(ok).To(BeTrue(), "%s has no spec", serviceSamplePath)
	ref, ok := spec["privateKeyRef"].(map[string]any)
	g.Expect(ok).To(BeTrue(), "%s has no spec.privateKeyRef", serviceSamplePath)
	keySecret, _ := ref["name"].(string)
	keyKey, _ := ref["key"].(string)
	keyID, _ := ref["keyID"].(string)
	name, _ := token["metadata"].(map[string]any)["name"].(string)
	secretName, _ := spec["secretName"].(string)
	g.Expect(keySecret).NotTo(BeEmpty())
	g.Expect(keyKey).NotTo(BeEmpty())

	// The key pair, as `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` makes it.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())
	der, err := x509.MarshalPKCS8PrivateKey(key)
	g.Expect(err).NotTo(HaveOccurred())
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	g.Expect(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)).To(Succeed())
	g.Expect(devServer.AddServiceClient(oktadev.ServiceClient{
		ID:            clientID,
		JWKS:          jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: keyID, Algorithm: string(jose.ES256), Use: "sig"}}},
		GrantedScopes: []string{"okta.logs.read"},
	})).To(Succeed())

	_, err = kubectl("create", "namespace", ns)
	g.Expect(err).NotTo(HaveOccurred())
	out, err := kubectl("create", "secret", "generic", keySecret, "-n", ns, "--from-file="+keyKey+"="+keyFile)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("secret/" + keySecret + " created"))

	spec["oktaDomain"] = devServer.Issuer()
	spec["clientID"] = clientID
	token["metadata"].(map[string]any)["namespace"] = ns
	manifest, err := yaml.Marshal(token)
	g.Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(t.TempDir(), "serviceapp.yaml")
	g.Expect(os.WriteFile(path, manifest, 0o600)).To(Succeed())
	out, err = kubectl("apply", "-n", ns, "-f", path)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("kubectl apply -f serviceapp.yaml:\n%s", out)

	tok := appliedToken{Namespace: ns, Name: name}
	g.Eventually(func(g Gomega) {
		row := getOST(g, tok)
		g.Expect(row["READY"]).To(Equal("True"), "%v", row)
		g.Expect(row["REASON"]).To(Equal("Issued"))
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	out, _ = kubectl("get", "ost", name, "-n", ns)
	t.Logf("kubectl get ost:\n%s", out)

	secret, err := getSecret(ns, secretName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(secret.Data).To(HaveKeyWithValue("token_type", []byte("Bearer")))
	g.Expect(strings.Fields(string(secret.Data["scope"]))).To(ContainElement("okta.logs.read"))
	g.Expect(secret.Data).NotTo(HaveKey("refresh_token"))
	req, err := http.NewRequest(http.MethodGet, devServer.Issuer()+"/api/v1/logs?limit=1", nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+string(secret.Data["access_token"]))
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "the service app's token reads the System Log")
}
