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

// These tests cover Okta service apps: grantType ClientCredentials with a
// private key, no person involved. The fixture's dev server sits behind a
// recorder, so a test can read every token request exactly as it reached
// the authorization server, including the ones answered with an injected
// fault, and check each client assertion against the app's public key.
//
// A ClientCredentials resource keeps its grant in its token Secret alone:
// no state Secret, no finalizer.

import (
	"context"
	"crypto"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// serviceFixture is a fixture for service apps: its fake clock starts
// behindWall behind the wall clock and drives the dev server too.
func serviceFixture(t *testing.T, behindWall time.Duration, dev oktadev.Config) *fixture {
	t.Helper()
	return newFixture(t, fixtureOptions{behindWall: behindWall, sharedDevClock: true, dev: dev})
}

// TestClientCredentialsIssuesAToken: a service app's token arrives without
// anyone signing in, for RSA and EC keys in each PEM encoding Okta's
// documentation and openssl produce.
func TestClientCredentialsIssuesAToken(t *testing.T) {
	ecKey := generateECKey(t)
	tests := []struct {
		name    string
		key     crypto.Signer
		pem     []byte
		keyID   string
		wantAlg jose.SignatureAlgorithm
	}{
		{name: "RS256, PKCS#1, with a key ID", key: serviceRSAKey(), pem: encodePKCS1(serviceRSAKey()), keyID: "rsa-2026",
			wantAlg: jose.RS256},
		{name: "RS256, PKCS#8, no key ID", key: serviceRSAKey(), pem: encodePKCS8(serviceRSAKey()), wantAlg: jose.RS256},
		{name: "ES256, PKCS#8, with a key ID", key: ecKey, pem: encodePKCS8(ecKey), keyID: "ec-2026", wantAlg: jose.ES256},
		{name: "ES256, SEC 1, no key ID", key: ecKey, pem: encodeSEC1(ecKey), wantAlg: jose.ES256},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := serviceFixture(t, time.Minute, oktadev.Config{})
			srv, requests, ns := f.srv, f.requests, f.ns
			clientID := "0oaservice" + string(rune('a'+i))
			kid := tc.keyID
			if kid == "" {
				kid = "registered-without-the-spec-naming-it"
			}
			f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(tc.key, kid))
			successBefore := tokenRequestsMetric(grantClientCredentials, "success")
			obj := f.newServiceToken(clientID, tc.pem, tc.keyID)

			cur := waitForReady(t, obj)
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
			g.Expect(cur.Status.GrantedScopes).To(Equal([]string{"okta.logs.read"}))
			g.Expect(cur.Status.AuthorizationURL).To(BeEmpty(), "no person is asked to sign in")
			g.Expect(cur.Status.AuthorizedSubject).To(BeEmpty())
			g.Expect(cur.Status.ExpiresAt).NotTo(BeNil())
			g.Expect(cur.Status.RenewalTime).NotTo(BeNil(), "a service app's token is renewed too")
			g.Expect(cur.Status.RenewalTime.Before(cur.Status.ExpiresAt)).To(BeTrue())
			g.Expect(cur.Status.FailedAttempts).To(BeZero())
			g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
			g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionReconciling)).To(BeNil())

			sec := tokenSecret(g, ns, "logs-reader-token")
			g.Expect(sec.Data).To(HaveKeyWithValue(v1.TokenSecretTokenType, []byte("Bearer")))
			g.Expect(sec.Data).To(HaveKeyWithValue(v1.TokenSecretScope, []byte("okta.logs.read")))
			g.Expect(sec.Data).NotTo(HaveKey("refresh_token"))
			expiry, err := time.Parse(time.RFC3339, string(sec.Data[v1.TokenSecretExpiry]))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(expiry).To(BeTemporally("~", cur.Status.ExpiresAt.Time, time.Second))
			g.Expect(metav1.IsControlledBy(sec, cur)).To(BeTrue())
			access := string(sec.Data[v1.TokenSecretAccessToken])
			g.Expect(access).NotTo(BeEmpty())
			remember(access)
			g.Expect(systemLogStatus(g, srv, access)).To(Equal(http.StatusOK), "the token reads the System Log")

			// The token Secret is the grant's only record.
			g.Expect(cur.Finalizers).To(BeEmpty(), "nothing to revoke, nothing to clean up")
			g.Expect(apierrors.IsNotFound(env.Client.Get(context.Background(), stateSecretKey(obj), &corev1.Secret{}))).
				To(BeTrue(), "no state Secret")
			g.Expect(state.DecodeTokenSecret(sec).Grant).NotTo(BeNil(), "the token Secret describes its token")
			g.Expect(sec.Annotations).To(HaveKeyWithValue(state.AnnotationKeyThumbprint, Not(BeEmpty())))

			// The request, as Okta received it.
			sent := requests.from(clientID)
			g.Expect(sent).To(HaveLen(1))
			form := sent[0]
			g.Expect(form.Get("grant_type")).To(Equal("client_credentials"))
			g.Expect(form.Get("scope")).To(Equal("okta.logs.read"))
			g.Expect(form.Get("client_assertion_type")).To(Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
			g.Expect(form).NotTo(HaveKey("client_secret"))
			claims := verifyServiceAssertion(g, form.Get("client_assertion"), tc.key)
			g.Expect(claims.header.Algorithm).To(Equal(string(tc.wantAlg)))
			g.Expect(claims.header.KeyID).To(Equal(tc.keyID))
			g.Expect(claims.Issuer).To(Equal(clientID))
			g.Expect(claims.Subject).To(Equal(clientID))
			g.Expect([]string(claims.Audience)).To(Equal([]string{srv.Issuer() + "/oauth2/v1/token"}))
			g.Expect(claims.Expiry.Time().Sub(claims.IssuedAt.Time())).To(BeNumerically("<=", 6*time.Minute),
				"the assertion lives minutes, not Okta's maximum hour")
			g.Expect(claims.ID).NotTo(BeEmpty())

			g.Expect(tokenRequestsMetric(grantClientCredentials, "success")).To(Equal(successBefore + 1))

			// Drift: a deleted token Secret comes back with a new token
			// (the token Secret was the grant's only record; one request
			// to Okta is the price of having no state Secret).
			g.Expect(env.Client.Delete(context.Background(), sec)).To(Succeed())
			g.Eventually(func(g Gomega) {
				s := tokenSecret(g, ns, "logs-reader-token")
				g.Expect(s.UID).NotTo(Equal(sec.UID))
				g.Expect(string(s.Data[v1.TokenSecretAccessToken])).NotTo(Equal(access))
			}).Should(Succeed())
			g.Expect(requests.count(clientID)).To(Equal(2))
			g.Expect(systemLogStatus(g, srv, f.accessToken(g))).To(Equal(http.StatusOK))
		})
	}
}

