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
package controller

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/internal/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
	"github.com/okta-token-operator/okta-token-operator/internal/testenv"
)

const (
	stateNamespace = "okta-token-operator-system"
	webClientID    = "0oawebapp"
	webSecret      = "web-app-client-secret-value"
	userName       = "ada@example.com"
	userPassword   = "correct horse battery staple"
)

var (
	env *testenv.Env
	// logs collects everything every manager in this package logs, for
	// the leak test.
	logs = &logbuffer.Buffer{}
	// secretsSeen collects every token, code and secret the tests
	// handled, for the leak test.
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
	code := m.Run()
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

// devServer starts an in-process Okta dev server with one web app whose
// redirect URI is callbackURL, and one user.
func devServer(t *testing.T, cfg oktadev.Config, callbackURL string) *oktadev.Server {
	t.Helper()
	srv, err := oktadev.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if err := srv.AddWebClient(oktadev.WebClient{
		ID: webClientID, Secret: webSecret, RedirectURIs: []string{callbackURL},
		GrantedScopes: []string{"okta.logs.read", "okta.users.read"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddUser(oktadev.User{Username: userName, Password: userPassword, Name: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	remember(webSecret, userPassword)
	return srv
}

// callbackListener reserves the callback's port first: the dev server must
// know the redirect URI before the operator starts.
func callbackListener(t *testing.T) (net.Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l, "http://" + l.Addr().String() + "/callback"
}

type operatorOptions struct {
	listener    net.Listener
	callbackURL string
	clock       clock.WithTicker
	leaderElect bool
}

// startOperator runs the manager until the test ends or stop is called.
func startOperator(t *testing.T, o operatorOptions) (stop func()) {
	t.Helper()
	logger := zap.New(zap.WriteTo(logs), zap.UseDevMode(true), zap.Level(zapDebug()))
	if testing.Verbose() {
		logger = zap.New(zap.WriteTo(&teeWriter{logs, os.Stderr}), zap.UseDevMode(true), zap.Level(zapDebug()))
	}
	mgr, err := operator.New(env.Config, operator.Options{
		CallbackListener:     o.listener,
		CallbackURL:          o.callbackURL,
		StateNamespace:       stateNamespace,
		AllowInsecureIssuers: true,
		LeaderElection:       o.leaderElect,
		Clock:                o.clock,
		Logger:               &logger,
		SkipNameValidation:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager stopped: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

type teeWriter struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (w *teeWriter) Write(p []byte) (int, error) {
	_, _ = w.b.Write(p)
	return w.a.Write(p)
}

// newNamespace makes a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := "t-" + rand.String(6)
	if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// newToken creates the client-secret Secret and an AuthorizationCode
// OktaScopedToken against the dev server.
func newToken(t *testing.T, ns string, srv *oktadev.Server, mutate ...func(*v1.OktaScopedToken)) *v1.OktaScopedToken {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "okta-web-app", Namespace: ns},
		StringData: map[string]string{"clientSecret": webSecret},
	}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: ns},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain:      srv.Issuer(),
			ClientID:        webClientID,
			GrantType:       v1.GrantAuthorizationCode,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"},
			Scopes:          []string{"okta.logs.read"},
			SecretName:      "logs-reader-token",
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

func get(g Gomega, obj *v1.OktaScopedToken) *v1.OktaScopedToken {
	out := &v1.OktaScopedToken{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out)).To(Succeed())
	return out
}

func readyCondition(obj *v1.OktaScopedToken) metav1.Condition {
	if c := meta.FindStatusCondition(obj.Status.Conditions, v1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// waitForAuthorizationURL waits for the sign-in URL to be published.
func waitForAuthorizationURL(t *testing.T, obj *v1.OktaScopedToken) string {
	t.Helper()
	g := NewWithT(t)
	var url string
	g.Eventually(func(g Gomega) {
		cur := get(g, obj)
		g.Expect(readyCondition(cur).Reason).To(BeElementOf(v1.ReasonAuthorizationRequired, v1.ReasonReauthorizationRequired))
		g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
		url = cur.Status.AuthorizationURL
	}).WithTimeout(10 * time.Second).Should(Succeed())
	return url
}

// waitForReady waits for Ready=True and returns the resource.
func waitForReady(t *testing.T, obj *v1.OktaScopedToken) *v1.OktaScopedToken {
	t.Helper()
	g := NewWithT(t)
	var cur *v1.OktaScopedToken
	g.Eventually(func(g Gomega) {
		cur = get(g, obj)
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "Ready: %+v", readyCondition(cur))
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
	g.Expect(env.Client.Get(context.Background(), types.NamespacedName{
		Namespace: stateNamespace, Name: state.SecretName(client.ObjectKeyFromObject(obj))}, s)).To(Succeed())
	return s
}

// eventReasons lists the reasons of the Events about obj.
func eventReasons(g Gomega, obj *v1.OktaScopedToken) []string {
	var list eventsv1.EventList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(obj.Namespace))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == obj.Name && e.Regarding.Kind == "OktaScopedToken" {
			out = append(out, e.Reason)
		}
	}
	return out
}

// allEventNotes returns every event note in the cluster, for the leak test.
func allEventNotes(g Gomega) string {
	var list eventsv1.EventList
	g.Expect(env.Client.List(context.Background(), &list)).To(Succeed())
	var b strings.Builder
	for _, e := range list.Items {
		b.WriteString(e.Note)
		b.WriteString("\n")
	}
	return b.String()
}

// zapDebug logs V(1) too, so the leak test sees debug lines.
func zapDebug() zapcore.Level { return zapcore.Level(-1) }

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
