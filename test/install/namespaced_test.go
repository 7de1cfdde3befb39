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
	"fmt"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/okta-token-operator/okta-token-operator/charts"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// TestNamespacedReleaseStaysInItsNamespace installs the chart with
// watchNamespaces, as a team that may not have cluster-wide rights would:
// the operator runs as the release's ServiceAccount through a token's whole
// lifecycle in the watched namespace, leaves a token in another namespace
// alone, and its ServiceAccount has no Secret rights outside the watched
// namespace and its own.
func TestNamespacedReleaseStaysInItsNamespace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	listener, callbackURL := callbackListener(t)
	srv := devServer(t, callbackURL)
	watched, unwatched := newNamespace(t), newNamespace(t)
	values := chartValues(callbackURL)
	values["watchNamespaces"] = []any{watched}
	in := apply(t, renderChart(t, charts.Release{Name: "team", Namespace: "team-" + rand.String(5), Values: values}))
	expectNoClusterWideSecretRules(t, in)

	// A token in a namespace the release does not watch, there before the
	// operator starts and through everything it does.
	ignored := &lifecycle{srv: srv, namespace: unwatched, timeout: stepTimeout}
	ignored.apply(g)

	op := in.start(t, listener, false)
	g.Expect(op.flags.WatchNamespaces).To(Equal([]string{watched}))
	(&lifecycle{operator: op, srv: srv, namespace: watched, timeout: stepTimeout}).run(g)

	// By now an operator that watched every namespace would have added its
	// finalizer, published a sign-in link and kept a state Secret for the
	// other token.
	cur := ignored.current(g)
	g.Expect(cur.Finalizers).To(BeEmpty(), "the token in %s is not the release's", unwatched)
	g.Expect(cur.Status.Conditions).To(BeEmpty())
	g.Expect(cur.Status.AuthorizationURL).To(BeEmpty())
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: in.namespace, Name: state.SecretName(client.ObjectKeyFromObject(cur))}, &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no state Secret for the token in %s (err %v)", unwatched, err)
	g.Expect(op.log()).NotTo(ContainSubstring(unwatched))
	// Its caches are limited to what its Roles allow: a cluster-wide watch
	// would have been refused, and logged.
	g.Expect(op.log()).NotTo(ContainSubstring("forbidden"))

	sa, err := kubernetes.NewForConfig(in.serviceAccountConfig(t))
	g.Expect(err).NotTo(HaveOccurred())
	access := []struct {
		verb, group, resource, namespace string
		allowed                          bool
	}{
		{"list", "", "secrets", "", false},
		{"watch", "", "secrets", "", false},
		{"get", "", "secrets", unwatched, false},
		{"list", "", "secrets", unwatched, false},
		{"create", "", "secrets", unwatched, false},
		{"list", "oktatoken.dev", "oktascopedtokens", "", false},
		{"patch", "oktatoken.dev", "oktascopedtokens", unwatched, false},
		// What it needs, so that the denials above are the Roles' doing.
		{"get", "", "secrets", watched, true},
		{"create", "", "secrets", watched, true},
		{"get", "", "secrets", in.namespace, true},
		{"patch", "oktatoken.dev", "oktascopedtokens", watched, true},
	}
	for _, a := range access {
		where := a.namespace
		if where == "" {
			where = "every namespace"
		}
		review, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace,
			}},
		}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(review.Status.Allowed).To(Equal(a.allowed), "%s %s in %s (%s)", a.verb, a.resource, where, review.Status.Reason)
	}
	// And the API server refuses the requests themselves.
	_, err = sa.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing Secrets cluster-wide: %v", err)
	_, err = sa.CoreV1().Secrets(unwatched).Get(ctx, "okta-web-app", metav1.GetOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "reading a Secret in %s: %v", unwatched, err)
	_, err = sa.CoreV1().Secrets(watched).Get(ctx, "okta-web-app", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred(), "reading a Secret in the watched namespace")
}

// expectNoClusterWideSecretRules checks the rendering itself: no
// ClusterRole bound to the release's ServiceAccount names Secrets (or every
// resource).
func expectNoClusterWideSecretRules(t *testing.T, in *installation) {
	t.Helper()
	bound := map[string]bool{}
	for _, o := range charts.OfKind(in.objects, "ClusterRoleBinding") {
		var b rbacv1.ClusterRoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
			t.Fatal(err)
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == in.serviceAccount && s.Namespace == in.namespace {
				bound[b.RoleRef.Name] = true
			}
		}
	}
	for _, o := range charts.OfKind(in.objects, "ClusterRole") {
		if !bound[o.GetName()] {
			continue
		}
		var role rbacv1.ClusterRole
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
			t.Fatal(err)
		}
		for _, r := range role.Rules {
			if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, rbacv1.ResourceAll) {
				t.Errorf("ClusterRole %s grants %v on %v cluster-wide: %s", role.Name, r.Verbs, r.Resources, fmt.Sprint(r))
			}
		}
	}
}
