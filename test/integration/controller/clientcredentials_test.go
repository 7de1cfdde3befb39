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
// private key, no person involved. The dev server's handler is served here
// behind a small recorder, so a test can read every token request exactly as
// it reached the authorization server, including the ones answered with an
// injected fault, and check each client assertion against the app's public
// key.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

const (
	serviceKeySecretName   = "okta-service-app"
	serviceKeySecretKey    = "privateKey"
	grantClientCredentials = string(v1.GrantClientCredentials)
)

// Generating RSA keys is slow under the race detector; tests share these.
var (
	serviceRSAKey      = sync.OnceValue(func() crypto.Signer { return generateRSAKey(2048) })
	serviceOtherRSAKey = sync.OnceValue(func() crypto.Signer { return generateRSAKey(2048) })
)

func generateRSAKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func generateECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encodePKCS1(key crypto.Signer) []byte {
	der := x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
}

func encodePKCS8(key crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func encodeSEC1(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// serviceAppJWK is how an app's public key is registered with Okta.
func serviceAppJWK(key crypto.Signer, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: key.Public(), KeyID: kid, Use: "sig"}
}

func serviceAppJWKS(keys ...jose.JSONWebKey) jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: keys}
}

// pemBodyLines are the base64 lines of a PEM document: what no condition
// message, event or log line may ever contain.
func pemBodyLines(data []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// tokenRequestLog keeps the form of every POST to the token endpoint.
type tokenRequestLog struct {
	mu    sync.Mutex
	forms []url.Values
}

func (l *tokenRequestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/oauth2/v1/token" {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
			if err != nil {
				http.Error(w, "unreadable body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil {
				remember(form.Get("client_assertion"))
				l.mu.Lock()
				l.forms = append(l.forms, form)
				l.mu.Unlock()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// from returns the token requests one client made, oldest first.
func (l *tokenRequestLog) from(clientID string) []url.Values {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []url.Values
	for _, f := range l.forms {
		if f.Get("client_id") == clientID {
			out = append(out, f)
		}
	}
	return out
}

func (l *tokenRequestLog) count(clientID string) int { return len(l.from(clientID)) }

// serviceDevServer serves an in-process dev server, with no apps yet,
// behind a token-request recorder.
func serviceDevServer(t *testing.T, cfg oktadev.Config) (*oktadev.Server, *tokenRequestLog) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = "http://" + l.Addr().String()
	srv, err := oktadev.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	requests := &tokenRequestLog{}
	hs := &http.Server{Handler: requests.wrap(srv.Handler()), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = hs.Close()
	})
	return srv, requests
}

func addServiceApp(t *testing.T, srv *oktadev.Server, clientID string, granted []string, keys ...jose.JSONWebKey) {
	t.Helper()
	app := oktadev.ServiceClient{ID: clientID, JWKS: serviceAppJWKS(keys...), GrantedScopes: granted}
	if err := srv.AddServiceClient(app); err != nil {
		t.Fatal(err)
	}
}

// startServiceOperator runs the operator; service apps need no callback,
// but the operator always serves one.
func startServiceOperator(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	l, callbackURL := callbackListener(t)
	o := operatorOptions{listener: l, callbackURL: callbackURL}
	if clk != nil {
		o.clock = clk
	}
	startOperator(t, o)
}

// fakeClockBehindWall is a fake clock set d before the real time. The dev
// server's client authentication is fosite's, which also judges an
// assertion's iat and exp by the wall clock: an assertion made at fake
// time t passes only while t-30s <= wall time < t+5m. Starting behind
// leaves room to step forward.
func fakeClockBehindWall(d time.Duration) *clocktesting.FakeClock {
	return clocktesting.NewFakeClock(time.Now().Add(-d).Truncate(time.Second))
}

// newServiceToken creates the key Secret (unless keyPEM is nil) and a
// ClientCredentials OktaScopedToken for clientID.
func newServiceToken(t *testing.T, ns string, srv *oktadev.Server, clientID string, keyPEM []byte, keyID string,
	mutate ...func(*v1.OktaScopedToken)) *v1.OktaScopedToken {
	t.Helper()
	ctx := context.Background()
	if keyPEM != nil {
		remember(pemBodyLines(keyPEM)...)
		if err := env.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: serviceKeySecretName, Namespace: ns},
			Data:       map[string][]byte{serviceKeySecretKey: keyPEM},
		}); err != nil {
			t.Fatal(err)
		}
	}
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: ns},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain: srv.Issuer(),
			ClientID:   clientID,
			GrantType:  v1.GrantClientCredentials,
			PrivateKeyRef: &v1.PrivateKeyReference{
				SecretKeyReference: v1.SecretKeyReference{Name: serviceKeySecretName, Key: serviceKeySecretKey},
				KeyID:              keyID,
			},
			Scopes:     []string{"okta.logs.read"},
			SecretName: "logs-reader-token",
		},
	}
	for _, m := range mutate {
		m(obj)
	}
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// replaceServiceKey puts another private key into the key Secret, as a person
// rotating the app's key would.
func replaceServiceKey(t *testing.T, ns string, keyPEM []byte) {
	t.Helper()
	remember(pemBodyLines(keyPEM)...)
	g := NewWithT(t)
	g.Eventually(func() error {
		s := &corev1.Secret{}
		key := client.ObjectKey{Namespace: ns, Name: serviceKeySecretName}
		if err := env.Client.Get(context.Background(), key, s); err != nil {
			return err
		}
		s.Data = map[string][]byte{serviceKeySecretKey: keyPEM}
		return env.Client.Update(context.Background(), s)
	}).Should(Succeed())
}

