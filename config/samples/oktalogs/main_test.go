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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// devServerEvents is the size of the dev server's System Log.
const devServerEvents = 25

// startDevOkta runs the Okta dev server and writes an okta.logs.read token
// into a directory laid out like the token Secret's volume. It returns the
// issuer, the directory and the fake clock both share.
func startDevOkta(t *testing.T) (string, string, *clocktesting.FakeClock) {
	t.Helper()
	const clientID, secret, redirect = "0oaoktalogscmdtest01", "oktalogs-cmd-test-secret", "http://127.0.0.1:1/callback"
	fake := clocktesting.NewFakeClock(time.Now())
	srv := oktadev.NewTestServer(t, oktadev.Config{Clock: fake})
	testenv.Must(t, srv.AddWebClient(oktadev.WebClient{ID: clientID, Secret: secret, RedirectURIs: []string{redirect},
		GrantedScopes: []string{"okta.logs.read"}}))
	testenv.Must(t, srv.AddUser(oktadev.User{Username: oktadev.DemoUser, Password: oktadev.DemoPassword}))
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: []string{"okta.logs.read"},
		Endpoint: oauth2.Endpoint{AuthURL: srv.Issuer() + "/oauth2/v1/authorize", TokenURL: srv.Issuer() + "/oauth2/v1/token"}}
	verifier := oauth2.GenerateVerifier()
	callback, err := oktadev.Authorize(conf.AuthCodeURL("state-cmd", oauth2.S256ChallengeOption(verifier)),
		oktadev.DemoUser, oktadev.DemoPassword)
	testenv.Must(t, err)
	tok, err := conf.Exchange(context.Background(), callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	testenv.Must(t, err)
	dir := t.TempDir()
	testenv.Must(t, os.WriteFile(filepath.Join(dir, "access_token"), []byte(tok.AccessToken), 0o600))
	testenv.Must(t, os.WriteFile(filepath.Join(dir, "token_type"), []byte("Bearer"), 0o600))
	return srv.Issuer(), dir, fake
}

var summaryLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [a-z0-9_.]+ \S+ [A-Z]+ \S.*$`)

func TestSystemLogCommand(t *testing.T) {
	issuer, tokenDir, clk := startDevOkta(t)
	base := []string{"--okta-domain", issuer, "--allow-http", "--token", tokenDir}
	cases := map[string]struct {
		args      []string
		wantLines int
		check     func(t *testing.T, line string)
	}{
		"text, every page": {args: []string{"--limit", "10"}, wantLines: devServerEvents, check: func(t *testing.T, line string) {
			if !summaryLine.MatchString(line) {
				t.Errorf("line %q is not: published eventType actor outcome message", line)
			}
		}},
		"json lines": {args: []string{"--output", "json", "--since", "48h"}, wantLines: devServerEvents, check: func(t *testing.T, line string) {
			var e map[string]any
			if err := json.Unmarshal([]byte(line), &e); err != nil || e["uuid"] == nil || e["client"] == nil {
				t.Errorf("line %q is not a whole System Log event: %v", line, err)
			}
		}},
		"max events":       {args: []string{"--max-events", "3", "--limit", "2"}, wantLines: 3},
		"bounded":          {args: []string{"--since", "48h", "--until", "0s", "--limit", "7"}, wantLines: devServerEvents},
		"since a time ago": {args: []string{"--since", "3h"}, wantLines: 3}, // one event every 57 minutes
		"the token file":   {args: []string{"--token", filepath.Join(tokenDir, "access_token")}, wantLines: devServerEvents},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), append(append([]string{}, base...), tc.args...), &stdout, &stderr, clk); err != nil {
				t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if len(lines) != tc.wantLines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tc.wantLines, stdout.String())
			}
			if tc.check != nil {
				for _, line := range lines {
					tc.check(t, line)
				}
			}
		})
	}
}

// TestSystemLogCommandFollow runs the command as the sample Deployment does
// and stops it as a SIGTERM would: it prints what is there, keeps polling,
// and exits cleanly.
func TestSystemLogCommandFollow(t *testing.T) {
	g := NewWithT(t)
	issuer, tokenDir, clk := startDevOkta(t)
	stdout, stderr := &logbuffer.Buffer{}, &logbuffer.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--okta-domain", issuer, "--allow-http", "--token", tokenDir, "--follow",
			"--poll-interval", "10s", "--limit", "10"}, stdout, stderr, clk)
	}()
	g.Eventually(func() int { return strings.Count(stdout.String(), "\n") }).Should(Equal(devServerEvents))
	g.Eventually(clk.HasWaiters).Should(BeTrue(), "waiting for the next poll")
	clk.Step(10 * time.Second)
	g.Eventually(clk.HasWaiters).Should(BeTrue(), "polled once more and waits again")
	g.Expect(strings.Count(stdout.String(), "\n")).To(Equal(devServerEvents), "nothing new, nothing printed")
	cancel()
	g.Eventually(done).Should(Receive(BeNil()), "a signal ends --follow cleanly")
	g.Expect(stderr.String()).To(ContainSubstring("following the System Log"))
}

func TestSystemLogCommandFlags(t *testing.T) {
	base := []string{"--okta-domain", "https://dev-123456.okta.com"}
	cases := map[string]struct {
		args    []string
		wantErr string
	}{
		"no domain":            {args: []string{}, wantErr: "--okta-domain is required"},
		"follow with until":    {args: append(base, "--follow", "--until", "1h"), wantErr: "cannot be combined with --until"},
		"bad since":            {args: append(base, "--since", "yesterday"), wantErr: `--since "yesterday"`},
		"until before since":   {args: append(base, "--since", "1h", "--until", "2h"), wantErr: "is not before until"},
		"bad output":           {args: append(base, "--output", "yaml"), wantErr: `--output "yaml"`},
		"limit too large":      {args: append(base, "--limit", "1001"), wantErr: "--limit 1001"},
		"fast poll":            {args: append(base, "--follow", "--poll-interval", "100ms"), wantErr: "--poll-interval"},
		"http without opt-in":  {args: []string{"--okta-domain", "http://127.0.0.1:9090"}, wantErr: "want an https:// URL"},
		"stray argument":       {args: append(base, "extra"), wantErr: "unexpected arguments"},
		"no token mounted":     {args: append(base, "--token", "/nonexistent/okta"), wantErr: "reading the access token"},
		"help is not an error": {args: []string{"--help"}, wantErr: flag.ErrHelp.Error()},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr, clocktesting.NewFakeClock(time.Now()))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run(%q) = %v, want an error with %q", tc.args, err, tc.wantErr)
			}
			if errors.Is(err, flag.ErrHelp) && !strings.Contains(stderr.String(), "Usage: oktalogs --okta-domain URL") {
				t.Errorf("--help printed:\n%s", stderr.String())
			}
		})
	}
}
