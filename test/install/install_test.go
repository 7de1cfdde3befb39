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
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/okta-token-operator/okta-token-operator/charts"
	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) { env = e })
}

// fieldManager owns what the tests apply, as `kubectl apply --server-side`
// or Helm would.
const fieldManager = "install-test"

// rendered is what one install path produces, before it is applied.
type rendered struct {
	// source names the install path in messages: "chart" or "kustomize".
	source  string
	objects []*unstructured.Unstructured
}

// renderChart renders the Helm chart through the Helm SDK, as `helm
// template --include-crds` would.
func renderChart(t *testing.T, r charts.Release) rendered {
	t.Helper()
	out, err := charts.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	return rendered{source: "chart", objects: out.Objects}
}

// exampleCallbackURL is the redirect URI config/default ships with, which a
// user replaces in config/default/callback_url_patch.yaml.
const exampleCallbackURL = "https://okta-token-operator.example.com/callback"

// kustomizeOptions are the edits a user makes to config/default before
// `kustomize build`.
type kustomizeOptions struct {
	// callbackURL replaces the example redirect URI in
	// callback_url_patch.yaml.
	callbackURL string
	// oktaDomains is added to the manager's arguments in
	// config/manager/manager.yaml as --okta-domains.
	oktaDomains string
	// networkPolicies uncomments config/network-policy and its egress policy
	// in config/default/kustomization.yaml.
	networkPolicies bool
	// edit changes the in-memory copy of config/ further.
	edit func(t *testing.T, fs filesys.FileSystem)
}

// renderKustomize renders config/default through kustomize's Go API from an
// in-memory copy of config/, after the edits a user would make.
func renderKustomize(t *testing.T, o kustomizeOptions) rendered {
	t.Helper()
	mem := configFS(t)
	if o.callbackURL != "" {
		replaceInFile(t, mem, "/config/default/callback_url_patch.yaml", exampleCallbackURL, o.callbackURL)
	}
	if o.oktaDomains != "" {
		replaceInFile(t, mem, "/config/manager/manager.yaml", "          - --metrics-bind-address=:8443\n",
			"          - --metrics-bind-address=:8443\n          - --okta-domains="+o.oktaDomains+"\n")
	}
	if o.networkPolicies {
		replaceInFile(t, mem, "/config/default/kustomization.yaml", "#- ../network-policy\n", "- ../network-policy\n")
		replaceInFile(t, mem, "/config/default/kustomization.yaml", "#- ../network-policy/egress\n", "- ../network-policy/egress\n")
	}
	if o.edit != nil {
		o.edit(t, mem)
	}
	objs, err := kustomizeBuild(mem, "/config/default")
	if err != nil {
		t.Fatal(err)
	}
	return rendered{source: "kustomize", objects: objs}
}

func kustomizeBuild(mem filesys.FileSystem, dir string) ([]*unstructured.Unstructured, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		return nil, err
	}
	return charts.DecodeObjects(out)
}

// configFS copies the checkout's config/ into memory as /config.
func configFS(t *testing.T) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	root := filepath.Join(testenv.RepoRoot(), "config")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		target := filepath.Join("/config", rel)
		if d.IsDir() {
			return mem.MkdirAll(target)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(target, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	return mem
}

// replaceInFile makes a user's edit; it fails the test when the text to
// replace is gone, so a changed file cannot make an edit silently miss.
func replaceInFile(t *testing.T, mem filesys.FileSystem, path, old, replacement string) {
	t.Helper()
	data, err := mem.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s no longer contains %q; update this test's edit along with the docs that tell users to make it", path, old)
	}
	if err := mem.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, replacement))); err != nil {
		t.Fatal(err)
	}
}

// installation is a rendering applied to the control plane.
type installation struct {
	rendered
	// namespace is the operator's, where its Deployment, its state Secrets
	// and its Lease live.
	namespace      string
	deployment     *appsv1.Deployment
	serviceAccount string
}

// applyOrder puts what others need first, as Helm and kubectl do.
var applyOrder = []string{"Namespace", "CustomResourceDefinition", "ServiceAccount",
	"ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"}

func kindRank(kind string) int {
	if i := slices.Index(applyOrder, kind); i >= 0 {
		return i
	}
	return len(applyOrder)
}