func requestServiceRenewal(t *testing.T, obj *v1.OktaScopedToken, value string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		cur := get(g, obj)
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[v1.AnnotationRenewRequestedAt] = value
		g.Expect(env.Client.Update(context.Background(), cur)).To(Succeed())
	}).Should(Succeed())
}

func serviceAccessToken(g Gomega, obj *v1.OktaScopedToken) string {
	return string(tokenSecret(g, obj.Namespace, obj.Spec.SecretName).Data[v1.TokenSecretAccessToken])
}

func serviceCondition(obj *v1.OktaScopedToken, condType string) metav1.Condition {
	if c := meta.FindStatusCondition(obj.Status.Conditions, condType); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// systemLogStatus calls the System Log API with the token, as a workload would.
func systemLogStatus(g Gomega, srv *oktadev.Server, token string) int {
	req, err := http.NewRequest(http.MethodGet, srv.Issuer()+"/api/v1/logs?limit=1", nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}

type verifiedAssertion struct {
	jwt.Claims
	header jose.Header
}

// verifyServiceAssertion checks a client assertion's signature with the public
// half of key and returns its claims.
func verifyServiceAssertion(g Gomega, assertion string, key crypto.Signer) verifiedAssertion {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	g.Expect(err).NotTo(HaveOccurred())
	var out verifiedAssertion
	g.Expect(tok.Claims(key.Public(), &out.Claims)).To(Succeed(), "the assertion is signed by the expected key")
	out.header = tok.Headers[0]
	return out
}

// clientCredentialsRequests reads oktatoken_token_requests_total{grant,result}.
func clientCredentialsRequests(g Gomega, grant, result string) float64 {
	families, err := crmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "oktatoken_token_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["grant"] == grant && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// stepClockUntil moves the fake clock forward by step at every poll until check
// passes. Polls are a quarter second apart, so the fake clock gains on the
// wall clock slowly enough for the dev server (see fakeClockBehindWall).
func stepClockUntil(t *testing.T, clk *clocktesting.FakeClock, step time.Duration, check func(g Gomega)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		clk.Step(step)
		check(g)
	}).WithTimeout(20 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
}

// TestClientCredentialsIssuesAToken: a service app's token arrives without
// anyone signing in, for RSA and EC keys in each PEM encoding Okta's
// documentation and openssl produce.
func TestClientCredentialsIssuesAToken(t *testing.T) {
	srv, requests := serviceDevServer(t, oktadev.Config{})
	startServiceOperator(t, nil)
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
			clientID := "0oaservice" + string(rune('a'+i))
			kid := tc.keyID
			if kid == "" {
				kid = "registered-without-the-spec-naming-it"
			}
			addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(tc.key, kid))
			successBefore := clientCredentialsRequests(g, grantClientCredentials, "success")
			ns := newNamespace(t)
			obj := newServiceToken(t, ns, srv, clientID, tc.pem, tc.keyID)

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

			st := stateSecret(g, obj)
			g.Expect(st.Data).NotTo(HaveKey("refresh_token"), "a client-credentials grant has no refresh token")
			g.Expect(state.Decode(st).Grant.AccessToken).To(Equal(access))

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

			g.Expect(clientCredentialsRequests(g, grantClientCredentials, "success")).To(Equal(successBefore + 1))

			// Drift: a deleted token Secret comes back from the stored
			// token, without asking Okta again.
			g.Expect(env.Client.Delete(context.Background(), sec)).To(Succeed())
			g.Eventually(func(g Gomega) string {
				s := tokenSecret(g, ns, "logs-reader-token")
				g.Expect(s.UID).NotTo(Equal(sec.UID))
				return string(s.Data[v1.TokenSecretAccessToken])
			}).WithTimeout(10 * time.Second).Should(Equal(access))
			g.Expect(requests.count(clientID)).To(Equal(1))
		})
	}
}