// TestClientCredentialsFailuresSayHowToFixThem: each way a service app can
// be misconfigured ends in Ready=False and Stalled with a reason and a
// message that names the fix, and never repeats the key.
func TestClientCredentialsFailuresSayHowToFixThem(t *testing.T) {
	const clientID = "0oaservicefail"
	// What `openssl genpkey -aes256` writes; only the block type matters.
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("ciphertext of a PKCS#8 key")})

	tests := []struct {
		name   string
		pem    []byte
		scopes []string
		reason string
		// message parts a person needs to fix it.
		message []string
		// askedOkta is the Okta error class counted in the metrics, when
		// the operator got as far as asking Okta.
		askedOkta string
		// fixWith, when set, is put into the key Secret afterwards: the
		// resource must recover by itself.
		fixWith []byte
		// fixSpec, when set, edits the spec afterwards: the resource must
		// recover at once, without waiting out the backoff.
		fixSpec func(*v1.OktaScopedToken)
	}{
		{
			name: "the key Secret does not exist", pem: nil, reason: v1.ReasonSecretNotUsable,
			message: []string{"Secret", serviceKeySecretName, "cannot be used", "no such Secret or key"},
		},
		{
			name: "the Secret holds something that is not a key", pem: []byte("paste the key here\n"),
			reason: v1.ReasonInvalidPrivateKey,
			message: []string{`the private key in Secret`, serviceKeySecretName, `key "privateKey" cannot be used`,
				"no PEM block found"},
			fixWith: encodePKCS8(serviceRSAKey()),
		},
		{
			name: "an RSA key that is too short", pem: encodePKCS8(generateRSAKey(1024)), reason: v1.ReasonInvalidPrivateKey,
			message: []string{"RSA key has 1024 bits; Okta requires at least 2048"},
		},
		{
			name: "an encrypted key", pem: encrypted, reason: v1.ReasonInvalidPrivateKey,
			message: []string{"encrypted", "openssl pkey"},
		},
		{
			name: "a key that does not match the app", pem: encodePKCS8(serviceOtherRSAKey()), reason: v1.ReasonInvalidClient,
			message:   []string{"invalid_client", "The client_assertion signature is invalid.", "public keys (JWKS)"},
			askedOkta: "ClientInvalid",
			fixWith:   encodePKCS1(serviceRSAKey()),
		},
		{
			name: "a scope not granted to the app", pem: encodePKCS8(serviceRSAKey()),
			scopes: []string{"okta.logs.read", "okta.users.read"},
			reason: v1.ReasonScopesNotGranted,
			message: []string{"consent_required", "You are not allowed any of the requested scopes.", "okta.users.read",
				"Okta API Scopes tab"},
			askedOkta: "ScopesRefused",
			fixSpec:   func(o *v1.OktaScopedToken) { o.Spec.Scopes = []string{"okta.logs.read"} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := serviceFixture(t, time.Minute, oktadev.Config{})
			srv, requests, ns := f.srv, f.requests, f.ns
			f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
			failuresBefore := 0.0
			if tc.askedOkta != "" {
				failuresBefore = tokenRequestsMetric(grantClientCredentials, tc.askedOkta)
			}
			requestsBefore := requests.count(clientID)
			obj := f.newServiceToken(clientID, tc.pem, "", func(o *v1.OktaScopedToken) {
				if tc.scopes != nil {
					o.Spec.Scopes = tc.scopes
				}
			})

			var cur *v1.OktaScopedToken
			g.Eventually(func(g Gomega) {
				cur = get(g, obj)
				ready := readyCondition(cur)
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(tc.reason), "Ready: %+v", ready)
			}).WithTimeout(10 * time.Second).Should(Succeed())
			stalled := condition(cur, v1.ConditionStalled)
			g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue), "retrying cannot fix this")
			g.Expect(stalled.Reason).To(Equal(tc.reason))
			g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionReconciling)).To(BeNil())
			msg := readyCondition(cur).Message
			for _, part := range tc.message {
				g.Expect(msg).To(ContainSubstring(part))
			}
			for _, line := range pemBodyLines(tc.pem) {
				g.Expect(msg).NotTo(ContainSubstring(line), "the message quotes the key")
			}
			tokenKey := client.ObjectKey{Namespace: ns, Name: "logs-reader-token"}
			g.Expect(env.Client.Get(context.Background(), tokenKey, &corev1.Secret{})).
				NotTo(Succeed(), "no token, no token Secret")

			if tc.askedOkta == "" {
				g.Expect(requests.count(clientID)).To(Equal(requestsBefore), "nothing is sent to Okta with an unusable key")
			} else {
				g.Expect(requests.count(clientID)).To(Equal(requestsBefore + 1))
				g.Expect(cur.Status.FailedAttempts).To(BeEquivalentTo(1))
				g.Expect(cur.Status.LastFailureTime).NotTo(BeNil())
				g.Expect(tokenRequestsMetric(grantClientCredentials, tc.askedOkta)).To(Equal(failuresBefore + 1))
				g.Eventually(func(g Gomega) []string { return eventReasons(g, obj) }).Should(ContainElement("RotationFailed"))
			}

			if tc.fixSpec != nil {
				cur = get(g, obj)
				patch := client.MergeFrom(cur.DeepCopy())
				tc.fixSpec(cur)
				g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
			}
			if tc.fixWith != nil {
				f.replaceServiceKey(tc.fixWith)
			}
			if tc.fixWith != nil || tc.fixSpec != nil {
				// At once: the fake clock does not move, so the backoff the
				// failure earned cannot be what let the fix through.
				g.Eventually(func(g Gomega) {
					cur = get(g, obj)
					g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "Ready: %+v", readyCondition(cur))
				}).Should(Succeed())
				g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
				g.Expect(cur.Status.FailedAttempts).To(BeZero())
				g.Expect(systemLogStatus(g, srv, f.accessToken(g))).To(Equal(http.StatusOK))
			}
		})
	}
}

