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
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// The Okta web app and the person who signs in, registered at the dev
// server.
const (
	webClientID  = "0oainstalltest"
	webSecret    = "install-test-web-app-secret"
	userName     = "ada@example.com"
	userPassword = "install test password"
)

// devServer starts an Okta dev server with the web app, whose redirect URIs
// are the callbacks of the operators under test, and the person.
func devServer(t *testing.T, callbackURLs ...string) *oktadev.Server {
	t.Helper()
	srv := oktadev.NewTestServer(t, oktadev.Config{})
	if err := srv.AddWebClient(oktadev.WebClient{
		ID: webClientID, Secret: webSecret, RedirectURIs: callbackURLs,
		GrantedScopes: []string{"okta.logs.read"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddUser(oktadev.User{Username: userName, Password: userPassword, Name: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	return srv
}

// newNamespace makes a namespace for one test's OktaScopedTokens.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := "t-" + rand.String(6)
	if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// lifecycle is what a user does with one OktaScopedToken, against one
// running operator: apply it, sign in, rotate it, lose its Secret, delete
// it. Its steps take a Gomega rather than a *testing.T so that a test can
// run them expecting a failure.
type lifecycle struct {
	operator *runningOperator
	srv      *oktadev.Server
	// namespace holds the OktaScopedToken and its Secrets.
	namespace string
	// timeout bounds each wait.
	timeout time.Duration
	// mutate, when set, changes the OktaScopedToken before it is created
	// (a shard label, another name).
	mutate func(*v1.OktaScopedToken)

	obj *v1.OktaScopedToken
}

func (l *lifecycle) ctx() context.Context { return context.Background() }

// run goes through every step.
func (l *lifecycle) run(g Gomega) {
	l.apply(g)
	l.signIn(g)
	l.rotate(g)
	l.repairDrift(g)
	l.deleteAndRevoke(g)
	l.leaderRenewsItsLease(g)
}

// apply creates the web app's client-secret Secret and an
// AuthorizationCode OktaScopedToken, as the user would with kubectl.
func (l *lifecycle) apply(g Gomega) {
	err := env.Client.Create(l.ctx(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "okta-web-app", Namespace: l.namespace},
		StringData: map[string]string{"clientSecret": webSecret},
	})
	g.Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	l.obj = &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: l.namespace},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain:      l.srv.Issuer(),
			ClientID:        webClientID,
			GrantType:       v1.GrantAuthorizationCode,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"},
			Scopes:          []string{"okta.logs.read"},
			SecretName:      "logs-reader-token",
		},
	}
	if l.mutate != nil {
		l.mutate(l.obj)
	}
	g.Expect(env.Client.Create(l.ctx(), l.obj)).To(Succeed())
}

func (l *lifecycle) current(g Gomega) *v1.OktaScopedToken {
	cur := &v1.OktaScopedToken{}
	g.Expect(env.Client.Get(l.ctx(), client.ObjectKeyFromObject(l.obj), cur)).To(Succeed())
	return cur
}

func (l *lifecycle) tokenSecret(g Gomega) *corev1.Secret {
	s := &corev1.Secret{}
	g.Expect(env.Client.Get(l.ctx(), client.ObjectKey{Namespace: l.namespace, Name: l.obj.TokenSecretName()}, s)).To(Succeed())
	return s
}

// stateSecretKey is where the refresh token lives: the operator's own
// namespace, as the manifests set it through POD_NAMESPACE.
func (l *lifecycle) stateSecretKey() client.ObjectKey {
	return client.ObjectKey{Namespace: l.operator.flags.StateNamespace, Name: state.SecretName(client.ObjectKeyFromObject(l.obj))}
}

// signIn reads the published sign-in link, signs in at the dev server as
// the person would in a browser, and waits for the token: Ready, the token
// Secret, the refresh token in the state Secret, and the Authorized Event.
func (l *lifecycle) signIn(g Gomega) {
	var authURL string
	g.Eventually(func(g Gomega) {
		cur := l.current(g)
		g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty(), "status: %+v", cur.Status)
		authURL = cur.Status.AuthorizationURL
	}).WithTimeout(l.timeout).Should(Succeed(), "the operator publishes a sign-in link")

	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	g.Expect(page).To(ContainSubstring("Signed in: token issued"))

	g.Eventually(func(g Gomega) {
		cur := l.current(g)
		ready := meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "Ready: %+v", ready)
	}).WithTimeout(l.timeout).Should(Succeed(), "the token becomes Ready")
	g.Expect(l.tokenSecret(g).Data).To(HaveKey(v1.TokenSecretAccessToken))

	st := &corev1.Secret{}
	g.Expect(env.Client.Get(l.ctx(), l.stateSecretKey(), st)).To(Succeed())
	g.Expect(state.Decode(st).Grant).NotTo(BeNil())
	g.Expect(state.Decode(st).Grant.RefreshToken).NotTo(BeEmpty(), "the refresh token is kept in the operator's namespace")
	g.Expect(l.srv.ActiveRefreshTokens(webClientID)).To(Equal(1))

	g.Eventually(func(g Gomega) []string {
		var events eventsv1.EventList
		g.Expect(env.Client.List(l.ctx(), &events, client.InNamespace(l.namespace))).To(Succeed())
		var reasons []string
		for _, e := range events.Items {
			if e.Regarding.Kind == "OktaScopedToken" && e.Regarding.Name == l.obj.Name {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons
	}).WithTimeout(l.timeout).Should(ContainElement(v1.ReasonAuthorized), "the operator records Events")
}

// rotate asks for a rotation with the annotation and waits for a new access
// token in the Secret.
func (l *lifecycle) rotate(g Gomega) {
	before := l.current(g).Status.Rotations
	oldToken := string(l.tokenSecret(g).Data[v1.TokenSecretAccessToken])
	g.Eventually(func(g Gomega) {
		cur := l.current(g)
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[v1.AnnotationRenewRequestedAt] = time.Now().UTC().Format(time.RFC3339Nano)
		g.Expect(env.Client.Update(l.ctx(), cur)).To(Succeed())
	}).WithTimeout(l.timeout).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(l.current(g).Status.Rotations).To(Equal(before + 1))
		g.Expect(string(l.tokenSecret(g).Data[v1.TokenSecretAccessToken])).NotTo(Equal(oldToken))
	}).WithTimeout(l.timeout).Should(Succeed(), "the token rotates on request")
}

