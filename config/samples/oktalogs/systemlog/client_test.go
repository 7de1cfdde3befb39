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
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// collect is a handler that keeps every event it is given.
func collect(events *[]Event) func(Event) error {
	return func(e Event) error {
		*events = append(*events, e)
		return nil
	}
}

// checkEveryEventOnce fails unless events are the dev server's whole
// System Log: each event once, oldest first.
func checkEveryEventOnce(t *testing.T, events []Event) {
	t.Helper()
	if len(events) != syntheticEvents {
		t.Fatalf("read %d events, want the dev server's %d", len(events), syntheticEvents)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if e.UUID == "" || e.EventType == "" || e.Published.IsZero() || len(e.Raw) == 0 {
			t.Errorf("event %d is incomplete: %s", i, e.Summary())
		}
		if seen[e.UUID] {
			t.Errorf("event %s read twice", e.UUID)
		}
		seen[e.UUID] = true
		if i > 0 && e.Published.Before(events[i-1].Published) {
			t.Errorf("event %d is older than event %d", i, i-1)
		}
	}
}

// TestSystemLogEachFollowsEveryPageAndStops reads the dev server's System Log
// the ways Okta documents and checks that the reader follows every next link
// and stops where Okta's paging ends: a polling query at its first empty page
// (its next links never run out), a bounded query at the page without a next
// link, without the extra request.
func TestSystemLogEachFollowsEveryPageAndStops(t *testing.T) {
	okta := startDevOkta(t, oktadev.Config{})
	vol := newSecretVolume(t, tokenData(okta.issueToken(t)))
	now := okta.clock.Now()

	cases := map[string]struct {
		query Query
		// wantPages are the events per answer, the last one included.
		wantPages []int
	}{
		"polling, pages of 10":  {query: Query{Limit: 10}, wantPages: []int{10, 10, 5, 0}},
		"polling, one page":     {query: Query{}, wantPages: []int{25, 0}},
		"polling from a week":   {query: Query{Since: now.Add(-7 * 24 * time.Hour), Limit: 25}, wantPages: []int{25, 0}},
		"bounded, pages of 10":  {query: Query{Since: now.Add(-48 * time.Hour), Until: now, Limit: 10}, wantPages: []int{10, 10, 5}},
		"bounded, last is full": {query: Query{Since: now.Add(-48 * time.Hour), Until: now, Limit: 5}, wantPages: []int{5, 5, 5, 5, 5}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reader, rec, _ := okta.reader(t, vol.dir)
			var events []Event
			if err := reader.Each(testContext(t), tc.query, collect(&events)); err != nil {
				t.Fatalf("Each: %v", err)
			}
			checkEveryEventOnce(t, events)
			all := rec.all()
			pages := make([]int, 0, len(all))
			for _, x := range all {
				if x.status != http.StatusOK {
					t.Fatalf("%s answered %d", x.url, x.status)
				}
				pages = append(pages, x.events)
			}
			if !slices.Equal(pages, tc.wantPages) {
				t.Errorf("events per answer %v, want %v", pages, tc.wantPages)
			}
			// Each request after the first is the previous answer's next link.
			for i := 1; i < len(all); i++ {
				if want := nextLink(all[i-1].header); all[i].url != want {
					t.Errorf("request %d went to %s, want the next link %s", i+1, all[i].url, want)
				}
			}
			if last := all[len(all)-1]; tc.query.Until.IsZero() != (nextLink(last.header) != "") {
				t.Errorf("last answer's next link %q: a polling query always has one, a bounded query's last page none",
					nextLink(last.header))
			}
		})
	}
}

