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

// The rotation tests drive a signed-in OktaScopedToken through time: the
// operator runs on a fake clock (its work queue follows it), the dev server
// on the real clock or a second fake clock, and every write the operator
// sends to the API server is recorded by a wrapper around its transport —
// which can also refuse chosen writes, as a partitioned or dying process
// would fail them.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
	"github.com/okta-token-operator/okta-token-operator/internal/testenv"
)

// tokenControllerName is the OktaScopedToken controller's name in metrics.
const tokenControllerName = "oktascopedtoken"

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
	refuse func(method, path string) bool
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (a *apiRecorder) wrap(next http.RoundTripper) http.RoundTripper {
	return transportFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
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
	a.refuse = func(_, path string) bool {
		return slices.Contains(paths, path)
	}
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
func classifyWrite(w apiWrite, obj *v1.OktaScopedToken, tokenSecretName string) string {
	what := "other " + w.Path
	switch {
	case w.Path == stateSecretPath(obj):
		what = "state-secret"
	case w.Path == tokenSecretPath(obj.Namespace, tokenSecretName),
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

// rotationFixtureOptions shape a rotationFixture.
type rotationFixtureOptions struct {
	// devClock runs the dev server on its own fake clock, for tests that
	// need its refresh-token grace period to pass or not.
	devClock bool
	// httpTimeout bounds the operator's requests to Okta; default 30s.
	httpTimeout time.Duration
	mutate      []func(*v1.OktaScopedToken)
}

// rotationFixture is one dev server, one OktaScopedToken and the operator
// managing it on a fake clock.
type rotationFixture struct {
	t        *testing.T
	clock    *clocktesting.FakeClock
	devClock *clocktesting.FakeClock
	srv      *oktadev.Server
	api      *apiRecorder
	ns       string
	obj      *v1.OktaScopedToken
	addr     string
	callback string
	opts     rotationFixtureOptions
	stop     func()
}

// newRotationFixture starts the dev server and the operator and applies the
// resource; nobody has signed in yet.
func newRotationFixture(t *testing.T, o rotationFixtureOptions) *rotationFixture {
	t.Helper()
	l, callbackURL := callbackListener(t)
	f := &rotationFixture{
		t: t, opts: o, callback: callbackURL, addr: l.Addr().String(),
		// The operator's time starts now but is unrelated to the dev
		// server's from here on: only the operator's decisions are timed.
		clock: clocktesting.NewFakeClock(time.Now()),
		api:   &apiRecorder{},
	}
	cfg := oktadev.Config{}
	if o.devClock {
		// fosite stamps expiry from the wall clock: a fake clock for the
		// dev server starts at the real time and only moves forward.
		f.devClock = clocktesting.NewFakeClock(time.Now())
		cfg.Clock = f.devClock
	}
	f.srv = devServer(t, cfg, callbackURL)
	f.start(l)
	f.ns = newNamespace(t)
	f.obj = newToken(t, f.ns, f.srv, o.mutate...)
	return f
}

// start runs a manager for the fixture on listener l, its writes going
// through f.api.
func (f *rotationFixture) start(l net.Listener) {
	f.t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(f.api.wrap)
	logger := zap.New(zap.WriteTo(logs), zap.UseDevMode(true), zap.Level(zapDebug()))
	if testing.Verbose() {
		logger = zap.New(zap.WriteTo(&teeWriter{logs, os.Stderr}), zap.UseDevMode(true), zap.Level(zapDebug()))
	}
	mgr, err := operator.New(cfg, operator.Options{
		CallbackListener:     l,
		CallbackURL:          f.callback,
		StateNamespace:       stateNamespace,
		AllowInsecureIssuers: true,
		HTTPTimeout:          f.opts.httpTimeout,
		Clock:                f.clock,
		Logger:               &logger,
		SkipNameValidation:   true,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			f.t.Errorf("manager stopped: %v", err)
		}
	}()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	f.t.Cleanup(f.stop)
}

// restart stops the manager and starts a new one on the same callback
// address, with a fresh transport recorder that refuses nothing.
func (f *rotationFixture) restart() {
	f.t.Helper()
	f.stop()
	f.api = &apiRecorder{}
	f.start(listenAgain(f.t, f.addr))
}

// signIn signs in at the published URL and waits for Ready=True.
func (f *rotationFixture) signIn() *v1.OktaScopedToken {
	f.t.Helper()
	g := NewWithT(f.t)
	authURL := waitForAuthorizationURL(f.t, f.obj)
	status, page, err := testenv.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	waitForReady(f.t, f.obj)
	f.settle()
	return get(g, f.obj)
}

// signedIn is a fixture whose first token has been issued.
func signedIn(t *testing.T, o rotationFixtureOptions) (*rotationFixture, *v1.OktaScopedToken) {
	t.Helper()
	f := newRotationFixture(t, o)
	return f, f.signIn()
}

// settle waits until the operator is idle: no reconcile running or
// finishing and no write sent for a while. Stepping the fake clock while a
// reconcile is still running would let it schedule its next pass from the
// new time instead of the time it computed with.
func (f *rotationFixture) settle() {
	f.t.Helper()
	lastDone, lastWrites, quiet := -1.0, -1, 0
	NewWithT(f.t).Eventually(func() bool {
		done, active := reconcileTotal(), gaugeValue("controller_runtime_active_workers", map[string]string{"controller": tokenControllerName})
		writes := f.api.mark()
		if active != 0 || done != lastDone || writes != lastWrites {
			lastDone, lastWrites, quiet = done, writes, 0
			return false
		}
		quiet++
		return quiet >= 4
	}).WithPolling(40*time.Millisecond).WithTimeout(15*time.Second).Should(BeTrue(), func() string {
		writes := f.api.since(max(f.api.mark()-10, 0))
		return fmt.Sprintf("the operator settles; its last writes: %v", writes)
	})
}

// setTime moves the operator's clock to t once the operator is idle.
func (f *rotationFixture) setTime(t time.Time) {
	f.t.Helper()
	f.settle()
	f.clock.SetTime(t)
}

// step moves the operator's clock forward by d once the operator is idle.
func (f *rotationFixture) step(d time.Duration) {
	f.t.Helper()
	f.setTime(f.clock.Now().Add(d))
}

// poke changes an annotation so the operator reconciles the resource now,
// whatever its timers say.
func (f *rotationFixture) poke() {
	f.t.Helper()
	before := reconcileTotal()
	f.annotate("test.oktatoken.dev/poke", fmt.Sprint(time.Now().UnixNano()))
	NewWithT(f.t).Eventually(reconcileTotal).Should(BeNumerically(">", before), "the operator reconciles the poked resource")
}

func (f *rotationFixture) annotate(key, value string) {
	f.t.Helper()
	g := NewWithT(f.t)
	cur := get(g, f.obj)
	patch := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[key] = value
	g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
}

// expectNoTokenRequest asserts that the dev server sees no token request
// for a short while.
func (f *rotationFixture) expectNoTokenRequest(want int, why string) {
	f.t.Helper()
	NewWithT(f.t).Consistently(f.srv.TokenRequests).WithTimeout(400*time.Millisecond).Should(Equal(want), why)
}

func (f *rotationFixture) tokenSecretName() string {
	if f.obj.Spec.SecretName != "" {
		return f.obj.Spec.SecretName
	}
	return f.obj.Name
}

func (f *rotationFixture) accessToken(g Gomega) string {
	return string(tokenSecret(g, f.ns, f.tokenSecretName()).Data[v1.TokenSecretAccessToken])
}

func (f *rotationFixture) refreshToken(g Gomega) string {
	return string(stateSecret(g, f.obj).Data["refresh_token"])
}

func (f *rotationFixture) setClientSecret(value string) {
	f.t.Helper()
	g := NewWithT(f.t)
	s := &corev1.Secret{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "okta-web-app"}, s)).To(Succeed())
	s.Data["clientSecret"] = []byte(value)
	g.Expect(env.Client.Update(context.Background(), s)).To(Succeed())
}

// tokenEndpointError is what Okta answers a refresh made with clientSecret:
// its error and error_description.
func (f *rotationFixture) tokenEndpointError(clientSecret string) (string, string) {
	f.t.Helper()
	conf := &oauth2.Config{ClientID: webClientID, ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: f.srv.Issuer() + "/oauth2/v1/token", AuthStyle: oauth2.AuthStyleInHeader}}
	_, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "any"}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		f.t.Fatalf("a refresh with client secret %q: want an OAuth error, got %v", clientSecret, err)
	}
	return re.ErrorCode, re.ErrorDescription
}

// conditionOf returns the condition of type t, or a zero condition.
func conditionOf(obj *v1.OktaScopedToken, t string) metav1.Condition {
	if c := meta.FindStatusCondition(obj.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

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

// hasEvent says whether an Event of this type and reason was recorded.
func hasEvent(g Gomega, obj *v1.OktaScopedToken, eventType, reason string) bool {
	for _, e := range tokenEvents(g, obj) {
		if e.Type == eventType && e.Reason == reason {
			return true
		}
	}
	return false
}

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

// resourceLabels select a resource's series in the operator's metrics.
func resourceLabels(obj *v1.OktaScopedToken) map[string]string {
	return map[string]string{"namespace": obj.Namespace, "name": obj.Name}
}

func withLabel(labels map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	maps.Copy(out, labels)
	return out
}

// parseStateTime reads a time the state Secret stores (RFC 3339 with
// nanoseconds).
func parseStateTime(g Gomega, s *corev1.Secret, key string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, string(s.Data[key]))
	g.Expect(err).NotTo(HaveOccurred(), "state Secret key %s", key)
	return t
}
