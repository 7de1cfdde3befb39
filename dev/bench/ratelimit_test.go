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

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/clock"
)

// TestLimitedOrgWindow checks the scenario's set-up against a real dev
// server: the org's clock places its window, its Date header follows that
// clock (so that Reset − Date is what is left of the window, as at Okta),
// and the other applications spend what they are asked to, no more.
func TestLimitedOrgWindow(t *testing.T) {
	g := NewWithT(t)
	clk := &orgClock{Clock: clock.RealClock{}}
	o, err := startOrg(clock.RealClock{}, OrgConfig{Name: limitedOrg, TokenRateLimitPerMinute: 120, clock: clk}, "")
	g.Expect(err).NotTo(HaveOccurred())
	defer o.close()

	clk.endWindowIn(15 * time.Second)
	g.Expect(spendWindow(context.Background(), o, 100)).To(Succeed())
	resp, err := http.Post(o.issuer()+"/oauth2/v1/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()

	g.Expect(resp.Header.Get("X-Rate-Limit-Remaining")).To(Equal("19"), "120 − 100 spent − this one")
	reset, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	g.Expect(err).NotTo(HaveOccurred())
	date, err := http.ParseTime(resp.Header.Get("Date"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(time.Unix(reset, 0).Sub(date)).To(BeNumerically("~", 15*time.Second, 2*time.Second),
		"by the org's own clock, the window ends in 15s")
	g.Expect(date).To(BeTemporally("~", clk.Now(), 2*time.Second), "the Date header is the org's clock")
	g.Expect(o.srv.RateLimitedResponses()).To(BeZero())
	g.Expect(o.tokens.snapshot().Total).To(Equal(101))

	g.Expect(spendWindow(context.Background(), o, 30)).To(MatchError(ContainSubstring("ran into its limit")),
		"more than the window holds is refused")
}

func TestOrgClockPlacesTheWindow(t *testing.T) {
	for _, left := range []time.Duration{time.Second, 15 * time.Second, 45 * time.Second, time.Minute} {
		t.Run(left.String(), func(t *testing.T) {
			g := NewWithT(t)
			clk := &orgClock{Clock: clock.RealClock{}}
			before := clk.Now()
			clk.endWindowIn(left)
			now := clk.Now()
			g.Expect(now).To(BeTemporally(">=", before), "the org's clock never goes back")
			g.Expect(now.Truncate(time.Minute).Add(time.Minute).Sub(now)).To(BeNumerically("~", left, 100*time.Millisecond))
		})
	}
}

func TestRateLimitTable(t *testing.T) {
	g := NewWithT(t)
	res := &Result{N: 10000, RateLimit: &RateLimitResult{
		LimitPerMinute: 6000, Paced: true,
		LimitedTokens: 5000, LimitedElapsed: 55 * time.Second,
		LimitedRequests: TokenRequests{Total: 5000}, RateLimited: 0,
		UnlimitedTokens: 5000, UnlimitedAlone: 50 * time.Second, UnlimitedBeside: 52 * time.Second,
		Saturated: 1,
	}}
	out := Table(res)
	for l := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		g.Expect(strings.Count(l, "|")).To(Equal(6), "every row has five cells: %s", l)
	}
	g.Expect(out).To(ContainSubstring("| rate limit (issue 13): 5,000 + 5,000 tokens, one org limited to 6,000 token requests a minute; manager run with --okta-rate-limit=6000 | 429s from the limited org's token endpoint | 0 (of 5000 token requests) | 0 | yes |"))
	g.Expect(out).To(ContainSubstring("| time to all of the limited org's 5,000 tokens, from its first create | 55.0 s = 1.10× the 50.0 s its limit allows | ≤ 1.15× | yes |"))
	g.Expect(out).To(ContainSubstring("| the unlimited org's tokens/s, alone / beside the saturated org | 100 / 96 (-4%; the limited org saturated for 100% of it) | ≤ 10% slower | yes |"))
	g.Expect(res.Checks()).To(Equal([]Check{{Name: "429s from the rate-limited org", Got: 0, Max: 0}}))

	res.RateLimit.Paced = false
	res.RateLimit.RateLimited = 1200
	res.RateLimit.LimitedElapsed = 90 * time.Second
	res.RateLimit.UnlimitedBeside = 80 * time.Second
	res.RateLimit.OtherAppsRequests, res.RateLimit.WindowLeft = 3000, 30*time.Second
	out = Table(res)
	g.Expect(out).To(ContainSubstring("the manager has no --okta-rate-limit: unpaced"))
	g.Expect(out).To(ContainSubstring("| the limited org's window at the apply | 3000 requests spent by other applications, 30s left of it | — |  |"))
	g.Expect(out).To(ContainSubstring("| 1200 (of 5000 token requests) | 0 | **no** |"))
	g.Expect(out).To(ContainSubstring("1.80× the 50.0 s its limit allows | ≤ 1.15× | **no** |"))
	g.Expect(out).To(ContainSubstring("100 / 62 (-38%; the limited org saturated for 100% of it) | ≤ 10% slower | **no** |"))
	g.Expect(res.Checks()[0].Met()).To(BeFalse())
}

func TestLimitBound(t *testing.T) {
	tests := map[string]struct {
		res  RateLimitResult
		want time.Duration
	}{
		"tokens ÷ limit": {res: RateLimitResult{LimitPerMinute: 6000, LimitedTokens: 5000}, want: 50 * time.Second},
		"what the other applications left outlasts the window": {
			res:  RateLimitResult{LimitPerMinute: 6000, LimitedTokens: 5000, OtherAppsRequests: 3000, WindowLeft: 30 * time.Second},
			want: 50 * time.Second},
		"the rest waits for the reset": {
			// 20 of the window left for 15 s: those, then 10 at 4 a second.
			res:  RateLimitResult{LimitPerMinute: 240, LimitedTokens: 30, OtherAppsRequests: 220, WindowLeft: 15 * time.Second},
			want: 15*time.Second + 2500*time.Millisecond},
		"everything fits in what was left": {
			res:  RateLimitResult{LimitPerMinute: 240, LimitedTokens: 10, OtherAppsRequests: 220, WindowLeft: 15 * time.Second},
			want: 2500 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(tc.res.LimitBound()).To(Equal(tc.want))
		})
	}
}
