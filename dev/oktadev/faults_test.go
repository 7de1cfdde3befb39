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
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestFaultFailsTheNextRequests(t *testing.T) {
	cases := map[string]struct {
		status      int
		error, desc string
	}{
		"503": {status: 503, error: "temporarily_unavailable", desc: "The authorization server is temporarily unavailable. Try again later."},
		"500": {status: 500, error: "server_error", desc: "The authorization server encountered an unexpected condition that prevented it from fulfilling the request."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t, Config{})
			env.srv.InjectFault(Fault{Status: tc.status, Count: 2})
			for i := range 2 {
				_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
				re := retrieveError(t, err)
				if re.Response.StatusCode != tc.status {
					t.Fatalf("request %d: status %d, want %d", i+1, re.Response.StatusCode, tc.status)
				}
				if code, desc := oktaErrorBody(t, re.Body); code != tc.error || desc != tc.desc {
					t.Errorf("got %s %q", code, desc)
				}
			}
			if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
				t.Errorf("third request, after the fault: %v", err)
			}
			if got := env.srv.TokenRequests(); got != 3 {
				t.Errorf("TokenRequests = %d, want 3", got)
			}
		})
	}
}

func TestFault429CarriesTheReset(t *testing.T) {
	env := newTestEnv(t, Config{})
	reset := env.clock.Now().Add(42 * time.Second).Truncate(time.Second)
	env.srv.InjectFault(Fault{Status: http.StatusTooManyRequests, Reset: reset})

	_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
	re := retrieveError(t, err)
	if re.Response.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d", re.Response.StatusCode)
	}
	if got := re.Response.Header.Get("X-Rate-Limit-Reset"); got != strconv.FormatInt(reset.Unix(), 10) {
		t.Errorf("X-Rate-Limit-Reset = %q, want %d", got, reset.Unix())
	}
	if got := re.Response.Header.Get("X-Rate-Limit-Remaining"); got != "0" {
		t.Errorf("X-Rate-Limit-Remaining = %q, want 0", got)
	}
	var apiErr map[string]any
	if err := json.Unmarshal(re.Body, &apiErr); err != nil || apiErr["errorCode"] != "E0000047" {
		t.Errorf("body %s", re.Body)
	}
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("a fault without count or window affects one request only: %v", err)
	}
}

func TestFaultWindowEndsByTheClock(t *testing.T) {
	env := newTestEnv(t, Config{})
	env.srv.InjectFault(Fault{Status: 503, Until: env.clock.Now().Add(time.Minute)})
	for i := range 3 {
		_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
		if re := retrieveError(t, err); re.Response.StatusCode != 503 {
			t.Fatalf("request %d within the window: %d", i+1, re.Response.StatusCode)
		}
	}
	env.clock.Step(time.Minute)
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestFaultHang(t *testing.T) {
	env := newTestEnv(t, Config{})
	env.srv.InjectFault(Fault{Hang: time.Hour, Count: 1})

	ctx, cancel := context.WithTimeout(env.ctx(), 200*time.Millisecond)
	defer cancel()
	conf := clientcredentials.Config{
		ClientID: testServiceRSA, TokenURL: env.url(pathToken), Scopes: []string{"okta.logs.read"},
		EndpointParams: map[string][]string{"client_assertion_type": {clientAssertionType}, "client_assertion": {env.rsaAssertion().sign(t)}},
		AuthStyle:      oauth2.AuthStyleInParams,
	}
	_, err := conf.Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline to end the hung request, got %v", err)
	}
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("the request after the hang: %v", err)
	}
}

func TestFaultHangThenAnswer(t *testing.T) {
	env := newTestEnv(t, Config{})
	env.srv.InjectFault(Fault{Hang: 30 * time.Second, Status: 503})
	done := make(chan error, 1)
	go func() {
		_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
		done <- err
	}()
	// The hang waits on the fake clock: release it once the request waits.
	NewWithT(t).Eventually(env.clock.HasWaiters).WithTimeout(5 * time.Second).Should(BeTrue())
	env.clock.Step(30 * time.Second)
	select {
	case err := <-done:
		if re := retrieveError(t, err); re.Response.StatusCode != 503 {
			t.Errorf("status %d, want 503 after the hang", re.Response.StatusCode)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not finish after the hang")
	}
}

func TestAdminFaultsEndpoint(t *testing.T) {
	env := newTestEnv(t, Config{})
	post := func(body string) (int, string) {
		resp, err := http.Post(env.url(pathAdminFaults), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}

	status, body := post(`{"status":503,"count":1}`)
	if status != http.StatusCreated || !strings.Contains(body, `"status":503`) {
		t.Fatalf("POST: %d %s", status, body)
	}
	_, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
	if re := retrieveError(t, err); re.Response.StatusCode != 503 {
		t.Errorf("status %d, want the injected 503", re.Response.StatusCode)
	}

	status, _ = post(`{"status":429,"for":"1m","resetAfter":"30s"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST: %d", status)
	}
	req, _ := http.NewRequest(http.MethodDelete, env.url(pathAdminFaults), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %v %v", err, resp)
	}
	_ = resp.Body.Close()
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Errorf("after DELETE: %v", err)
	}

	for name, body := range map[string]string{
		"not JSON":      `nope`,
		"unknown field": `{"status":503,"colour":"red"}`,
		"not an error":  `{"status":200}`,
		"nothing to do": `{"count":3}`,
		"bad duration":  `{"hang":"soon"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if status, body := post(body); status != http.StatusBadRequest || !strings.Contains(body, "E0000001") {
				t.Errorf("%d %s", status, body)
			}
		})
	}

	t.Run("refused to non-loopback clients", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, pathAdminFaults, strings.NewReader(`{"status":503}`))
		req.RemoteAddr = "192.0.2.10:40000"
		rec := httptest.NewRecorder()
		env.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("status %d, want 403", rec.Code)
		}
		if len(env.srv.faults.pending()) != 0 {
			t.Error("a non-loopback client injected a fault")
		}
	})
}

func TestParseFault(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		spec    string
		want    Fault
		wantErr bool
	}{
		"status":            {spec: "503", want: Fault{Status: 503}},
		"status and count":  {spec: "503:3", want: Fault{Status: 503, Count: 3}},
		"status and window": {spec: "500:2m", want: Fault{Status: 500, Until: now.Add(2 * time.Minute)}},
		"hang":              {spec: "hang=30s", want: Fault{Hang: 30 * time.Second}},
		"hang and count":    {spec: "hang=10s:2", want: Fault{Hang: 10 * time.Second, Count: 2}},
		"not a status":      {spec: "boom", wantErr: true},
		"success status":    {spec: "200", wantErr: true},
		"bad count":         {spec: "503:lots", wantErr: true},
		"bad hang":          {spec: "hang=forever", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFault(tc.spec, now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseFault(%q) error = %v, wantErr %v", tc.spec, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("ParseFault(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
		})
	}
}
