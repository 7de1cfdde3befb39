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

package charts_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/okta-token-operator/okta-token-operator/charts"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

const (
	releaseName = "okta-token-operator"
	releaseNS   = "okta-token-operator-system"
	host        = "okta-token-operator.example.com"
)

// repoRoot is the checkout's top folder.
func repoRoot() string { return filepath.Dir(filepath.Dir(charts.Dir())) }

// render renders the chart with values (the callback host added unless the
// values name one) and fails the test on error.
func render(t *testing.T, values string) *charts.Rendering {
	t.Helper()
	r, err := renderValues(values)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func renderValues(values string) (*charts.Rendering, error) {
	v := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &v); err != nil {
		return nil, err
	}
	if _, ok := v["callback"]; !ok {
		v["callback"] = map[string]any{"host": host}
	}
	return charts.Render(charts.Release{Name: releaseName, Namespace: releaseNS, Values: v})
}

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	if u == nil {
		t.Fatal("object not rendered")
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func deployment(t *testing.T, r *charts.Rendering) *appsv1.Deployment {
	t.Helper()
	return convert[appsv1.Deployment](t, charts.Find(r.Objects, "Deployment", releaseName))
}

func managerContainer(t *testing.T, d *appsv1.Deployment) (args []string, env map[string]string) {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			env = map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			return c.Args, env
		}
	}
	t.Fatal("no manager container")
	return nil, nil
}

// TestLint runs what `helm lint --strict` runs, with each values file in
// ci/: a warning fails the test too. helm's Lint action (pkg/action) is a
// thin loop around lint.RunAll, which this calls directly: importing
// pkg/action would compile its registry, plugin and storage dependencies
// for this test alone.
func TestLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(charts.Dir(), "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml in %s (%v)", charts.Dir(), err)
	}
	kv, err := common.ParseKubeVersion(charts.KubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	// The Lint action's guard: the folder must be a chart.
	if _, err := os.Stat(filepath.Join(charts.Dir(), "Chart.yaml")); err != nil {
		t.Fatalf("lint: unable to check Chart.yaml file in chart: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			values, err := common.ReadValuesFile(file)
			if err != nil {
				t.Fatal(err)
			}
			result := lint.RunAll(charts.Dir(), values, releaseNS, lint.WithKubeVersion(kv))
			// --strict: a warning is an error.
			for _, m := range result.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
}

// TestSchemaRefusesWrongValues: values.schema.json catches a wrong type, a
// misspelt key at any level and a value out of range before anything is
// rendered.
func TestSchemaRefusesWrongValues(t *testing.T) {
	tests := map[string]struct {
		values  string
		wantErr string
	}{
		"wrong type":                   {values: "replicaCount: two", wantErr: "replicaCount"},
		"unknown top-level key":        {values: "replicas: 2", wantErr: "replicas"},
		"misspelt nested key":          {values: "callback: {hots: x.example.com}", wantErr: "hots"},
		"list given as a string":       {values: "oktaDomains: '*.okta.com'", wantErr: "oktaDomains"},
		"unknown pull policy":          {values: "image: {pullPolicy: Sometimes}", wantErr: "pullPolicy"},
		"callback URL without a path":  {values: "callback: {url: 'https://x.example.com'}", wantErr: "url"},
		"duration without a unit":      {values: "manager: {oktaRequestTimeout: '30'}", wantErr: "oktaRequestTimeout"},
		"namespace that is not a name": {values: "watchNamespaces: [Team_A]", wantErr: "watchNamespaces"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := renderValues(tc.values)
			if err == nil {
				t.Fatalf("values %q rendered; the schema must refuse them", tc.values)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want a schema error about %q", err, tc.wantErr)
			}
		})
	}
}

// TestWithoutACallback: with neither callback.host nor callback.url the
// release serves ClientCredentials tokens only: no callback Service,
// Ingress, port, address or URL, and the notes say what an
// AuthorizationCode resource shows and what to set. With a host, all of
// them are there.
func TestWithoutACallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callback map[string]any
		want     bool
	}{
		{name: "no callback", callback: map[string]any{}},
		{name: "callback.host", callback: map[string]any{"host": host}, want: true},
		{name: "callback.url", callback: map[string]any{"url": "https://" + host + "/okta/callback"}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := charts.Render(charts.Release{Name: releaseName, Namespace: releaseNS,
				Values: map[string]any{"callback": tc.callback, "networkPolicy": map[string]any{"enabled": true}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, kind := range []string{"Service", "Ingress"} {
				if got := charts.Find(r.Objects, kind, releaseName+"-callback") != nil; got != tc.want {
					t.Errorf("%s %s-callback rendered: %v, want %v", kind, releaseName, got, tc.want)
				}
			}
			d := deployment(t, r)
			args, env := managerContainer(t, d)
			_, hasURL := env["CALLBACK_URL"]
			hasAddress := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--callback-bind-address") })
			hasPort := slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports,
				func(p corev1.ContainerPort) bool { return p.Name == "callback" })
			if hasURL != tc.want || hasAddress != tc.want || hasPort != tc.want {
				t.Errorf("CALLBACK_URL %v, --callback-bind-address %v, callback port %v: want %v", hasURL, hasAddress, hasPort, tc.want)
			}
			np := convert[networkingv1.NetworkPolicy](t, charts.Find(r.Objects, "NetworkPolicy", releaseName+"-ingress"))
			letIn := false
			for _, rule := range np.Spec.Ingress {
				for _, p := range rule.Ports {
					letIn = letIn || (p.Port != nil && p.Port.String() == "callback")
				}
			}
			if letIn != tc.want {
				t.Errorf("the NetworkPolicy lets the callback port in: %v, want %v", letIn, tc.want)
			}
			notes := "neither callback.host nor callback.url is set"
			if strings.Contains(r.Notes, notes) == tc.want {
				t.Errorf("notes say %q: %v, want %v:\n%s", notes, !tc.want, !tc.want, r.Notes)
			}
			if !tc.want && !strings.Contains(r.Notes, "CallbackNotConfigured") {
				t.Errorf("notes do not name the reason an AuthorizationCode resource shows:\n%s", r.Notes)
			}
		})
	}
}