// apply applies every object with server-side apply as an administrator
// would (the test's admin client), then waits for the CRDs to be served.
func apply(t *testing.T, r rendered) *installation {
	t.Helper()
	ctx := context.Background()
	var deployments []*unstructured.Unstructured
	for _, o := range r.objects {
		if o.GetKind() == "Deployment" {
			deployments = append(deployments, o)
		}
	}
	if len(deployments) != 1 {
		t.Fatalf("the %s renders %d Deployments, want 1", r.source, len(deployments))
	}
	in := &installation{rendered: r, deployment: &appsv1.Deployment{}}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployments[0].Object, in.deployment); err != nil {
		t.Fatal(err)
	}
	in.namespace = in.deployment.Namespace
	in.serviceAccount = in.deployment.Spec.Template.Spec.ServiceAccountName
	if in.namespace == "" || in.serviceAccount == "" {
		t.Fatalf("the %s's Deployment names no namespace or ServiceAccount", r.source)
	}
	// helm install --create-namespace makes the release's namespace; the
	// chart does not render it.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.namespace}}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	objs := slices.Clone(r.objects)
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return kindRank(a.GetKind()) - kindRank(b.GetKind()) })
	for _, o := range objs {
		if err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
			t.Fatalf("applying the %s's %s %s: %v", r.source, o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	g := NewWithT(t)
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		g.Eventually(func(g Gomega) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: o.GetName()}, crd)).To(Succeed())
			established := false
			for _, c := range crd.Status.Conditions {
				established = established || (c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue)
			}
			g.Expect(established).To(BeTrue(), "CRD %s established", o.GetName())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
	return in
}

// serviceAccountConfig is a client configuration that carries only a token
// of the installation's ServiceAccount, from the TokenRequest API, the way
// the kubelet mounts one into the operator's pod: the API server's address
// and CA, and nothing of the admin's.
func (in *installation) serviceAccountConfig(t *testing.T) *rest.Config {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(in.namespace).CreateToken(ctx, in.serviceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for ServiceAccount %s/%s: %v", in.namespace, in.serviceAccount, err)
	}
	cfg := &rest.Config{
		Host:        env.Config.Host,
		APIPath:     env.Config.APIPath,
		BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:     env.Config.CAData,
			CAFile:     env.Config.CAFile,
			ServerName: env.Config.ServerName,
		},
	}
	// The configuration is who the test thinks it is, and that is not an
	// administrator.
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := sa.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + in.namespace + ":" + in.serviceAccount; review.Status.UserInfo.Username != want {
		t.Fatalf("the ServiceAccount's configuration authenticates as %q, want %q", review.Status.UserInfo.Username, want)
	}
	// Something no manifest of the project grants (the operator lists
	// namespaces, for ClusterOktaScopedTokens, but never nodes).
	if _, err := sa.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the ServiceAccount may list nodes (err %v): the test would not prove the manifests' RBAC", err)
	}
	return cfg
}

// managerArgs are the manager container's command-line arguments after its
// entrypoint, with $(VAR) references expanded from env, as the kubelet does.
func managerArgs(t *testing.T, d *appsv1.Deployment) ([]string, map[string]string) {
	t.Helper()
	var c *corev1.Container
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == "manager" {
			c = &d.Spec.Template.Spec.Containers[i]
		}
	}
	if c == nil {
		t.Fatalf("Deployment %s has no container named manager", d.Name)
	}
	vars := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = expand(e.Value, vars)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			vars[e.Name] = d.Namespace
		case e.Name == "GOMEMLIMIT" && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			// Resolved as the kubelet does (bytes), and checked, but not
			// passed on: the managers run in this test's process, whose
			// memory is the whole test's, not one manager's.
			limit, ok := c.Resources.Limits[corev1.ResourceMemory]
			if !ok || e.ValueFrom.ResourceFieldRef.ContainerName != c.Name {
				t.Fatalf("GOMEMLIMIT comes from the memory limit of container %q, and the manager has none",
					e.ValueFrom.ResourceFieldRef.ContainerName)
			}
			if limit.Value() <= 0 {
				t.Fatalf("the manager's memory limit %s is not a number of bytes", limit.String())
			}
		default:
			t.Fatalf("the manager's variable %s comes from %+v, which this test cannot resolve", e.Name, e.ValueFrom)
		}
	}
	var args []string
	if len(c.Command) > 1 {
		args = append(args, c.Command[1:]...)
	}
	for _, a := range c.Args {
		args = append(args, expand(a, vars))
	}
	return args, vars
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(NAME) with a variable defined earlier, as the kubelet
// does; unknown references stay as they are.
func expand(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := vars[varRef.FindStringSubmatch(ref)[1]]; ok {
			return v
		}
		return ref
	})
}