// TestClientCredentialsRetryUsesAFreshAssertion: Okta answers 503 twice; the
// operator backs off, retries, and every attempt carries its own assertion
// with its own jti. (The dev server, like Okta, refuses a jti it has seen,
// but it only sees the assertions that get past the injected fault, so the
// recorder in front of it is what shows the retries are fresh.)
func TestClientCredentialsRetryUsesAFreshAssertion(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	srv, requests := f.srv, f.requests
	const clientID = "0oaserviceretry"
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	srv.InjectFault(oktadev.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	transientBefore := tokenRequestsMetric(grantClientCredentials, "Transient")
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1")

	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(cur.Status.FailedAttempts).To(BeEquivalentTo(1))
		reconciling := condition(cur, v1.ConditionReconciling)
		g.Expect(reconciling.Status).To(Equal(metav1.ConditionTrue), "a retry is coming")
		g.Expect(reconciling.Reason).To(Equal(v1.ReasonTokenRequestFailed))
		g.Expect(reconciling.Message).To(ContainSubstring("temporarily_unavailable"))
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
	}).WithTimeout(10 * time.Second).Should(Succeed())
	// Backing off: without time passing, no second request.
	f.poke()
	g.Expect(requests.count(clientID)).To(Equal(1))

	f.stepUntil(time.Second, func(g Gomega) {
		g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
	})
	cur := get(g, obj)
	g.Expect(cur.Status.FailedAttempts).To(BeZero())
	g.Expect(cur.Status.LastFailureTime).To(BeNil())
	g.Expect(systemLogStatus(g, srv, f.accessToken(g))).To(Equal(http.StatusOK))

	sent := requests.from(clientID)
	g.Expect(sent).To(HaveLen(3), "two answered 503, the third succeeded")
	jtis := map[string]bool{}
	for _, form := range sent {
		claims := verifyServiceAssertion(g, form.Get("client_assertion"), serviceRSAKey())
		g.Expect(claims.ValidateWithLeeway(jwt.Expected{Issuer: clientID, Subject: clientID,
			AnyAudience: jwt.Audience{srv.Issuer() + "/oauth2/v1/token"}}, 0)).NotTo(HaveOccurred())
		jtis[claims.ID] = true
	}
	g.Expect(jtis).To(HaveLen(3), "each attempt signs a new assertion with a new jti")
	g.Expect(tokenRequestsMetric(grantClientCredentials, "Transient")).To(Equal(transientBefore + 2))
}

