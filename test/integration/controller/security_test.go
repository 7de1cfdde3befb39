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

// A person who may edit OktaScopedTokens in their own namespace, and
// nothing else, against an operator with cluster-wide rights over Secrets:
// each test is one thing such a person could make the operator do before,
// and must not be able to now (docs/security.md lists them). The attacker's
// server is a small HTTP handler of the test's own, recording everything it
// receives; Okta is the dev server.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// hostileServer is a server a namespace user controls. It records every
// request it receives, and answers as answer says.
type hostileServer struct {
	url    string
	mu     sync.Mutex
	seen   []string
	answer func(w http.ResponseWriter, r *http.Request, self string)
	// inFlight and maxInFlight count the requests being answered.
	inFlight, maxInFlight int
}

func startHostile(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, self string)) *hostileServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileServer{url: "http://" + l.Addr().String(), answer: answer}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.mu.Lock()
		h.seen = append(h.seen, fmt.Sprintf("%s %s %v %s", r.Method, r.URL, r.Header, body))
		h.inFlight++
		h.maxInFlight = max(h.maxInFlight, h.inFlight)
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			h.inFlight--
			h.mu.Unlock()
		}()
		h.answer(w, r, h.url)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return h
}

// received is everything the server was sent.
func (h *hostileServer) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// metadata answers a metadata request with endpoints made by endpoint.
func metadata(w http.ResponseWriter, issuer string, endpoint func(path string) string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"issuer":                 issuer,
		"authorization_endpoint": endpoint("/oauth2/v1/authorize"),
		"token_endpoint":         endpoint("/oauth2/v1/token"),
		"revocation_endpoint":    endpoint("/oauth2/v1/revoke"),
		"jwks_uri":               endpoint("/oauth2/v1/keys"),
	})
}

func isMetadata(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/.well-known/") }

// TestOnlyAllowedOktaDomainsGetCredentials: a resource naming a host the
// operator was not told it may use is refused before anything is sent
// there, for both grant types, with a message naming the flag to change.
func TestOnlyAllowedOktaDomainsGetCredentials(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// The dev server, under a name that is not on the allowlist
	// (the fixture allows 127.0.0.1).
	elsewhere := strings.Replace(f.srv.Issuer(), "127.0.0.1", "localhost", 1)
	f.addServiceApp("0oaservicedomain", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	tests := map[string]func() *v1.OktaScopedToken{
		"AuthorizationCode": func() *v1.OktaScopedToken {
			return f.newWebToken(func(o *v1.OktaScopedToken) { o.Name, o.Spec.OktaDomain = "web", elsewhere })
		},
		"ClientCredentials": func() *v1.OktaScopedToken {
			return f.newServiceToken("0oaservicedomain", encodePKCS8(serviceRSAKey()), "", func(o *v1.OktaScopedToken) {
				o.Name, o.Spec.OktaDomain, o.Spec.SecretName = "service", elsewhere, "service-token"
			})
		},
	}
	for name, create := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			before := f.requests.all()
			obj := create()
			cur := waitForReason(t, obj, v1.ReasonDomainNotAllowed)
			g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(readyCondition(cur).Message).To(ContainSubstring("--okta-domains"))
			g.Expect(readyCondition(cur).Message).To(ContainSubstring("localhost is not one of the Okta domains"))
			g.Expect(cur.Status.AuthorizationURL).To(BeEmpty(), "no sign-in link to an unchecked host")
			f.poke()
			g.Expect(f.requests.all()).To(Equal(before), "nothing was sent to the host")
		})
	}
}

