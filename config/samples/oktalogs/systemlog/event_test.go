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
	"strings"
	"testing"
	"time"
)

func TestSystemLogEventDecodeAndSummary(t *testing.T) {
	page := `[
	{"uuid":"f790999f","published":"2017-09-30T22:23:07.777Z","eventType":"user.session.start","version":"0",
	 "severity":"INFO","displayMessage":"User login to Okta",
	 "actor":{"id":"00u1","type":"User","alternateId":"admin@example.com","displayName":"John Doe"},
	 "outcome":{"result":"SUCCESS"},"debugContext":{"debugData":{"requestUri":"/login/do-login"}}},
	{"uuid":"a1","published":"2017-09-30T22:23:08Z","eventType":"system.job.run","actor":{"id":"x","type":"System"}}
	]`
	events, err := decodeEvents([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		event   Event
		summary string
	}{
		{name: "everything", event: events[0],
			summary: "2017-09-30T22:23:07.777Z user.session.start admin@example.com SUCCESS User login to Okta"},
		{name: "missing fields print as -", event: events[1],
			summary: "2017-09-30T22:23:08.000Z system.job.run - - -"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.event.Summary(); got != tc.summary {
				t.Errorf("Summary:\n got %s\nwant %s", got, tc.summary)
			}
		})
	}
	if want := time.Date(2017, 9, 30, 22, 23, 7, 777e6, time.UTC); !events[0].Published.Equal(want) {
		t.Errorf("published %s, want %s", events[0].Published, want)
	}
	if !strings.Contains(string(events[0].Raw), `"requestUri":"/login/do-login"`) {
		t.Errorf("Raw lost what Event does not model: %s", events[0].Raw)
	}

	for name, body := range map[string]string{
		"not an array":   `{"errorCode":"E0000011"}`,
		"bad published":  `[{"uuid":"x","published":"yesterday"}]`,
		"truncated page": `[{"uuid":"x"`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeEvents([]byte(body)); err == nil {
				t.Errorf("decoded %s", body)
			}
		})
	}
}

func TestSystemLogClientConfig(t *testing.T) {
	token := TokenFile{Path: "/var/run/secrets/okta"}
	cases := map[string]struct {
		cfg     Config
		wantURL string
		wantErr string
	}{
		"https domain":           {cfg: Config{OktaDomain: "https://dev-123456.okta.com", Token: token}, wantURL: "https://dev-123456.okta.com/api/v1/logs?limit=10"},
		"trailing slash":         {cfg: Config{OktaDomain: "https://dev-123456.okta.com/", Token: token}, wantURL: "https://dev-123456.okta.com/api/v1/logs?limit=10"},
		"http refused":           {cfg: Config{OktaDomain: "http://127.0.0.1:9090", Token: token}, wantErr: "want an https:// URL"},
		"http allowed":           {cfg: Config{OktaDomain: "http://127.0.0.1:9090", Token: token, AllowHTTP: true}, wantURL: "http://127.0.0.1:9090/api/v1/logs?limit=10"},
		"no scheme":              {cfg: Config{OktaDomain: "dev-123456.okta.com", Token: token}, wantErr: "want a URL like"},
		"a path is not a domain": {cfg: Config{OktaDomain: "https://dev-123456.okta.com/oauth2/default", Token: token}, wantErr: "want a URL like"},
		"no token":               {cfg: Config{OktaDomain: "https://dev-123456.okta.com"}, wantErr: "no token source"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.firstRequest(Query{Limit: 10}).String(); got != tc.wantURL {
				t.Errorf("first request %s, want %s", got, tc.wantURL)
			}
		})
	}

	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, q := range map[string]Query{
		"limit over 1000":      {Limit: 1001},
		"negative limit":       {Limit: -1},
		"until before since":   {Since: since, Until: since.Add(-time.Hour)},
		"until equal to since": {Since: since, Until: since},
	} {
		t.Run(name, func(t *testing.T) {
			if err := q.Validate(); err == nil {
				t.Errorf("%+v passed validation", q)
			}
		})
	}
	c, _ := New(Config{OktaDomain: "https://o.okta.com", Token: token})
	got := c.firstRequest(Query{Since: since, Until: since.Add(time.Hour), Limit: 5, Filter: `eventType eq "user.session.start"`}).String()
	want := "https://o.okta.com/api/v1/logs?filter=eventType+eq+%22user.session.start%22&limit=5&since=2026-03-01T12%3A00%3A00.000Z&until=2026-03-01T13%3A00%3A00.000Z"
	if got != want {
		t.Errorf("first request\n got %s\nwant %s", got, want)
	}
}
