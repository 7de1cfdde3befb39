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

package controller

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/charts"
	"github.com/okta-token-operator/okta-token-operator/controllers"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

// clusterFixture is a service app, its key in the fixture's namespace (the
// credentials namespace) and four namespaces a cluster token may select,
// watched by the operator.
type clusterFixture struct {
	*fixture
	// a, b and d are labelled team=logs; c is not.
	a, b, c, d string
}

const copyName = "okta-logs-token"

func newClusterFixture(t *testing.T) *clusterFixture {
	t.Helper()
	prefix := "cost-" + rand.String(5)
	cf := &clusterFixture{a: prefix + "-a", b: prefix + "-b", c: prefix + "-c", d: prefix + "-d"}
	ctx := context.Background()
	for _, ns := range []string{cf.a, cf.b, cf.c, cf.d} {
		labels := map[string]string{"team": "logs"}
		if ns == cf.c {
			labels = nil
		}
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	cf.fixture = newFixture(t, fixtureOptions{behindWall: time.Minute, sharedDevClock: true,
		operator: func(o *operator.Options) {
			o.ClusterTokens = true
			o.WatchNamespaces = append(o.WatchNamespaces, cf.a, cf.b, cf.c, cf.d)
		}})
	cf.addServiceApp("0oashared", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	cf.createServiceKey(encodePKCS8(serviceRSAKey()))
	return cf
}

// newClusterToken creates a cluster token for namespaces labelled
// team=logs, its credentials in the fixture's namespace.
func (cf *clusterFixture) newClusterToken(mutate ...func(*v1.ClusterOktaScopedToken)) *v1.ClusterOktaScopedToken {
	cf.t.Helper()
	c := &v1.ClusterOktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-" + rand.String(5)},
		Spec: v1.ClusterOktaScopedTokenSpec{
			Token: v1.OktaScopedTokenSpec{OktaDomain: cf.srv.Issuer(), ClientID: "0oashared", GrantType: v1.GrantClientCredentials,
				Scopes: []string{"okta.logs.read"},
				PrivateKeyRef: &v1.PrivateKeyReference{SecretKeyReference: v1.SecretKeyReference{
					Name: serviceKeySecretName, Key: serviceKeySecretKey}, KeyID: "rsa-1"}},
			NamespaceSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"team": "logs"}},
			SecretName:           copyName,
			CredentialsNamespace: cf.ns,
		},
	}
	for _, m := range mutate {
		m(c)
	}
	if err := env.Client.Create(context.Background(), c); err != nil {
		cf.t.Fatal(err)
	}
	cf.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), c) })
	return c
}

func getCluster(g Gomega, c *v1.ClusterOktaScopedToken) *v1.ClusterOktaScopedToken {
	cur := &v1.ClusterOktaScopedToken{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(c), cur)).To(Succeed())
	return cur
}

// source is the cluster token's source OktaScopedToken.
func (cf *clusterFixture) source(g Gomega, c *v1.ClusterOktaScopedToken) *v1.OktaScopedToken {
	src := &v1.OktaScopedToken{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: cf.ns, Name: controllers.SourceName(c)}, src)).To(Succeed())
	return src
}

// copyIn is the access token in namespace ns's copy, "" without one.
func copyIn(g Gomega, ns string) string {
	s := &corev1.Secret{}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: copyName}, s)
	if apierrors.IsNotFound(err) {
		return ""
	}
	g.Expect(err).NotTo(HaveOccurred())
	return string(s.Data[v1.TokenSecretAccessToken])
}

// copyWrites are the operator's writes to copies in the namespaces.
func (cf *clusterFixture) copyWrites(mark int, namespaces ...string) []apiWrite {
	var out []apiWrite
	for _, w := range cf.api.since(mark) {
		for _, ns := range namespaces {
			if strings.HasPrefix(w.Path, "/api/v1/namespaces/"+ns+"/secrets") {
				out = append(out, w)
			}
		}
	}
	return out
}

