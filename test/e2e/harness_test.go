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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

const (
	stateNamespace  = "okta-token-operator-system"
	webClientID     = "0oae2ebrowserapp"
	webClientSecret = "e2e-web-app-client-secret"
	userName        = "grace@example.com"
	userPassword    = "Correct-Horse-Battery-Staple-1"
	userDisplayName = "Grace Hopper"
	accessTokenTTL  = time.Hour

	// chromiumPath is where Debian's chromium package puts the browser.
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds one test's whole browser session.
	browserTimeout = 60 * time.Second
	// kubectlTimeout bounds one kubectl call.
	kubectlTimeout = 30 * time.Second
	// samplePath is the sample a user would start from; the tests apply
	// it with only the Okta domain and client ID replaced.
	samplePath = "config/samples/oktatoken_v1alpha1_oktascopedtoken.yaml"
)

var (
	env         *testenv.Env
	kubectlPath string
	kubeconfig  string
	devServer   *oktadev.Server
	callbackURL string
	// logs collects what the operator and the dev server log; a failing
	// test prints its share.
	logs = &logbuffer.Buffer{}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run starts the control plane, the Okta dev server and the operator, shared
// by every test (as in a cluster, one operator serves every namespace), runs
// the tests and stops everything again.
func run(m *testing.M) int {
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "e2e setup: %s: %v\n", what, err)
		return 1
	}
	logger := zap.New(zap.WriteTo(logs), zap.UseDevMode(true))
	logf.SetLogger(logger)

	var err error
	env, err = testenv.Start()
	if err != nil {
		return fail("starting the control plane", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}}); err != nil {
		return fail("creating the operator's namespace", err)
	}

	kubectlPath, err = testenv.Kubectl()
	if err != nil {
		return fail("finding kubectl", err)
	}
	if _, err := os.Stat(kubectlPath); err != nil {
		return fail("finding kubectl (run `make control-plane`)", err)
	}
	dir, err := os.MkdirTemp("", "okta-token-operator-e2e-")
	if err != nil {
		return fail("making a temporary folder", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfig, err = env.Kubeconfig(dir)
	if err != nil {
		return fail("writing a kubeconfig", err)
	}

	// The callback's port is reserved first: the web app registered with
	// the dev server must know its redirect URI before the operator runs.
	callbackListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail("listening for callbacks", err)
	}
	callbackURL = "http://" + callbackListener.Addr().String() + "/callback"

	devServer, err = oktadev.New(oktadev.Config{
		AccessTokenTTL: accessTokenTTL,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		return fail("creating the Okta dev server", err)
	}
	devListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail("listening for the Okta dev server", err)
	}
	if err := devServer.Start(devListener); err != nil {
		return fail("starting the Okta dev server", err)
	}
	defer func() { _ = devServer.Close() }()
	if err := devServer.AddWebClient(oktadev.WebClient{
		ID:            webClientID,
		Secret:        webClientSecret,
		RedirectURIs:  []string{callbackURL},
		GrantedScopes: []string{"okta.logs.read"},
	}); err != nil {
		return fail("registering the web app", err)
	}
	if err := devServer.AddUser(oktadev.User{Username: userName, Password: userPassword, Name: userDisplayName}); err != nil {
		return fail("adding the user", err)
	}

	mgr, err := operator.New(env.Config, operator.Options{
		CallbackListener:     callbackListener,
		CallbackURL:          callbackURL,
		StateNamespace:       stateNamespace,
		AllowInsecureIssuers: true,
		OktaDomains:          []string{"127.0.0.1"},
		SkipNameValidation:   true,
		Logger:               &logger,
	})
	if err != nil {
		return fail("creating the operator", err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			fmt.Fprintln(os.Stderr, "the operator stopped with an error:", err)
		}
	}()

	return m.Run()
}

// printLogsOnFailure prints what the operator and the dev server logged
// during the test, if it fails.
func printLogsOnFailure(t *testing.T) {
	t.Helper()
	from := logs.Len()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("operator and Okta dev server logs during %s:\n%s", t.Name(), logs.From(from))
		}
	})
}

// kubectl runs the kubectl built beside the control plane against it and
// returns its standard output.
func kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// appliedToken is the sample OktaScopedToken as applied in one test's
// namespace.
type appliedToken struct {
	Namespace  string
	Name       string
	SecretName string
	// SecretLabels are the labels the sample's secretTemplate asks for.
	SecretLabels map[string]string
}

