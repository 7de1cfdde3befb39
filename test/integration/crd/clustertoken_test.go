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

package crd

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// TestClusterTokenValidation: a ClusterOktaScopedToken must say which
// namespaces get it, names its copies in spec.secretName, and its token
// obeys every rule of an OktaScopedToken's spec, with the same messages.
func TestClusterTokenValidation(t *testing.T) {
	tests := map[string]struct {
		mutate  func(*v1.ClusterOktaScopedToken)
		message string
	}{
		"no namespaces": {
			mutate:  func(c *v1.ClusterOktaScopedToken) { c.Spec.Namespaces = nil },
			message: "name the namespaces that get the token: set namespaceSelector, namespaces, or both",
		},
		"the copies' name in the token": {
			mutate:  func(c *v1.ClusterOktaScopedToken) { c.Spec.Token.SecretName = "x" },
			message: "set spec.secretName, the name of the Secret in every selected namespace, instead of spec.token.secretName",
		},
		"a token rule: ClientCredentials without a key": {
			mutate:  func(c *v1.ClusterOktaScopedToken) { c.Spec.Token.PrivateKeyRef = nil },
			message: "grantType ClientCredentials needs privateKeyRef",
		},
		"a token rule: the domain in ASCII": {
			mutate:  func(c *v1.ClusterOktaScopedToken) { c.Spec.Token.OktaDomain = "https://acme.oktaprevİew.com" },
			message: "oktaDomain must be written in ASCII",
		},
		"a long name": {
			mutate:  func(c *v1.ClusterOktaScopedToken) { c.Name = strings.Repeat("a", 201) },
			message: "the name of a ClusterOktaScopedToken is at most 200 characters",
		},
		"a namespace that is not a name": {
			mutate:  func(c *v1.ClusterOktaScopedToken) { c.Spec.Namespaces = []string{"Team A"} },
			message: "spec.namespaces[0]",
		},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			g := NewWithT(t)
			c := &v1.ClusterOktaScopedToken{ObjectMeta: metav1.ObjectMeta{Name: "shared-logs"},
				Spec: v1.ClusterOktaScopedTokenSpec{Token: validSpec(v1.GrantClientCredentials), Namespaces: []string{"team-a"}}}
			tc.mutate(c)
			err := env.Client.Create(context.Background(), c)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).To(ContainSubstring(tc.message))
		})
	}
	t.Run("valid, and defaulted like an OktaScopedToken", func(t *testing.T) {
		g := NewWithT(t)
		spec := validSpec(v1.GrantClientCredentials)
		spec.GrantType = ""
		spec.PrivateKeyRef, spec.ClientSecretRef = nil, &v1.SecretKeyReference{Name: "web", Key: "clientSecret"}
		c := &v1.ClusterOktaScopedToken{ObjectMeta: metav1.ObjectMeta{Name: "shared-logs-valid"},
			Spec: v1.ClusterOktaScopedTokenSpec{Token: spec,
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"okta-logs": "true"}}}}
		g.Expect(env.Client.Create(context.Background(), c)).To(Succeed())
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), c) })
		g.Expect(c.Spec.Token.GrantType).To(Equal(v1.GrantAuthorizationCode))
		g.Expect(c.Spec.Token.TokenBinding).To(Equal(v1.TokenBindingBearer))
		g.Expect(c.CopySecretName()).To(Equal("shared-logs-valid"))
	})
}
