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

// DPoP, as Okta requires it by default for API service apps created since
// 2024: the dev server's apps here have "Require DPoP" on, so every token
// request without a good proof is refused, the tokens are bound to the
// operator's key, and the System Log wants a proof with every call. These
// tests check that a service app and a web app get rotating DPoP-bound
// tokens, that the key survives a kill, that each refusal reads as what it
// is, that the nonce costs one round trip per org, and that a workload reads
// the System Log with the mounted key.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/cmd/okta-token-proxy/proxy"
	"github.com/okta-token-operator/okta-token-operator/config/samples/oktalogs/systemlog"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// dpopServiceApp registers a service app that requires DPoP, with the
// shared RSA key for its client assertion.
func (f *fixture) dpopServiceApp(clientID string) {
	f.t.Helper()
	if err := f.srv.AddServiceClient(oktadev.ServiceClient{ID: clientID, RequireDPoP: true,
		JWKS: serviceAppJWKS(serviceAppJWK(serviceRSAKey(), "rsa-1")), GrantedScopes: []string{"okta.logs.read"}}); err != nil {
		f.t.Fatal(err)
	}
}

func withDPoP(o *v1.OktaScopedToken) { o.Spec.TokenBinding = v1.TokenBindingDPoP }

// dpopKeyOf reads the key a token Secret holds, remembering it for the
// leak scan.
func dpopKeyOf(g Gomega, s *corev1.Secret) *okta.DPoPKey {
	raw := s.Data[v1.TokenSecretDPoPKey]
	g.Expect(raw).NotTo(BeEmpty(), "the token Secret holds the key its token is bound to")
	remember(string(raw), jwkPrivatePart(raw))
	key, err := okta.ParseDPoPKey(raw)
	g.Expect(err).NotTo(HaveOccurred())
	return key
}

// jwkPrivatePart is the "d" of a private JWK: what must never leak.
func jwkPrivatePart(raw []byte) string {
	_, rest, _ := strings.Cut(string(raw), `"d":"`)
	d, _, _ := strings.Cut(rest, `"`)
	return d
}

// TestDPoPServiceAppTokenRotates: a service app with "Require DPoP" gets a
// DPoP-bound token and a fresh key for every token, and the nonce is asked
// for once: the second token's proof carries it up front.
func TestDPoPServiceAppTokenRotates(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, 4*time.Minute, oktadev.Config{AccessTokenTTL: 3 * time.Minute})
	const clientID = "0oadpopservice"
	f.dpopServiceApp(clientID)
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1", withDPoP)

	first := waitForReady(t, obj)
	s := tokenSecret(g, f.ns, obj.TokenSecretName())
	g.Expect(string(s.Data[v1.TokenSecretTokenType])).To(Equal("DPoP"))
	firstKey := dpopKeyOf(g, s)
	firstToken := f.accessToken(g)
	remember(firstToken)
	g.Expect(f.srv.DPoPNonceChallenges()).To(Equal(1), "the first proof has no nonce: Okta asks for one")
	g.Expect(f.srv.TokenRequests()).To(Equal(2), "one token, two round trips the first time")
	g.Expect(systemLogThroughSecret(g, f, s)).To(BeNumerically(">", 0), "the token and its key read the System Log")

	f.setTime(first.Status.RenewalTime.Time)
	g.Eventually(func(g Gomega) { g.Expect(f.accessToken(g)).NotTo(Equal(firstToken)) }).Should(Succeed())
	// The Secret is written before the status: wait for the status too.
	g.Eventually(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).Should(BeEquivalentTo(first.Status.Rotations + 1))
	waitForReady(t, obj)
	s = tokenSecret(g, f.ns, obj.TokenSecretName())
	g.Expect(dpopKeyOf(g, s).Thumbprint).NotTo(Equal(firstKey.Thumbprint), "each ClientCredentials token has a key of its own")
	g.Expect(f.srv.DPoPNonceChallenges()).To(Equal(1), "the nonce is sent up front: no second challenge")
	g.Expect(f.srv.TokenRequests()).To(Equal(3))
	remember(f.accessToken(g))
	g.Expect(systemLogThroughSecret(g, f, s)).To(BeNumerically(">", 0))
}

