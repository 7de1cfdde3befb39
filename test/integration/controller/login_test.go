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
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// TestSignInStoresTheToken walks the whole first-use story: apply, read the
// URL, sign in, land on the callback page, find the Secret and the status.
func TestSignInStoresTheToken(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	srv, ns, callbackURL := f.srv, f.ns, f.callback
	obj := f.newWebToken()

	authURL := waitForAuthorizationURL(t, obj)
	u, err := url.Parse(authURL)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(u.Path).To(Equal("/oauth2/v1/authorize"))
	q := u.Query()
	g.Expect(q.Get("client_id")).To(Equal(webClientID))
	g.Expect(q.Get("redirect_uri")).To(Equal(callbackURL))
	g.Expect(q.Get("response_type")).To(Equal("code"))
	g.Expect(q.Get("code_challenge_method")).To(Equal("S256"))
	g.Expect(strings.Fields(q.Get("scope"))).To(ConsistOf("openid", "profile", "email", "offline_access", "okta.logs.read"))
	g.Expect(len(q.Get("state"))).To(BeNumerically(">=", 43), "a 256-bit state, base64url")
	g.Eventually(func(g Gomega) []string { return eventReasons(g, obj) }).Should(ContainElement(v1.ReasonAuthorizationRequired))

	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	g.Expect(page).To(ContainSubstring("Signed in: token issued"))
	g.Expect(page).To(ContainSubstring(ns + "/logs-reader"))
	g.Expect(page).To(ContainSubstring("okta.logs.read"))
	g.Expect(page).To(ContainSubstring("You can close this tab"))
	g.Expect(page).To(ContainSubstring(userName))

	cur := waitForReady(t, obj)
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	g.Expect(cur.Status.GrantedScopes).To(ContainElement("okta.logs.read"))
	g.Expect(cur.Status.AuthorizedSubject).To(Equal(userName))
	g.Expect(cur.Status.ExpiresAt).NotTo(BeNil())
	g.Expect(cur.Status.RenewalTime).NotTo(BeNil())
	g.Expect(cur.Status.RenewalTime.Before(cur.Status.ExpiresAt)).To(BeTrue())
	g.Expect(cur.Status.AuthorizationURL).To(BeEmpty())
	g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))

	sec := tokenSecret(g, ns, "logs-reader-token")
	g.Expect(sec.Data).To(HaveKey(v1.TokenSecretAccessToken))
	g.Expect(sec.Data).To(HaveKeyWithValue(v1.TokenSecretTokenType, []byte("Bearer")))
	g.Expect(sec.Data).To(HaveKey(v1.TokenSecretExpiry))
	g.Expect(string(sec.Data[v1.TokenSecretScope])).To(ContainSubstring("okta.logs.read"))
	g.Expect(sec.Data).NotTo(HaveKey("refresh_token"), "the refresh token never reaches the workload's Secret")
	g.Expect(sec.Labels).To(HaveKeyWithValue(v1.LabelManagedBy, v1.ManagedByValue))
	g.Expect(sec.Labels).To(HaveKeyWithValue(v1.LabelToken, "logs-reader"))
	g.Expect(metav1.IsControlledBy(sec, cur)).To(BeTrue(), "owned by the resource")
	expiry, err := time.Parse(time.RFC3339, string(sec.Data[v1.TokenSecretExpiry]))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(expiry).To(BeTemporally("~", cur.Status.ExpiresAt.Time, time.Second))

	st := stateSecret(g, obj)
	g.Expect(st.Namespace).To(Equal(stateNamespace))
	g.Expect(storedGrant(g, st).RefreshToken).NotTo(BeEmpty(), "the refresh token lives in the state Secret")
	g.Expect(st.Data).NotTo(HaveKey("pending-verifier"), "the pending login is gone once used")
	access := string(sec.Data[v1.TokenSecretAccessToken])
	remember(access, state.Decode(st).Grant.RefreshToken)

	// The token works where it is meant to: the System Log API.
	req, _ := http.NewRequest(http.MethodGet, srv.Issuer()+"/api/v1/logs?limit=2", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))

	g.Eventually(func(g Gomega) []string { return eventReasons(g, obj) }).Should(ContainElement("Authorized"))

	// The state is accepted once: replaying the same sign-in link's
	// callback changes nothing.
	t.Run("replayed callback", func(t *testing.T) {
		g := NewWithT(t)
		before := tokenSecret(g, ns, "logs-reader-token").ResourceVersion
		resp, err := http.Get(callbackURL + "?state=" + url.QueryEscape(q.Get("state")) + "&code=anything")
		g.Expect(err).NotTo(HaveOccurred())
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		g.Expect(string(page)).To(ContainSubstring("unknown or was already used"))
		f.poke()
		g.Expect(tokenSecret(g, ns, "logs-reader-token").ResourceVersion).To(Equal(before))
	})

	t.Run("delete revokes and cleans up", func(t *testing.T) {
		g := NewWithT(t)
		rt := state.Decode(st).Grant.RefreshToken
		g.Expect(env.Client.Delete(context.Background(), cur)).To(Succeed())
		g.Eventually(func() bool {
			return client.IgnoreNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), &v1.OktaScopedToken{})) == nil &&
				env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), &v1.OktaScopedToken{}) != nil
		}).WithTimeout(10*time.Second).Should(BeTrue(), "the resource goes")
		g.Eventually(func() bool {
			err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(st), &corev1.Secret{})
			return err != nil
		}).Should(BeTrue(), "the state Secret is deleted")
		// The refresh token no longer works at Okta.
		conf := &oauth2.Config{ClientID: webClientID, ClientSecret: webSecret,
			Endpoint: oauth2.Endpoint{TokenURL: srv.Issuer() + "/oauth2/v1/token", AuthStyle: oauth2.AuthStyleInHeader}}
		_, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
		var re *oauth2.RetrieveError
		g.Expect(errors.As(err, &re)).To(BeTrue(), "refresh after delete: %v", err)
		g.Expect(re.ErrorCode).To(Equal("invalid_grant"))
	})
}

// TestLoginSurvivesARestart: the pending login lives in the state Secret, so
// a manager started after the URL was published finishes the sign-in.
func TestLoginSurvivesARestart(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	obj := f.newWebToken()
	authURL := waitForAuthorizationURL(t, obj)
	f.restart()

	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	cur := waitForReady(t, obj)
	g.Expect(cur.Status.AuthorizationURL).To(BeEmpty())
	g.Expect(tokenSecret(g, f.ns, "logs-reader-token").Data).To(HaveKey(v1.TokenSecretAccessToken))
}

// TestCallbackOnANonLeader: two replicas with leader election; the callback
// reaches the one that is not leading, and the sign-in still completes.
func TestCallbackOnANonLeader(t *testing.T) {
	g := NewWithT(t)
	// The fixture's callback address, the app's redirect URI, is the
	// follower's: Okta sends the browser there. The leader, started first,
	// listens elsewhere.
	f := newFixture(t, fixtureOptions{leaderElect: true, noManager: true})
	leaderL, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	f.startManager(leaderL, f.api, true)
	obj := f.newWebToken()
	// The first manager leads: only a leader reconciles and publishes URLs.
	authURL := waitForAuthorizationURL(t, obj)
	f.startManager(f.listener, &apiRecorder{}, true)
	g.Eventually(func() error {
		resp, err := http.Get(strings.TrimSuffix(f.callback, "/callback") + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}).Should(Succeed(), "the follower serves callbacks without leading")

	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	waitForReady(t, obj)
}