// TestVersionFollowsVERSION: the chart's version and appVersion are the
// project's version, from the one VERSION file.
func TestVersionFollowsVERSION(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(raw))
	c, err := charts.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Metadata.Version != version || c.Metadata.AppVersion != version {
		t.Errorf("Chart.yaml has version %q and appVersion %q; VERSION says %q: run make manifests",
			c.Metadata.Version, c.Metadata.AppVersion, version)
	}
	d := deployment(t, render(t, ""))
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "okta-token-operator:"+version {
		t.Errorf("default image = %q, want the appVersion tag %q", got, version)
	}
}

// TestGeneratedFilesAreCopies: the chart's CRD and manager rules are the
// generated ones in config/, byte for byte.
func TestGeneratedFilesAreCopies(t *testing.T) {
	pairs := map[string]string{
		"config/rbac/role.yaml": "files/rbac/manager-role.yaml",
	}
	crds, err := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	for _, crd := range crds {
		pairs[filepath.Join("config", "crd", "bases", filepath.Base(crd))] = filepath.Join("files", "crds", filepath.Base(crd))
	}
	copied, _ := filepath.Glob(filepath.Join(charts.Dir(), "files", "crds", "*.yaml"))
	if len(copied) != len(crds) {
		t.Errorf("the chart holds %d CRD files, config/crd/bases %d: run make manifests", len(copied), len(crds))
	}
	for src, dst := range pairs {
		want, err := os.ReadFile(filepath.Join(repoRoot(), src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(charts.Dir(), dst))
		if err != nil {
			t.Errorf("%v: run make manifests", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/%s differs from %s: run make manifests", charts.ChartName, dst, src)
		}
	}
}

// generatedRules reads the rules controller-gen wrote.
func generatedRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := charts.DecodeObjects(raw)
	if err != nil {
		t.Fatal(err)
	}
	roles := charts.OfKind(objs, "ClusterRole")
	rules := make([]rbacv1.PolicyRule, 0, len(roles))
	for _, o := range roles {
		rules = append(rules, convert[rbacv1.ClusterRole](t, o).Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}
	return rules
}

// TestClusterModeGrantsTheGeneratedRules: without watchNamespaces the
// operator's ClusterRole is config/rbac/role.yaml's, bound to its
// ServiceAccount.
func TestClusterModeGrantsTheGeneratedRules(t *testing.T) {
	g := NewWithT(t)
	r := render(t, "")
	role := convert[rbacv1.ClusterRole](t, charts.Find(r.Objects, "ClusterRole", releaseName+"-manager"))
	g.Expect(role.Rules).To(Equal(generatedRules(t)))
	binding := convert[rbacv1.ClusterRoleBinding](t, charts.Find(r.Objects, "ClusterRoleBinding", releaseName+"-manager"))
	g.Expect(binding.RoleRef.Name).To(Equal(role.Name))
	g.Expect(binding.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: releaseName, Namespace: releaseNS}))
	g.Expect(charts.OfKind(r.Objects, "Role")).To(HaveLen(1), "only the leader-election Role")
}

