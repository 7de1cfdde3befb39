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

// What Okta answers adjusts the pace: its X-Rate-Limit-* headers and its
// 429s. The headers are Okta's, so the reset is read against Okta's clock
// (the Date header) and bounded by what a window can be.

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The rate-limit headers Okta sends with every answer of a rate-limited
// endpoint.
const (
	HeaderLimit     = "X-Rate-Limit-Limit"
	HeaderRemaining = "X-Rate-Limit-Remaining"
	HeaderReset     = "X-Rate-Limit-Reset"
)

const (
	// maxWindow is the furthest a reset can be: Okta's windows are a minute,
	// and the Date header is truncated to the second.
	maxWindow = time.Minute + time.Second
	// minPause is the least a 429 pauses an org, even when its reset has
	// passed by the time the answer is read: Okta has just said no.
	minPause = time.Second
	// defaultPause is a 429's pause when it says nothing of its reset.
	defaultPause = time.Minute
)

// Observe adjusts org's pace from one answer of its token or revocation
// endpoint: status is the HTTP status and h the response's headers.
// Observer calls it for every such answer; call it directly only for
// answers that did not pass through an Observer.
func (b *Budget) Observe(org string, status int, h http.Header) {
	limit, hasLimit := headerInt(h, HeaderLimit)
	remaining, hasRemaining := headerInt(h, HeaderRemaining)
	reset, hasReset := headerInt(h, HeaderReset)
	if !hasLimit && !hasRemaining && !hasReset && status != http.StatusTooManyRequests {
		return
	}
	now := b.clock.Now()
	o := b.org(org)
	o.mu.Lock()
	defer o.mu.Unlock()
	var resetAt time.Time
	if hasReset {
		resetAt = now.Add(untilReset(int64(reset), h.Get("Date"), now))
	}
	if hasLimit && limit > 0 {
		o.limit = limit
	}
	if hasRemaining {
		o.recorder.Remaining(o.name, remaining)
		if hasReset {
			o.spread(now, int64(reset), resetAt, remaining)
		}
	}
	if status == http.StatusTooManyRequests {
		o.recorder.RateLimited(o.name)
		until := now.Add(defaultPause)
		if hasReset {
			until = later(resetAt, now.Add(minPause))
		}
		o.pause(now, until)
	}
	interval, _ := o.pace(now)
	if now.Before(o.pausedUntil) {
		o.recorder.Pace(o.name, 0)
	} else {
		o.recorder.Pace(o.name, float64(time.Minute)/float64(interval))
	}
}

// spread paces the org so that what is left of Okta's window lasts until
// its reset. Answers can arrive out of order: within a window the least
// Remaining is the truth, and an answer from an earlier window is stale.
func (o *orgBudget) spread(now time.Time, reset int64, resetAt time.Time, remaining int) {
	switch {
	case reset > o.windowReset:
		o.windowReset, o.windowRemaining = reset, remaining
	case reset == o.windowReset:
		o.windowRemaining = min(o.windowRemaining, remaining)
	default:
		return
	}
	base, burst := o.basePace()
	// Requests on their way are already spent from the window, and so may
	// be a burst granted just now and not yet sent.
	usable := o.windowRemaining - o.inFlight - burst
	if usable <= 0 {
		o.pause(now, resetAt)
		return
	}
	if spread := resetAt.Sub(now) / time.Duration(usable); spread > base {
		o.slowInterval, o.slowUntil = spread, resetAt
	} else {
		o.slowInterval, o.slowUntil = 0, time.Time{}
	}
}

// untilReset is how long until Okta's reset, a Unix time in seconds. It is
// measured against Okta's clock (the Date header) when that gives a
// plausible window, else against ours; a reset neither clock puts within a
// window is taken to be a window away at most.
func untilReset(reset int64, date string, now time.Time) time.Duration {
	resetTime := time.Unix(reset, 0)
	oktaNow, err := http.ParseTime(date)
	if err == nil {
		if d := resetTime.Sub(oktaNow); d >= 0 && d <= maxWindow {
			return d
		}
	}
	if d := resetTime.Sub(now); d >= 0 && d <= maxWindow {
		return d
	}
	if err != nil {
		oktaNow = now
	}
	return min(max(resetTime.Sub(oktaNow), 0), maxWindow)
}

func headerInt(h http.Header, name string) (int, bool) {
	v := h.Get(name)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// sending counts a request on its way to org until the returned func is
// called.
func (b *Budget) sending(org string) (answered func()) {
	o := b.org(org)
	o.mu.Lock()
	o.inFlight++
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		o.inFlight--
		o.mu.Unlock()
	}
}

// Observer is an http.RoundTripper that shows the Budget every answer of an
// org's token and revocation endpoints, so that the code sending requests
// need not: wrap the transport of every client that talks to Okta (the
// reconciler's and the callback's) with one Observer on the same Budget.
// It only observes; the caller takes a slot (Take or Wait) before sending.
type Observer struct {
	// Next sends the request; default http.DefaultTransport.
	Next http.RoundTripper
	// Budget is shown the answers; nil observes nothing.
	Budget *Budget
}

// RoundTrip sends r and, for a token or revocation request, shows the
// Budget the answer.
func (o *Observer) RoundTrip(r *http.Request) (*http.Response, error) {
	next := o.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if o.Budget == nil || !spendsBudget(r) {
		return next.RoundTrip(r)
	}
	org := Org(r.URL.String())
	answered := o.Budget.sending(org)
	resp, err := next.RoundTrip(r)
	answered()
	if err != nil {
		return nil, err
	}
	o.Budget.Observe(org, resp.StatusCode, resp.Header)
	return resp, nil
}

// spendsBudget says whether r goes to a token or revocation endpoint of an
// Okta authorization server: /oauth2/v1/{token,revoke} (the org's) or
// /oauth2/{id}/v1/{token,revoke} (a custom one's).
func spendsBudget(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	n := len(parts)
	if n < 3 || n > 4 || parts[0] != "oauth2" || parts[n-2] != "v1" {
		return false
	}
	return parts[n-1] == "token" || parts[n-1] == "revoke"
}