// TestDPoPRequiredNamesTheField: an app that requires DPoP, a resource that
// does not ask for it: Stalled, saying which field to set (not to weaken
// the app); setting it is tried at once and works.
func TestDPoPRequiredNamesTheField(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	const clientID = "0oadpoprequired"
	f.dpopServiceApp(clientID)
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1")

	cur := waitForReason(t, obj, v1.ReasonDPoPRequired)
	stalled := condition(cur, v1.ConditionStalled)
	g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(stalled.Message).To(ContainSubstring("The DPoP proof JWT header is missing"), "Okta's own words")
	g.Expect(stalled.Message).To(ContainSubstring("set spec.tokenBinding: DPoP"))
	g.Expect(strings.ToLower(stalled.Message)).NotTo(ContainSubstring("untick"))
	g.Expect(strings.ToLower(stalled.Message)).NotTo(ContainSubstring("disable"))

	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.TokenBinding = v1.TokenBindingDPoP
	g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
	cur = waitForReady(t, obj)
	g.Expect(string(tokenSecret(g, f.ns, obj.TokenSecretName()).Data[v1.TokenSecretTokenType])).To(Equal("DPoP"))
	g.Expect(condition(cur, v1.ConditionStalled).Type).To(BeEmpty(), "Stalled goes once it works")
}

// TestDPoPSignInSurvivesAKill: a web app with "Require DPoP": the sign-in's
// key is kept in the state Secret, and the refresh whose answer died with
// the process (kill -9 after Okta answered, before the state was written)
// is made again by the next manager with the same key, within Okta's grace
// period.
func TestDPoPSignInSurvivesAKill(t *testing.T) {
	g := NewWithT(t)
	f, cur := signedIn(t, fixtureOptions{sharedDevClock: true,
		webApp: func(w *oktadev.WebClient) { w.RequireDPoP = true }}, withDPoP)
	st := storedGrant(g, stateSecret(g, f.obj))
	g.Expect(st.DPoPKey).NotTo(BeEmpty(), "the sign-in's key lives in the state Secret")
	remember(st.DPoPKey, jwkPrivatePart([]byte(st.DPoPKey)))
	s := tokenSecret(g, f.ns, f.obj.TokenSecretName())
	g.Expect(string(s.Data[v1.TokenSecretTokenType])).To(Equal("DPoP"))
	signInKey := dpopKeyOf(g, s)
	g.Expect(s.Data).NotTo(HaveKey("refresh_token"))
	oldAccess, oldRefresh := f.accessToken(g), f.refreshToken(g)
	remember(oldAccess, oldRefresh)
	base := f.srv.TokenRequests()

	f.api.refuseWrites(stateSecretPath(f.obj))
	f.setTime(cur.Status.RenewalTime.Time)
	g.Eventually(f.srv.TokenRequests).Should(Equal(base+1), "Okta answers the refresh")
	g.Eventually(func() []apiWrite { return f.api.since(0) }).Should(ContainElement(
		apiWrite{Method: http.MethodPut, Path: stateSecretPath(f.obj), Refused: true}))
	f.stop()
	g.Expect(f.refreshToken(g)).To(Equal(oldRefresh), "the answer died with the process")

	f.clock.Step(20 * time.Second)
	f.restart()
	g.Eventually(func(g Gomega) {
		cur = get(g, f.obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued), "Ready: %+v", readyCondition(cur))
		g.Expect(cur.Status.Rotations).To(BeEquivalentTo(1))
	}).WithTimeout(15 * time.Second).Should(Succeed())
	// A new process knows no nonce yet: one round trip to learn it, then the
	// refresh.
	g.Expect(f.srv.TokenRequests()).To(Equal(base+3), "the new manager refreshes once, with the stored grant's key")
	s = tokenSecret(g, f.ns, f.obj.TokenSecretName())
	g.Expect(dpopKeyOf(g, s).Thumbprint).To(Equal(signInKey.Thumbprint), "a refresh keeps the grant's key")
	g.Expect(f.accessToken(g)).NotTo(Equal(oldAccess))
	remember(f.accessToken(g), f.refreshToken(g))
	g.Expect(systemLogThroughSecret(g, f, s)).To(BeNumerically(">", 0))

	// Deleting it revokes the grant with a proof by its key.
	g.Expect(env.Client.Delete(context.Background(), get(g, f.obj))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, f.obj) }).Should(ContainElement(v1.ReasonRevoked))
	g.Expect(f.srv.ActiveRefreshTokens(webClientID)).To(BeZero(), "the DPoP-bound grant is revoked at Okta")
}