// applySample writes a manifest made from the sample (a namespace, the web
// app's client-secret Secret and the OktaScopedToken, with spec.oktaDomain
// and spec.clientID pointing at the dev server) and applies it with kubectl,
// as a user following the sample's instructions would.
func applySample(t *testing.T) appliedToken {
	t.Helper()
	g := NewWithT(t)
	ns := "e2e-" + rand.String(6)

	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), samplePath))
	g.Expect(err).NotTo(HaveOccurred())
	var token map[string]any
	g.Expect(yaml.Unmarshal(raw, &token)).To(Succeed(), "%s is not YAML", samplePath)
	g.Expect(token).To(HaveKeyWithValue("kind", "OktaScopedToken"), samplePath)
	metadata, ok := token["metadata"].(map[string]any)
	g.Expect(ok).To(BeTrue(), "%s has no metadata", samplePath)
	spec, ok := token["spec"].(map[string]any)
	g.Expect(ok).To(BeTrue(), "%s has no spec", samplePath)
	// Only these two fields change; the test should break when the sample
	// stops having them.
	g.Expect(spec).To(HaveKey("oktaDomain"), "%s has no spec.oktaDomain", samplePath)
	g.Expect(spec).To(HaveKey("clientID"), "%s has no spec.clientID", samplePath)
	spec["oktaDomain"] = devServer.Issuer()
	spec["clientID"] = webClientID
	metadata["namespace"] = ns

	ref, ok := spec["clientSecretRef"].(map[string]any)
	g.Expect(ok).To(BeTrue(), "%s has no spec.clientSecretRef", samplePath)
	secretRefName, _ := ref["name"].(string)
	secretRefKey, _ := ref["key"].(string)
	g.Expect(secretRefName).NotTo(BeEmpty(), "spec.clientSecretRef.name in %s", samplePath)
	g.Expect(secretRefKey).NotTo(BeEmpty(), "spec.clientSecretRef.key in %s", samplePath)

	applied := appliedToken{Namespace: ns, SecretLabels: map[string]string{}}
	applied.Name, _ = metadata["name"].(string)
	g.Expect(applied.Name).NotTo(BeEmpty(), "metadata.name in %s", samplePath)
	applied.SecretName, _ = spec["secretName"].(string)
	if applied.SecretName == "" {
		applied.SecretName = applied.Name
	}
	if tmpl, ok := spec["secretTemplate"].(map[string]any); ok {
		labels, _ := tmpl["labels"].(map[string]any)
		for k, v := range labels {
			applied.SecretLabels[k] = fmt.Sprint(v)
		}
	}

	docs := []any{
		map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}},
		map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata":   map[string]any{"name": secretRefName, "namespace": ns},
			"stringData": map[string]any{secretRefKey: webClientSecret},
		},
		token,
	}
	var manifest strings.Builder
	for _, doc := range docs {
		out, err := yaml.Marshal(doc)
		g.Expect(err).NotTo(HaveOccurred())
		manifest.WriteString("---\n")
		manifest.Write(out)
	}
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	g.Expect(os.WriteFile(path, []byte(manifest.String()), 0o600)).To(Succeed())

	out, err := kubectl("apply", "-f", path)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("kubectl apply -f manifest.yaml:\n%s", out)
	g.Expect(out).To(ContainSubstring("oktascopedtoken.oktatoken.dev/%s created", applied.Name))
	return applied
}

// waitForAuthorizationURL waits until `kubectl get ost` shows the sign-in
// link, and returns it.
func waitForAuthorizationURL(t *testing.T, tok appliedToken) string {
	t.Helper()
	var authURL string
	NewWithT(t).Eventually(func(g Gomega) {
		out, err := kubectl("get", "ost", tok.Name, "-n", tok.Namespace, "-o", "jsonpath={.status.authorizationURL}")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(HavePrefix(devServer.Issuer() + "/oauth2/v1/authorize?"))
		authURL = out
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	return authURL
}

// getOST runs `kubectl get ost NAME` and returns its one row by column name,
// as a person reads the table.
func getOST(g Gomega, tok appliedToken) map[string]string {
	out, err := kubectl("get", "ost", tok.Name, "-n", tok.Namespace)
	g.Expect(err).NotTo(HaveOccurred())
	rows := parseTable(out)
	g.Expect(rows).To(HaveLen(1), "kubectl get ost:\n%s", out)
	return rows[0]
}

var headerColumn = regexp.MustCompile(`\S+`)

// parseTable reads kubectl's table output: each column starts where its
// header starts.
func parseTable(out string) []map[string]string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	header := lines[0]
	spans := headerColumn.FindAllStringIndex(header, -1)
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, span := range spans {
			start, end := span[0], len(line)
			if i+1 < len(spans) {
				end = min(spans[i+1][0], len(line))
			}
			if start < end {
				row[header[span[0]:span[1]]] = strings.TrimSpace(line[start:end])
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// getSecret reads a Secret with `kubectl get secret -o json`.
func getSecret(namespace, name string) (*corev1.Secret, error) {
	out, err := kubectl("get", "secret", name, "-n", namespace, "-o", "json")
	if err != nil {
		return nil, err
	}
	s := &corev1.Secret{}
	if err := json.Unmarshal([]byte(out), s); err != nil {
		return nil, fmt.Errorf("reading kubectl's output: %w", err)
	}
	return s, nil
}

// newBrowser starts headless Chromium for one test, with a fresh profile,
// and returns a context for chromedp whose whole session ends after
// browserTimeout. A failing test leaves a screenshot of the last page.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if info, err := os.Stat(chromiumPath); err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		if os.Getenv("E2E_SKIP_BROWSER") == "1" {
			t.Skipf("skipping the browser test: %s is not installed and E2E_SKIP_BROWSER=1; run hack/install-chromium.sh to run it", chromiumPath)
		}
		t.Fatalf("%s is not installed: run hack/install-chromium.sh (or set E2E_SKIP_BROWSER=1 to skip the browser tests)", chromiumPath)
	}
	output := &logbuffer.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	sessionCtx, cancelSession := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(sessionCtx, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		if t.Failed() {
			shotCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100)); err == nil {
				writeArtifact(t, "failure-"+strings.ReplaceAll(t.Name(), "/", "_")+".png", png)
			}
			cancel()
		}
		cancelTab()
		cancelAlloc() // waits for the browser to exit, before TempDir is removed
		cancelSession()
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})

	version, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatalf("starting %s: %v\n%s", chromiumPath, err, output.String())
	}
	t.Logf("browser: %s (%s, protocol %s)", version.Product, chromiumPath, version.ProtocolVersion)
	return ctx
}

// saveScreenshot saves a PNG of the whole page in artifacts/e2e/.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("taking the screenshot %s: %v", name, err)
	}
	writeArtifact(t, name, png)
}

func writeArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "artifacts", "e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("saving %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Errorf("saving %s: %v", name, err)
		return
	}
	t.Logf("saved %s", path)
}
