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
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestLogsAPIAuthorization(t *testing.T) {
	env := newTestEnv(t, Config{})
	withScope, _ := env.authorize("openid", "okta.logs.read")
	withoutScope, _ := env.authorize("openid", "okta.users.read")
	refreshOnly, _ := env.authorize("offline_access", "okta.logs.read")
	revoked, _ := env.authorize("okta.logs.read")
	if status, _, _ := env.postForm(pathRevoke, map[string][]string{"token": {revoked.AccessToken}}, testWebClientID, testWebSecret); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}

	authURI := env.url(pathAuthorize)
	invalid := fmt.Sprintf(`Bearer authorization_uri="%s", realm="IdP", scope="okta.logs.read", error="invalid_token", error_description="The access token is invalid.", resource="/api/v1/logs"`, authURI)
	insufficient := fmt.Sprintf(`Bearer authorization_uri="%s", realm="IdP", scope="okta.logs.read", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="/api/v1/logs"`, authURI)

	cases := map[string]struct {
		token         string
		status        int
		authenticate  string
		code, summary string
	}{
		"token with okta.logs.read": {token: withScope.AccessToken, status: http.StatusOK},
		"no token":                  {token: "", status: 401, authenticate: invalid, code: "E0000011", summary: "Invalid token provided"},
		"unknown token":             {token: "garbage.token", status: 401, authenticate: invalid, code: "E0000011", summary: "Invalid token provided"},
		"revoked token":             {token: revoked.AccessToken, status: 401, authenticate: invalid, code: "E0000011", summary: "Invalid token provided"},
		"refresh token as bearer":   {token: refreshOnly.RefreshToken, status: 401, authenticate: invalid, code: "E0000011", summary: "Invalid token provided"},
		"token without the scope": {token: withoutScope.AccessToken, status: 403, authenticate: insufficient,
			code: "E0000006", summary: "You do not have permission to perform the requested action"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := env.getWithToken(env.url(pathLogs), tc.token)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.authenticate {
				t.Errorf("WWW-Authenticate:\n got %s\nwant %s", got, tc.authenticate)
			}
			if tc.code == "" {
				return
			}
			var apiErr map[string]any
			if err := json.Unmarshal(body, &apiErr); err != nil {
				t.Fatal(err)
			}
			if apiErr["errorCode"] != tc.code || apiErr["errorSummary"] != tc.summary || apiErr["errorLink"] != tc.code {
				t.Errorf("body %s", body)
			}
			if id, _ := apiErr["errorId"].(string); !regexp.MustCompile(`^oae[A-Za-z0-9]{19}$`).MatchString(id) {
				t.Errorf("errorId %q is not shaped like Okta's", id)
			}
			if causes, ok := apiErr["errorCauses"].([]any); !ok || len(causes) != 0 {
				t.Errorf("errorCauses = %v, want []", apiErr["errorCauses"])
			}
		})
	}
}