// TestEndpointsStayOnTheIssuer: a metadata document that sends the token
// endpoint to another host, or a redirect, does not move the operator's
// requests off the issuer's host.
func TestEndpointsStayOnTheIssuer(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.addServiceApp("0oaserviceoffhost", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	tests := map[string]struct {
		answer func(w http.ResponseWriter, r *http.Request, self string)
		want   string
	}{
		"a token endpoint on another host": {
			answer: func(w http.ResponseWriter, r *http.Request, self string) {
				metadata(w, self, func(p string) string { return f.srv.Issuer() + p })
			},
			want: "is not on the issuer's own host",
		},
		"a redirect to another host": {
			answer: func(w http.ResponseWriter, r *http.Request, _ string) {
				http.Redirect(w, r, f.srv.Issuer()+r.URL.Path, http.StatusFound)
			},
			want: "HTTP 302",
		},
	}
	i := 0
	for name, tc := range tests {
		i++
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			hostile := startHostile(t, tc.answer)
			before := f.requests.all()
			obj := f.newServiceToken("0oaserviceoffhost", nil, "", func(o *v1.OktaScopedToken) {
				o.Name, o.Spec.OktaDomain, o.Spec.SecretName = fmt.Sprintf("offhost-%d", i), hostile.url, fmt.Sprintf("offhost-%d", i)
			})
			if i == 1 {
				f.createServiceKey(encodePKCS8(serviceRSAKey()))
			}
			var cur *v1.OktaScopedToken
			g.Eventually(func(g Gomega) {
				cur = get(g, obj)
				g.Expect(condition(cur, v1.ConditionReconciling).Reason).To(Equal(v1.ReasonDiscoveryFailed))
			}).Should(Succeed())
			g.Expect(condition(cur, v1.ConditionReconciling).Message).To(ContainSubstring(tc.want))
			g.Expect(f.requests.all()).To(Equal(before), "the other host (here: Okta itself) received nothing")
			for _, r := range hostile.received() {
				g.Expect(r).To(ContainSubstring("/.well-known/"), "only metadata was asked for")
			}
		})
	}
}

// TestRevocationIsBoundToTheGrant: the spec is pointed at a host whose
// metadata fails, and the resource is deleted. The grant is revoked where
// it was made, and the new host never receives the refresh token or the
// client secret.
func TestRevocationIsBoundToTheGrant(t *testing.T) {
	g := NewWithT(t)
	f, _ := signedIn(t, fixtureOptions{})
	refresh := f.refreshToken(g)
	remember(refresh)
	g.Expect(f.srv.ActiveRefreshTokens(webClientID)).To(Equal(1))
	hostile := startHostile(t, func(w http.ResponseWriter, r *http.Request, self string) {
		if isMetadata(r) && !strings.Contains(r.URL.RawQuery, "ok") {
			http.Error(w, "down for now", http.StatusServiceUnavailable)
			return
		}
		metadata(w, self, func(p string) string { return self + p })
	})

	cur := get(g, f.obj)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.OktaDomain = hostile.url
	g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
	g.Eventually(func() int { return f.srv.ActiveRefreshTokens(webClientID) }).Should(BeZero(),
		"the grant is revoked at the Okta org that issued it")
	g.Eventually(func(g Gomega) bool { return hasEvent(g, f.obj, corev1.EventTypeNormal, v1.ReasonGrantReset) }).Should(BeTrue())
	f.settle()
	g.Expect(env.Client.Delete(context.Background(), get(g, f.obj))).To(Succeed())
	g.Eventually(func() error {
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.obj), &v1.OktaScopedToken{})
	}).ShouldNot(Succeed())
	for _, r := range hostile.received() {
		g.Expect(r).NotTo(ContainSubstring(refresh), "the refresh token went to the new host")
		g.Expect(r).NotTo(ContainSubstring(webSecret), "the client secret went to the new host")
		g.Expect(r).NotTo(ContainSubstring("Basic "), "credentials went to the new host")
	}
}