// TestClusterTokenFansOut: one token, one token request, in the Secret of
// every labelled namespace; a Secret of that name the operator did not
// write is left alone and reported; a namespace labelled later gets its
// copy, an unlabelled one loses it; a deleted copy is repaired; a rotation
// is one token request and one write per namespace; deleting the cluster
// token removes every copy and its source, and nothing else.
func TestClusterTokenFansOut(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cf := newClusterFixture(t)
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: copyName, Namespace: cf.d},
		StringData: map[string]string{"access_token": "someone else's"}}
	g.Expect(env.Client.Create(ctx, foreign)).To(Succeed())
	requests := cf.srv.TokenRequests()

	c := cf.newClusterToken()
	var token string
	g.Eventually(func(g Gomega) {
		cur := getCluster(g, c)
		g.Expect(readyCondition2(cur).Status).To(Equal(metav1.ConditionTrue), "Ready: %+v", readyCondition2(cur))
		token = copyIn(g, cf.a)
		g.Expect(token).NotTo(BeEmpty())
		g.Expect(copyIn(g, cf.b)).To(Equal(token), "the same token in every labelled namespace")
		g.Expect(cur.Status.Targets).To(BeEquivalentTo(3))
		g.Expect(cur.Status.Served).To(BeEquivalentTo(2))
		g.Expect(cur.Status.Conflicts).To(Equal([]string{cf.d}))
		d := clusterCondition(cur, v1.ConditionDistributed)
		g.Expect(d.Reason).To(Equal(v1.ReasonSecretConflict))
		g.Expect(d.Message).To(ContainSubstring("holds the current token in 2 of 3 namespaces; in 1 a Secret " + copyName +
			" exists that the operator did not write, which it never overwrites"))
		g.Expect(cur.Status.ExpiresAt).NotTo(BeNil())
	}).Should(Succeed())
	remember(token)
	g.Expect(cf.srv.TokenRequests()-requests).To(Equal(1), "one token request for every namespace")
	g.Expect(copyIn(g, cf.c)).To(BeEmpty(), "an unlabelled namespace gets nothing")
	g.Expect(copyIn(g, cf.d)).To(Equal("someone else's"), "a Secret the operator did not write is left alone")
	src := cf.source(g, c)
	g.Expect(metav1.IsControlledBy(src, getCluster(g, c))).To(BeTrue())
	cf.obj = src

	// Labelled later: c gets its copy. Unlabelled: a loses it.
	relabel := func(ns string, labels map[string]string) {
		cur := &corev1.Namespace{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: ns}, cur)).To(Succeed())
		cur.Labels = labels
		g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
	}
	relabel(cf.c, map[string]string{"team": "logs"})
	relabel(cf.a, nil)
	g.Eventually(func(g Gomega) {
		g.Expect(copyIn(g, cf.c)).To(Equal(token))
		g.Expect(copyIn(g, cf.a)).To(BeEmpty())
	}).Should(Succeed())

	// A deleted copy is repaired.
	g.Expect(env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: copyName, Namespace: cf.b}})).To(Succeed())
	g.Eventually(func(g Gomega) string { return copyIn(g, cf.b) }).Should(Equal(token))
	cf.settle()

	// A rotation: one token request, one write per served namespace.
	mark, requests := cf.api.mark(), cf.srv.TokenRequests()
	cf.step(time.Minute)
	patch := client.MergeFrom(getCluster(g, c).DeepCopy())
	cur := getCluster(g, c)
	cur.Annotations = map[string]string{v1.AnnotationRenewRequestedAt: "rotate-now"}
	g.Expect(env.Client.Patch(ctx, cur, patch)).To(Succeed())
	g.Eventually(func(g Gomega) {
		next := copyIn(g, cf.b)
		g.Expect(next).NotTo(Equal(token))
		g.Expect(copyIn(g, cf.c)).To(Equal(next), "the rotation reaches every copy")
		g.Expect(getCluster(g, c).Status.Rotations).To(BeEquivalentTo(1))
	}).Should(Succeed())
	remember(copyIn(g, cf.b))
	cf.settle()
	g.Expect(cf.srv.TokenRequests() - requests).To(Equal(1))
	writes := cf.copyWrites(mark, cf.b, cf.c)
	g.Expect(writes).To(HaveLen(2), "one write per copy: %v", writes)
	g.Expect(cf.copyWrites(mark, cf.d)).To(BeEmpty(), "the conflicting Secret is never written")

	// Nothing changes: nothing is written.
	mark = cf.api.mark()
	cf.step(time.Second)
	cf.settle()
	g.Expect(cf.copyWrites(mark, cf.a, cf.b, cf.c, cf.d)).To(BeEmpty())

	// Delete: every copy goes, and the source with it; the foreign Secret
	// stays.
	g.Expect(env.Client.Delete(ctx, getCluster(g, c))).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(c), &v1.ClusterOktaScopedToken{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the cluster token is gone: %v", err)
	}).Should(Succeed())
	for _, ns := range []string{cf.b, cf.c} {
		g.Expect(copyIn(g, ns)).To(BeEmpty(), ns)
	}
	g.Expect(copyIn(g, cf.d)).To(Equal("someone else's"))
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: cf.ns, Name: controllers.SourceName(c)}, &v1.OktaScopedToken{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the source is gone: %v", err)
	g.Expect(cf.srv.ActiveAccessTokens("0oashared")).To(BeNumerically(">=", 0))
}