// TestClientCredentialsWaitsForTheRateLimitReset: after a 429 the operator
// asks again only once X-Rate-Limit-Reset has passed.
func TestClientCredentialsWaitsForTheRateLimitReset(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	srv, requests := f.srv, f.requests
	const clientID = "0oaservice429"
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	reset := f.clock.Now().Add(40 * time.Second)
	srv.InjectFault(oktadev.Fault{Status: http.StatusTooManyRequests, Reset: reset})
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "")

	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonWaitingForRateLimit))
		reconciling := condition(cur, v1.ConditionReconciling)
		g.Expect(reconciling.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(reconciling.Reason).To(Equal(v1.ReasonWaitingForRateLimit))
		g.Expect(reconciling.Message).To(ContainSubstring("waits until its limit resets"))
		g.Expect(cur.Status.FailedAttempts).To(BeZero())
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// Well past the 5 s backoff of a plain failure, still before the reset.
	f.step(30 * time.Second)
	f.poke()
	g.Expect(requests.count(clientID)).To(Equal(1))

	f.stepUntil(time.Second, func(g Gomega) {
		g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(requests.count(clientID)).To(Equal(2))
	g.Expect(f.clock.Now()).To(BeTemporally(">=", reset))
}

// TestClientCredentialsRenewsAtRenewalTime: with no refresh token, renewal
// mints a new token, at status.renewalTime and not before. The fake clock
// stands in for waiting two thirds of a token's life.
func TestClientCredentialsRenewsAtRenewalTime(t *testing.T) {
	g := NewWithT(t)
	// Three-minute tokens renew after about two minutes of fake time; the
	// clock starts four minutes behind (see fakeClockBehindWall).
	f := serviceFixture(t, 4*time.Minute, oktadev.Config{AccessTokenTTL: 3 * time.Minute})
	srv, requests, ns := f.srv, f.requests, f.ns
	const clientID = "0oaservicerenew"
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1")

	first := waitForReady(t, obj)
	firstToken := f.accessToken(g)
	remember(firstToken)
	issued, expires := first.Status.LastRotationTime.Time, first.Status.ExpiresAt.Time
	renewal := first.Status.RenewalTime.Time
	g.Expect(expires.Sub(issued)).To(BeNumerically("~", 3*time.Minute, time.Second))
	// Renewal at two thirds of the lifetime, moved earlier by a jitter of
	// at most a tenth of the remaining third.
	g.Expect(renewal).To(BeTemporally("<=", expires.Add(-time.Minute)))
	g.Expect(renewal).To(BeTemporally(">=", expires.Add(-time.Minute-6*time.Second-time.Second)))

	// Between rotations nothing is asked of Okta.
	f.poke()
	g.Expect(requests.count(clientID)).To(Equal(1))
	f.setTime(renewal.Add(-2 * time.Second))
	f.poke()
	g.Expect(requests.count(clientID)).To(Equal(1))
	g.Expect(tokenSecret(g, ns, "logs-reader-token").Data[v1.TokenSecretAccessToken]).To(BeEquivalentTo(firstToken))

	f.stepUntil(time.Second, func(g Gomega) {
		g.Expect(f.accessToken(g)).NotTo(Equal(firstToken))
	})
	g.Expect(f.clock.Now()).To(BeTemporally(">=", renewal), "not renewed early")
	g.Expect(requests.count(clientID)).To(Equal(2))
	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cur.Status.Rotations).To(BeEquivalentTo(first.Status.Rotations + 1))
		g.Expect(cur.Status.LastRotationTime.Time).To(BeTemporally(">=", renewal))
		g.Expect(cur.Status.RenewalTime.Time).To(BeTemporally(">", renewal))
	}).Should(Succeed())
	newToken := f.accessToken(g)
	remember(newToken)
	g.Expect(systemLogStatus(g, srv, newToken)).To(Equal(http.StatusOK))
	// The first token is an Event; a routine rotation is not.
	g.Expect(eventReasons(g, obj)).To(Equal([]string{v1.ReasonIssued}))
}