// TestClientCredentialsFailuresSayHowToFixThem: each way a service app can
// be misconfigured ends in Ready=False and Stalled with a reason and a
// message that names the fix, and never repeats the key.
func TestClientCredentialsFailuresSayHowToFixThem(t *testing.T) {
	srv, requests := serviceDevServer(t, oktadev.Config{})
	startServiceOperator(t, nil)
	const clientID = "0oaservicefail"
	addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
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
			name: "the key Secret does not exist", pem: nil, reason: v1.ReasonSecretNotFound,
			message: []string{"Secret", serviceKeySecretName, "not found"},
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
			ns := newNamespace(t)
			failuresBefore := 0.0
			if tc.askedOkta != "" {
				failuresBefore = clientCredentialsRequests(g, grantClientCredentials, tc.askedOkta)
			}
			requestsBefore := requests.count(clientID)
			obj := newServiceToken(t, ns, srv, clientID, tc.pem, "", func(o *v1.OktaScopedToken) {
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
			stalled := serviceCondition(cur, v1.ConditionStalled)
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
				g.Expect(clientCredentialsRequests(g, grantClientCredentials, tc.askedOkta)).To(Equal(failuresBefore + 1))
				g.Eventually(func(g Gomega) []string { return eventReasons(g, obj) }).Should(ContainElement("RotationFailed"))
			}

			if tc.fixSpec != nil {
				cur = get(g, obj)
				patch := client.MergeFrom(cur.DeepCopy())
				tc.fixSpec(cur)
				g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
			}
			if tc.fixWith != nil {
				replaceServiceKey(t, ns, tc.fixWith)
			}
			if tc.fixWith != nil || tc.fixSpec != nil {
				// At once: well inside the 5 s the first backoff lasts.
				g.Eventually(func(g Gomega) {
					cur = get(g, obj)
					g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "Ready: %+v", readyCondition(cur))
				}).WithTimeout(3 * time.Second).Should(Succeed())
				g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
				g.Expect(cur.Status.FailedAttempts).To(BeZero())
				g.Expect(systemLogStatus(g, srv, serviceAccessToken(g, obj))).To(Equal(http.StatusOK))
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
	clk := fakeClockBehindWall(time.Minute)
	srv, requests := serviceDevServer(t, oktadev.Config{Clock: clk})
	const clientID = "0oaserviceretry"
	addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	srv.InjectFault(oktadev.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	transientBefore := clientCredentialsRequests(g, grantClientCredentials, "Transient")
	startServiceOperator(t, clk)
	ns := newNamespace(t)
	obj := newServiceToken(t, ns, srv, clientID, encodePKCS8(serviceRSAKey()), "rsa-1")

	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(cur.Status.FailedAttempts).To(BeEquivalentTo(1))
		reconciling := serviceCondition(cur, v1.ConditionReconciling)
		g.Expect(reconciling.Status).To(Equal(metav1.ConditionTrue), "a retry is coming")
		g.Expect(reconciling.Reason).To(Equal(v1.ReasonTokenRequestFailed))
		g.Expect(reconciling.Message).To(ContainSubstring("temporarily_unavailable"))
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
	}).WithTimeout(10 * time.Second).Should(Succeed())
	// Backing off: without time passing, no second request.
	g.Consistently(func() int { return requests.count(clientID) }).WithTimeout(time.Second).Should(Equal(1))

	stepClockUntil(t, clk, time.Second, func(g Gomega) {
		g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
	})
	cur := get(g, obj)
	g.Expect(cur.Status.FailedAttempts).To(BeZero())
	g.Expect(cur.Status.LastFailureTime).To(BeNil())
	g.Expect(systemLogStatus(g, srv, serviceAccessToken(g, obj))).To(Equal(http.StatusOK))

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
	g.Expect(clientCredentialsRequests(g, grantClientCredentials, "Transient")).To(Equal(transientBefore + 2))
}