// TestNamespacedModeGrantsNoClusterWideSecrets: with watchNamespaces the
// generated rules become a Role in each watched namespace, the state
// Secrets get a Role in the release's namespace, and no ClusterRole
// mentions Secrets.
func TestNamespacedModeGrantsNoClusterWideSecrets(t *testing.T) {
	g := NewWithT(t)
	r := render(t, "watchNamespaces: [team-a, team-b]")
	for _, o := range charts.OfKind(r.Objects, "ClusterRole") {
		for _, rule := range convert[rbacv1.ClusterRole](t, o).Rules {
			g.Expect(rule.Resources).NotTo(ContainElement(BeElementOf("secrets", "*")), "ClusterRole %s", o.GetName())
		}
	}
	g.Expect(charts.OfKind(r.Objects, "ClusterRoleBinding")).NotTo(ContainElement(
		WithTransform(func(o *unstructured.Unstructured) string { return o.GetName() }, Equal(releaseName+"-manager"))))
	rules := generatedRules(t)
	for _, ns := range []string{"team-a", "team-b"} {
		var role *rbacv1.Role
		for _, o := range charts.OfKind(r.Objects, "Role") {
			if o.GetNamespace() == ns && o.GetName() == releaseName+"-manager" {
				role = convert[rbacv1.Role](t, o)
			}
		}
		g.Expect(role).NotTo(BeNil(), "a Role in %s", ns)
		g.Expect(role.Rules).To(Equal(rules))
		var bound bool
		for _, o := range charts.OfKind(r.Objects, "RoleBinding") {
			b := convert[rbacv1.RoleBinding](t, o)
			if b.Namespace == ns && b.RoleRef.Name == role.Name {
				g.Expect(b.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: releaseName, Namespace: releaseNS}))
				bound = true
			}
		}
		g.Expect(bound).To(BeTrue(), "the Role in %s is bound", ns)
	}
	state := convert[rbacv1.Role](t, charts.Find(r.Objects, "Role", releaseName+"-state"))
	g.Expect(state.Namespace).To(Equal(releaseNS))
	g.Expect(state.Rules).To(HaveLen(1))
	g.Expect(state.Rules[0].Resources).To(Equal([]string{"secrets"}))
	for _, rule := range rules {
		if slices.Contains(rule.Resources, "secrets") {
			g.Expect(state.Rules[0].Verbs).To(Equal(rule.Verbs), "the state Role has the generated verbs on Secrets")
		}
	}
	args, _ := managerContainer(t, deployment(t, r))
	g.Expect(args).To(ContainElement("--watch-namespaces=team-a,team-b"))
}

// TestDefaultArgsParseWithTodaysFlags: the default rendering passes only
// flags the binary has, and they mean what the values say.
func TestDefaultArgsParseWithTodaysFlags(t *testing.T) {
	g := NewWithT(t)
	d := deployment(t, render(t, ""))
	args, env := managerContainer(t, d)
	g.Expect(args).To(Equal([]string{
		"--health-probe-bind-address=:8081",
		"--callback-bind-address=:8082",
		"--leader-elect",
		"--leader-election-id=okta-token-operator.oktatoken.dev",
		"--metrics-bind-address=:8443",
	}))
	g.Expect(env).To(HaveKeyWithValue(operator.EnvCallbackURL, "https://"+host+"/callback"))
	g.Expect(env).To(HaveKey(operator.EnvPodNamespace))

	var f operator.Flags
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	operator.BindFlags(fs, &f)
	g.Expect(fs.Parse(args)).To(Succeed())
	g.Expect(f.LeaderElection).To(BeTrue())
	g.Expect(f.MetricsBindAddress).To(Equal(":8443"))
	g.Expect(f.SecureMetrics).To(BeTrue())
	g.Expect(f.CallbackBindAddress).To(Equal(":8082"))
}