// TestClientCredentialsRenewAnnotation: oktatoken.dev/renew-requested-at
// mints a new token now, once per value.
func TestClientCredentialsRenewAnnotation(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	srv, requests := f.srv, f.requests
	const clientID = "0oaservicemanual"
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1")
	first := waitForReady(t, obj)
	firstToken := f.accessToken(g)

	f.annotate(v1.AnnotationRenewRequestedAt, "2026-03-01T12:00:00Z")
	g.Eventually(func(g Gomega) bool { return f.accessToken(g) != firstToken }).Should(BeTrue(), "a new access token")
	g.Eventually(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).Should(Equal(first.Status.Rotations + 1))
	g.Expect(systemLogStatus(g, srv, f.accessToken(g))).To(Equal(http.StatusOK))
	// The same value does not act twice, and one new token is one rotation.
	f.poke()
	g.Expect(requests.count(clientID)).To(Equal(2))
	g.Expect(get(g, obj).Status.Rotations).To(Equal(first.Status.Rotations + 1))

	// Another value within a minute waits for the minute to pass: a loop
	// that sets the annotation gets one token a minute.
	f.annotate(v1.AnnotationRenewRequestedAt, "2026-03-01T12:00:05Z")
	g.Eventually(func(g Gomega) string { return condition(get(g, obj), v1.ConditionReconciling).Reason }).
		Should(Equal(v1.ReasonRenewalDebounced))
	g.Expect(requests.count(clientID)).To(Equal(2))
	g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue), "the current token is fine meanwhile")
	f.step(time.Minute)
	g.Eventually(func() int { return requests.count(clientID) }).Should(Equal(3))
	g.Eventually(func(g Gomega) string { return condition(get(g, obj), v1.ConditionReconciling).Reason }).Should(BeEmpty())
}

