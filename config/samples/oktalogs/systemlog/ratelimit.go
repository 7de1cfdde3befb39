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
	"net/http"
	"strconv"
	"time"
)

// Okta's rate-limit headers, on every answer of the management API.
const (
	headerRateLimit     = "X-Rate-Limit-Limit"
	headerRateRemaining = "X-Rate-Limit-Remaining"
	headerRateReset     = "X-Rate-Limit-Reset"
)

const (
	// lowBudgetDivisor marks a budget as low when fewer than 1/lowBudgetDivisor
	// of the window's requests remain: from then on the requests are spread
	// over the rest of the window instead of being spent at once. Okta warns
	// an org's admins at 60% and other clients share the same limit, so a
	// reader that stops well short of zero leaves them room.
	lowBudgetDivisor = 10
	// minRateLimitWait is the least a 429 waits, so that a reset already in
	// the past (a clock that runs ahead) cannot make a tight retry loop.
	minRateLimitWait = time.Second
	// unknownResetWait is the wait after a 429 without a usable reset. Okta's
	// windows last a minute.
	unknownResetWait = time.Minute
)

// rateBudget is what the last answer said about the endpoint's rate limit.
type rateBudget struct {
	limit, remaining int
	// reset is when the window ends, on the reader's clock.
	reset time.Time
}

// parseRateBudget reads the rate-limit headers of an answer received at now.
// The reset is taken relative to the answer's Date header when it has one:
// X-Rate-Limit-Reset is Okta's clock, and the difference between the two
// Okta times is right however far the reader's clock is from Okta's.
func parseRateBudget(h http.Header, now time.Time) (rateBudget, bool) {
	limit, err1 := strconv.Atoi(h.Get(headerRateLimit))
	remaining, err2 := strconv.Atoi(h.Get(headerRateRemaining))
	resetUnix, err3 := strconv.ParseInt(h.Get(headerRateReset), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || limit <= 0 {
		return rateBudget{}, false
	}
	serverNow := now
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		serverNow = date
	}
	return rateBudget{
		limit:     limit,
		remaining: max(remaining, 0),
		reset:     now.Add(time.Unix(resetUnix, 0).Sub(serverNow)),
	}, true
}

// delay is how long to wait at now before the next request so that the
// budget lasts until the window resets: nothing while the budget is
// comfortable, the rest of the window once it is spent, and in between an
// equal share of the rest of the window per remaining request.
func (b rateBudget) delay(now time.Time) time.Duration {
	left := b.reset.Sub(now)
	switch {
	case b.limit == 0 || left <= 0:
		return 0
	case b.remaining == 0:
		return left
	case b.remaining*lowBudgetDivisor < b.limit:
		return left / time.Duration(b.remaining+1)
	}
	return 0
}

// retryAfterRateLimit is how long to wait after a 429 answered at now: until
// the window resets.
func retryAfterRateLimit(h http.Header, now time.Time) time.Duration {
	b, ok := parseRateBudget(h, now)
	if !ok {
		return unknownResetWait
	}
	return max(b.reset.Sub(now), minRateLimitWait)
}
