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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// TestScopesNotGrantedAtACustomServer: a scope a custom authorization
// server does not have is refused; the condition says to create it on that
// server and allow it in an access policy rule for client credentials (not
// the org's Okta API Scopes tab, which custom scopes are not on), and once
// the server has it, renew-requested-at gets the token without waiting
// out the stall.
func TestScopesNotGrantedAtACustomServer(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	const clientID = "0oacustomscopes"
	f.customServerApp(f.ns, "logs", clientID, "custom-server-client-secret-value", "logs:read")
	obj := f.create(&v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-writer", Namespace: f.ns},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain: f.srv.Issuer(), AuthorizationServerID: "logs", ClientID: clientID,
			GrantType:       v1.GrantClientCredentials,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-service-app", Key: "clientSecret"},
			Scopes:          []string{"logs:write"}, SecretName: "logs-writer-token",
		},
	}, nil)
	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		ready := readyCondition(cur)
		g.Expect(ready.Reason).To(Equal(v1.ReasonScopesNotGranted), ready.Message)
		g.Expect(ready.Message).To(ContainSubstring("at custom authorization server logs (Security > API > Authorization Servers), " +
			"create logs:write on the Scopes tab if missing, and on the Access Policies tab add a policy for the app with a " +
			"rule that allows the Client Credentials grant and these scopes"))
		g.Expect(ready.Message).NotTo(ContainSubstring("Okta API Scopes tab"))
		g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())

	g.Expect(f.srv.AddAuthorizationServer(oktadev.AuthorizationServer{ID: "logs", Scopes: []string{"logs:read", "logs:write"}})).
		To(Succeed())
	// Asking again at once is held to a minute after the failure; then the
	// token comes.
	requests := f.srv.TokenRequests()
	f.annotate(v1.AnnotationRenewRequestedAt, "after-the-scope-was-added")
	f.settle()
	g.Expect(f.srv.TokenRequests()).To(Equal(requests), "not within a minute of the failure")
	f.step(time.Minute)
	cur := waitForReady(t, obj)
	g.Expect(cur.Status.GrantedScopes).To(Equal([]string{"logs:write"}))
}