// TestClientCredentialsKeyRotation: replacing the key in the Secret mints a
// new token with the new key at once. The fake clock never moves here, so
// neither the renewal time nor a backoff can be what triggered it.
func TestClientCredentialsKeyRotation(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	srv, requests := f.srv, f.requests
	const clientID = "0oaservicerotate"
	keyA, keyB, keyC := serviceRSAKey(), generateECKey(t), serviceOtherRSAKey()
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(keyA, "key-a"))
	// No keyID: Okta picks the app's key by type, so the Secret alone
	// decides which key signs.
	obj := f.newServiceToken(clientID, encodePKCS8(keyA), "")
	waitForReady(t, obj)
	tokenA := f.accessToken(g)

	lastAssertionSignedBy := func(g Gomega, key crypto.Signer) {
		sent := requests.from(clientID)
		verifyServiceAssertion(g, sent[len(sent)-1].Get("client_assertion"), key)
	}

	t.Run("planned: the new key is registered, then the Secret changes", func(t *testing.T) {
		g := NewWithT(t)
		both := serviceAppJWKS(serviceAppJWK(keyA, "key-a"), serviceAppJWK(keyB, "key-b"))
		g.Expect(srv.SetServiceClientKeys(clientID, both)).To(Succeed())
		f.replaceServiceKey(encodeSEC1(keyB))
		g.Eventually(func(g Gomega) string { return f.accessToken(g) }).ShouldNot(Equal(tokenA))
		lastAssertionSignedBy(g, keyB)
		g.Expect(requests.count(clientID)).To(Equal(2))
		cur := waitForReady(t, obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
		g.Expect(srv.SetServiceClientKeys(clientID, serviceAppJWKS(serviceAppJWK(keyB, "key-b")))).To(Succeed())
	})

	t.Run("unplanned: Okta's keys changed first, the old key fails, then the Secret is fixed", func(t *testing.T) {
		g := NewWithT(t)
		tokenB := f.accessToken(g)
		g.Expect(srv.SetServiceClientKeys(clientID, serviceAppJWKS(serviceAppJWK(keyC, "key-c")))).To(Succeed())
		f.annotate(v1.AnnotationRenewRequestedAt, "after-okta-rotated-the-keys")
		g.Eventually(func(g Gomega) {
			cur := get(g, obj)
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonInvalidClient))
			g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(readyCondition(cur).Message).To(ContainSubstring("public keys (JWKS)"))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		g.Expect(f.accessToken(g)).To(Equal(tokenB), "the current token stays in place")
		// Passes that only wait out the backoff keep reporting the failure.
		f.poke()
		g.Expect(readyCondition(get(g, obj)).Reason).To(Equal(v1.ReasonInvalidClient))

		f.replaceServiceKey(encodePKCS1(keyC))
		cur := waitForReady(t, obj)
		g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
		g.Expect(cur.Status.FailedAttempts).To(BeZero())
		g.Expect(f.accessToken(g)).NotTo(Equal(tokenB))
		lastAssertionSignedBy(g, keyC)
		g.Expect(systemLogStatus(g, srv, f.accessToken(g))).To(Equal(http.StatusOK))
	})
}

// TestClientCredentialsAPIWork counts what one new token costs the API
// server — one read past the cache (the key), the token Secret, the status
// and the first-token Event — and that a pass with nothing to do costs
// nothing.
func TestClientCredentialsAPIWork(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	const clientID = "0oaservicecount"
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	// The key Secret first, as users do; its own watch event is not this
	// test's business.
	f.createServiceKey(encodePKCS8(serviceRSAKey()))
	f.settle()
	mark, reads, passes := f.api.mark(), f.api.readCount(), reconcileTotal()
	obj := f.newServiceToken(clientID, nil, "rsa-1")
	waitForReady(t, obj)
	f.settle()
	g.Expect(countWrites(f.api.since(mark), obj)).To(Equal(map[string]int{
		"POST token-secret": 1, "PATCH status": 1, "POST event": 1}))
	g.Expect(f.api.readCount()-reads).To(Equal(1), "the private key is the one read past the cache")
	g.Expect(reconcileTotal()-passes).To(Equal(1.0), "the operator's own writes cost no pass")
	g.Expect(f.requests.count(clientID)).To(Equal(1))

	mark, reads = f.api.mark(), f.api.readCount()
	f.poke()
	g.Expect(f.api.since(mark)).To(BeEmpty(), "a pass with nothing to do writes nothing")
	g.Expect(f.api.readCount()-reads).To(BeZero(), "and reads nothing past the cache")
}