// TestClientCredentialsWaitsForTheRateLimitReset: after a 429 the operator
// asks again only once X-Rate-Limit-Reset has passed.
func TestClientCredentialsWaitsForTheRateLimitReset(t *testing.T) {
	g := NewWithT(t)
	clk := fakeClockBehindWall(time.Minute)
	srv, requests := serviceDevServer(t, oktadev.Config{Clock: clk})
	const clientID = "0oaservice429"
	addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	reset := clk.Now().Add(40 * time.Second)
	srv.InjectFault(oktadev.Fault{Status: http.StatusTooManyRequests, Reset: reset})
	startServiceOperator(t, clk)
	ns := newNamespace(t)
	obj := newServiceToken(t, ns, srv, clientID, encodePKCS8(serviceRSAKey()), "")

	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonRateLimited))
		reconciling := serviceCondition(cur, v1.ConditionReconciling)
		g.Expect(reconciling.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(reconciling.Message).To(ContainSubstring("waiting until " + reset.UTC().Format(time.RFC3339)))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// Well past the 5 s backoff of a plain failure, still before the reset.
	clk.Step(30 * time.Second)
	g.Consistently(func() int { return requests.count(clientID) }).WithTimeout(time.Second).Should(Equal(1))

	stepClockUntil(t, clk, time.Second, func(g Gomega) {
		g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(requests.count(clientID)).To(Equal(2))
	g.Expect(clk.Now()).To(BeTemporally(">=", reset))
}

// TestClientCredentialsRenewsAtRenewalTime: with no refresh token, renewal
// mints a new token, at status.renewalTime and not before. The fake clock
// stands in for waiting two thirds of a token's life.
func TestClientCredentialsRenewsAtRenewalTime(t *testing.T) {
	g := NewWithT(t)
	// Three-minute tokens renew after about two minutes of fake time; the
	// clock starts four minutes behind (see fakeClockBehindWall).
	clk := fakeClockBehindWall(4 * time.Minute)
	srv, requests := serviceDevServer(t, oktadev.Config{Clock: clk, AccessTokenTTL: 3 * time.Minute})
	const clientID = "0oaservicerenew"
	addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	startServiceOperator(t, clk)
	ns := newNamespace(t)
	obj := newServiceToken(t, ns, srv, clientID, encodePKCS8(serviceRSAKey()), "rsa-1")

	first := waitForReady(t, obj)
	firstToken := serviceAccessToken(g, obj)
	remember(firstToken)
	issued, expires := first.Status.LastRotationTime.Time, first.Status.ExpiresAt.Time
	renewal := first.Status.RenewalTime.Time
	g.Expect(expires.Sub(issued)).To(BeNumerically("~", 3*time.Minute, time.Second))
	// Renewal at two thirds of the lifetime, moved earlier by a jitter of
	// at most a tenth of the remaining third.
	g.Expect(renewal).To(BeTemporally("<=", expires.Add(-time.Minute)))
	g.Expect(renewal).To(BeTemporally(">=", expires.Add(-time.Minute-6*time.Second-time.Second)))

	// Between rotations nothing is asked of Okta.
	g.Consistently(func() int { return requests.count(clientID) }).WithTimeout(time.Second).Should(Equal(1))
	clk.SetTime(renewal.Add(-2 * time.Second))
	g.Consistently(func() int { return requests.count(clientID) }).WithTimeout(time.Second).Should(Equal(1))
	g.Expect(tokenSecret(g, ns, "logs-reader-token").Data[v1.TokenSecretAccessToken]).To(BeEquivalentTo(firstToken))

	stepClockUntil(t, clk, time.Second, func(g Gomega) {
		g.Expect(serviceAccessToken(g, obj)).NotTo(Equal(firstToken))
	})
	g.Expect(clk.Now()).To(BeTemporally(">=", renewal), "not renewed early")
	g.Expect(requests.count(clientID)).To(Equal(2))
	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cur.Status.Rotations).To(BeEquivalentTo(first.Status.Rotations + 1))
		g.Expect(cur.Status.LastRotationTime.Time).To(BeTemporally(">=", renewal))
		g.Expect(cur.Status.RenewalTime.Time).To(BeTemporally(">", renewal))
	}).Should(Succeed())
	newToken := serviceAccessToken(g, obj)
	remember(newToken)
	g.Expect(systemLogStatus(g, srv, newToken)).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) []string { return eventReasons(g, obj) }).Should(ContainElement("Rotated"))
}