// TestDPoPRefusalsAreClear: each way Okta refuses a proof reads as what it
// is, with Okta's words, and the current token stays in place.
func TestDPoPRefusalsAreClear(t *testing.T) {
	t.Run("a proof by another key than the grant's", func(t *testing.T) {
		g := NewWithT(t)
		f, _ := signedIn(t, fixtureOptions{sharedDevClock: true,
			webApp: func(w *oktadev.WebClient) { w.RequireDPoP = true }}, withDPoP)
		// The state Secret comes back from a backup of another grant: its
		// key is not the one Okta bound the refresh token to.
		other, err := okta.NewDPoPKey()
		g.Expect(err).NotTo(HaveOccurred())
		jwk, err := other.PrivateJWK()
		g.Expect(err).NotTo(HaveOccurred())
		remember(string(jwk), jwkPrivatePart(jwk))
		g.Eventually(func() error {
			s := stateSecret(g, f.obj)
			st := state.Decode(s)
			grant := *st.Grant
			grant.DPoPKey = string(jwk)
			state.Encode(st.Renewed(&grant, st.RenewHandled, time.Time{}), s)
			return env.Client.Update(context.Background(), s)
		}).Should(Succeed())
		f.annotate(v1.AnnotationRenewRequestedAt, "another-key")
		cur := waitForDPoPRefusal(t, f, "is not signed with the key the refresh token is bound to")
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "the current token stays valid")
	})

	t.Run("a reused jti", func(t *testing.T) {
		f := serviceFixture(t, time.Minute, oktadev.Config{})
		const clientID = "0oadpopreplay"
		f.dpopServiceApp(clientID)
		// Something between the operator and Okta replays the proof of the
		// first request in place of every later one.
		var first string
		f.requests.setTamper(func(r *http.Request) {
			if first == "" {
				first = r.Header.Get("DPoP")
				return
			}
			r.Header.Set("DPoP", first)
		})
		f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1", withDPoP)
		waitForDPoPRefusal(t, f, "has already been used")
	})

	t.Run("a stale iat: the operator's clock is behind Okta's", func(t *testing.T) {
		// The dev server keeps the wall clock; the operator's is ten
		// minutes behind it.
		f := newFixture(t, fixtureOptions{behindWall: 10 * time.Minute})
		const clientID = "0oadpopstale"
		f.dpopServiceApp(clientID)
		f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1", withDPoP)
		waitForDPoPRefusal(t, f, "'iat' claim in the DPoP proof JWT is too old")
	})

	t.Run("a wrong htu: the URL was rewritten on the way", func(t *testing.T) {
		f := serviceFixture(t, time.Minute, oktadev.Config{})
		if err := f.srv.AddAuthorizationServer(oktadev.AuthorizationServer{ID: oktadev.DefaultAuthorizationServerID,
			Scopes: []string{"logs:read"}}); err != nil {
			t.Fatal(err)
		}
		const clientID = "0oadpophtu"
		f.dpopServiceApp(clientID)
		// A proxy in front of Okta routes the org's token endpoint to a
		// custom authorization server's.
		f.requests.setTamper(func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "/oauth2/v1/token", "/oauth2/default/v1/token", 1)
		})
		f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1", withDPoP)
		waitForDPoPRefusal(t, f, "'htu' claim in the DPoP proof JWT is invalid")
	})
}