func clusterCondition(c *v1.ClusterOktaScopedToken, t string) metav1.Condition {
	for _, cond := range c.Status.Conditions {
		if cond.Type == t {
			return cond
		}
	}
	return metav1.Condition{}
}

func readyCondition2(c *v1.ClusterOktaScopedToken) metav1.Condition {
	return clusterCondition(c, v1.ConditionReady)
}

// TestClusterTokenSignInTemplatesAndRestarts: a web app's cluster token is
// signed in once through the link in the cluster token's status (the
// person named by allowedSubjects); every copy carries the template's
// data; in each namespace the Deployment that mounts the copy is
// restarted, and one that does not is reported and never written.
func TestClusterTokenSignInTemplatesAndRestarts(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cf := newClusterFixture(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "okta-web-app", Namespace: cf.ns},
		StringData: map[string]string{"clientSecret": webSecret}})).To(Succeed())
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "log-shipper"}}
	mounting := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shipper", Namespace: cf.a},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector, Template: workloadTemplate(copyName)}}
	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shipper", Namespace: cf.b},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector, Template: workloadTemplate("another-secret")}}
	for _, d := range []*appsv1.Deployment{mounting, other} {
		g.Expect(env.Client.Create(ctx, d)).To(Succeed())
	}
	otherRV := other.ResourceVersion

	c := cf.newClusterToken(func(c *v1.ClusterOktaScopedToken) {
		c.Spec.Token = v1.OktaScopedTokenSpec{OktaDomain: cf.srv.Issuer(), ClientID: webClientID, GrantType: v1.GrantAuthorizationCode,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"}, Scopes: []string{"okta.logs.read"},
			AllowedSubjects: []string{userName},
			SecretTemplate: &v1.SecretTemplate{Labels: map[string]string{"team": "logs"},
				Data: map[string]v1.TemplateString{"authorization": "Bearer {{ .accessToken }}"}},
			RolloutRestartTargets: []v1.RolloutRestartTarget{{Kind: "Deployment", Name: "shipper"}}}
		c.Spec.NamespaceSelector = nil
		c.Spec.Namespaces = []string{cf.a, cf.b}
	})
	var authURL string
	g.Eventually(func(g Gomega) {
		cur := getCluster(g, c)
		g.Expect(readyCondition2(cur).Reason).To(Equal(v1.ReasonAuthorizationRequired))
		g.Expect(clusterCondition(cur, v1.ConditionDistributed).Reason).To(Equal(v1.ReasonWaitingForToken))
		authURL = cur.Status.AuthorizationURL
		g.Expect(authURL).NotTo(BeEmpty())
	}).Should(Succeed())
	g.Expect(copyIn(g, cf.a)).To(BeEmpty(), "no token, no copy")

	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	g.Eventually(func(g Gomega) {
		cur := getCluster(g, c)
		g.Expect(readyCondition2(cur).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cur.Status.AuthorizedSubject).To(Equal(userName))
		g.Expect(clusterCondition(cur, v1.ConditionDistributed).Reason).To(Equal(v1.ReasonDistributed))
		g.Expect(cur.Status.AuthorizationURL).To(BeEmpty())
	}).Should(Succeed())
	cf.settle()
	for _, ns := range []string{cf.a, cf.b} {
		s := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: copyName}, s)).To(Succeed())
		remember(string(s.Data[v1.TokenSecretAccessToken]))
		g.Expect(string(s.Data["authorization"])).To(Equal("Bearer " + string(s.Data[v1.TokenSecretAccessToken])))
		g.Expect(s.Labels).To(HaveKeyWithValue("team", "logs"))
		g.Expect(s.Data).NotTo(HaveKey("refresh_token"), "the refresh token stays in the state Secret")
	}
	g.Eventually(func(g Gomega) string { return restartedAt(g, mounting) }).ShouldNot(BeEmpty())
	cur := getCluster(g, c)
	rc := clusterCondition(cur, v1.ConditionRolloutRestarted)
	g.Expect(rc.Reason).To(Equal(v1.ReasonRestartFailed), rc.Message)
	g.Expect(rc.Message).To(ContainSubstring(cf.b + "/Deployment/shipper does not mount or reference Secret " + copyName))
	g.Expect(rc.Message).To(ContainSubstring("restarted: " + cf.a + "/Deployment/shipper"))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
	g.Expect(other.ResourceVersion).To(Equal(otherRV), "a workload that does not use the copy is never written")
}