// TestFlagsRenderOnlyWhenSet: each manager value becomes its flag when set,
// and nothing when left at its zero value.
func TestFlagsRenderOnlyWhenSet(t *testing.T) {
	tests := map[string]struct {
		values string
		want   []string
	}{
		"okta domains":          {"oktaDomains: ['*.okta.com', login.example.com]", []string{"--okta-domains=*.okta.com,login.example.com"}},
		"watch namespaces":      {"watchNamespaces: [a, b]", []string{"--watch-namespaces=a,b"}},
		"shard":                 {"shard: blue", []string{"--shard=blue"}},
		"require secret label":  {"requireSecretLabel: true", []string{"--require-secret-label"}},
		"reconciles":            {"manager: {maxConcurrentReconciles: 8}", []string{"--max-concurrent-reconciles=8"}},
		"api qps":               {"manager: {kubeAPIQPS: 2.5}", []string{"--kube-api-qps=2.5"}},
		"api burst":             {"manager: {kubeAPIBurst: 1000000}", []string{"--kube-api-burst=1000000"}},
		"okta rate limit":       {"manager: {oktaRateLimit: 300}", []string{"--okta-rate-limit=300"}},
		"requests per host":     {"manager: {oktaMaxRequestsPerHost: 2}", []string{"--okta-max-requests-per-host=2"}},
		"sign-in link lifetime": {"manager: {authorizationURLTTL: 30m}", []string{"--authorization-url-ttl=30m"}},
		"okta timeout":          {"manager: {oktaRequestTimeout: 10s}", []string{"--okta-request-timeout=10s"}},
		"insecure issuers":      {"manager: {allowInsecureIssuers: true}", []string{"--allow-insecure-issuers"}},
		"log level":             {"manager: {logLevel: debug}", []string{"--zap-log-level=debug"}},
		"extra args":            {"manager: {extraArgs: [--zap-encoder=console]}", []string{"--zap-encoder=console"}},
		"leader election id":    {"leaderElection: {id: blue.oktatoken.dev}", []string{"--leader-election-id=blue.oktatoken.dev"}},
		"plain metrics":         {"metrics: {secure: false, port: 8080}", []string{"--metrics-bind-address=:8080", "--metrics-secure=false"}},
		"metrics certificate":   {"metrics: {certSecretName: metrics-cert}", []string{"--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs"}},
	}
	base, _ := managerContainer(t, deployment(t, render(t, "")))
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			args, _ := managerContainer(t, deployment(t, render(t, tc.values)))
			g.Expect(args).To(ContainElements(tc.want))
			for _, a := range args {
				if !slices.Contains(tc.want, a) {
					flagName, _, _ := strings.Cut(a, "=")
					g.Expect(base).To(ContainElement(HavePrefix(flagName)), "%s appears without being set", a)
				}
			}
		})
	}
	t.Run("no metrics", func(t *testing.T) {
		g := NewWithT(t)
		r := render(t, "metrics: {enabled: false}")
		args, _ := managerContainer(t, deployment(t, r))
		g.Expect(args).NotTo(ContainElement(HavePrefix("--metrics-bind-address")), "the binary's default, 0, disables metrics")
		g.Expect(charts.Find(r.Objects, "Service", releaseName+"-metrics")).To(BeNil())
	})
}

// TestCallbackAddress: the redirect URI comes from the host unless set, and
// the Ingress publishes exactly its host and path.
func TestCallbackAddress(t *testing.T) {
	tests := map[string]struct {
		values             string
		wantURL            string
		wantHost, wantPath string
	}{
		"from the host": {"callback: {host: tokens.example.com}", "https://tokens.example.com/callback", "tokens.example.com", "/callback"},
		"set outright": {"callback: {url: 'https://tokens.example.com/okta/callback'}",
			"https://tokens.example.com/okta/callback", "tokens.example.com", "/okta/callback"},
		"URL and a separate Ingress host": {"callback: {host: tokens.example.com, url: 'http://127.0.0.1:8082/callback'}",
			"http://127.0.0.1:8082/callback", "tokens.example.com", "/callback"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			r := render(t, tc.values)
			_, env := managerContainer(t, deployment(t, r))
			g.Expect(env).To(HaveKeyWithValue(operator.EnvCallbackURL, tc.wantURL))
			ing := charts.Find(r.Objects, "Ingress", releaseName+"-callback")
			g.Expect(ing).NotTo(BeNil())
			rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
			g.Expect(rules).To(HaveLen(1))
			rule := rules[0].(map[string]any)
			g.Expect(rule["host"]).To(Equal(tc.wantHost))
			paths, _, _ := unstructured.NestedSlice(rule, "http", "paths")
			g.Expect(paths).To(HaveLen(1))
			g.Expect(paths[0]).To(HaveKeyWithValue("path", tc.wantPath))
			g.Expect(r.Notes).To(ContainSubstring(tc.wantURL))
		})
	}
	t.Run("ingress class, annotations and TLS", func(t *testing.T) {
		g := NewWithT(t)
		r := render(t, `callback: {host: tokens.example.com, ingress: {className: nginx,
  annotations: {cert-manager.io/cluster-issuer: letsencrypt}, tls: {secretName: tokens-tls}}}`)
		ing := charts.Find(r.Objects, "Ingress", releaseName+"-callback")
		g.Expect(ing.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/cluster-issuer", "letsencrypt"))
		class, _, _ := unstructured.NestedString(ing.Object, "spec", "ingressClassName")
		g.Expect(class).To(Equal("nginx"))
		tls, _, _ := unstructured.NestedSlice(ing.Object, "spec", "tls")
		g.Expect(tls).To(ConsistOf(HaveKeyWithValue("secretName", "tokens-tls")))
	})
}

