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

// Package controller tests the operator as one process against a real
// kube-apiserver (envtest) and the Okta-compatible dev server: a resource is
// applied, a person signs in through the dev server's form, the callback
// stores the token, the Secret and status follow, and rotations happen.
//
// Every test builds one fixture: a dev server (behind a recorder of every
// token request), a namespace of its own, and a manager that watches only
// that namespace, runs on a fake clock (its work queue follows it) and
// sends every write through a recorder that can also refuse chosen writes,
// as a partitioned or dying process would fail them. After all tests,
// TestMain searches everything the operators wrote where people look for
// any secret the tests handled.
package controller

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

const (
	stateNamespace = "okta-token-operator-system"
	webClientID    = "0oawebapp"
	webSecret      = "web-app-client-secret-value"
	userName       = "ada@example.com"
	userPassword   = "correct horse battery staple"
	// tokenControllerName is the OktaScopedToken controller's name in
	// metrics.
	tokenControllerName = "oktascopedtoken"
)

var (
	env *testenv.Env
	// logs collects everything every manager in this package logs, for
	// the leak scan.
	logs = &logbuffer.Buffer{}
	// secretsSeen collects every token, code and secret the tests
	// handled, for the leak scan.
	secretsSeen sync.Map
)

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Under -race on two busy cores a second is not "soon"; the passes the
	// tests wait for take milliseconds when nothing else runs.
	SetDefaultEventuallyTimeout(15 * time.Second)
	code := m.Run()
	// The leak scan runs after every test that ran, whatever -run or
	// -shuffle chose, over everything they left behind.
	if leaks := scanForLeaks(); len(leaks) > 0 {
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "LEAK:", l)
		}
		code = 1
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}

// remember records a value that must never appear in logs or events.
func remember(values ...string) {
	for _, v := range values {
		if len(v) >= 8 {
			secretsSeen.Store(v, true)
		}
	}
}

// fixtureOptions shape a fixture.
type fixtureOptions struct {
	// behindWall starts the operator's fake clock this far behind the wall
	// clock. The dev server's client authentication is fosite's, which
	// judges a client assertion's iat and exp by the wall clock: an
	// assertion made at fake time t passes only while t-30s <= wall time <
	// t+5m, so tests of service apps that step the clock start behind.
	behindWall time.Duration
	// devClock runs the dev server on its own fake clock, for tests that
	// need its refresh-token grace period to pass or not; sharedDevClock
	// runs it on the operator's.
	devClock, sharedDevClock bool
	// dev configures the dev server (token lifetimes, rate limits).
	dev oktadev.Config
	// httpTimeout bounds the operator's requests to Okta; default 30s.
	httpTimeout time.Duration
	// leaderElect runs the manager with leader election.
	leaderElect bool
	// operator adjusts the manager's options before it starts.
	operator func(*operator.Options)
	// noManager leaves starting managers to the test (f.listener is the
	// callback address's listener).
	noManager bool
	// webApp adjusts the dev server's web app before it is registered.
	webApp func(*oktadev.WebClient)
}

// fixture is one dev server, one namespace and the operator managing it.
type fixture struct {
	t        *testing.T
	opts     fixtureOptions
	clock    *clocktesting.FakeClock
	devClock *clocktesting.FakeClock
	srv      *oktadev.Server
	requests *tokenRequestLog
	api      *apiRecorder
	ns       string
	// obj is the resource the fixture made last.
	obj      *v1.OktaScopedToken
	addr     string
	callback string
	listener net.Listener
	mgr      manager.Manager
	stop     func()
	// orgsKept lists the orgs the manager keeps anything for.
	orgsKept func() []string
}

