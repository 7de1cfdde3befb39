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

// What the tests read back, the way a user or a monitoring system would: the
// resource and its conditions, the Secrets, the Events, the metrics; what
// the operator sent to the API server and to Okta; and the keys of service
// apps.

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
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zapcore"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// --- The resource and its Secrets ---

func get(g Gomega, obj *v1.OktaScopedToken) *v1.OktaScopedToken {
	out := &v1.OktaScopedToken{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out)).To(Succeed())
	return out
}

// condition returns the condition of type t, or a zero condition.
func condition(obj *v1.OktaScopedToken, t string) metav1.Condition {
	if c := meta.FindStatusCondition(obj.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func readyCondition(obj *v1.OktaScopedToken) metav1.Condition {
	return condition(obj, v1.ConditionReady)
}

// waitForAuthorizationURL waits for the sign-in URL to be published.
func waitForAuthorizationURL(t *testing.T, obj *v1.OktaScopedToken) string {
	t.Helper()
	var authURL string
	NewWithT(t).Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(readyCondition(cur).Reason).To(BeElementOf(v1.ReasonAuthorizationRequired, v1.ReasonReauthorizationRequired))
		g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
		authURL = cur.Status.AuthorizationURL
	}).WithTimeout(10 * time.Second).Should(Succeed())
	return authURL
}

// waitForReady waits for Ready=True and returns the resource.
func waitForReady(t *testing.T, obj *v1.OktaScopedToken) *v1.OktaScopedToken {
	t.Helper()
	var cur *v1.OktaScopedToken
	NewWithT(t).Eventually(func(g Gomega) {
		cur = get(g, obj)
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "Ready: %+v", readyCondition(cur))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	return cur
}

// waitForReason waits for Ready to have this reason and returns the resource.
func waitForReason(t *testing.T, obj *v1.OktaScopedToken, reason string) *v1.OktaScopedToken {
	t.Helper()
	var cur *v1.OktaScopedToken
	NewWithT(t).Eventually(func(g Gomega) {
		cur = get(g, obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(reason), "Ready: %+v", readyCondition(cur))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	return cur
}

func tokenSecret(g Gomega, ns, name string) *corev1.Secret {
	s := &corev1.Secret{}
	g.Expect(env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s)).To(Succeed())
	return s
}

func stateSecret(g Gomega, obj *v1.OktaScopedToken) *corev1.Secret {
	s := &corev1.Secret{}
	g.Expect(env.Client.Get(context.Background(), stateSecretKey(obj), s)).To(Succeed())
	return s
}

func stateSecretKey(obj *v1.OktaScopedToken) types.NamespacedName {
	return types.NamespacedName{Namespace: stateNamespace, Name: state.SecretName(client.ObjectKeyFromObject(obj))}
}

// storedGrant is the grant a state Secret holds.
func storedGrant(g Gomega, s *corev1.Secret) *state.Grant {
	grant := state.Decode(s).Grant
	g.Expect(grant).NotTo(BeNil(), "the state Secret %s holds a grant", s.Name)
	return grant
}

// --- Events ---

// tokenEvents lists the Events about obj.
func tokenEvents(g Gomega, obj *v1.OktaScopedToken) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(obj.Namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "OktaScopedToken" && e.Regarding.Name == obj.Name {
			out = append(out, e)
		}
	}
	return out
}

// eventReasons lists the reasons of the Events about obj.
func eventReasons(g Gomega, obj *v1.OktaScopedToken) []string {
	events := tokenEvents(g, obj)
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, e.Reason)
	}
	return out
}

// hasEvent says whether an Event of this type and reason was recorded.
func hasEvent(g Gomega, obj *v1.OktaScopedToken, eventType, reason string) bool {
	for _, e := range tokenEvents(g, obj) {
		if e.Type == eventType && e.Reason == reason {
			return true
		}
	}
	return false
}

// --- Metrics ---

// metricSeries returns the series of a metric family whose labels include
// labels.
func metricSeries(name string, labels map[string]string) []*dto.Metric {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		panic(err)
	}
	var out []*dto.Metric
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	series:
		for _, m := range fam.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// gaugeValue is the sum of the matching gauge series, 0 when there is none.
func gaugeValue(name string, labels map[string]string) float64 {
	v := 0.0
	for _, m := range metricSeries(name, labels) {
		v += m.GetGauge().GetValue()
	}
	return v
}

// counterValue is the sum of the matching counter series.
func counterValue(name string, labels map[string]string) float64 {
	v := 0.0
	for _, m := range metricSeries(name, labels) {
		v += m.GetCounter().GetValue()
	}
	return v
}

func reconcileTotal() float64 {
	return counterValue("controller_runtime_reconcile_total", map[string]string{"controller": tokenControllerName})
}

// tokenRequestsMetric reads oktatoken_token_requests_total{grant,result}.
func tokenRequestsMetric(grant, result string) float64 {
	return counterValue("oktatoken_token_requests_total", map[string]string{"grant": grant, "result": result})
}

// resourceLabels select a resource's series in the operator's metrics.
func resourceLabels(obj *v1.OktaScopedToken) map[string]string {
	return map[string]string{"namespace": obj.Namespace, "name": obj.Name}
}

func withLabel(labels map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	maps.Copy(out, labels)
	return out
}

// zapDebug logs V(1) too, so the leak scan sees debug lines.
func zapDebug() zapcore.Level { return zapcore.Level(-1) }

