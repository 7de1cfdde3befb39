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

// Command demo runs the operator's whole job on one machine with nothing but
// Go: a local control plane (kube-apiserver and etcd built by
// hack/build-control-plane.sh), the Okta-compatible dev server, and the
// operator with its callback on localhost. It applies a sample
// OktaScopedToken, prints the sign-in URL, waits for the token, and keeps
// running so the rotations can be watched. After a rotation it does what a
// workload does with the token: it writes the token Secret's keys to files,
// as the kubelet does for a pod that mounts the Secret, and reads the dev
// server's System Log with them (config/samples/oktalogs/systemlog, the library behind
// config/samples/oktalogs). Ctrl-C stops everything.
//
//	make demo                                  # sign in yourself in a browser
//	make demo DEMO_ARGS='--login-as demo@example.com:Passw0rd! --exit-after-rotations 1'
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/config/samples/oktalogs/systemlog"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

const (
	demoNamespace  = "demo"
	stateNamespace = "okta-token-operator-system"
	tokenName      = "logs-reader"
)

func main() {
	var (
		oktaAddr     = flag.String("okta-addr", "127.0.0.1:9090", "Address of the Okta dev server.")
		callbackAddr = flag.String("callback-addr", "127.0.0.1:8082", "Address of the operator's callback server.")
		tokenTTL     = flag.Duration("access-token-ttl", 2*time.Minute, "Lifetime of the dev server's access tokens.")
		loginAs      = flag.String("login-as", "", "USER:PASS: sign in without a person (for scripts and CI).")
		exitAfter    = flag.Int("exit-after-rotations", 0, "Exit 0 once this many rotations happened (0: run until Ctrl-C).")
		timeout      = flag.Duration("timeout", 0, "Give up (exit 1) after this long; 0: never.")
		workDir      = flag.String("dir", ".demo", "Where the kubeconfig and manifests are written.")
		verbose      = flag.Bool("v", false, "Show the operator's logs.")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	if err := run(ctx, demo{
		oktaAddr: *oktaAddr, callbackAddr: *callbackAddr, tokenTTL: *tokenTTL, loginAs: *loginAs,
		exitAfter: *exitAfter, dir: *workDir, verbose: *verbose,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	oktaAddr, callbackAddr string
	tokenTTL               time.Duration
	loginAs                string
	exitAfter              int
	dir                    string
	verbose                bool
}

func say(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run(ctx context.Context, d demo) error {
	logger := logr.Discard()
	if d.verbose {
		logger = zap.New(zap.UseDevMode(true))
	}
	ctrl.SetLogger(logger)
	dir, err := filepath.Abs(d.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	say("starting a local control plane (kube-apiserver + etcd)")
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the control plane")
		_ = env.Stop()
	}()
	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		return err
	}
	kubectl, err := testenv.Kubectl()
	if err != nil {
		return err
	}

	say("starting the Okta dev server on http://%s (access tokens live %s)", d.oktaAddr, d.tokenTTL)
	callbackURL := "http://" + d.callbackAddr + "/callback"
	okta, err := oktadev.New(oktadev.Config{AccessTokenTTL: d.tokenTTL, Issuer: "http://" + d.oktaAddr})
	if err != nil {
		return err
	}
	ol, err := net.Listen("tcp", d.oktaAddr)
	if err != nil {
		return fmt.Errorf("the dev server's address: %w", err)
	}
	if err := okta.Start(ol); err != nil {
		return err
	}
	defer func() { _ = okta.Close() }()
	if err := okta.AddWebClient(oktadev.WebClient{
		ID: oktadev.DemoWebClientID, Secret: oktadev.DemoWebClientSecret,
		RedirectURIs: []string{callbackURL}, GrantedScopes: []string{"okta.logs.read", "okta.users.read"},
	}); err != nil {
		return err
	}
	if err := okta.AddUser(oktadev.User{
		Username: oktadev.DemoUser, Password: oktadev.DemoPassword, Name: oktadev.DemoUserName,
	}); err != nil {
		return err
	}

	say("starting the operator (callback %s)", callbackURL)
	cl, err := net.Listen("tcp", d.callbackAddr)
	if err != nil {
		return fmt.Errorf("the callback's address: %w", err)
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}}); err != nil {
		return err
	}
	mgr, err := operator.New(env.Config, operator.Options{
		CallbackListener: cl, CallbackURL: callbackURL, StateNamespace: stateNamespace,
		AllowInsecureIssuers: true, Logger: &logger,
		// The dev server is an Okta org on loopback: the operator may
		// send credentials to it because it is told so.
		OktaDomains: []string{"127.0.0.1"},
	})
	if err != nil {
		return err
	}
	mgrCtx, mgrCancel := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	defer func() {
		mgrCancel()
		<-mgrDone
	}()

	manifest := filepath.Join(dir, "logs-reader.yaml")
	if err := os.WriteFile(manifest, []byte(sampleManifest(okta.Issuer())), 0o600); err != nil {
		return err
	}
	k := func(args ...string) (string, error) {
		args = append([]string{"--kubeconfig", kubeconfig}, args...)
		out, err := exec.CommandContext(ctx, kubectl, args...).CombinedOutput()
		return string(out), err
	}
	say("kubectl apply -f %s", manifest)
	out, err := k("apply", "-f", manifest)
	fmt.Print(indent(out))
	if err != nil {
		return err
	}

	key := types.NamespacedName{Namespace: demoNamespace, Name: tokenName}
	obj, err := waitFor(ctx, env, key, func(o *v1.OktaScopedToken) bool { return o.Status.AuthorizationURL != "" })
	if err != nil {
		return err
	}
	out, _ = k("get", "ost", "-n", demoNamespace)
	fmt.Print(indent(out))
	fmt.Printf(`
    Sign in to grant the token:

      %s

    Demo user:  %s
    Password:   %s

`, obj.Status.AuthorizationURL, oktadev.DemoUser, oktadev.DemoPassword)

	if d.loginAs != "" {
		user, pass, _ := strings.Cut(d.loginAs, ":")
		say("signing in as %s (--login-as)", user)
		status, page, err := oktadev.SignIn(obj.Status.AuthorizationURL, user, pass, false)
		if err != nil || status != 200 {
			return fmt.Errorf("signing in: HTTP %d: %v\n%s", status, err, page)
		}
	} else {
		say("waiting for you to sign in ...")
	}
	obj, err = waitFor(ctx, env, key, isReady)
	if err != nil {
		return err
	}
	say("the token is in Secret %s/%s:", demoNamespace, obj.TokenSecretName())
	out, _ = k("get", "ost", "-n", demoNamespace)
	fmt.Print(indent(out))
	var s corev1.Secret
	secretKey := types.NamespacedName{Namespace: demoNamespace, Name: obj.TokenSecretName()}
	if err := env.Client.Get(ctx, secretKey, &s); err != nil {
		return err
	}
	printSecret(&s)

	fmt.Printf(`
    Watch it rotate (every ~%s) in another terminal:

      %s --kubeconfig %s get ost -n %s -w

    Press Ctrl-C to stop everything.

`, (d.tokenTTL * 2 / 3).Round(time.Second), kubectl, kubeconfig, demoNamespace)

	// The workload's side: the Secret's keys as files, read by a System Log
	// reader that is never restarted; each rotation only rewrites the files.
	tokenDir := filepath.Join(dir, obj.TokenSecretName())
	logReader, err := systemlog.New(systemlog.Config{
		OktaDomain: okta.Issuer(), Token: systemlog.TokenFile{Path: tokenDir}, AllowHTTP: true,
	})
	if err != nil {
		return err
	}
	return watchRotations(ctx, d, env, k, key, obj.Status.Rotations, systemLogReader{
		reader: logReader, secretKey: secretKey, tokenDir: tokenDir,
	})
}

// systemLogReader is the workload's side of the demo: a System Log reader
// that reads the token from files in tokenDir, written from the token
// Secret named secretKey.
type systemLogReader struct {
	reader    *systemlog.Client
	secretKey types.NamespacedName
	tokenDir  string
}

// watchRotations waits for each rotation of the resource after the
// lastRotations it has had, reports it and reads the System Log with the
// rotated token. It returns after d.exitAfter rotations, or on Ctrl-C when
// d.exitAfter is 0.
func watchRotations(ctx context.Context, d demo, env *testenv.Env, k func(args ...string) (string, error),
	key types.NamespacedName, lastRotations int64, logs systemLogReader,
) error {
	logReads := 0
	for {
		obj, err := waitFor(ctx, env, key, func(o *v1.OktaScopedToken) bool {
			return o.Status.Rotations > lastRotations && isReady(o)
		})
		if err != nil {
			if ctx.Err() != nil && d.exitAfter == 0 {
				return nil // Ctrl-C
			}
			return err
		}
		lastRotations = obj.Status.Rotations
		say("rotated (%d): new token expires %s, next renewal %s", obj.Status.Rotations,
			obj.Status.ExpiresAt.UTC().Format(time.RFC3339), obj.Status.RenewalTime.UTC().Format(time.RFC3339))
		done := d.exitAfter > 0 && int(obj.Status.Rotations) >= d.exitAfter
		if done {
			out, _ := k("get", "ost", "-n", demoNamespace)
			fmt.Print(indent(out))
		}
		if err := readSystemLog(ctx, env, logs.reader, logs.secretKey, logs.tokenDir, logReads == 0); err != nil {
			return err
		}
		logReads++
		if done {
			say("%d rotation(s) seen; done", obj.Status.Rotations)
			return nil
		}
	}
}

// shownEvents is how many System Log events the demo prints.
const shownEvents = 5

// readSystemLog is a pod reading the System Log with the rotated token: the
// token Secret's keys are written to files in tokenDir, as the kubelet
// updates a mounted Secret, and the reader, which reads the token file before
// every request, pages through GET /api/v1/logs until it has caught up. With
// show it prints the newest events, otherwise only how many it read.
func readSystemLog(ctx context.Context, env *testenv.Env, reader *systemlog.Client,
	secretKey types.NamespacedName, tokenDir string, show bool,
) error {
	var s corev1.Secret
	if err := env.Client.Get(ctx, secretKey, &s); err != nil {
		return fmt.Errorf("reading Secret %s: %w", secretKey, err)
	}
	if err := writeSecretFiles(tokenDir, &s); err != nil {
		return err
	}
	var events []systemlog.Event
	if err := reader.Each(ctx, systemlog.Query{Limit: 10}, func(e systemlog.Event) error {
		events = append(events, e)
		return nil
	}); err != nil {
		return fmt.Errorf("reading the System Log with the token from Secret %s: %w", secretKey, err)
	}
	if !show {
		say("read %d System Log events with the rotated token (same reader, token file re-read)", len(events))
		return nil
	}
	say("read %d System Log events with the rotated token from Secret %s (files in %s); the newest %d:",
		len(events), secretKey, tokenDir, min(shownEvents, len(events)))
	for _, e := range events[max(len(events)-shownEvents, 0):] {
		fmt.Println("    " + e.Summary())
	}
	return nil
}

// writeSecretFiles writes each key of a Secret to a file of its name in dir,
// each through a rename so that a reader never sees half a token.
func writeSecretFiles(dir string, s *corev1.Secret) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for key, value := range s.Data {
		tmp := filepath.Join(dir, "."+key+".tmp")
		if err := os.WriteFile(tmp, value, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, key)); err != nil {
			return err
		}
	}
	return nil
}

