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
