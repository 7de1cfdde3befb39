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
	"testing"
	"time"
)

func rateHeader(limit, remaining int, reset, date time.Time) http.Header {
	h := http.Header{}
	h.Set(headerRateLimit, strconv.Itoa(limit))
	h.Set(headerRateRemaining, strconv.Itoa(remaining))
	h.Set(headerRateReset, strconv.FormatInt(reset.Unix(), 10))
	if !date.IsZero() {
		h.Set("Date", date.UTC().Format(http.TimeFormat))
	}
	return h
}

func TestSystemLogRateBudgetDelay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 20, 0, time.UTC)
	reset := time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC) // 40s from now
	cases := map[string]struct {
		header http.Header
		want   time.Duration
	}{
		"plenty left":                      {header: rateHeader(600, 450, reset, now), want: 0},
		"exactly a tenth left":             {header: rateHeader(100, 10, reset, now), want: 0},
		"under a tenth: spread the rest":   {header: rateHeader(100, 9, reset, now), want: 4 * time.Second},
		"one left: half the rest":          {header: rateHeader(20, 1, reset, now), want: 20 * time.Second},
		"none left: until the reset":       {header: rateHeader(20, 0, reset, now), want: 40 * time.Second},
		"window already over":              {header: rateHeader(20, 0, now.Add(-time.Second), now), want: 0},
		"reader's clock 10 minutes behind": {header: rateHeader(20, 0, reset.Add(10*time.Minute), now.Add(10*time.Minute)), want: 40 * time.Second},
		"reader's clock 10 minutes ahead":  {header: rateHeader(20, 0, reset.Add(-10*time.Minute), now.Add(-10*time.Minute)), want: 40 * time.Second},
		"no Date: the reader's clock":      {header: rateHeader(20, 0, reset, time.Time{}), want: 40 * time.Second},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b, ok := parseRateBudget(tc.header, now)
			if !ok {
				t.Fatal("headers not understood")
			}
			if got := b.delay(now); got != tc.want {
				t.Errorf("delay = %s, want %s", got, tc.want)
			}
		})
	}
	for name, h := range map[string]http.Header{
		"no headers":    {},
		"limit missing": {headerRateRemaining: {"1"}, headerRateReset: {"1700000000"}},
		"not a number":  {headerRateLimit: {"many"}, headerRateRemaining: {"1"}, headerRateReset: {"1700000000"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok := parseRateBudget(h, now); ok {
				t.Error("understood headers that are not Okta's")
			}
		})
	}
}

func TestSystemLogRetryAfterRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 20, 0, time.UTC)
	cases := map[string]struct {
		header http.Header
		want   time.Duration
	}{
		"until the reset":                 {header: rateHeader(600, 0, now.Add(25*time.Second), now), want: 25 * time.Second},
		"reset passed: a second at least": {header: rateHeader(600, 0, now.Add(-5*time.Second), now), want: minRateLimitWait},
		"no headers: a window":            {header: http.Header{}, want: unknownResetWait},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := retryAfterRateLimit(tc.header, now); got != tc.want {
				t.Errorf("retryAfterRateLimit = %s, want %s", got, tc.want)
			}
		})
	}
}
