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

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestHeadersLowerPace(t *testing.T) {
	// 600 a minute: a burst of 7, then one per 101ms, so 106 requests in
	// the first ten seconds when nothing slows the org down.
	const perMinute = 600
	reset := t0.Add(10 * time.Second)
	unslowed := burst(perMinute) + int(10*time.Second/interval(perMinute))
	tests := map[string]struct {
		// answers are observed at t0, in order.
		answers []http.Header
		// wantBefore is how many of 300 requests, all asking at t0, are
		// granted before each offset from t0.
		wantBefore map[time.Duration]int
	}{
		"plenty left: the configured pace": {
			answers:    []http.Header{rateHeaders(1200, 1100, reset, t0)},
			wantBefore: map[time.Duration]int{10 * time.Second: unslowed},
		},
		"little left: spread over what remains of the window": {
			// 27 left, minus a burst of 7 kept back: 20 over 10 seconds,
			// then the configured pace again (ten in the next second).
			answers:    []http.Header{rateHeaders(1200, 27, reset, t0)},
			wantBefore: map[time.Duration]int{5 * time.Second: 10, 10 * time.Second: 20, 11 * time.Second: 30},
		},
		"nothing left: wait for the reset": {
			answers:    []http.Header{rateHeaders(1200, 5, reset, t0)},
			wantBefore: map[time.Duration]int{10 * time.Second: 0, 10*time.Second + 1: 1},
		},
		"Okta's limit below the configured rate becomes the rate": {
			answers:    []http.Header{rateHeaders(60, 59, t0.Add(time.Minute), t0)},
			wantBefore: map[time.Duration]int{10 * time.Second: 10},
		},
		"Okta's limit above the configured rate does not raise it": {
			answers:    []http.Header{rateHeaders(6000, 5990, reset, t0)},
			wantBefore: map[time.Duration]int{10 * time.Second: unslowed},
		},
		"the reset is read against Okta's clock": {
			// Okta's clock is 20s ahead of the operator's: its reset, 10s
			// away by its clock, is 10s away, not 30s.
			answers:    []http.Header{rateHeaders(1200, 5, t0.Add(30*time.Second), t0.Add(20*time.Second))},
			wantBefore: map[time.Duration]int{10 * time.Second: 0, 10*time.Second + 1: 1},
		},
		"an answer from an earlier window changes nothing": {
			answers: []http.Header{rateHeaders(1200, 27, reset, t0),
				rateHeaders(1200, 1100, reset.Add(-time.Minute), t0.Add(-time.Minute))},
			wantBefore: map[time.Duration]int{10 * time.Second: 20},
		},
		"within a window the least remaining counts": {
			answers:    []http.Header{rateHeaders(1200, 27, reset, t0), rateHeaders(1200, 500, reset, t0)},
			wantBefore: map[time.Duration]int{10 * time.Second: 20},
		},
		"a reset beyond a minute is not believed": {
			answers:    []http.Header{rateHeaders(1200, 0, t0.Add(time.Hour), t0)},
			wantBefore: map[time.Duration]int{maxWindow: 0, maxWindow + 1: 1},
		},
		"an answer without rate-limit headers changes nothing": {
			answers:    []http.Header{{"Date": []string{t0.Format(http.TimeFormat)}}},
			wantBefore: map[time.Duration]int{10 * time.Second: unslowed},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			b, clk, _ := newTestBudget(perMinute)
			for _, h := range tc.answers {
				b.Observe(org, http.StatusOK, h)
			}
			s := simulate(b, clk, org, requests("token", 300, Expiring, 0)...)
			s.run(t, t0.Add(2*time.Minute))
			for offset, want := range tc.wantBefore {
				g.Expect(s.countBefore(t0.Add(offset))).To(Equal(want), "granted before t0+%s", offset)
			}
		})
	}
}