// repairDrift edits, then deletes the token Secret, and waits each time
// for the operator to put the same token back from its state, without
// asking Okta.
func (l *lifecycle) repairDrift(g Gomega) {
	sec := l.tokenSecret(g)
	token := string(sec.Data[v1.TokenSecretAccessToken])
	requests := l.srv.TokenRequests()

	sec.Data[v1.TokenSecretAccessToken] = []byte("edited by hand")
	g.Expect(env.Client.Update(l.ctx(), sec)).To(Succeed())
	g.Eventually(func(g Gomega) string {
		return string(l.tokenSecret(g).Data[v1.TokenSecretAccessToken])
	}).WithTimeout(l.timeout).Should(Equal(token), "the edited token Secret is put right")

	sec = l.tokenSecret(g)
	g.Expect(env.Client.Delete(l.ctx(), sec)).To(Succeed())
	g.Eventually(func(g Gomega) {
		restored := l.tokenSecret(g)
		g.Expect(restored.UID).NotTo(Equal(sec.UID))
		g.Expect(string(restored.Data[v1.TokenSecretAccessToken])).To(Equal(token))
	}).WithTimeout(l.timeout).Should(Succeed(), "the deleted token Secret comes back")
	g.Expect(l.srv.TokenRequests()).To(Equal(requests), "restored from state, not from a new token request")
}

// deleteAndRevoke deletes the OktaScopedToken and waits for the finalizer
// to revoke the grant at Okta and remove the state Secret.
func (l *lifecycle) deleteAndRevoke(g Gomega) {
	g.Expect(env.Client.Delete(l.ctx(), l.current(g))).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(l.ctx(), client.ObjectKeyFromObject(l.obj), &v1.OktaScopedToken{}))
	}).WithTimeout(l.timeout).Should(BeTrue(), "the OktaScopedToken goes")
	g.Expect(l.srv.ActiveRefreshTokens(webClientID)).To(BeZero(), "the grant is revoked at Okta")
	g.Expect(apierrors.IsNotFound(env.Client.Get(l.ctx(), l.stateSecretKey(), &corev1.Secret{}))).
		To(BeTrue(), "the state Secret is deleted")
}

// lifecycleFailure carries a Gomega failure out of a lifecycle run that is
// expected to fail.
type lifecycleFailure string

// failureOf runs steps with a Gomega whose failures are returned instead of
// failing the test; "" means every step passed.
func failureOf(steps func(g Gomega)) (failure string) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(lifecycleFailure)
			if !ok {
				panic(r)
			}
			failure = string(f)
		}
	}()
	steps(NewGomega(func(message string, _ ...int) { panic(lifecycleFailure(message)) }))
	return ""
}

// forget removes what a failed lifecycle left behind, so that no later
// manager picks it up: the finalizer (no operator will remove it) and the
// namespace.
func forget(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	var list v1.OktaScopedTokenList
	if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Error(err)
		return
	}
	for i := range list.Items {
		o := &list.Items[i]
		patch := client.MergeFrom(o.DeepCopy())
		o.Finalizers = nil
		if err := env.Client.Patch(ctx, o, patch); client.IgnoreNotFound(err) != nil {
			t.Error(err)
		}
		if err := env.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			t.Error(err)
		}
	}
	if err := env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreNotFound(err) != nil {
		t.Error(err)
	}
}

// leaderRenewsItsLease checks leader election in the operator's namespace:
// the manager holds its Lease and has renewed it at least once, which the
// leader does every few seconds for as long as it runs.
func (l *lifecycle) leaderRenewsItsLease(g Gomega) {
	g.Eventually(func(g Gomega) {
		var leases coordinationv1.LeaseList
		g.Expect(env.Client.List(l.ctx(), &leases, client.InNamespace(l.operator.install.namespace))).To(Succeed())
		var lease *coordinationv1.Lease
		for i := range leases.Items {
			if id := l.operator.flags.LeaderElectionID; id == "" || leases.Items[i].Name == id {
				lease = &leases.Items[i]
			}
		}
		g.Expect(lease).NotTo(BeNil(), "a leader-election Lease in %s", l.operator.install.namespace)
		g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
		g.Expect(lease.Spec.AcquireTime).NotTo(BeNil())
		g.Expect(lease.Spec.RenewTime).NotTo(BeNil())
		g.Expect(lease.Spec.RenewTime.After(lease.Spec.AcquireTime.Time)).To(BeTrue(), "the leader renews its Lease")
	}).WithTimeout(l.timeout).Should(Succeed())
}