// managerFlags parses the Deployment's arguments and environment the way
// cmd/main.go parses its own, with the test process's overrides appended
// (a later flag wins). It sets the container's variables in the test's
// environment, because flags take their defaults from it.
func (in *installation) managerFlags(t *testing.T, overrides []string) operator.Flags {
	t.Helper()
	args, vars := managerArgs(t, in.deployment)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	var f operator.Flags
	commandLine := flag.NewFlagSet("manager", flag.ContinueOnError)
	operator.BindFlags(commandLine, &f)
	(&zap.Options{}).BindFlags(commandLine)
	if err := commandLine.Parse(append(args, overrides...)); err != nil {
		t.Fatalf("the %s's Deployment passes arguments the operator does not take: %v (args %q)", in.source, err, args)
	}
	if commandLine.NArg() > 0 {
		t.Fatalf("the %s's Deployment passes stray arguments %q", in.source, commandLine.Args())
	}
	f.Complete()
	return f
}

// testProcessOverrides are the only settings a test process changes: no
// fixed ports (the callback gets a listener of its own), and the dev
// server's plain-http issuer on 127.0.0.1.
func testProcessOverrides() []string {
	return []string{
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--allow-insecure-issuers",
	}
}

// runningOperator is a manager started from an installation.
type runningOperator struct {
	install *installation
	flags   operator.Flags
	// err is what the manager returned, once it stopped.
	err  error
	stop func()
	// logs is what this manager logs, and only this manager: tests that run
	// several at once tell from it which one acted on a resource.
	logs *logbuffer.Buffer
}

// log is what the manager has logged so far.
func (op *runningOperator) log() string { return op.logs.String() }

// stopTimeout bounds how long a stopping manager may take.
const stopTimeout = 30 * time.Second

// start runs the manager in-process as the installation's ServiceAccount,
// with the flags its Deployment passes, until the test ends. When
// expectFailure is set, a manager that stops with an error is part of the
// test rather than a failure of it.
func (in *installation) start(t *testing.T, callback net.Listener, expectFailure bool) *runningOperator {
	t.Helper()
	f := in.managerFlags(t, testProcessOverrides())
	f.CallbackListener = callback
	f.SkipNameValidation = true
	logs := &logbuffer.Buffer{}
	logger := zap.New(zap.WriteTo(logs), zap.UseDevMode(true))
	f.Logger = &logger
	mgr, err := operator.New(in.serviceAccountConfig(t), f.Options)
	if err != nil {
		t.Fatalf("building the manager from the %s's flags: %v", in.source, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	op := &runningOperator{install: in, flags: f, logs: logs}
	done := make(chan struct{})
	go func() {
		defer close(done)
		op.err = mgr.Start(ctx)
	}()
	var once sync.Once
	op.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(stopTimeout):
				// A manager whose caches never synced (its rights do not
				// cover what it watches) does not stop; the test has
				// failed already, and must not hang until go test's
				// timeout.
				t.Errorf("the manager did not stop within %s", stopTimeout)
				return
			}
			if op.err != nil && !expectFailure {
				t.Errorf("the manager stopped: %v", op.err)
			}
		})
	}
	t.Cleanup(func() {
		op.stop()
		if t.Failed() {
			t.Logf("the manager's log:\n%s", tail(op.log(), 20000))
		}
	})
	return op
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// callbackListener reserves the callback's port first: the redirect URI
// goes into the manifests and the dev server before the manager starts.
func callbackListener(t *testing.T) (net.Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Log(err)
		}
	})
	return l, "http://" + l.Addr().String() + "/callback"
}