// --- What the operator sent to the API server ---

// apiWrite is one create, update, patch or delete the operator sent.
type apiWrite struct {
	Method, Path string
	// Refused is set when the recorder failed the request itself.
	Refused bool
}

// apiRecorder wraps the operator's transport to the API server: it records
// every write and fails the writes refuse matches, the way a broken
// connection fails them (client-go does not retry a failed write).
type apiRecorder struct {
	mu     sync.Mutex
	writes []apiWrite
	reads  []apiWrite
	refuse func(method, path string) bool
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (a *apiRecorder) wrap(next http.RoundTripper) http.RoundTripper {
	return transportFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if r.URL.Query().Get("watch") != "true" {
				a.mu.Lock()
				a.reads = append(a.reads, apiWrite{Method: r.Method, Path: r.URL.Path})
				a.mu.Unlock()
			}
			return next.RoundTrip(r)
		}
		a.mu.Lock()
		refused := a.refuse != nil && a.refuse(r.Method, r.URL.Path)
		a.writes = append(a.writes, apiWrite{Method: r.Method, Path: r.URL.Path, Refused: refused})
		a.mu.Unlock()
		if refused {
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, errors.New("connection reset by peer (refused by the test)")
		}
		return next.RoundTrip(r)
	})
}

// refuseWrites fails every write whose path is one of paths, until
// refuseWrites is called again with no paths.
func (a *apiRecorder) refuseWrites(paths ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(paths) == 0 {
		a.refuse = nil
		return
	}
	a.refuse = func(_, path string) bool { return slices.Contains(paths, path) }
}

// mark is a position in the record, for since.
func (a *apiRecorder) mark() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.writes)
}

func (a *apiRecorder) since(mark int) []apiWrite {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiWrite(nil), a.writes[mark:]...)
}

// readCount is the number of non-watch GETs (single objects and lists) sent.
func (a *apiRecorder) readCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reads)
}

// API paths of what the operator writes for one resource.
func stateSecretPath(obj *v1.OktaScopedToken) string {
	return "/api/v1/namespaces/" + stateNamespace + "/secrets/" + state.SecretName(client.ObjectKeyFromObject(obj))
}

func tokenSecretPath(ns, name string) string { return "/api/v1/namespaces/" + ns + "/secrets/" + name }

func resourcePath(obj *v1.OktaScopedToken) string {
	return "/apis/oktatoken.dev/v1alpha1/namespaces/" + obj.Namespace + "/oktascopedtokens/" + obj.Name
}

// classifyWrite names what a write was to: "PUT state-secret", "PATCH status",
// "POST event", ...
func classifyWrite(w apiWrite, obj *v1.OktaScopedToken) string {
	what := "other " + w.Path
	switch {
	case w.Path == stateSecretPath(obj), w.Method == http.MethodPost && w.Path == "/api/v1/namespaces/"+stateNamespace+"/secrets":
		what = "state-secret"
	case w.Path == tokenSecretPath(obj.Namespace, obj.TokenSecretName()),
		w.Method == http.MethodPost && w.Path == "/api/v1/namespaces/"+obj.Namespace+"/secrets":
		what = "token-secret"
	case w.Path == resourcePath(obj)+"/status":
		what = "status"
	case w.Path == resourcePath(obj):
		what = "resource"
	case strings.Contains(w.Path, "/events"):
		what = "event"
	}
	return w.Method + " " + what
}

// countWrites counts writes by classifyWrite's names.
func countWrites(writes []apiWrite, obj *v1.OktaScopedToken) map[string]int {
	counts := map[string]int{}
	for _, w := range writes {
		counts[classifyWrite(w, obj)]++
	}
	return counts
}

// --- What the operator sent to Okta ---

// tokenRequestLog keeps the form of every POST to the token endpoint, and
// counts every request.
type tokenRequestLog struct {
	mu       sync.Mutex
	forms    []url.Values
	requests int
	// tamper, when set, changes a token request on its way to Okta, as
	// something between the operator and Okta could.
	tamper func(*http.Request)
}

// setTamper makes tamper change every later token request.
func (l *tokenRequestLog) setTamper(tamper func(*http.Request)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tamper = tamper
}

// all is the number of requests the dev server received.
func (l *tokenRequestLog) all() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

func (l *tokenRequestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.requests++
		tamper := l.tamper
		l.mu.Unlock()
		remember(r.Header.Get("DPoP"))
		// The org authorization server's token endpoint, or a custom one's.
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/token") {
			if tamper != nil {
				tamper(r)
			}
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

// withGrant counts the token requests of one grant type.
func (l *tokenRequestLog) withGrant(grantType string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.forms {
		if f.Get("grant_type") == grantType {
			n++
		}
	}
	return n
}

// tokenEndpointError is what Okta answers a refresh made with clientSecret:
// its error and error_description.
func tokenEndpointError(t *testing.T, srv *oktadev.Server, clientSecret string) (string, string) {
	t.Helper()
	conf := &oauth2.Config{ClientID: webClientID, ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: srv.Issuer() + "/oauth2/v1/token", AuthStyle: oauth2.AuthStyleInHeader}}
	_, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "any"}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("a refresh with client secret %q: want an OAuth error, got %v", clientSecret, err)
	}
	return re.ErrorCode, re.ErrorDescription
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

// --- Service apps' keys ---

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