// TestReferencedSecretsAreConfined: a resource can only read keys of
// ordinary Secrets of its namespace, and whatever keeps it from reading one
// is answered with the same message, which names only what its spec says.
func TestReferencedSecretsAreConfined(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	f.addServiceApp("0oaserviceconfined", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	obj := f.newServiceToken("0oaserviceconfined", nil, "", func(o *v1.OktaScopedToken) {
		o.Spec.PrivateKeyRef.Name = "creds"
	})
	message := func() string {
		var msg string
		g.Eventually(func(g Gomega) {
			cur := get(g, obj)
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonSecretNotUsable))
			msg = readyCondition(cur).Message
		}).Should(Succeed())
		return msg
	}
	missing := message()
	g.Expect(missing).To(ContainSubstring(`Secret ` + f.ns + `/creds key "privateKey" cannot be used`))

	key := encodePKCS8(serviceRSAKey())
	remember(pemBodyLines(key)...)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: f.ns},
		Data: map[string][]byte{"other": key}}
	g.Expect(env.Client.Create(ctx, secret)).To(Succeed())
	f.poke()
	g.Expect(message()).To(Equal(missing), "no such key reads like no such Secret")

	refused := []*corev1.Secret{
		{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{
			corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`), serviceKeySecretKey: key}},
		{Type: corev1.SecretTypeServiceAccountToken, ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
			Data: map[string][]byte{serviceKeySecretKey: key}},
		{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1.LabelManagedBy: v1.ManagedByValue}},
			Data: map[string][]byte{serviceKeySecretKey: key}},
	}
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: f.ns}})).
		To(Or(Succeed(), MatchError(ContainSubstring("already exists"))))
	for _, s := range refused {
		g.Expect(env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: f.ns}})).To(Succeed())
		s.Name, s.Namespace = "creds", f.ns
		g.Expect(env.Client.Create(ctx, s)).To(Succeed())
		f.poke()
		g.Expect(message()).To(Equal(missing), "a %s Secret reads like no such Secret", s.Type)
	}
	g.Expect(f.requests.count("0oaserviceconfined")).To(BeZero(), "nothing read, nothing sent")

	// An ordinary Secret with the key works.
	g.Expect(env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: f.ns}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: f.ns},
		Data: map[string][]byte{serviceKeySecretKey: key}})).To(Succeed())
	waitForReady(t, obj)
}

// TestRequireSecretLabel: with --require-secret-label a referenced Secret
// is read only once labelled, and the message says so whatever the case.
func TestRequireSecretLabel(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{operator: func(o *operator.Options) { o.RequireSecretLabel = true }})
	f.addServiceApp("0oaservicelabel", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	obj := f.newServiceToken("0oaservicelabel", encodePKCS8(serviceRSAKey()), "")
	cur := waitForReason(t, obj, v1.ReasonSecretNotUsable)
	g.Expect(readyCondition(cur).Message).To(ContainSubstring(v1.LabelAllowReference + "=true"))
	g.Expect(f.requests.count("0oaservicelabel")).To(BeZero())

	s := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: f.ns, Name: serviceKeySecretName}, s)).To(Succeed())
	s.Labels = map[string]string{v1.LabelAllowReference: "true"}
	g.Expect(env.Client.Update(ctx, s)).To(Succeed())
	waitForReady(t, obj)
}

// TestStateBelongsToOneResource: a resource deleted with its finalizer
// removed by hand leaves its state Secret; a new resource of the same name
// does not inherit the grant someone signed in for the old one. A state
// Secret of another resource under this resource's state name is left
// alone and reported.
func TestStateBelongsToOneResource(t *testing.T) {
	t.Run("same name, created again", func(t *testing.T) {
		g := NewWithT(t)
		ctx := context.Background()
		f, old := signedIn(t, fixtureOptions{})
		oldAccess := f.accessToken(g)
		g.Expect(f.srv.ActiveRefreshTokens(webClientID)).To(Equal(1))
		// While the operator is down, someone removes the finalizer by hand
		// and deletes the resource.
		f.stop()
		patch := client.MergeFrom(old.DeepCopy())
		old.Finalizers = nil
		g.Expect(env.Client.Patch(ctx, old, patch)).To(Succeed())
		g.Expect(env.Client.Delete(ctx, old)).To(Succeed())
		g.Eventually(func() error { return env.Client.Get(ctx, client.ObjectKeyFromObject(old), &v1.OktaScopedToken{}) }).
			ShouldNot(Succeed())
		g.Expect(env.Client.Get(ctx, stateSecretKey(old), &corev1.Secret{})).To(Succeed(), "the old state is left behind")

		f.newWebToken()
		f.restart()
		cur := waitForReason(t, f.obj, v1.ReasonAuthorizationRequired)
		g.Expect(cur.UID).NotTo(Equal(old.UID))
		g.Expect(cur.Status.ExpiresAt).To(BeNil(), "no token inherited")
		g.Eventually(func(g Gomega) bool { return hasEvent(g, f.obj, corev1.EventTypeWarning, v1.ReasonStateConflict) }).Should(BeTrue())
		g.Expect(f.srv.ActiveRefreshTokens(webClientID)).To(BeZero(), "the old grant is revoked")
		g.Expect(state.OwnerUID(stateSecret(g, f.obj))).To(Equal(cur.UID))
		_ = oldAccess
	})
	t.Run("another resource's state", func(t *testing.T) {
		g := NewWithT(t)
		f := newFixture(t, fixtureOptions{})
		key := types.NamespacedName{Namespace: f.ns, Name: "logs-reader"}
		other := state.NewSecret(stateNamespace, key, "uid-of-another")
		other.Annotations[state.AnnotationOwner] = f.ns + "/another-resource"
		state.Encode(state.State{Grant: &state.Grant{RefreshToken: "someone-elses-refresh-token", AccessToken: "someone-elses-access"}}, other)
		remember("someone-elses-refresh-token", "someone-elses-access")
		g.Expect(env.Client.Create(context.Background(), other)).To(Succeed())
		// The operator's cache has it before the resource appears.
		g.Eventually(func() error {
			return f.mgr.GetCache().Get(context.Background(), client.ObjectKeyFromObject(other), &corev1.Secret{})
		}).Should(Succeed())
		f.newWebToken()
		cur := waitForReason(t, f.obj, v1.ReasonStateConflict)
		g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(readyCondition(cur).Message).To(ContainSubstring("belongs to the OktaScopedToken " + f.ns + "/another-resource"))
		g.Expect(env.Client.Get(context.Background(), stateSecretKey(f.obj), &corev1.Secret{})).To(Succeed(), "left alone")
		g.Expect(cur.Status.ExpiresAt).To(BeNil())
	})
}

// TestABrokenDomainDoesNotHoldTheWorkers: a dozen resources point at a
// host that accepts connections and never answers, on three ports of it;
// another token on a healthy Okta is issued and rotates on time all the
// same. The broken host holds at most its one share of the workers however
// many ports the resources name.
func TestABrokenDomainDoesNotHoldTheWorkers(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	stall := func(w http.ResponseWriter, r *http.Request, _ string) {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		<-release
	}
	var ports []*hostileServer
	for range 3 {
		ports = append(ports, startHostile(t, stall))
	}
	t.Cleanup(func() { close(release) })
	// Three-minute tokens renew after two minutes of fake time; the clock
	// starts four minutes behind (see fixtureOptions.behindWall). The
	// broken host is reached as localhost, the healthy Okta as 127.0.0.1:
	// two hosts, each with its own share.
	f := newFixture(t, fixtureOptions{behindWall: 4 * time.Minute, sharedDevClock: true,
		dev: oktadev.Config{AccessTokenTTL: 3 * time.Minute}, httpTimeout: 10 * time.Minute,
		operator: func(o *operator.Options) { o.OktaDomains = append(o.OktaDomains, "localhost") }})
	f.addServiceApp("0oaservicefair", []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	f.createServiceKey(encodePKCS8(serviceRSAKey()))
	for i := range 12 {
		broken := strings.Replace(ports[i%len(ports)].url, "127.0.0.1", "localhost", 1)
		f.newServiceToken("0oaservicefair", nil, "", func(o *v1.OktaScopedToken) {
			o.Name, o.Spec.SecretName, o.Spec.OktaDomain = fmt.Sprintf("stuck-%d", i), fmt.Sprintf("stuck-%d", i), broken
		})
	}
	g.Eventually(func() int {
		n := 0
		for _, p := range ports {
			n += len(p.received())
		}
		return n
	}).Should(BeNumerically(">=", 1), "the broken server is being asked")
	healthy := f.newServiceToken("0oaservicefair", nil, "")
	cur := waitForReady(t, healthy)
	mu.Lock()
	g.Expect(maxInFlight).To(BeNumerically("<=", 4), "the broken host holds at most its share of the workers, on all its ports")
	g.Expect(maxInFlight).To(BeNumerically(">=", 1))
	mu.Unlock()
	t.Logf("most requests in flight to the broken host, its three ports together: %d", maxInFlight)

	first := f.accessToken(g)
	// The healthy token's pass must be over before the clock moves, or it
	// would schedule its renewal from the new time.
	f.settleAround(func() int {
		mu.Lock()
		defer mu.Unlock()
		return inFlight
	})
	f.clock.SetTime(cur.Status.RenewalTime.Time)
	g.Eventually(func(g Gomega) bool { return f.accessToken(g) != first }).Should(BeTrue(), "rotated on time")
}

// TestTextFromOktaIsCleaned: what an Okta org (or anything claiming to be
// one) answers reaches conditions, Events and logs without control
// characters, cut to a sensible length.
func TestTextFromOktaIsCleaned(t *testing.T) {
	g := NewWithT(t)
	const forged = "\n2026-11-30T00:00:00Z\tINFO\tforged log line\x1b[31m in red\u202eexe.txt"
	hostile := startHostile(t, func(w http.ResponseWriter, r *http.Request, self string) {
		if isMetadata(r) {
			metadata(w, self, func(p string) string { return self + p })
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"error": "invalid_client", "error_description": "bad client" + forged + strings.Repeat("x", 5000),
		})
	})
	f := newFixture(t, fixtureOptions{})
	obj := f.newServiceToken("0oaserviceclean", encodePKCS8(serviceRSAKey()), "", func(o *v1.OktaScopedToken) {
		o.Spec.OktaDomain = hostile.url
	})
	cur := waitForReason(t, obj, v1.ReasonInvalidClient)
	msg := readyCondition(cur).Message
	g.Expect(msg).To(ContainSubstring("bad client 2026-11-30T00:00:00Z INFO forged log line"))
	g.Expect(len(msg)).To(BeNumerically("<", 2000), "cut to a sensible length")
	for _, bad := range []string{"\n", "\t", "\x1b", "\u202e"} {
		g.Expect(msg).NotTo(ContainSubstring(bad))
		for _, e := range tokenEvents(g, obj) {
			g.Expect(e.Note).NotTo(ContainSubstring(bad))
		}
	}
	g.Expect(logs.String()).NotTo(ContainSubstring("\x1b[31m"), "no terminal escapes in the logs")
	g.Expect(logs.String()).NotTo(ContainSubstring("\tforged log line"), "no forged log lines")
}

// TestAllowedSubjects: a sign-in by someone the resource does not allow
// stores nothing, says why on the page and in a Warning Event, revokes
// what that sign-in earned, and leaves the link usable by the right
// person, whose name status shows from the verified ID token.
func TestAllowedSubjects(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	const eve, evePassword = "eve@elsewhere.example", "eve's password, long enough"
	g.Expect(f.srv.AddUser(oktadev.User{Username: eve, Password: evePassword, Name: "Eve"})).To(Succeed())
	remember(evePassword)
	obj := f.newWebToken(func(o *v1.OktaScopedToken) { o.Spec.AllowedSubjects = []string{"*@example.com"} })
	authURL := waitForAuthorizationURL(t, obj)

	status, page, err := oktadev.SignIn(authURL, eve, evePassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusForbidden), page)
	g.Expect(page).To(ContainSubstring("You may not grant this token"))
	g.Expect(page).To(ContainSubstring("You signed in as " + eve))
	g.Expect(page).To(ContainSubstring("*@example.com"))
	g.Eventually(func(g Gomega) bool { return hasEvent(g, obj, corev1.EventTypeWarning, v1.ReasonSubjectNotAllowed) }).Should(BeTrue())
	g.Expect(f.srv.ActiveRefreshTokens(webClientID)).To(BeZero(), "what Eve's sign-in earned is revoked")
	f.poke()
	cur := get(g, obj)
	g.Expect(cur.Status.ExpiresAt).To(BeNil(), "nothing stored")
	g.Expect(cur.Status.AuthorizationURL).To(Equal(authURL), "the same link stays")

	status, page, err = oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	cur = waitForReady(t, obj)
	g.Expect(cur.Status.AuthorizedSubject).To(Equal(userName))
}