func isReady(o *v1.OktaScopedToken) bool {
	c := meta.FindStatusCondition(o.Status.Conditions, v1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue
}

// waitFor polls the resource until cond holds. Polling once a second keeps
// the demo free of watch plumbing; the operator itself does not poll.
func waitFor(
	ctx context.Context, env *testenv.Env, key types.NamespacedName, cond func(*v1.OktaScopedToken) bool,
) (*v1.OktaScopedToken, error) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		obj := &v1.OktaScopedToken{}
		if err := env.Client.Get(ctx, key, obj); err == nil && cond(obj) {
			return obj, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func printSecret(s *corev1.Secret) {
	fmt.Printf("    Secret %s/%s (labels %v)\n", s.Namespace, s.Name, s.Labels)
	keys := []string{v1.TokenSecretAccessToken, v1.TokenSecretTokenType, v1.TokenSecretExpiry, v1.TokenSecretScope}
	for _, k := range keys {
		v := string(s.Data[k])
		if k == v1.TokenSecretAccessToken {
			v = fmt.Sprintf("<redacted, %d bytes>", len(v))
		}
		fmt.Printf("      %-13s %s\n", k+":", v)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func sampleManifest(issuer string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: Secret
metadata:
  name: okta-web-app
  namespace: %[1]s
stringData:
  clientSecret: %[2]s
---
apiVersion: oktatoken.dev/v1alpha1
kind: OktaScopedToken
metadata:
  name: %[3]s
  namespace: %[1]s
spec:
  oktaDomain: %[4]s
  clientID: %[5]s
  grantType: AuthorizationCode
  clientSecretRef:
    name: okta-web-app
    key: clientSecret
  scopes:
    - okta.logs.read
  secretName: logs-reader-token
`, demoNamespace, oktadev.DemoWebClientSecret, tokenName, issuer, oktadev.DemoWebClientID)
}
