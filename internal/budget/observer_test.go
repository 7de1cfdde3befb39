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

package budget

// The Observer against the Okta dev server, whose token endpoints enforce a
// per-minute limit in Okta's fixed windows and answer with Okta's headers.
// Server and budget share a fake clock (the server's windows follow it);
// the Date header is the wall clock's, which the budget must cope with.

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// devOrg is a dev server with a custom authorization server and a service
// app that authenticates with a client secret.
type devOrg struct {
	srv   *oktadev.Server
	clock *clocktesting.FakeClock
	// tokenURL is the custom authorization server's token endpoint.
	tokenURL string
}

func startDevOrg(t *testing.T, tokenPerMinute int) *devOrg {
	t.Helper()
	// fosite stamps expiry from the wall clock: start there, only go forward.
	clk := clocktesting.NewFakeClock(time.Now())
	srv := oktadev.NewTestServer(t, oktadev.Config{Clock: clk, RateLimitPerMinute: 10000, TokenRateLimitPerMinute: tokenPerMinute})
	if err := srv.AddAuthorizationServer(oktadev.AuthorizationServer{ID: oktadev.DefaultAuthorizationServerID,
		Scopes: []string{"logs:read"}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddServiceClient(oktadev.ServiceClient{ID: "0oaservice", Secret: "service-secret"}); err != nil {
		t.Fatal(err)
	}
	return &devOrg{srv: srv, clock: clk,
		tokenURL: srv.AuthorizationServerIssuer(oktadev.DefaultAuthorizationServerID) + "/v1/token"}
}

// requestToken makes one client-credentials request through transport and
// returns the HTTP status Okta answered.
func (d *devOrg) requestToken(transport http.RoundTripper) int {
	status := 0
	recorder := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := transport.RoundTrip(r)
		if err == nil {
			status = resp.StatusCode
		}
		return resp, err
	})
	cfg := clientcredentials.Config{ClientID: "0oaservice", ClientSecret: "service-secret", TokenURL: d.tokenURL,
		Scopes: []string{"logs:read"}, AuthStyle: oauth2.AuthStyleInHeader}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: recorder})
	_, _ = cfg.Token(ctx)
	return status
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestObserverKeepsTheDevServerUnderItsLimit(t *testing.T) {
	const serverLimit = 6
	tests := map[string]struct {
		perMinute int
		observed  bool
		// want429 says whether Okta must have refused some requests.
		want429 bool
	}{
		"a budget at the server's limit":                         {perMinute: serverLimit, observed: true},
		"a budget set too high, corrected by Okta's headers":     {perMinute: 600, observed: true},
		"the same budget blind to Okta's answers runs into 429s": {perMinute: 600, want429: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			dev := startDevOrg(t, serverLimit)
			rec := newTestRecorder()
			b := New(Config{PerMinute: tc.perMinute, Clock: dev.clock, Recorder: rec})
			transport := http.DefaultTransport
			if tc.observed {
				transport = &Observer{Budget: b}
			}
			org := Org(dev.tokenURL)

			const tokens = 15
			statuses := map[int]int{}
			for i := range tokens {
				key := fmt.Sprintf("ns/token-%d", i)
				for {
					at, ok := b.Take(org, key, Expiring)
					if ok {
						break
					}
					dev.clock.SetTime(at)
				}
				statuses[dev.requestToken(transport)]++
			}
			if tc.want429 {
				g.Expect(dev.srv.RateLimitedResponses()).To(BeNumerically(">", 0))
				return
			}
			g.Expect(dev.srv.RateLimitedResponses()).To(BeZero(), "answers: %v", statuses)
			g.Expect(statuses).To(Equal(map[int]int{http.StatusOK: tokens}))
			g.Expect(rec.remaining).To(HaveKey(org), "the remaining-requests metric is set")
		})
	}
}

func TestObserverPausesTheOrgOn429(t *testing.T) {
	g := NewWithT(t)
	dev := startDevOrg(t, 3)
	rec := newTestRecorder()
	b := New(Config{PerMinute: 600, Clock: dev.clock, Recorder: rec})
	observer := &Observer{Budget: b}
	org := Org(dev.tokenURL)
	reset := dev.clock.Now().Truncate(time.Minute).Add(time.Minute)

	// Sent without asking the budget, as a client outside the operator
	// would: the fourth is refused.
	for range 4 {
		dev.requestToken(observer)
	}
	g.Expect(dev.srv.RateLimitedResponses()).To(Equal(1))
	g.Expect(rec.rateLimited[org]).To(Equal(1), "the 429 is counted")
	g.Expect(rec.remaining[org]).To(BeZero())

	at, ok := b.Take(org, "ns/token", Person)
	g.Expect(ok).To(BeFalse(), "the whole org waits, even a person")
	g.Expect(at).To(BeTemporally("~", reset, time.Second), "until the window resets")
	dev.clock.SetTime(at)
	_, ok = b.Take(org, "ns/token", Person)
	g.Expect(ok).To(BeTrue())
	g.Expect(dev.requestToken(observer)).To(Equal(http.StatusOK))
}

func TestObserverIgnoresOtherRequests(t *testing.T) {
	g := NewWithT(t)
	dev := startDevOrg(t, 1)
	rec := newTestRecorder()
	b := New(Config{PerMinute: 60, Clock: dev.clock, Recorder: rec})
	client := &http.Client{Transport: &Observer{Budget: b}}
	for range 3 {
		resp, err := client.Get(dev.srv.Issuer() + "/.well-known/openid-configuration")
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
	}
	g.Expect(rec.remaining).To(BeEmpty(), "metadata is not the token endpoint's budget")
	_, ok := b.Take(Org(dev.tokenURL), "ns/token", Manual)
	g.Expect(ok).To(BeTrue())
}
