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
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

// TestWithoutACallback: a manager started without --callback-url serves a
// service app's token, and an AuthorizationCode resource beside it says
// what to set, publishing no link nobody could finish.
func TestWithoutACallback(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{behindWall: time.Minute, sharedDevClock: true,
		operator: func(o *operator.Options) { o.CallbackURL = "" }})
	f.addServiceApp("0oanocallback", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "k1"))
	service := f.newServiceToken("0oanocallback", encodePKCS8(serviceRSAKey()), "k1")
	cur := waitForReady(t, service)
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	g.Expect(tokenSecret(g, f.ns, "logs-reader-token").Data).To(HaveKey(v1.TokenSecretAccessToken))

	web := f.newWebToken(func(o *v1.OktaScopedToken) { o.Name, o.Spec.SecretName = "web-reader", "web-reader-token" })
	g.Eventually(func(g Gomega) {
		cur := get(g, web)
		ready := readyCondition(cur)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(v1.ReasonCallbackNotConfigured))
		g.Expect(ready.Message).To(ContainSubstring("start the manager with --callback-url (Helm: callback.host or callback.url)"))
		g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue),
			"retrying cannot help until the manager has a callback")
		g.Expect(cur.Status.AuthorizationURL).To(BeEmpty(), "no sign-in link that nobody could finish")
	}).Should(Succeed())
	g.Expect(f.srv.TokenRequests()).To(BeNumerically(">=", 1))
}

// TestNoRefreshTokenSaysToEnableTheGrant: a web app without the Refresh
// Token grant type signs a person in but gets no refresh token; the token is
// stored, and the resource says NoRefreshToken and how to fix the app,
// with a new link for the next sign-in.
func TestNoRefreshTokenSaysToEnableTheGrant(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{webApp: func(w *oktadev.WebClient) { w.NoRefreshTokenGrant = true }})
	obj := f.newWebToken()
	first := waitForAuthorizationURL(t, obj)
	status, page, err := oktadev.SignIn(first, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		ready := readyCondition(cur)
		g.Expect(ready.Reason).To(Equal(v1.ReasonNoRefreshToken), ready.Message)
		g.Expect(ready.Message).To(ContainSubstring("enable the Refresh Token grant on the Okta web app"))
		g.Expect(ready.Message).To(ContainSubstring("the current token stays in place until it expires"))
		g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
		g.Expect(cur.Status.AuthorizationURL).NotTo(Equal(first), "a new link for the next sign-in")
	}).Should(Succeed())
	g.Expect(tokenSecret(g, f.ns, "logs-reader-token").Data).To(HaveKey(v1.TokenSecretAccessToken),
		"the token Okta issued is in the Secret meanwhile")
}