func TestPauseAfter429(t *testing.T) {
	tests := map[string]struct {
		headers   http.Header
		wantPause time.Duration
	}{
		"until Okta's reset":                   {headers: rateHeaders(600, 0, t0.Add(30*time.Second), t0), wantPause: 30 * time.Second},
		"by Okta's clock":                      {headers: rateHeaders(600, 0, t0.Add(45*time.Second), t0.Add(15*time.Second)), wantPause: 30 * time.Second},
		"at least a second":                    {headers: rateHeaders(600, 0, t0.Add(-5*time.Second), t0), wantPause: time.Second},
		"a minute when Okta says nothing more": {headers: http.Header{}, wantPause: time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			b, clk, rec := newTestBudget(600)
			// A spent burst, and 20 reservations behind it.
			queued := requests("queued", 27, Early, 0)
			s := simulate(b, clk, org, queued...)
			s.run(t, t0)
			g.Expect(s.grants).To(HaveLen(burst(600)))

			b.Observe(org, http.StatusTooManyRequests, tc.headers)
			resume := t0.Add(tc.wantPause)
			g.Expect(rec.rateLimited[org]).To(Equal(1))
			g.Expect(rec.pace[org]).To(BeZero(), "the pace metric says the org is paused")

			late := queued[burst(600):]
			after := make([]time.Time, 0, len(late))
			for _, r := range late {
				at, ok := b.Take(org, r.key, Early)
				g.Expect(ok).To(BeFalse())
				g.Expect(at).To(BeTemporally(">=", resume), "every reservation moves after the reset")
				after = append(after, at)
			}
			for i := 1; i < len(after); i++ {
				g.Expect(after[i]).To(BeTemporally(">", after[i-1]), "in the order they had")
			}
			at, ok := b.Take(org, "newcomer", Person)
			g.Expect(ok).To(BeFalse(), "even a person waits for the reset")
			g.Expect(at).To(Equal(resume))
			s.add(at, request{key: "newcomer", prio: Person}, 1)

			s.run(t, resume.Add(5*time.Second))
			g.Expect(s.order()[burst(600)]).To(Equal("newcomer"))
			g.Expect(s.countBefore(resume)).To(Equal(burst(600)), "nothing was granted while paused")
			g.Expect(s.countBefore(resume.Add(1))).To(Equal(burst(600)+1), "one request at the reset, not a burst")
		})
	}
}

func TestUntilReset(t *testing.T) {
	reset := t0.Add(20 * time.Second)
	tests := map[string]struct {
		date string
		now  time.Time
		want time.Duration
	}{
		"Okta's clock and ours agree":         {date: t0.Format(http.TimeFormat), now: t0, want: 20 * time.Second},
		"ours is behind Okta's":               {date: t0.Format(http.TimeFormat), now: t0.Add(-time.Hour), want: 20 * time.Second},
		"no Date: ours":                       {now: t0.Add(5 * time.Second), want: 15 * time.Second},
		"a Date that makes no sense: ours":    {date: t0.Add(-time.Hour).Format(http.TimeFormat), now: t0, want: 20 * time.Second},
		"neither clock believes it: a minute": {date: t0.Add(-time.Hour).Format(http.TimeFormat), now: t0.Add(-time.Hour), want: maxWindow},
		"already passed by both":              {date: t0.Add(time.Hour).Format(http.TimeFormat), now: t0.Add(time.Hour), want: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(untilReset(reset.Unix(), tc.date, tc.now)).To(Equal(tc.want))
		})
	}
}

func TestSpendsBudget(t *testing.T) {
	tests := map[string]struct {
		method, path string
		want         bool
	}{
		"org token":                   {method: http.MethodPost, path: "/oauth2/v1/token", want: true},
		"org revoke":                  {method: http.MethodPost, path: "/oauth2/v1/revoke", want: true},
		"custom token":                {method: http.MethodPost, path: "/oauth2/default/v1/token", want: true},
		"custom revoke":               {method: http.MethodPost, path: "/oauth2/aus1a2b3c4/v1/revoke", want: true},
		"introspect":                  {method: http.MethodPost, path: "/oauth2/v1/introspect"},
		"keys":                        {method: http.MethodGet, path: "/oauth2/v1/keys"},
		"metadata":                    {method: http.MethodGet, path: "/.well-known/openid-configuration"},
		"a GET of the token endpoint": {method: http.MethodGet, path: "/oauth2/v1/token"},
		"the System Log":              {method: http.MethodGet, path: "/api/v1/logs"},
		"something else's token":      {method: http.MethodPost, path: "/api/v1/token"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &http.Request{Method: tc.method, URL: &url.URL{Scheme: "https", Host: org, Path: tc.path}}
			NewWithT(t).Expect(spendsBudget(r)).To(Equal(tc.want))
		})
	}
}

func TestOrg(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"an org":                          {in: "https://dev-123456.okta.com", want: "dev-123456.okta.com"},
		"its custom authorization server": {in: "https://dev-123456.okta.com/oauth2/default", want: "dev-123456.okta.com"},
		"a token endpoint":                {in: "https://Dev-123456.OKTA.com:443/oauth2/v1/token", want: "dev-123456.okta.com"},
		"a port of its own":               {in: "http://127.0.0.1:8443", want: "127.0.0.1:8443"},
		"http's default port":             {in: "http://localhost:80/oauth2/v1/token", want: "localhost"},
		"not a URL":                       {in: "Dev-123456.okta.com", want: "dev-123456.okta.com"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(Org(tc.in)).To(Equal(tc.want))
		})
	}
}