// TestClientCredentialsRenewAnnotation: oktatoken.dev/renew-requested-at
// mints a new token now, once per value.
func TestClientCredentialsRenewAnnotation(t *testing.T) {
	g := NewWithT(t)
	srv, requests := serviceDevServer(t, oktadev.Config{})
	const clientID = "0oaservicemanual"
	addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	startServiceOperator(t, nil)
	ns := newNamespace(t)
	obj := newServiceToken(t, ns, srv, clientID, encodePKCS8(serviceRSAKey()), "rsa-1")
	first := waitForReady(t, obj)
	firstToken := serviceAccessToken(g, obj)

	requestServiceRenewal(t, obj, "2026-03-01T12:00:00Z")
	g.Eventually(func(g Gomega) string { return serviceAccessToken(g, obj) }).
		WithTimeout(10 * time.Second).ShouldNot(Equal(firstToken))
	g.Eventually(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).Should(Equal(first.Status.Rotations + 1))
	g.Expect(systemLogStatus(g, srv, serviceAccessToken(g, obj))).To(Equal(http.StatusOK))
	// The same value does not act twice, and one new token is one rotation.
	g.Consistently(func() int { return requests.count(clientID) }).WithTimeout(time.Second).Should(Equal(2))
	g.Consistently(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).
		WithTimeout(time.Second).Should(Equal(first.Status.Rotations + 1))
}

// TestClientCredentialsKeyRotation: replacing the key in the Secret mints a
// new token with the new key at once. The fake clock never moves here, so
// neither the renewal time nor a backoff can be what triggered it.
func TestClientCredentialsKeyRotation(t *testing.T) {
	g := NewWithT(t)
	clk := fakeClockBehindWall(time.Minute)
	srv, requests := serviceDevServer(t, oktadev.Config{Clock: clk})
	const clientID = "0oaservicerotate"
	keyA, keyB, keyC := serviceRSAKey(), generateECKey(t), serviceOtherRSAKey()
	addServiceApp(t, srv, clientID, []string{"okta.logs.read"}, serviceAppJWK(keyA, "key-a"))
	startServiceOperator(t, clk)
	ns := newNamespace(t)
	// No keyID: Okta picks the app's key by type, so the Secret alone
	// decides which key signs.
	obj := newServiceToken(t, ns, srv, clientID, encodePKCS8(keyA), "")
	waitForReady(t, obj)
	tokenA := serviceAccessToken(g, obj)

	lastAssertionSignedBy := func(g Gomega, key crypto.Signer) {
		sent := requests.from(clientID)
		verifyServiceAssertion(g, sent[len(sent)-1].Get("client_assertion"), key)
	}

	t.Run("planned: the new key is registered, then the Secret changes", func(t *testing.T) {
		g := NewWithT(t)
		both := serviceAppJWKS(serviceAppJWK(keyA, "key-a"), serviceAppJWK(keyB, "key-b"))
		g.Expect(srv.SetServiceClientKeys(clientID, both)).To(Succeed())
		replaceServiceKey(t, ns, encodeSEC1(keyB))
		g.Eventually(func(g Gomega) string { return serviceAccessToken(g, obj) }).
			WithTimeout(10 * time.Second).ShouldNot(Equal(tokenA))
		lastAssertionSignedBy(g, keyB)
		g.Expect(requests.count(clientID)).To(Equal(2))
		cur := waitForReady(t, obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
		g.Expect(srv.SetServiceClientKeys(clientID, serviceAppJWKS(serviceAppJWK(keyB, "key-b")))).To(Succeed())
	})

	t.Run("unplanned: Okta's keys changed first, the old key fails, then the Secret is fixed", func(t *testing.T) {
		g := NewWithT(t)
		tokenB := serviceAccessToken(g, obj)
		g.Expect(srv.SetServiceClientKeys(clientID, serviceAppJWKS(serviceAppJWK(keyC, "key-c")))).To(Succeed())
		requestServiceRenewal(t, obj, "after-okta-rotated-the-keys")
		g.Eventually(func(g Gomega) {
			cur := get(g, obj)
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonInvalidClient))
			g.Expect(serviceCondition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(readyCondition(cur).Message).To(ContainSubstring("public keys (JWKS)"))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		g.Expect(serviceAccessToken(g, obj)).To(Equal(tokenB), "the current token stays in place")
		// Passes that only wait out the backoff keep reporting the failure.
		g.Consistently(func(g Gomega) string { return readyCondition(get(g, obj)).Reason }).
			WithTimeout(time.Second).Should(Equal(v1.ReasonInvalidClient))

		replaceServiceKey(t, ns, encodePKCS1(keyC))
		cur := waitForReady(t, obj)
		g.Expect(meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionStalled)).To(BeNil())
		g.Expect(cur.Status.FailedAttempts).To(BeZero())
		g.Expect(serviceAccessToken(g, obj)).NotTo(Equal(tokenB))
		lastAssertionSignedBy(g, keyC)
		g.Expect(systemLogStatus(g, srv, serviceAccessToken(g, obj))).To(Equal(http.StatusOK))
	})
}