// newFixture starts the dev server with the web app and the user, makes a
// namespace, and starts the operator watching it. No resource exists yet.
func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		t: t, opts: o, addr: l.Addr().String(), callback: "http://" + l.Addr().String() + "/callback",
		clock: clocktesting.NewFakeClock(time.Now().Add(-o.behindWall).Truncate(time.Second)),
		api:   &apiRecorder{},
	}
	cfg := o.dev
	if cfg.RateLimitPerMinute == 0 && cfg.TokenRateLimitPerMinute == 0 {
		// Okta's X-Rate-Limit-* headers slow the operator's budget down
		// as a window fills (internal/budget), and a slowed budget grants
		// one request at a time: on a fake clock that stands still, a
		// second request in the same instant would wait for ever. The dev
		// server's windows follow the wall clock, so how full one is
		// depends on the tests before. Only the rate-limit tests
		// (rateLimitFixture) give the dev server a limit that matters.
		cfg.RateLimitPerMinute = unlimitedPerMinute
	}
	switch {
	case o.sharedDevClock:
		cfg.Clock = f.clock
	case o.devClock:
		// fosite stamps expiry from the wall clock: a fake clock for the
		// dev server starts at the real time and only moves forward.
		f.devClock = clocktesting.NewFakeClock(time.Now())
		cfg.Clock = f.devClock
	}
	f.srv, f.requests = startDevServer(t, cfg)
	web := oktadev.WebClient{
		ID: webClientID, Secret: webSecret, RedirectURIs: []string{f.callback},
		GrantedScopes: []string{"okta.logs.read", "okta.users.read"},
	}
	if o.webApp != nil {
		o.webApp(&web)
	}
	if err := f.srv.AddWebClient(web); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AddUser(oktadev.User{Username: userName, Password: userPassword, Name: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	remember(webSecret, userPassword)
	f.ns = "t-" + rand.String(6)
	if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}); err != nil {
		t.Fatal(err)
	}
	f.listener = l
	if !o.noManager {
		f.mgr, f.stop = f.startManager(l, f.api, o.leaderElect)
	}
	return f
}

// unlimitedPerMinute is a dev server limit no test reaches.
const unlimitedPerMinute = 1 << 30

// startDevServer serves an in-process dev server, with no apps yet, behind
// a token-request recorder.
func startDevServer(t *testing.T, cfg oktadev.Config) (*oktadev.Server, *tokenRequestLog) {
	t.Helper()
	requests := &tokenRequestLog{}
	return oktadev.NewTestServer(t, cfg, requests.wrap), requests
}

// stopDevServer makes Okta unreachable: connections to it are refused.
func (f *fixture) stopDevServer() {
	f.t.Helper()
	_ = f.srv.Close()
}

// startManager runs a manager for the fixture's namespace on the fixture's
// clock, serving callbacks on l, its writes going through api, until the
// test ends or stop is called.
func (f *fixture) startManager(l net.Listener, api *apiRecorder, leaderElect bool) (manager.Manager, func()) {
	f.t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(api.wrap)
	logger := zap.New(zap.WriteTo(logs), zap.UseDevMode(true), zap.Level(zapDebug()))
	if testing.Verbose() {
		logger = zap.New(zap.WriteTo(&teeWriter{logs, os.Stderr}), zap.UseDevMode(true), zap.Level(zapDebug()))
	}
	o := operator.Options{
		CallbackListener:     l,
		CallbackURL:          f.callback,
		StateNamespace:       stateNamespace,
		WatchNamespaces:      []string{f.ns},
		AllowInsecureIssuers: true,
		OktaDomains:          []string{"127.0.0.1"},
		HTTPTimeout:          f.opts.httpTimeout,
		LeaderElection:       leaderElect,
		LeaderElectionID:     "lease-" + f.ns,
		Clock:                f.clock,
		Logger:               &logger,
		SkipNameValidation:   true,
		// The fake clock stands still unless a test moves it: only the
		// tests of the budget itself set a rate that makes requests wait.
		OktaRateLimit: 60000,
	}
	if f.opts.operator != nil {
		f.opts.operator(&o)
	}
	o.OrgsKept = &f.orgsKept
	mgr, err := operator.New(cfg, o)
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
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	f.t.Cleanup(stop)
	return mgr, stop
}

// restart stops the manager and starts a new one on the same callback
// address, with a fresh write recorder that refuses nothing.
func (f *fixture) restart() {
	f.t.Helper()
	f.stop()
	f.api = &apiRecorder{}
	f.mgr, f.stop = f.startManager(listenAgain(f.t, f.addr), f.api, f.opts.leaderElect)
}

// orgs lists the Okta orgs the running manager keeps anything for.
func (f *fixture) orgs() []string {
	if f.orgsKept == nil {
		return nil
	}
	return f.orgsKept()
}

