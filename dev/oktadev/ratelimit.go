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
	"errors"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// RateLimits are a server's per-minute request limits. Like Okta's, they
// belong to the org: every client shares them.
type RateLimits struct {
	// PerMinute is how many requests each endpoint other than a token
	// endpoint answers per minute before it answers 429.
	PerMinute int `json:"perMinute"`
	// TokenPerMinute is the same for the token endpoints: one bucket for
	// /oauth2/v1/token and one that every custom authorization server's
	// /oauth2/{id}/v1/token shares, as at Okta.
	TokenPerMinute int `json:"tokenPerMinute"`
}

func (l RateLimits) validate() error {
	if l.PerMinute < 0 || l.TokenPerMinute < 0 {
		return errors.New("rate limits must not be negative")
	}
	return nil
}

// rateLimiter counts requests per endpoint in one-minute windows, the way
// Okta's rate limits are reported: a limit per endpoint per minute, with the
// headers X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset
// (the Unix time, in seconds, when the window ends) on every response.
//
// It also counts the 429s the server answers, so that a benchmark can tell
// exactly how often a client ran into the limit.
type rateLimiter struct {
	clock clock.PassiveClock

	mu      sync.Mutex
	limits  RateLimits
	windows map[string]*rateWindow
	// refused counts 429 answers per bucket.
	refused      map[string]int
	refusedTotal int
}

type rateWindow struct {
	reset time.Time
	used  int
}

func newRateLimiter(c clock.PassiveClock, limits RateLimits) *rateLimiter {
	return &rateLimiter{clock: c, limits: limits, windows: map[string]*rateWindow{}, refused: map[string]int{}}
}

// limitOf is the limit of a bucket; the caller holds mu.
func (l *rateLimiter) limitOf(tokenEndpoint bool) int {
	if tokenEndpoint {
		return l.limits.TokenPerMinute
	}
	return l.limits.PerMinute
}

// take counts one request against bucket. It reports the bucket's limit,
// what is left of the window, when the window ends, and whether the request
// is within the limit. A refused request counts as a 429 served.
func (l *rateLimiter) take(bucket string, tokenEndpoint bool) (limit, remaining int, reset time.Time, allowed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit = l.limitOf(tokenEndpoint)
	now := l.clock.Now()
	w, ok := l.windows[bucket]
	if !ok || !now.Before(w.reset) {
		// Windows are aligned to the minute, so every endpoint resets at the
		// same moment, as Okta's do.
		w = &rateWindow{reset: now.Truncate(time.Minute).Add(time.Minute)}
		l.windows[bucket] = w
	}
	if w.used >= limit {
		l.refused[bucket]++
		l.refusedTotal++
		return limit, 0, w.reset, false
	}
	w.used++
	return limit, limit - w.used, w.reset, true
}

// countRefusal records a 429 answered for another reason than the limit (an
// injected fault).
func (l *rateLimiter) countRefusal(bucket string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused[bucket]++
	l.refusedTotal++
}

func (l *rateLimiter) get() RateLimits {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limits
}

func (l *rateLimiter) refusals() (int, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusedTotal, maps.Clone(l.refused)
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

// rateLimited applies bucket's limit and sets the rate-limit headers. bucket
// names the endpoint as Okta's rate-limit dashboard does: a path, with
// {authorizationServerId} for the endpoints every custom authorization server
// shares.
func (s *Server) rateLimited(bucket string, next http.Handler) http.Handler {
	return s.limitedBy(bucket, false, next)
}

// tokenRateLimited is rateLimited with the token endpoints' limit.
func (s *Server) tokenRateLimited(bucket string, next http.Handler) http.Handler {
	return s.limitedBy(bucket, true, next)
}

func (s *Server) limitedBy(bucket string, tokenEndpoint bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, remaining, reset, allowed := s.limiter.take(bucket, tokenEndpoint)
		if !allowed {
			setLogError(r.Context(), "rate_limited")
			writeRateLimited(w, limit, reset)
			return
		}
		setRateLimitHeaders(w.Header(), limit, remaining, reset)
		next.ServeHTTP(w, r)
	})
}

// RateLimits returns the limits in force.
func (s *Server) RateLimits() RateLimits { return s.limiter.get() }

// RateLimitedResponses counts the 429 answers the server has served, whether
// a rate limit or an injected fault caused them.
func (s *Server) RateLimitedResponses() int {
	total, _ := s.limiter.refusals()
	return total
}

// RateLimitedResponsesByEndpoint is RateLimitedResponses per rate-limit
// bucket, for example "/oauth2/v1/token" or
// "/oauth2/{authorizationServerId}/v1/token".
func (s *Server) RateLimitedResponsesByEndpoint() map[string]int {
	_, byEndpoint := s.limiter.refusals()
	return byEndpoint
}