func TestLogsAPIEventsAndPaging(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, _ := env.authorize("okta.logs.read")
	get := func(rawURL string) ([]LogEvent, http.Header) {
		t.Helper()
		resp, body := env.getWithToken(rawURL, tok.AccessToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", rawURL, resp.StatusCode, body)
		}
		var events []LogEvent
		if err := json.Unmarshal(body, &events); err != nil {
			t.Fatal(err)
		}
		return events, resp.Header
	}

	all, header := get(env.url(pathLogs))
	if len(all) != syntheticEvents {
		t.Fatalf("got %d events, want %d", len(all), syntheticEvents)
	}
	// Without until the request is a polling one, whose pages never end:
	// next picks up after the last event served.
	wantLinks := []string{
		"<" + env.url(pathLogs) + `>; rel="self"`,
		"<" + env.url(pathLogs) + "?after=" + all[len(all)-1].UUID + `>; rel="next"`,
	}
	if links := header.Values("Link"); !slices.Equal(links, wantLinks) {
		t.Errorf("Link = %q, want %q", links, wantLinks)
	}
	for i, e := range all {
		if e.UUID == "" || e.EventType == "" || e.DisplayMessage == "" || e.Severity == "" ||
			e.Actor.ID == "" || e.Actor.AlternateID == "" || e.Client.IPAddress == "" || e.Outcome.Result == "" || len(e.Target) == 0 {
			t.Errorf("event %d lacks a field: %+v", i, e)
		}
		if _, err := time.Parse(oktaTimeLayout, e.Published); err != nil {
			t.Errorf("published %q: %v", e.Published, err)
		}
		if i > 0 && e.Published < all[i-1].Published {
			t.Errorf("events are not in ascending order at %d", i)
		}
	}

	t.Run("limit and after page through everything once", func(t *testing.T) {
		var seen []LogEvent
		next := env.url(pathLogs) + "?limit=10"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not reach an empty page")
			}
			events, header := get(next)
			if len(events) == 0 {
				// Caught up: a polling request still gets a next link,
				// and it is the same cursor again.
				if got := nextLink(header); got != next {
					t.Errorf("the empty page's next link is %q, want the same cursor %q", got, next)
				}
				break
			}
			seen = append(seen, events...)
			next = nextLink(header)
		}
		if len(seen) != len(all) {
			t.Fatalf("paging returned %d events, want %d", len(seen), len(all))
		}
		for i := range all {
			if seen[i].UUID != all[i].UUID {
				t.Fatalf("event %d differs when paging", i)
			}
		}
	})

	t.Run("since and until", func(t *testing.T) {
		since, until := all[5].Published, all[10].Published
		events, _ := get(env.url(pathLogs) + "?since=" + since + "&until=" + until)
		if len(events) != 5 || events[0].UUID != all[5].UUID || events[4].UUID != all[9].UUID {
			t.Errorf("got %d events between %s and %s, want events 5 to 9", len(events), since, until)
		}
	})

	t.Run("descending", func(t *testing.T) {
		events, _ := get(env.url(pathLogs) + "?sortOrder=DESCENDING&limit=1")
		if len(events) != 1 || events[0].UUID != all[len(all)-1].UUID {
			t.Errorf("DESCENDING did not start with the newest event")
		}
	})

	for name, query := range map[string]string{
		"limit too large":    "limit=1001",
		"limit zero":         "limit=0",
		"bad since":          "since=yesterday",
		"until before since": "since=" + all[10].Published + "&until=" + all[5].Published,
		"unknown cursor":     "after=nope",
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := env.getWithToken(env.url(pathLogs)+"?"+query, tok.AccessToken)
			var apiErr map[string]any
			_ = json.Unmarshal(body, &apiErr)
			if resp.StatusCode != http.StatusBadRequest || apiErr["errorCode"] != "E0000001" {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

// nextLink is the target of an answer's rel="next" Link header, or "".
func nextLink(header http.Header) string {
	for _, link := range header.Values("Link") {
		if m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(link); m != nil {
			return m[1]
		}
	}
	return ""
}

// TestLogsAPIPollingAndBoundedRequests pages through each kind of System Log
// request Okta documents and checks where the pages end: a polling request
// (no until, ascending) never runs out of next links and answers an empty
// page once caught up; a bounded request (since and until), a descending one
// and one with until alone end at a page without a next link.
func TestLogsAPIPollingAndBoundedRequests(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, _ := env.authorize("okta.logs.read")
	get := func(rawURL string) ([]LogEvent, string) {
		t.Helper()
		resp, body := env.getWithToken(rawURL, tok.AccessToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", rawURL, resp.StatusCode, body)
		}
		var events []LogEvent
		if err := json.Unmarshal(body, &events); err != nil {
			t.Fatal(err)
		}
		return events, nextLink(resp.Header)
	}
	all, _ := get(env.url(pathLogs))

	cases := map[string]struct {
		query     string
		wantPages []int
		// wantEndless: the last page (empty) still has a next link, to
		// the same cursor.
		wantEndless bool
		wantFirst   int // index in all of the first event served
		descending  bool
	}{
		"polling from the start": {query: "limit=10", wantPages: []int{10, 10, 5, 0}, wantEndless: true},
		"polling from since": {query: "limit=10&since=" + url.QueryEscape(all[20].Published),
			wantPages: []int{5, 0}, wantEndless: true, wantFirst: 20},
		"polling with nothing new yet": {query: "since=" + url.QueryEscape(
			env.clock.Now().Add(time.Minute).UTC().Format(oktaTimeLayout)), wantPages: []int{0}, wantEndless: true},
		"bounded": {query: "limit=10&since=" + url.QueryEscape(all[0].Published) + "&until=" +
			url.QueryEscape(env.clock.Now().UTC().Format(oktaTimeLayout)), wantPages: []int{10, 10, 5}},
		"bounded, last page full": {query: "limit=10&since=" + url.QueryEscape(all[0].Published) + "&until=" +
			url.QueryEscape(all[20].Published), wantPages: []int{10, 10}},
		"descending": {query: "limit=10&sortOrder=DESCENDING", wantPages: []int{10, 10, 5}, descending: true},
		"until alone: since is seven days before": {query: "limit=10&until=" + url.QueryEscape(all[10].Published),
			wantPages: []int{10}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var pages []int
			var seen []LogEvent
			request := env.url(pathLogs) + "?" + tc.query
			for {
				if len(pages) > len(tc.wantPages) {
					t.Fatalf("more pages than %v: %v", tc.wantPages, pages)
				}
				events, next := get(request)
				pages = append(pages, len(events))
				seen = append(seen, events...)
				if next == "" {
					if tc.wantEndless {
						t.Fatalf("a polling request's page %d has no next link", len(pages))
					}
					break
				}
				if len(events) == 0 && tc.wantEndless {
					if next != request {
						t.Errorf("the empty page's next link is %q, want the same cursor %q", next, request)
					}
					break
				}
				request = next
			}
			if !slices.Equal(pages, tc.wantPages) {
				t.Errorf("page sizes %v, want %v", pages, tc.wantPages)
			}
			want := all[tc.wantFirst:]
			if tc.descending {
				want = slices.Clone(all)
				slices.Reverse(want)
			}
			for i, e := range seen {
				if e.UUID != want[i].UUID {
					t.Fatalf("event %d is %s, want %s: every event once, in order", i, e.UUID, want[i].UUID)
				}
			}
		})
	}
}

func TestUserinfo(t *testing.T) {
	env := newTestEnv(t, Config{})
	tok, _ := env.authorize("openid", "profile", "email")
	resp, body := env.getWithToken(env.url(pathUserinfo), tok.AccessToken)
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if claims["sub"] != UserID(DemoUser) || claims["email"] != DemoUser || claims["name"] != DemoUserName {
		t.Errorf("claims %v", claims)
	}

	noOpenID, _ := env.authorize("okta.logs.read")
	if resp, _ := env.getWithToken(env.url(pathUserinfo), noOpenID.AccessToken); resp.StatusCode != http.StatusForbidden {
		t.Errorf("userinfo without openid: %d, want 403", resp.StatusCode)
	}
}