// newWebToken creates the client-secret Secret and an AuthorizationCode
// OktaScopedToken against the dev server's web app.
func (f *fixture) newWebToken(mutate ...func(*v1.OktaScopedToken)) *v1.OktaScopedToken {
	f.t.Helper()
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "okta-web-app", Namespace: f.ns},
		StringData: map[string]string{"clientSecret": webSecret},
	}); client.IgnoreAlreadyExists(err) != nil {
		f.t.Fatal(err)
	}
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: f.ns},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain:      f.srv.Issuer(),
			ClientID:        webClientID,
			GrantType:       v1.GrantAuthorizationCode,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"},
			Scopes:          []string{"okta.logs.read"},
			SecretName:      "logs-reader-token",
		},
	}
	return f.create(obj, mutate)
}

// newServiceToken creates the key Secret (unless keyPEM is nil) and a
// ClientCredentials OktaScopedToken for clientID.
func (f *fixture) newServiceToken(clientID string, keyPEM []byte, keyID string,
	mutate ...func(*v1.OktaScopedToken)) *v1.OktaScopedToken {
	f.t.Helper()
	if keyPEM != nil {
		f.createServiceKey(keyPEM)
	}
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: f.ns},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain: f.srv.Issuer(),
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
	return f.create(obj, mutate)
}

func (f *fixture) create(obj *v1.OktaScopedToken, mutate []func(*v1.OktaScopedToken)) *v1.OktaScopedToken {
	f.t.Helper()
	for _, m := range mutate {
		m(obj)
	}
	if err := env.Client.Create(context.Background(), obj); err != nil {
		f.t.Fatal(err)
	}
	f.obj = obj
	return obj
}

// addServiceApp registers a service app whose public keys are keys.
func (f *fixture) addServiceApp(clientID string, granted []string, keys ...jose.JSONWebKey) {
	f.t.Helper()
	app := oktadev.ServiceClient{ID: clientID, JWKS: serviceAppJWKS(keys...), GrantedScopes: granted}
	if err := f.srv.AddServiceClient(app); err != nil {
		f.t.Fatal(err)
	}
}

// createServiceKey creates the service app's key Secret.
func (f *fixture) createServiceKey(keyPEM []byte) {
	f.t.Helper()
	remember(pemBodyLines(keyPEM)...)
	if err := env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: serviceKeySecretName, Namespace: f.ns},
		Data:       map[string][]byte{serviceKeySecretKey: keyPEM},
	}); err != nil {
		f.t.Fatal(err)
	}
}

// replaceServiceKey puts another private key into the key Secret, as a person
// rotating the app's key would.
func (f *fixture) replaceServiceKey(keyPEM []byte) {
	f.t.Helper()
	remember(pemBodyLines(keyPEM)...)
	NewWithT(f.t).Eventually(func() error {
		s := &corev1.Secret{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: serviceKeySecretName}, s); err != nil {
			return err
		}
		s.Data = map[string][]byte{serviceKeySecretKey: keyPEM}
		return env.Client.Update(context.Background(), s)
	}).Should(Succeed())
}

// signIn signs in at the published URL of f.obj and waits for Ready=True.
func (f *fixture) signIn() *v1.OktaScopedToken {
	f.t.Helper()
	g := NewWithT(f.t)
	authURL := waitForAuthorizationURL(f.t, f.obj)
	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	waitForReady(f.t, f.obj)
	f.settle()
	return get(g, f.obj)
}

// signedIn is a fixture with a web-app resource whose first token has been
// issued.
func signedIn(t *testing.T, o fixtureOptions, mutate ...func(*v1.OktaScopedToken)) (*fixture, *v1.OktaScopedToken) {
	t.Helper()
	f := newFixture(t, o)
	f.newWebToken(mutate...)
	return f, f.signIn()
}

// settle waits until the operator is idle: no reconcile running or
// finishing and no write sent for a while. Stepping the fake clock while a
// reconcile is still running would let it schedule its next pass from the
// new time instead of the time it computed with.
func (f *fixture) settle() {
	f.t.Helper()
	f.settleAround(func() int { return 0 })
}