// TestOnlyClusterRBACCreatesAClusterToken: the chart's roles for namespace
// users, bound in their namespace, do not let them create a
// ClusterOktaScopedToken (not even the cluster-token role, bound there);
// the chart's cluster-token-admin role, bound cluster-wide, does.
func TestOnlyClusterRBACCreatesAClusterToken(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	r, err := charts.Render(charts.Release{Name: "okta-token-operator", Namespace: "okta-token-operator-system",
		Values: map[string]any{"callback": map[string]any{"host": "okta-token-operator.example.com"}}})
	g.Expect(err).NotTo(HaveOccurred())
	ns := "rbac-" + rand.String(5)
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	role := func(name string) *rbacv1.ClusterRole {
		u := charts.Find(r.Objects, "ClusterRole", name)
		g.Expect(u).NotTo(BeNil(), name)
		out := &rbacv1.ClusterRole{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)).To(Succeed())
		out.Name = name + "-" + ns
		out.ResourceVersion = ""
		g.Expect(env.Client.Create(ctx, out)).To(Succeed())
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), out) })
		return out
	}
	editor, admin := role("okta-token-operator-editor"), role("okta-token-operator-cluster-token-admin")
	for _, rr := range []*rbacv1.ClusterRole{editor, admin} {
		g.Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: rr.Name, Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: rr.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "tenant-" + ns}}})).To(Succeed())
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: admin.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: admin.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "cluster-admin-" + ns}}}
	g.Expect(env.Client.Create(ctx, crb)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), crb) })
	as := func(user string) client.Client {
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		c, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
		g.Expect(err).NotTo(HaveOccurred())
		return c
	}
	tenant, clusterAdmin := as("tenant-"+ns), as("cluster-admin-"+ns)
	c := func() *v1.ClusterOktaScopedToken {
		return &v1.ClusterOktaScopedToken{ObjectMeta: metav1.ObjectMeta{Name: "rbac-" + ns},
			Spec: v1.ClusterOktaScopedTokenSpec{Namespaces: []string{ns}, Token: v1.OktaScopedTokenSpec{
				OktaDomain: "https://dev-123456.okta.com", ClientID: "0oa1", GrantType: v1.GrantClientCredentials,
				Scopes: []string{"okta.logs.read"}, PrivateKeyRef: &v1.PrivateKeyReference{
					SecretKeyReference: v1.SecretKeyReference{Name: "k", Key: "k"}}}}}
	}
	// The tenant can make namespaced tokens in their namespace.
	g.Expect(tenant.Create(ctx, &v1.OktaScopedToken{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: ns},
		Spec: c().Spec.Token})).To(Succeed())
	err = tenant.Create(ctx, c())
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "a namespace user may not create a cluster token: %v", err)
	obj := c()
	g.Expect(clusterAdmin.Create(ctx, obj)).To(Succeed())
	g.Expect(env.Client.Delete(ctx, obj)).To(Succeed())
}
