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
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/okta-token-operator/okta-token-operator/charts"
)

// stepTimeout bounds each wait of a lifecycle that should pass. Each step
// takes well under a second; the margin is for a loaded CI machine.
const stepTimeout = 30 * time.Second

// devServerDomain is the dev server's host: the Okta domain the manifests
// must allow, as an admin allows an Okta custom URL domain.
const devServerDomain = "127.0.0.1"

// chartValues are what an admin sets with --set, pointed at the test: the
// redirect URI is the test's listener (callback.url), while the Ingress
// keeps a host name, as an Ingress must; the Okta domain is the dev
// server's.
func chartValues(callbackURL string) map[string]any {
	return map[string]any{
		"callback": map[string]any{
			"host": "okta-token-operator.example.test",
			"url":  callbackURL,
		},
		"oktaDomains": []any{devServerDomain},
	}
}

// TestHelmChartSignInToRevoke installs the chart as `helm install
// okta-token-operator ./charts/okta-token-operator --namespace
// okta-token-operator` would and runs the operator with its ServiceAccount
// and its Deployment's flags, from the first sign-in to revocation.
func TestHelmChartSignInToRevoke(t *testing.T) {
	listener, callbackURL := callbackListener(t)
	srv := devServer(t, callbackURL)
	in := apply(t, renderChart(t, charts.Release{Name: "okta-token-operator", Namespace: "okta-token-operator",
		Values: chartValues(callbackURL)}))
	op := in.start(t, listener, false)
	expectWiring(t, op, callbackURL)
	(&lifecycle{operator: op, srv: srv, namespace: newNamespace(t), timeout: stepTimeout}).run(NewWithT(t))
}

// TestKustomizeSignInToRevoke does the same with config/default, after the
// edits docs/deploy.md describes (the callback URL, the Okta domain) and with
// the NetworkPolicies of config/network-policy turned on, so that the API
// server checks them too.
func TestKustomizeSignInToRevoke(t *testing.T) {
	listener, callbackURL := callbackListener(t)
	srv := devServer(t, callbackURL)
	in := apply(t, renderKustomize(t, kustomizeOptions{callbackURL: callbackURL, oktaDomains: devServerDomain, networkPolicies: true}))
	op := in.start(t, listener, false)
	expectWiring(t, op, callbackURL)
	(&lifecycle{operator: op, srv: srv, namespace: newNamespace(t), timeout: stepTimeout}).run(NewWithT(t))
}

// expectWiring checks what the manifests told the operator: the callback
// URL (through CALLBACK_URL), its own namespace for state (through
// POD_NAMESPACE) and leader election.
func expectWiring(t *testing.T, op *runningOperator, callbackURL string) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(op.flags.CallbackURL).To(Equal(callbackURL))
	g.Expect(op.flags.StateNamespace).To(Equal(op.install.namespace))
	g.Expect(op.flags.LeaderElection).To(BeTrue(), "the %s runs replicas with leader election", op.install.source)
}

// TestAMissingVerbFailsTheLifecycle shows that the lifecycle tests prove the
// manifests' RBAC: the chart, with one verb taken out of the operator's
// ClusterRole or leader-election Role, no longer gets through them, and the
// manager logs the API server's refusal.
func TestAMissingVerbFailsTheLifecycle(t *testing.T) {
	type verbCase struct{ kind, roleSuffix, group, resource, verb string }
	// A few verbs, each on a different path through the operator. Each
	// case costs about one step timeout.
	tests := map[string]verbCase{
		// The pending sign-in goes into a new state Secret before the
		// link is published.
		"create Secrets": {"ClusterRole", "-manager", "", "secrets", "create"},
		// The finalizer is added with a patch.
		"patch OktaScopedTokens": {"ClusterRole", "-manager", "oktatoken.dev", "oktascopedtokens", "patch"},
		// Conditions and the sign-in link are a status patch.
		"patch OktaScopedToken status": {"ClusterRole", "-manager", "oktatoken.dev", "oktascopedtokens/status", "patch"},
		// The leader renews its Lease.
		"update Leases": {"Role", "-leader-election", "coordination.k8s.io", "leases", "update"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			listener, callbackURL := callbackListener(t)
			srv := devServer(t, callbackURL)
			// A release of its own, so no other test's bindings help it.
			release := charts.Release{Name: "rbac-" + rand.String(5), Namespace: "rbac-" + rand.String(5), Values: chartValues(callbackURL)}
			r := renderChart(t, release)
			removeVerb(t, r, tc.kind, release.Name+"-okta-token-operator"+tc.roleSuffix, tc.group, tc.resource, tc.verb)
			op := apply(t, r).start(t, listener, true)
			ns := newNamespace(t)
			t.Cleanup(func() { forget(t, ns) })
			failure := failureOf((&lifecycle{operator: op, srv: srv, namespace: ns, timeout: 5 * time.Second}).run)
			if failure == "" {
				t.Fatalf("the lifecycle passed without %s on %s: it does not prove the RBAC", tc.verb, tc.resource)
			}
			t.Logf("without %s on %s the lifecycle fails: %s", tc.verb, tc.resource, summary(failure))
			// And it fails for that reason: the API server refused the request.
			// (Log lines escape the quotes of an error's text.)
			denied := fmt.Sprintf(`cannot %s resource \\?"%s\\?"`, tc.verb, regexp.QuoteMeta(tc.resource))
			NewWithT(t).Eventually(op.log).WithTimeout(10*time.Second).Should(MatchRegexp(denied),
				"the manager logs the API server's refusal; without it, the lifecycle failed for another reason")
		})
	}
}

// removeVerb takes one verb out of the rules on a resource in a
// ClusterRole or a Role.
func removeVerb(t *testing.T, r rendered, kind, name, group, resource, verb string) {
	t.Helper()
	o := charts.Find(r.objects, kind, name)
	if o == nil {
		t.Fatalf("no %s %s rendered", kind, name)
	}
	// A Role and a ClusterRole have the same rules.
	var role rbacv1.ClusterRole
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
		t.Fatal(err)
	}
	removed := false
	for i, rule := range role.Rules {
		if slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
			role.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(rule.Verbs), func(v string) bool { return v == verb })
			removed = true
		}
	}
	// A rule left without verbs is not a rule.
	role.Rules = slices.DeleteFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return len(r.Verbs) == 0 })
	if !removed {
		t.Fatalf("%s %s grants no %s on %s", kind, name, verb, resource)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&role)
	if err != nil {
		t.Fatal(err)
	}
	*o = unstructured.Unstructured{Object: m}
}

// summary shortens a Gomega failure to one line for the log.
func summary(failure string) string {
	s := strings.Join(strings.Fields(failure), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
