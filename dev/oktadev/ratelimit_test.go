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
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
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

func TestTokenRateLimitIsSetSeparately(t *testing.T) {
	env := newTestEnv(t, Config{RateLimitPerMinute: 5, TokenRateLimitPerMinute: 2})
	reset := env.clock.Now().Truncate(time.Minute).Add(time.Minute).Unix()
	for i, wantRemaining := range []int{1, 0} {
		status, _, header := env.postForm(pathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"},
			"client_assertion_type": {clientAssertionType}, "client_assertion": {env.rsaAssertion().sign(t)}}, "", "")
		if status != http.StatusOK {
			t.Fatalf("token request %d: status %d", i+1, status)
		}
		checkRateHeaders(t, header, 2, wantRemaining, reset)
	}
	_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
	if re := retrieveError(t, err); re.Response.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third token request: status %d, want 429", re.Response.StatusCode)
	} else {
		checkRateHeaders(t, re.Response.Header, 2, 0, reset)
	}
	// Other endpoints keep the general limit.
	resp, _ := env.getWithToken(env.url(pathKeys), "")
	checkRateHeaders(t, resp.Header, 5, 4, reset)

	if got := env.srv.RateLimitedResponses(); got != 1 {
		t.Errorf("RateLimitedResponses = %d, want 1", got)
	}
	if got := env.srv.RateLimitedResponsesByEndpoint(); !maps.Equal(got, map[string]int{pathToken: 1}) {
		t.Errorf("RateLimitedResponsesByEndpoint = %v", got)
	}
	if got := env.srv.RateLimits(); got != (RateLimits{PerMinute: 5, TokenPerMinute: 2}) {
		t.Errorf("RateLimits = %+v", got)
	}
}

// At Okta the org authorization server has a token-endpoint bucket of its
// own, and every custom authorization server shares another.
func TestCustomAuthorizationServersShareATokenBucket(t *testing.T) {
	env := newTestEnv(t, Config{TokenRateLimitPerMinute: 1})
	env.addSecretServiceClients()
	a := env.addAuthorizationServer("aus1bucketA000000000", "logs:read")
	b := env.addAuthorizationServer("aus1bucketB000000000", "logs:read")
	if _, err := env.secretClientCredentials(a+"/v1/token", testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, "logs:read"); err != nil {
		t.Fatalf("first request, at a: %v", err)
	}
	_, err := env.secretClientCredentials(b+"/v1/token", testSecretBasicClient, testServiceSecret, oauth2.AuthStyleInHeader, "logs:read")
	if re := retrieveError(t, err); re.Response.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second request, at b: status %d, want 429", re.Response.StatusCode)
	}
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("the org authorization server's bucket: %v", err)
	}
	want := map[string]int{"/oauth2/{authorizationServerId}/v1/token": 1}
	if got := env.srv.RateLimitedResponsesByEndpoint(); !maps.Equal(got, want) {
		t.Errorf("RateLimitedResponsesByEndpoint = %v, want %v", got, want)
	}
}

// The operator's benchmark counts 429s against the server's own count, so
// the count must be exact under concurrency.
func TestRateLimitedResponsesAreCountedExactly(t *testing.T) {
	const limit, workers, perWorker = 25, 8, 10
	env := newTestEnv(t, Config{TokenRateLimitPerMinute: limit})
	statuses := make(chan int, workers*perWorker)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				_, err := env.clientCredentials(env.ecAssertion().sign(t), testServiceEC, "okta.logs.read")
				if err == nil {
					statuses <- http.StatusOK
					continue
				}
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) {
					t.Errorf("token request: %v", err)
					return
				}
				statuses <- re.Response.StatusCode
			}
		})
	}
	wg.Wait()
	close(statuses)
	seen := map[int]int{}
	for status := range statuses {
		seen[status]++
	}
	if want := map[int]int{http.StatusOK: limit, http.StatusTooManyRequests: workers*perWorker - limit}; !maps.Equal(seen, want) {
		t.Fatalf("statuses %v, want %v", seen, want)
	}
	if got := env.srv.RateLimitedResponses(); got != seen[http.StatusTooManyRequests] {
		t.Errorf("RateLimitedResponses = %d, clients saw %d", got, seen[http.StatusTooManyRequests])
	}

	// An injected 429 is a 429 served too.
	env.clock.Step(time.Minute)
	env.srv.InjectFault(Fault{Status: http.StatusTooManyRequests})
	_, _ = env.clientCredentials(env.ecAssertion().sign(t), testServiceEC, "okta.logs.read")
	if got, want := env.srv.RateLimitedResponses(), seen[http.StatusTooManyRequests]+1; got != want {
		t.Errorf("after an injected 429: RateLimitedResponses = %d, want %d", got, want)
	}
}