// TestSystemLogPicksUpARotatedToken is a rotation as a pod sees it: the
// reader uses token A from the mounted Secret; the operator rotates and the
// old token stops working; the kubelet swaps the new version into the
// volume; the same reader, never restarted, reads with token B.
func TestSystemLogPicksUpARotatedToken(t *testing.T) {
	okta := startDevOkta(t, oktadev.Config{})
	tokenA := okta.issueToken(t)
	vol := newSecretVolume(t, tokenData(tokenA))
	reader, rec, logs := okta.reader(t, vol.dir)

	var before []Event
	if err := reader.Each(testContext(t), Query{Limit: 10}, collect(&before)); err != nil {
		t.Fatalf("reading with token A: %v", err)
	}
	checkEveryEventOnce(t, before)

	tokenB := okta.issueToken(t)
	okta.revoke(t, tokenA)
	if status := okta.statusWith(t, tokenA); status != http.StatusUnauthorized {
		t.Fatalf("token A still answers %d after its revocation; the test would prove nothing", status)
	}
	vol.update(tokenData(tokenB))

	firstAfter := len(rec.all())
	var after []Event
	if err := reader.Each(testContext(t), Query{Limit: 10}, collect(&after)); err != nil {
		t.Fatalf("reading after the rotation: %v", err)
	}
	checkEveryEventOnce(t, after)
	for i, x := range rec.all() {
		want := "Bearer " + tokenA
		if i >= firstAfter {
			want = "Bearer " + tokenB
		}
		if x.authorization != want {
			t.Errorf("request %d did not carry the token the volume held then", i+1)
		}
		if x.status != http.StatusOK {
			t.Errorf("request %d answered %d: the rotated token was not used at once", i+1, x.status)
		}
	}
	for _, secret := range []string{tokenA, tokenB} {
		if strings.Contains(logs.String(), secret) {
			t.Error("the reader logged a token")
		}
	}
}

// TestSystemLogRetriesA401Once covers a rotation between reading the token
// and using it: the request carries the old, revoked token, Okta answers 401,
// and the reader reads the file again and retries once with the new token. A
// 401 for a token that did not change is not retried.
func TestSystemLogRetriesA401Once(t *testing.T) {
	cases := map[string]struct {
		rotate       bool
		wantStatuses []int
		wantErr      string
	}{
		"rotated between read and request": {rotate: true, wantStatuses: []int{401, 200, 200}},
		"token file unchanged":             {rotate: false, wantStatuses: []int{401}, wantErr: "Okta answered 401 E0000011"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			okta := startDevOkta(t, oktadev.Config{})
			tokenA, tokenB := okta.issueToken(t), okta.issueToken(t)
			okta.revoke(t, tokenA)
			vol := newSecretVolume(t, tokenData(tokenA))
			reader, rec, logs := okta.reader(t, vol.dir)
			if tc.rotate {
				// The kubelet swaps the volume after the reader read token
				// A, right before the request leaves.
				rec.beforeFirst = func() { vol.update(tokenData(tokenB)) }
			}

			var events []Event
			err := reader.Each(testContext(t), Query{}, collect(&events))
			if got := rec.statuses(); !slices.Equal(got, tc.wantStatuses) {
				t.Errorf("statuses %v, want %v", got, tc.wantStatuses)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Each: %v", err)
				}
				checkEveryEventOnce(t, events)
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), tc.wantErr) || apiErr.Authenticate != "invalid_token" {
				t.Fatalf("error %v, want an APIError with %q and invalid_token", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), tokenA) || strings.Contains(logs.String(), tokenA) {
				t.Error("the token reached an error or a log line")
			}
		})
	}
}

// TestSystemLogWaitsForTheRateLimitReset spends the System Log's rate limit
// before the reader starts: its first request gets a 429, and it sends
// nothing more until the window's X-Rate-Limit-Reset has passed on its clock.
func TestSystemLogWaitsForTheRateLimitReset(t *testing.T) {
	const perMinute = 3
	okta := startDevOkta(t, oktadev.Config{RateLimitPerMinute: perMinute})
	token := okta.issueToken(t)
	for range perMinute {
		okta.statusWith(t, token)
	}
	if status := okta.statusWith(t, token); status != http.StatusTooManyRequests {
		t.Fatalf("the rate limit is not spent (status %d); the test would prove nothing", status)
	}
	vol := newSecretVolume(t, tokenData(token))
	reader, rec, logs := okta.reader(t, vol.dir)

	var events []Event
	waited, err := driveClock(t, okta.clock, func() error { return reader.Each(testContext(t), Query{}, collect(&events)) })
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	checkEveryEventOnce(t, events)
	all := rec.all()
	if got := rec.statuses(); len(got) < 2 || got[0] != http.StatusTooManyRequests || slices.Contains(got[1:], http.StatusTooManyRequests) {
		t.Fatalf("statuses %v, want one 429 and then only answers", got)
	}
	reset, err := strconv.ParseInt(all[0].header.Get("X-Rate-Limit-Reset"), 10, 64)
	if err != nil {
		t.Fatalf("the 429 has no X-Rate-Limit-Reset: %v", err)
	}
	if retry := all[1].at; retry.Before(time.Unix(reset, 0)) {
		t.Errorf("retried at %s, before the reset at %s", retry.UTC(), time.Unix(reset, 0).UTC())
	}
	if waited <= 0 || !strings.Contains(logs.String(), "rate limited") {
		t.Errorf("the reader did not wait on its clock (%s) or did not say why:\n%s", waited, logs)
	}
}

