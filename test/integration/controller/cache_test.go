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
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// TestCacheHoldsOnlyManagedSecrets: the manager's informer cache holds the
// Secrets the operator manages and no others, so its memory does not grow
// with every Secret in the cluster.
func TestCacheHoldsOnlyManagedSecrets(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	ns, mgr := f.ns, f.mgr
	for _, name := range []string{"unrelated-a", "unrelated-b"} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			StringData: map[string]string{"k": "v"}})).To(Succeed())
	}
	obj := f.newWebToken()
	waitForAuthorizationURL(t, obj)
	g.Eventually(func(g Gomega) {
		var cached corev1.SecretList
		g.Expect(mgr.GetCache().List(ctx, &cached, client.InNamespace(ns))).To(Succeed())
		g.Expect(cached.Items).To(BeEmpty(), "neither the unrelated Secrets nor the client-secret Secret are cached")
		g.Expect(mgr.GetCache().List(ctx, &cached)).To(Succeed())
		g.Expect(cached.Items).NotTo(BeEmpty(), "the state Secret is")
		for _, s := range cached.Items {
			g.Expect(s.Labels).To(HaveKeyWithValue(v1.LabelManagedBy, v1.ManagedByValue), "cached: %s/%s", s.Namespace, s.Name)
		}
	}).Should(Succeed())
}

// TestCacheKeepsWholeOnlyWhatTheOperatorWrote: the managed-by label is one
// any tenant can put on their own Secrets. Such a Secret, of a megabyte,
// is cached as its name and owners only, and so is one that names the
// tenant's OktaScopedToken as its controller under another name than the
// token Secret's; the token Secret and the state Secret the operator wrote
// are cached whole, and the token is served as before.
func TestCacheKeepsWholeOnlyWhatTheOperatorWrote(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f, obj := signedIn(t, fixtureOptions{})
	big := map[string][]byte{"blob": make([]byte, 1<<20)}
	managed := map[string]string{v1.LabelManagedBy: v1.ManagedByValue, "tenant": "label"}
	impostor := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "impostor", Namespace: f.ns, Labels: managed,
		Annotations: map[string]string{"note": string(make([]byte, 64<<10))}}, Data: big}
	owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owned-by-the-token", Namespace: f.ns, Labels: managed,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(obj, v1.GroupVersion.WithKind("OktaScopedToken"))}},
		Data: big}
	for _, s := range []*corev1.Secret{impostor, owned} {
		g.Expect(env.Client.Create(ctx, s)).To(Succeed())
	}
	cached := func(g Gomega, namespace, name string) *corev1.Secret {
		s := &corev1.Secret{}
		g.Expect(f.mgr.GetCache().Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s)).To(Succeed())
		return s
	}
	for _, name := range []string{impostor.Name, owned.Name} {
		g.Eventually(func(g Gomega) {
			s := cached(g, f.ns, name)
			g.Expect(s.Data).To(BeEmpty(), "%s: its data is not cached", name)
			g.Expect(s.Annotations).To(Equal(map[string]string{"oktatoken.dev/cache-trimmed": "true"}), name)
			g.Expect(s.Labels).To(Equal(map[string]string{v1.LabelManagedBy: v1.ManagedByValue}), name)
		}).Should(Succeed())
	}
	g.Expect(cached(g, f.ns, owned.Name).OwnerReferences).To(HaveLen(1), "owners are kept")
	token := cached(g, f.ns, obj.TokenSecretName())
	g.Expect(token.Data).To(HaveKey(v1.TokenSecretAccessToken), "the token Secret is cached whole")
	g.Expect(token.Annotations).NotTo(HaveKey("oktatoken.dev/cache-trimmed"))
	var states corev1.SecretList
	g.Expect(f.mgr.GetCache().List(ctx, &states, client.InNamespace(stateNamespace))).To(Succeed())
	whole := 0
	for _, s := range states.Items {
		if len(s.Data) > 0 {
			whole++
		}
	}
	g.Expect(whole).To(BeNumerically(">=", 1), "the state Secrets are cached whole")

	f.annotate(v1.AnnotationRenewRequestedAt, "after-the-impostors")
	g.Eventually(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).Should(BeEquivalentTo(1))
	g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
}