func TestOptionalParts(t *testing.T) {
	tests := map[string]struct {
		values      string
		kind, name  string
		wantPresent bool
	}{
		"PDB with two replicas":           {"", "PodDisruptionBudget", releaseName, true},
		"no PDB with one replica":         {"replicaCount: 1", "PodDisruptionBudget", releaseName, false},
		"no PDB when turned off":          {"podDisruptionBudget: {enabled: false}", "PodDisruptionBudget", releaseName, false},
		"no ServiceMonitor by default":    {"", "ServiceMonitor", releaseName, false},
		"ServiceMonitor when asked":       {"metrics: {serviceMonitor: {enabled: true}}", "ServiceMonitor", releaseName, true},
		"no NetworkPolicy by default":     {"", "NetworkPolicy", releaseName + "-ingress", false},
		"ingress NetworkPolicy":           {"networkPolicy: {enabled: true}", "NetworkPolicy", releaseName + "-ingress", true},
		"no egress policy unless asked":   {"networkPolicy: {enabled: true}", "NetworkPolicy", releaseName + "-egress", false},
		"egress NetworkPolicy":            {"networkPolicy: {enabled: true, egress: {enabled: true}}", "NetworkPolicy", releaseName + "-egress", true},
		"CRD by default":                  {"", "CustomResourceDefinition", "oktascopedtokens.oktatoken.dev", true},
		"no CRD when turned off":          {"crds: {enabled: false}", "CustomResourceDefinition", "oktascopedtokens.oktatoken.dev", false},
		"no Ingress when turned off":      {"callback: {host: x.example.com, ingress: {enabled: false}}", "Ingress", releaseName + "-callback", false},
		"no ServiceAccount when given":    {"serviceAccount: {create: false, name: existing}", "ServiceAccount", releaseName, false},
		"no RBAC when turned off":         {"rbac: {create: false}", "ClusterRole", releaseName + "-manager", false},
		"metrics auth with secure scrape": {"", "ClusterRole", releaseName + "-metrics-auth", true},
		"no metrics auth for plain HTTP":  {"metrics: {secure: false}", "ClusterRole", releaseName + "-metrics-auth", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := render(t, tc.values)
			if got := charts.Find(r.Objects, tc.kind, tc.name) != nil; got != tc.wantPresent {
				t.Errorf("%s %s rendered: %v, want %v", tc.kind, tc.name, got, tc.wantPresent)
			}
		})
	}
}

// TestCRDKeep: the CRD survives an uninstall unless the user opts out.
func TestCRDKeep(t *testing.T) {
	for values, want := range map[string]bool{"": true, "crds: {keep: false}": false} {
		crd := charts.Find(render(t, values).Objects, "CustomResourceDefinition", "oktascopedtokens.oktatoken.dev")
		if _, got := crd.GetAnnotations()["helm.sh/resource-policy"]; got != want {
			t.Errorf("values %q: keep annotation present = %v, want %v", values, got, want)
		}
	}
}

// TestCommonLabelsAndAnnotations reach every object.
func TestCommonLabelsAndAnnotations(t *testing.T) {
	g := NewWithT(t)
	r := render(t, "commonLabels: {team: platform}\ncommonAnnotations: {owner: platform@example.com}\nnetworkPolicy: {enabled: true, egress: {enabled: true}}")
	for _, o := range r.Objects {
		g.Expect(o.GetLabels()).To(HaveKeyWithValue("team", "platform"), "%s %s", o.GetKind(), o.GetName())
		g.Expect(o.GetAnnotations()).To(HaveKeyWithValue("owner", "platform@example.com"), "%s %s", o.GetKind(), o.GetName())
	}
}

// TestNotesTellTheAdminWhatToDo: the redirect URI to register and how to
// check the first token.
func TestNotesTellTheAdminWhatToDo(t *testing.T) {
	g := NewWithT(t)
	notes := render(t, "").Notes
	g.Expect(notes).To(ContainSubstring("https://" + host + "/callback"))
	g.Expect(notes).To(ContainSubstring("Sign-in redirect URIs"))
	g.Expect(notes).To(ContainSubstring("kubectl get ost -A"))
	g.Expect(notes).To(ContainSubstring("kubectl oktatoken status"))
}
