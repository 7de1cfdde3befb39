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

package systemlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

const (
	testClientID     = "0oaoktalogstest00001"
	testClientSecret = "oktalogs-test-client-secret"
	// testRedirectURI is registered but never called: the sign-in stops at
	// Okta's redirect.
	testRedirectURI = "http://127.0.0.1:1/callback"
	// syntheticEvents is the size of the dev server's System Log: a day of
	// made-up activity before it started.
	syntheticEvents = 25
)

// devOkta is the Okta dev server on a loopback port, with a web app that
// may read the System Log, the demo user, and a fake clock shared with the
// readers under test.
type devOkta struct {
	srv   *oktadev.Server
	clock *clocktesting.FakeClock
	oauth *oauth2.Config
}

func startDevOkta(t *testing.T, cfg oktadev.Config) *devOkta {
	t.Helper()
	// fosite stamps token expiry from the wall clock, so the fake clock
	// starts at the wall time.
	fake := clocktesting.NewFakeClock(time.Now())
	cfg.Clock = fake
	srv := oktadev.NewTestServer(t, cfg)
	testenv.Must(t, srv.AddWebClient(oktadev.WebClient{
		ID: testClientID, Secret: testClientSecret,
		RedirectURIs: []string{testRedirectURI}, GrantedScopes: []string{"okta.logs.read"},
	}))
	testenv.Must(t, srv.AddUser(oktadev.User{Username: oktadev.DemoUser, Password: oktadev.DemoPassword, Name: oktadev.DemoUserName}))
	return &devOkta{srv: srv, clock: fake, oauth: &oauth2.Config{
		ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: testRedirectURI,
		Scopes: []string{"okta.logs.read"},
		Endpoint: oauth2.Endpoint{
			AuthURL: srv.Issuer() + "/oauth2/v1/authorize", TokenURL: srv.Issuer() + "/oauth2/v1/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}}
}

// testContext bounds a test's reading, so a reader that never stops fails
// the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// issueToken signs the demo user in and returns a new okta.logs.read access
// token, as the operator gets one.
func (d *devOkta) issueToken(t *testing.T) string {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	authURL := d.oauth.AuthCodeURL("state-oktalogs", oauth2.S256ChallengeOption(verifier))
	callback, err := oktadev.Authorize(authURL, oktadev.DemoUser, oktadev.DemoPassword)
	testenv.Must(t, err)
	tok, err := d.oauth.Exchange(context.Background(), callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	testenv.Must(t, err)
	return tok.AccessToken
}

// revoke revokes an access token at the dev server, as an administrator or
// the operator (revokeOnDelete) would.
func (d *devOkta) revoke(t *testing.T, token string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.srv.Issuer()+"/oauth2/v1/revoke",
		strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()))
	testenv.Must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoking a token: status %d", resp.StatusCode)
	}
}

// statusWith is the status /api/v1/logs answers a token with.
func (d *devOkta) statusWith(t *testing.T, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, d.srv.Issuer()+logsPath+"?limit=1", nil)
	testenv.Must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// reader is a Client on the dev server that reads its token from path,
// with every request recorded and its log kept.
func (d *devOkta) reader(t *testing.T, path string) (*Client, *recorder, *logbuffer.Buffer) {
	t.Helper()
	rec := &recorder{clock: d.clock, next: http.DefaultTransport}
	logs := &logbuffer.Buffer{}
	c, err := New(Config{
		OktaDomain: d.srv.Issuer(), Token: TokenFile{Path: path}, AllowHTTP: true,
		HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second},
		Clock:      d.clock, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	testenv.Must(t, err)
	return c, rec, logs
}

// exchange is one request a reader sent and what came back.
type exchange struct {
	url           string
	authorization string
	status        int
	events        int       // in the answer, if it was a page
	at            time.Time // on the fake clock
	header        http.Header
}

// recorder is the reader's HTTP transport: it records every exchange, and
// runs beforeFirst (once) right before the first request leaves.
type recorder struct {
	clock       *clocktesting.FakeClock
	next        http.RoundTripper
	mu          sync.Mutex
	exchanges   []exchange
	beforeFirst func()
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	hook := r.beforeFirst
	r.beforeFirst = nil
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	at := r.clock.Now()
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// The dev server's Date header comes from the wall clock, not from the
	// fake clock its rate-limit windows follow. Without it the reader
	// measures X-Rate-Limit-Reset on its own clock, the same fake clock.
	resp.Header.Del("Date")
	var page []json.RawMessage
	_ = json.Unmarshal(body, &page)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, exchange{
		url: req.URL.String(), authorization: req.Header.Get("Authorization"),
		status: resp.StatusCode, events: len(page), at: at, header: resp.Header.Clone(),
	})
	return resp, nil
}

func (r *recorder) all() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.exchanges...)
}

func (r *recorder) statuses() []int {
	all := r.all()
	s := make([]int, 0, len(all))
	for _, e := range all {
		s = append(s, e.status)
	}
	return s
}

// secretVolume lays out a Secret volume the way the kubelet's atomic writer
// does: each version of the data in its own hidden, timestamped directory,
// ..data a symlink to the current one, and every key a symlink through
// ..data. An update writes a new directory and renames a fresh symlink over
// ..data, which swaps every key at once; files already open keep the old
// version.
type secretVolume struct {
	t       *testing.T
	dir     string
	version int
}

func newSecretVolume(t *testing.T, data map[string]string) *secretVolume {
	v := &secretVolume{t: t, dir: filepath.Join(t.TempDir(), "okta-token")}
	testenv.Must(t, os.Mkdir(v.dir, 0o755))
	v.update(data)
	return v
}

func (v *secretVolume) update(data map[string]string) {
	t := v.t
	t.Helper()
	v.version++
	version := fmt.Sprintf("..%s.%d", time.Now().UTC().Format("2006_01_02_15_04_05"), v.version)
	testenv.Must(t, os.Mkdir(filepath.Join(v.dir, version), 0o755))
	for key, value := range data {
		testenv.Must(t, os.WriteFile(filepath.Join(v.dir, version, key), []byte(value), 0o644))
	}
	old, _ := os.Readlink(filepath.Join(v.dir, atomicWriterData))
	tmp := filepath.Join(v.dir, "..data_tmp")
	testenv.Must(t, os.Symlink(version, tmp))
	testenv.Must(t, os.Rename(tmp, filepath.Join(v.dir, atomicWriterData)))
	for key := range data {
		link := filepath.Join(v.dir, key)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			testenv.Must(t, os.Symlink(filepath.Join(atomicWriterData, key), link))
		}
	}
	if old != "" {
		testenv.Must(t, os.RemoveAll(filepath.Join(v.dir, old)))
	}
}

// tokenData is what the operator's token Secret holds for a token.
func tokenData(token string) map[string]string {
	return map[string]string{
		KeyAccessToken: token, KeyTokenType: "Bearer",
		"expiry": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "scope": "okta.logs.read",
	}
}

// driveClock runs fn and, whenever fn waits on the fake clock, moves the
// clock forward a second, as if the time it waits for went by. It returns
// how far the clock moved and fn's error.
func driveClock(t *testing.T, clk *clocktesting.FakeClock, fn func() error) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	start := clk.Now()
	var err error
	NewWithT(t).Eventually(func() bool {
		select {
		case err = <-done:
			return true
		default:
			if clk.HasWaiters() {
				clk.Step(time.Second)
			}
			return false
		}
	}).WithTimeout(30*time.Second).WithPolling(time.Millisecond).Should(BeTrue(), "the reader did not finish")
	return clk.Since(start), err
}