// waitForDPoPRefusal waits for f.obj to report that Okta refused the DPoP
// proof, with Okta's description and the operator's hint.
func waitForDPoPRefusal(t *testing.T, f *fixture, oktaSaid string) *v1.OktaScopedToken {
	t.Helper()
	g := NewWithT(t)
	var cur *v1.OktaScopedToken
	g.Eventually(func(g Gomega) {
		cur = get(g, f.obj)
		c := condition(cur, v1.ConditionReconciling)
		g.Expect(c.Reason).To(Equal(v1.ReasonDPoPProofRefused), "Reconciling: %+v; Ready: %+v", c, readyCondition(cur))
		g.Expect(c.Message).To(ContainSubstring(oktaSaid))
		g.Expect(c.Message).To(ContainSubstring("check that the operator's clock is right"))
	}).Should(Succeed())
	return cur
}

// TestDPoPNonceOncePerOrg: a hundred service-app tokens of one org ask for
// the nonce once: every later proof carries it, so a new token costs one
// token request, not two.
func TestDPoPNonceOncePerOrg(t *testing.T) {
	g := NewWithT(t)
	const n = 100
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	const clientID = "0oadpopfleet"
	f.dpopServiceApp(clientID)
	f.createServiceKey(encodePKCS8(serviceRSAKey()))
	for i := range n {
		f.create(&v1.OktaScopedToken{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("logs-reader-%03d", i), Namespace: f.ns},
			Spec: v1.OktaScopedTokenSpec{OktaDomain: f.srv.Issuer(), ClientID: clientID, GrantType: v1.GrantClientCredentials,
				TokenBinding: v1.TokenBindingDPoP, Scopes: []string{"okta.logs.read"},
				PrivateKeyRef: &v1.PrivateKeyReference{SecretKeyReference: v1.SecretKeyReference{
					Name: serviceKeySecretName, Key: serviceKeySecretKey}, KeyID: "rsa-1"}},
		}, nil)
	}
	g.Eventually(func(g Gomega) {
		var list v1.OktaScopedTokenList
		g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(f.ns))).To(Succeed())
		ready := 0
		for i := range list.Items {
			if readyCondition(&list.Items[i]).Status == metav1.ConditionTrue {
				ready++
			}
		}
		g.Expect(ready).To(Equal(n))
	}).WithTimeout(60 * time.Second).Should(Succeed())
	f.settle()
	perToken := float64(f.srv.TokenRequests()) / n
	t.Logf("%d tokens: %d token requests (%.2f per token), %d nonce challenges",
		n, f.srv.TokenRequests(), perToken, f.srv.DPoPNonceChallenges())
	g.Expect(perToken).To(BeNumerically("<=", 1.01), "token requests per new token")
	g.Expect(f.srv.DPoPNonceChallenges()).To(BeNumerically("<=", 1), "one nonce round trip for the whole org")
}

