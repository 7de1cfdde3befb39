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
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	env := newTestEnv(t, Config{RateLimitPerMinute: 3})
	reset := env.clock.Now().Truncate(time.Minute).Add(time.Minute).Unix()

	for i, wantRemaining := range []int{2, 1, 0} {
		resp, _ := env.getWithToken(env.url(pathKeys), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d", i+1, resp.StatusCode)
		}
		checkRateHeaders(t, resp.Header, 3, wantRemaining, reset)
	}

	resp, body := env.getWithToken(env.url(pathKeys), "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request over the limit: status %d", resp.StatusCode)
	}
	checkRateHeaders(t, resp.Header, 3, 0, reset)
	var apiErr map[string]any
	if err := json.Unmarshal(body, &apiErr); err != nil {
		t.Fatal(err)
	}
	if apiErr["errorCode"] != "E0000047" || apiErr["errorSummary"] != "API call exceeded rate limit due to too many requests." || apiErr["errorLink"] != "E0000047" {
		t.Errorf("429 body %s", body)
	}

	// Other endpoints have limits of their own.
	if resp, _ := env.getWithToken(env.url(pathLogs), ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another endpoint: status %d, want its own 401", resp.StatusCode)
	} else {
		checkRateHeaders(t, resp.Header, 3, 2, reset)
	}

	// The window resets at the next minute.
	env.clock.SetTime(time.Unix(reset, 0))
	resp, _ = env.getWithToken(env.url(pathKeys), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the reset: status %d", resp.StatusCode)
	}
	checkRateHeaders(t, resp.Header, 3, 2, reset+60)
}

func TestRateLimitCoversTheTokenEndpoint(t *testing.T) {
	env := newTestEnv(t, Config{RateLimitPerMinute: 1})
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Fatal(err)
	}
	_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
	re := retrieveError(t, err)
	if re.Response.StatusCode != http.StatusTooManyRequests || re.Response.Header.Get("X-Rate-Limit-Reset") == "" {
		t.Errorf("status %d, headers %v", re.Response.StatusCode, re.Response.Header)
	}
	if got := env.srv.TokenRequests(); got != 2 {
		t.Errorf("TokenRequests = %d, want 2 (rate-limited requests count)", got)
	}
}

func checkRateHeaders(t *testing.T, h http.Header, limit, remaining int, reset int64) {
	t.Helper()
	for name, want := range map[string]string{
		"X-Rate-Limit-Limit":     strconv.Itoa(limit),
		"X-Rate-Limit-Remaining": strconv.Itoa(remaining),
		"X-Rate-Limit-Reset":     strconv.FormatInt(reset, 10),
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