// TestSystemLogSlowsDownBeforeTheLimit reads with more requests than the
// window allows: the reader spreads its last requests over the window and
// waits for the reset instead of running into a 429.
func TestSystemLogSlowsDownBeforeTheLimit(t *testing.T) {
	const perMinute = 20
	okta := startDevOkta(t, oktadev.Config{RateLimitPerMinute: perMinute})
	vol := newSecretVolume(t, tokenData(okta.issueToken(t)))
	reader, rec, _ := okta.reader(t, vol.dir)

	var events []Event
	// One event per page: 26 requests, more than one window's 20.
	waited, err := driveClock(t, okta.clock, func() error {
		return reader.Each(testContext(t), Query{Limit: 1}, collect(&events))
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	checkEveryEventOnce(t, events)
	if got := rec.statuses(); len(got) != syntheticEvents+1 || slices.Contains(got, http.StatusTooManyRequests) {
		t.Errorf("statuses %v: want %d answers and no 429", got, syntheticEvents+1)
	}
	if waited <= 0 {
		t.Error("the reader never waited, yet it did not run into the limit: the test proves nothing")
	}
}

// TestSystemLogFollow polls like the sample Deployment: it catches up, waits
// the poll interval and asks the last next link again; a refused token is
// logged and retried at the next interval, and the rotated token brings the
// reader back, all without a restart.
func TestSystemLogFollow(t *testing.T) {
	g := NewWithT(t)
	const interval = 30 * time.Second
	okta := startDevOkta(t, oktadev.Config{})
	tokenA := okta.issueToken(t)
	vol := newSecretVolume(t, tokenData(tokenA))
	reader, rec, logs := okta.reader(t, vol.dir)

	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	events := make(chan Event, 100)
	done := make(chan error, 1)
	go func() {
		done <- reader.Follow(ctx, Query{Limit: 10}, interval, func(e Event) error {
			events <- e
			return nil
		})
	}()
	caughtUp := func() int {
		g.Eventually(okta.clock.HasWaiters).Should(BeTrue(), "the reader waits for the poll interval once caught up")
		return len(rec.all())
	}

	requests := caughtUp()
	g.Expect(rec.statuses()).To(Equal([]int{200, 200, 200, 200}), "three pages and the empty one")
	g.Expect(events).To(HaveLen(syntheticEvents))
	cursor := rec.all()[requests-1].url

	okta.clock.Step(interval)
	caughtUp()
	g.Expect(rec.all()).To(HaveLen(5), "one request per interval while there is nothing new")
	g.Expect(rec.all()[4].url).To(Equal(cursor), "the poll asks the same next link again")

	// The token is revoked and the volume not yet updated: the poll fails,
	// the reader says so and keeps polling.
	okta.revoke(t, tokenA)
	okta.clock.Step(interval)
	requests = caughtUp()
	g.Expect(rec.statuses()[requests-1]).To(Equal(http.StatusUnauthorized))
	g.Expect(logs.String()).To(ContainSubstring("retrying after the poll interval"))

	tokenB := okta.issueToken(t)
	vol.update(tokenData(tokenB))
	okta.clock.Step(interval)
	requests = caughtUp()
	last := rec.all()[requests-1]
	g.Expect(last.status).To(Equal(http.StatusOK))
	g.Expect(last.authorization).To(Equal("Bearer "+tokenB), "the rotated token, read from the same path")
	g.Expect(last.url).To(Equal(cursor), "the failed polls did not lose the place")
	g.Expect(events).To(HaveLen(syntheticEvents), "no event twice")

	cancel()
	g.Eventually(done).Should(Receive(MatchError(context.Canceled)))
	g.Expect(logs.String()).NotTo(Or(ContainSubstring(tokenA), ContainSubstring(tokenB)))
}