// systemLogThroughSecret reads the System Log the way a workload that
// mounts the token Secret does (config/samples/oktalogs with a DPoP key),
// from a directory laid out like the Secret's volume; it returns the events
// read.
func systemLogThroughSecret(g Gomega, f *fixture, s *corev1.Secret) int {
	dir := f.t.TempDir()
	mountSecret(g, dir, s.Data)
	c, err := systemlog.New(systemlog.Config{OktaDomain: f.srv.Issuer(), Token: systemlog.TokenFile{Path: dir}, AllowHTTP: true,
		Clock: f.clock})
	g.Expect(err).NotTo(HaveOccurred())
	events := 0
	err = c.Each(context.Background(), systemlog.Query{Limit: 5, Until: f.clock.Now()}, func(systemlog.Event) error {
		events++
		return nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	return events
}

// mountSecret writes data into dir the way the kubelet writes a Secret
// volume: a fresh timestamped directory with the keys, the ..data symlink
// swapped to it in one rename, and each key a symlink through ..data.
func mountSecret(g Gomega, dir string, data map[string][]byte) {
	version := filepath.Join(dir, fmt.Sprintf("..%d", time.Now().UnixNano()))
	g.Expect(os.Mkdir(version, 0o755)).To(Succeed())
	for k, v := range data {
		g.Expect(os.WriteFile(filepath.Join(version, k), v, 0o600)).To(Succeed())
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	g.Expect(os.Symlink(filepath.Base(version), tmp)).To(Succeed())
	g.Expect(os.Rename(tmp, filepath.Join(dir, "..data"))).To(Succeed())
	for k := range data {
		link := filepath.Join(dir, k)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		g.Expect(os.Symlink(filepath.Join("..data", k), link)).To(Succeed())
	}
}

// TestTokenProxyAcrossARotation: an application that holds no token reads
// the System Log through the token proxy, which alone has the token
// Secret's volume, before and after the operator rotates the DPoP-bound
// token and the kubelet swaps the new one in.
func TestTokenProxyAcrossARotation(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, 4*time.Minute, oktadev.Config{AccessTokenTTL: 3 * time.Minute})
	const clientID = "0oadpopproxied"
	f.dpopServiceApp(clientID)
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1", withDPoP)
	first := waitForReady(t, obj)
	volume := t.TempDir()
	s := tokenSecret(g, f.ns, obj.TokenSecretName())
	dpopKeyOf(g, s)
	remember(f.accessToken(g))
	mountSecret(g, volume, s.Data)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	public := "http://" + l.Addr().String()
	p, err := proxy.New(proxy.Config{Upstream: f.srv.Issuer(), AllowInsecureUpstream: true, Public: public,
		Token: proxy.TokenDir(volume), Clock: f.clock})
	g.Expect(err).NotTo(HaveOccurred())
	hs := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { _ = hs.Close() })
	app, err := systemlog.New(systemlog.Config{OktaDomain: public, Token: systemlog.NoToken{}, AllowHTTP: true, Clock: f.clock})
	g.Expect(err).NotTo(HaveOccurred())
	read := func() int {
		events := 0
		g.Expect(app.Each(context.Background(), systemlog.Query{Limit: 5, Until: f.clock.Now()},
			func(systemlog.Event) error { events++; return nil })).To(Succeed())
		return events
	}
	g.Expect(read()).To(BeNumerically(">", 0), "the System Log through the proxy")

	firstToken := f.accessToken(g)
	f.setTime(first.Status.RenewalTime.Time)
	g.Eventually(func(g Gomega) { g.Expect(f.accessToken(g)).NotTo(Equal(firstToken)) }).Should(Succeed())
	rotated := tokenSecret(g, f.ns, obj.TokenSecretName())
	dpopKeyOf(g, rotated)
	remember(f.accessToken(g))
	mountSecret(g, volume, rotated.Data)
	g.Expect(read()).To(BeNumerically(">", 0), "the System Log through the proxy, with the rotated token")
}

// TestDPoPRequiredAtSignIn: a web app that requires DPoP, a resource that
// does not ask for it: the person who signs in is told which field to set,
// and nothing is stored.
func TestDPoPRequiredAtSignIn(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{webApp: func(w *oktadev.WebClient) { w.RequireDPoP = true }})
	obj := f.newWebToken()
	status, page, err := oktadev.SignIn(waitForAuthorizationURL(t, obj), userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusBadRequest))
	g.Expect(page).To(ContainSubstring("Okta requires DPoP for this app"))
	g.Expect(page).To(ContainSubstring("spec.tokenBinding: DPoP"))
	f.settle()
	g.Expect(state.Decode(stateSecret(g, obj)).Grant).To(BeNil(), "nothing was stored")
}
