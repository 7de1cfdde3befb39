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

package bench

// An Okta org, for the benchmark, is one in-process dev server with its own
// apps and its own rate limits, served behind a counter of token-endpoint
// answers by status code (so a run can say how many 429s its orgs gave).
// Several orgs side by side are how a run shows that one org's limit does
// not slow another's tokens.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/felixge/httpsnoop"
	jose "github.com/go-jose/go-jose/v4"
	"k8s.io/utils/clock"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// OrgConfig describes one Okta org of a run.
type OrgConfig struct {
	// Name labels the org in the table, e.g. "org-a".
	Name string
	// Share is this org's part of the run's tokens, relative to the other
	// orgs' shares; 0 counts as 1.
	Share int
	// RateLimitPerMinute is the dev server's limit per endpoint; 0 sets it
	// far above any load the run can make.
	RateLimitPerMinute int
	// TokenRateLimitPerMinute is its token endpoints' limit; 0 means
	// RateLimitPerMinute.
	TokenRateLimitPerMinute int
	// AccessTokenTTL is the lifetime of the tokens it issues; default 1h.
	AccessTokenTTL time.Duration

	// clock is the org's own clock, default the run's Config.Clock: Okta's
	// clock is not the operator's, and the rate-limit scenario sets this one
	// ahead to place the org's rate-limit window.
	clock *orgClock
}

// unlimited is a rate limit no run reaches.
const unlimited = 100_000_000

// Names of what every org registers.
const (
	serviceScope   = "okta.logs.read"
	keySecretName  = "okta-service-app"
	keySecretKey   = "privateKey"
	webSecretName  = "okta-web-app"
	webSecretKey   = "clientSecret"
	webClientID    = "0oabenchwebapp"
	webSecret      = "bench-web-app-client-secret"
	signInUser     = "bench@example.com"
	signInPassword = "bench-password"
)

// org is a running dev server.
type org struct {
	name   string
	srv    *oktadev.Server
	http   *http.Server
	tokens *statusCounter
	clock  *orgClock
}

// startOrg serves a dev server on a loopback port. callbackURL, when not
// empty, registers a web app that redirects there, and a user to sign in.
// base is the run's clock, which the org's follows unless c sets one.
func startOrg(base clock.Clock, c OrgConfig, callbackURL string) (*org, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	limit := c.RateLimitPerMinute
	if limit == 0 {
		limit = unlimited
	}
	clk := c.clock
	if clk == nil {
		clk = &orgClock{Clock: base}
	}
	srv, err := oktadev.New(oktadev.Config{
		Issuer:                  "http://" + l.Addr().String(),
		AccessTokenTTL:          c.AccessTokenTTL,
		RateLimitPerMinute:      limit,
		TokenRateLimitPerMinute: c.TokenRateLimitPerMinute,
		Clock:                   clk,
	})
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("creating the dev server of %s: %w", c.Name, err)
	}
	o := &org{name: c.Name, srv: srv, tokens: &statusCounter{codes: map[int]int{}}, clock: clk}
	o.http = &http.Server{Handler: o.tokens.wrap(clk.dated(srv.Handler())), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = o.http.Serve(l) }()
	if callbackURL != "" {
		if err := srv.AddWebClient(oktadev.WebClient{ID: webClientID, Secret: webSecret,
			RedirectURIs: []string{callbackURL}, GrantedScopes: []string{serviceScope}}); err != nil {
			o.close()
			return nil, err
		}
		if err := srv.AddUser(oktadev.User{Username: signInUser, Password: signInPassword, Name: "Bench User"}); err != nil {
			o.close()
			return nil, err
		}
	}
	return o, nil
}

func (o *org) issuer() string { return o.srv.Issuer() }

// addServiceApp registers a private_key_jwt service app for key; with
// requireDPoP, one that refuses token requests without a DPoP proof, as
// Okta's API service apps created since 2024 do.
func (o *org) addServiceApp(clientID string, key crypto.Signer, requireDPoP bool) error {
	return o.srv.AddServiceClient(oktadev.ServiceClient{
		ID:            clientID,
		JWKS:          jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "bench", Use: "sig"}}},
		GrantedScopes: []string{serviceScope},
		RequireDPoP:   requireDPoP,
	})
}

func (o *org) close() {
	_ = o.http.Close()
	_ = o.srv.Close()
}

// statusCounter counts the token endpoint's answers by status code.
type statusCounter struct {
	mu    sync.Mutex
	codes map[int]int
}

func (c *statusCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/v1/token") {
			next.ServeHTTP(w, r)
			return
		}
		m := httpsnoop.CaptureMetrics(next, w, r)
		c.mu.Lock()
		c.codes[m.Code]++
		c.mu.Unlock()
	})
}

// TokenRequests are the answers of an org's token endpoint.
type TokenRequests struct {
	Total, RateLimited, Failed int
}

func (c *statusCounter) snapshot() TokenRequests {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out TokenRequests
	for code, n := range c.codes {
		out.Total += n
		switch {
		case code == http.StatusTooManyRequests:
			out.RateLimited += n
		case code >= 400:
			out.Failed += n
		}
	}
	return out
}

// Sub is what happened between two snapshots.
func (t TokenRequests) Sub(earlier TokenRequests) TokenRequests {
	return TokenRequests{Total: t.Total - earlier.Total, RateLimited: t.RateLimited - earlier.RateLimited,
		Failed: t.Failed - earlier.Failed}
}

// serviceKey is the one RSA key every service app of a run uses: RSA key
// generation is slow, and a key per app would measure nothing more.
var serviceKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

func serviceKeyPEM() ([]byte, *rsa.PrivateKey, error) {
	key, err := serviceKey()
	if err != nil {
		return nil, nil, fmt.Errorf("generating the service app key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), key, nil
}

// orgClock is an org's clock: its base Clock (the run's Config.Clock, the
// wall clock by default), set ahead by a skew that only grows (fosite, under
// the dev server, stamps expiry times from the wall clock, so the org's clock
// must never fall behind it). Its timers are the base's.
type orgClock struct {
	clock.Clock
	skew atomic.Int64
}

// Now is the org's time.
func (c *orgClock) Now() time.Time { return c.Clock.Now().Add(time.Duration(c.skew.Load())) }

// Since is the org's time since t.
func (c *orgClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// endWindowIn sets the clock ahead so that the org's current rate-limit
// window, which ends on the org's minute, ends left from now (0 < left ≤
// 1m).
func (c *orgClock) endWindowIn(left time.Duration) {
	now := c.Now()
	into := now.Sub(now.Truncate(time.Minute))
	ahead := (time.Minute - left - into + time.Minute) % time.Minute
	c.skew.Add(int64(ahead))
}

// windowLeft is how long the org's current rate-limit window has left.
func (c *orgClock) windowLeft() time.Duration {
	now := c.Now()
	return now.Truncate(time.Minute).Add(time.Minute).Sub(now)
}

// dated stamps every answer with the org's clock in its Date header, as
// Okta's answers carry Okta's clock: X-Rate-Limit-Reset only makes sense
// against it.
func (c *orgClock) dated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", c.Now().UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}