// settleAround is settle for an operator some of whose workers are held on
// purpose (by a server that never answers): held tells how many.
func (f *fixture) settleAround(held func() int) {
	f.t.Helper()
	lastDone, lastWrites, quiet := -1.0, -1, 0
	NewWithT(f.t).Eventually(func() bool {
		done, active := reconcileTotal(), gaugeValue("controller_runtime_active_workers", map[string]string{"controller": tokenControllerName})
		writes := f.api.mark()
		if int(active) != held() || done != lastDone || writes != lastWrites {
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
func (f *fixture) setTime(t time.Time) {
	f.t.Helper()
	f.settle()
	f.clock.SetTime(t)
}

// step moves the operator's clock forward by d once the operator is idle.
func (f *fixture) step(d time.Duration) {
	f.t.Helper()
	f.setTime(f.clock.Now().Add(d))
}

// stepUntil moves the operator's clock forward by d, letting the operator
// settle after each step, until check passes.
func (f *fixture) stepUntil(d time.Duration, check func(g Gomega)) {
	f.t.Helper()
	NewWithT(f.t).Eventually(func(g Gomega) {
		f.step(d)
		check(g)
	}).WithTimeout(30 * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
}

// poke changes an annotation so the operator reconciles f.obj now, whatever
// its timers say, and waits until that pass is over.
func (f *fixture) poke() {
	f.t.Helper()
	before := reconcileTotal()
	f.annotate("test.oktatoken.dev/poke", fmt.Sprint(time.Now().UnixNano()))
	NewWithT(f.t).Eventually(reconcileTotal).Should(BeNumerically(">", before), "the operator reconciles the poked resource")
	f.settle()
}

// annotate sets an annotation on f.obj.
func (f *fixture) annotate(key, value string) {
	f.t.Helper()
	g := NewWithT(f.t)
	g.Eventually(func(g Gomega) {
		cur := get(g, f.obj)
		patch := client.MergeFrom(cur.DeepCopy())
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[key] = value
		g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
	}).Should(Succeed())
}

// expectNoTokenRequest proves a pass happened (a poke), lets it finish, and
// then asserts that the dev server saw exactly want token requests.
func (f *fixture) expectNoTokenRequest(want int, why string) {
	f.t.Helper()
	f.poke()
	NewWithT(f.t).Expect(f.srv.TokenRequests()).To(Equal(want), why)
}

// accessToken is what a pod reads from f.obj's token Secret.
func (f *fixture) accessToken(g Gomega) string {
	return string(tokenSecret(g, f.ns, f.obj.TokenSecretName()).Data[v1.TokenSecretAccessToken])
}

// refreshToken is the refresh token f.obj's state Secret holds.
func (f *fixture) refreshToken(g Gomega) string {
	if grant := state.Decode(stateSecret(g, f.obj)).Grant; grant != nil {
		return grant.RefreshToken
	}
	return ""
}

func (f *fixture) setClientSecret(value string) {
	f.t.Helper()
	g := NewWithT(f.t)
	s := &corev1.Secret{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "okta-web-app"}, s)).To(Succeed())
	s.Data["clientSecret"] = []byte(value)
	g.Expect(env.Client.Update(context.Background(), s)).To(Succeed())
}

// listenAgain listens on an address a stopped manager has just released.
func listenAgain(t *testing.T, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	NewWithT(t).Eventually(func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	}).Should(Succeed())
	return l
}

type teeWriter struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (w *teeWriter) Write(p []byte) (int, error) {
	_, _ = w.b.Write(p)
	return w.a.Write(p)
}

// customServerApp registers a custom authorization server serverID with
// scopes and a service app that authenticates there with secret, and puts
// the secret into Secret okta-service-app (key clientSecret) in namespace.
func (f *fixture) customServerApp(namespace, serverID, clientID, secret string, scopes ...string) {
	f.t.Helper()
	remember(secret)
	if err := f.srv.AddAuthorizationServer(oktadev.AuthorizationServer{ID: serverID, Scopes: scopes}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.srv.AddServiceClient(oktadev.ServiceClient{ID: clientID, Secret: secret}); err != nil {
		f.t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "okta-service-app", Namespace: namespace},
		StringData: map[string]string{"clientSecret": secret}}); err != nil {
		f.t.Fatal(err)
	}
}
