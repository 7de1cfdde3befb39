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

package oktadev

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// rateLimiter counts requests per endpoint in one-minute windows, the way
// Okta's rate limits are reported: a limit per endpoint per minute, with the
// headers X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset
// (the Unix time, in seconds, when the window ends) on every response.
type rateLimiter struct {
	clock clock.PassiveClock
	limit int

	mu      sync.Mutex
	windows map[string]*rateWindow
}

type rateWindow struct {
	reset time.Time
	used  int
}

func newRateLimiter(c clock.PassiveClock, limit int) *rateLimiter {
	return &rateLimiter{clock: c, limit: limit, windows: map[string]*rateWindow{}}
}

// take counts one request against bucket. It reports what is left of the
// window, when the window ends, and whether the request is within the limit.
func (l *rateLimiter) take(bucket string) (remaining int, reset time.Time, allowed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	w, ok := l.windows[bucket]
	if !ok || !now.Before(w.reset) {
		// Windows are aligned to the minute, so every endpoint resets at the
		// same moment, as Okta's do.
		w = &rateWindow{reset: now.Truncate(time.Minute).Add(time.Minute)}
		l.windows[bucket] = w
	}
	if w.used >= l.limit {
		return 0, w.reset, false
	}
	w.used++
	return l.limit - w.used, w.reset, true
}

func setRateLimitHeaders(h http.Header, limit, remaining int, reset time.Time) {
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
}

// writeRateLimited is Okta's answer to a request over the limit.
func writeRateLimited(w http.ResponseWriter, limit int, reset time.Time) {
	setRateLimitHeaders(w.Header(), limit, 0, reset)
	writeAPIError(w, http.StatusTooManyRequests, errorRateLimited, summaryRateLimited)
}

// rateLimited applies the per-endpoint limit and sets the rate-limit headers.
func (s *Server) rateLimited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remaining, reset, allowed := s.limiter.take(r.URL.Path)
		if !allowed {
			setLogError(r.Context(), "rate_limited")
			writeRateLimited(w, s.limiter.limit, reset)
			return
		}
		setRateLimitHeaders(w.Header(), s.limiter.limit, remaining, reset)
		next.ServeHTTP(w, r)
	})
}
