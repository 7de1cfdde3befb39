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
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// LogEvent is the part of Okta's System Log event
// (https://developer.okta.com/docs/reference/api/system-log/) that
// /api/v1/logs serves.
type LogEvent struct {
	UUID            string         `json:"uuid"`
	Published       string         `json:"published"`
	EventType       string         `json:"eventType"`
	Version         string         `json:"version"`
	Severity        string         `json:"severity"`
	LegacyEventType string         `json:"legacyEventType,omitempty"`
	DisplayMessage  string         `json:"displayMessage"`
	Actor           LogActor       `json:"actor"`
	Client          LogClient      `json:"client"`
	Outcome         LogOutcome     `json:"outcome"`
	Target          []LogActor     `json:"target"`
	Transaction     LogTransaction `json:"transaction"`
}

// LogActor is an actor or a target of a LogEvent.
type LogActor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

// LogClient is where a LogEvent's request came from.
type LogClient struct {
	UserAgent           LogUserAgent  `json:"userAgent"`
	Zone                string        `json:"zone"`
	Device              string        `json:"device"`
	IPAddress           string        `json:"ipAddress"`
	GeographicalContext LogGeoContext `json:"geographicalContext"`
}

// LogUserAgent describes a LogClient's browser.
type LogUserAgent struct {
	RawUserAgent string `json:"rawUserAgent"`
	OS           string `json:"os"`
	Browser      string `json:"browser"`
}

// LogGeoContext is where a LogClient was.
type LogGeoContext struct {
	City    string `json:"city"`
	State   string `json:"state"`
	Country string `json:"country"`
}

// LogOutcome is a LogEvent's result: SUCCESS, FAILURE, ALLOW, DENY...
type LogOutcome struct {
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// LogTransaction identifies the request that caused a LogEvent.
type LogTransaction struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// oktaTimeLayout is how Okta writes times in the System Log: UTC,
// milliseconds.
const oktaTimeLayout = "2006-01-02T15:04:05.000Z"

const (
	defaultLogsLimit = 100
	maxLogsLimit     = 1000
	// defaultLogsWindow is how far back /api/v1/logs looks without since.
	defaultLogsWindow = 7 * 24 * time.Hour
	syntheticEvents   = 25
)

// System Log values used by the synthetic events: an actor's type, an
// event's severity and its outcome.
const (
	logActorUser     = "User"
	logSeverityInfo  = "INFO"
	logSeverityWarn  = "WARN"
	logResultSuccess = "SUCCESS"
	logResultFailure = "FAILURE"
	logResultAllow   = "ALLOW"
)

// syntheticLogEvents makes a fixed day of activity ending just before now,
// oldest first, so that paging and time filters have something to work on.
func syntheticLogEvents(now time.Time) []LogEvent {
	people := []LogActor{
		{Type: logActorUser, AlternateID: DemoUser, DisplayName: DemoUserName},
		{Type: logActorUser, AlternateID: "alice@example.com", DisplayName: "Alice Example"},
		{Type: logActorUser, AlternateID: "bob@example.com", DisplayName: "Bob Example"},
	}
	for i := range people {
		people[i].ID = fmt.Sprintf("00udev%014d", i+1)
	}
	app := LogActor{ID: "0oadevapp00000000001", Type: "AppInstance", AlternateID: "Dev Portal", DisplayName: "Dev Portal"}
	kinds := []struct {
		eventType, legacy, message, severity, result, reason string
		targetsApp                                           bool
	}{
		{"user.session.start", "core.user_auth.login_success", "User login to Okta", logSeverityInfo, logResultSuccess, "", false},
		{"user.authentication.sso", "app.auth.sso", "User single sign on to app", logSeverityInfo, logResultSuccess, "", true},
		{"app.oauth2.as.authorize.code", "app.oauth2.as.authorize.code_success", "OAuth2 authorization code request", logSeverityInfo, logResultSuccess, "", true},
		{"app.oauth2.as.token.grant.access_token", "app.oauth2.as.token.grant.access_token_success", "OAuth2 access token is granted", logSeverityInfo, logResultSuccess, "", true},
		{"user.session.start", "core.user_auth.login_failed", "User login to Okta", logSeverityWarn, logResultFailure, "INVALID_CREDENTIALS", false},
		{"policy.evaluate_sign_on", "", "Evaluation of sign-on policy", logSeverityInfo, logResultAllow, "Sign-on policy evaluation resulted in ALLOW", false},
		{"user.account.update_password", "core.user.config.password_update.success", "User update password for Okta", logSeverityInfo, logResultSuccess, "", false},
		{"user.session.end", "core.user_auth.logout_success", "User logout from Okta", logSeverityInfo, logResultSuccess, "", false},
	}
	events := make([]LogEvent, 0, syntheticEvents)
	for i := range syntheticEvents {
		k := kinds[i%len(kinds)]
		actor := people[i%len(people)]
		target := []LogActor{actor}
		if k.targetsApp {
			target = []LogActor{app}
		}
		published := now.Add(-time.Duration(syntheticEvents-i) * 57 * time.Minute).UTC()
		events = append(events, LogEvent{
			UUID:            uuid.NewString(),
			Published:       published.Format(oktaTimeLayout),
			EventType:       k.eventType,
			Version:         "0",
			Severity:        k.severity,
			LegacyEventType: k.legacy,
			DisplayMessage:  k.message,
			Actor:           actor,
			Client: LogClient{
				UserAgent: LogUserAgent{
					RawUserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
					OS:           "Linux",
					Browser:      "CHROME",
				},
				Zone:                "null",
				Device:              "Computer",
				IPAddress:           fmt.Sprintf("198.51.100.%d", 10+i%len(people)),
				GeographicalContext: LogGeoContext{City: "Springfield", State: "Illinois", Country: "United States"},
			},
			Outcome:     LogOutcome{Result: k.result, Reason: k.reason},
			Target:      target,
			Transaction: LogTransaction{Type: "WEB", ID: uuid.NewString()},
		})
	}
	return events
}

// handleLogs is GET /api/v1/logs, the System Log API, behind an okta.logs.read
// access token. It honours since, until, limit, after and sortOrder, and pages
// with Link headers (rel="self" always, rel="next" as below).
//
// Like Okta (https://developer.okta.com/docs/reference/api/system-log/#request-types)
// it tells two kinds of request apart. A polling request (no until, ascending
// order) is a stream with no last page: every answer has a next link, the
// page after the newest event is empty, and its next link is the same cursor
// again, so a poller that asks it later gets what was logged since. Any other
// request (a bounded one, with since and until, or a descending one) ends:
// its last page has no next link.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeAPIError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	if _, ok := s.authorizeBearer(w, r, "okta.logs.read"); !ok {
		return
	}
	q := r.URL.Query()
	until := time.Time{}
	var err error
	if v := q.Get("until"); v != "" {
		if until, err = time.Parse(time.RFC3339Nano, v); err != nil {
			logsValidationError(w, "until", "The date format in your query is not recognized. Please enter dates using ISO 8601 string format.")
			return
		}
	}
	// since defaults to seven days before until, which defaults to now.
	since := s.clock.Now().Add(-defaultLogsWindow)
	if !until.IsZero() {
		since = until.Add(-defaultLogsWindow)
	}
	if v := q.Get("since"); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			logsValidationError(w, "since", "The date format in your query is not recognized. Please enter dates using ISO 8601 string format.")
			return
		}
	}
	if !until.IsZero() && !since.Before(until) {
		logsValidationError(w, "until", "The 'until' date must be after the 'since' date.")
		return
	}
	limit := defaultLogsLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLogsLimit {
			logsValidationError(w, "limit", fmt.Sprintf("The limit must be a number between 1 and %d.", maxLogsLimit))
			return
		}
	}
	descending := false
	switch q.Get("sortOrder") {
	case "", "ASCENDING":
	case "DESCENDING":
		descending = true
	default:
		logsValidationError(w, "sortOrder", "The sortOrder must be ASCENDING or DESCENDING.")
		return
	}
	polling := until.IsZero() && !descending

	// The events are kept in the order they were recorded, which is also
	// their published order, so a polling request's "persistence time" and
	// a bounded request's published time select the same events here.
	matching := make([]LogEvent, 0, len(s.logEvents))
	for _, e := range s.logEvents {
		published, _ := time.Parse(oktaTimeLayout, e.Published)
		if published.Before(since) || (!until.IsZero() && !published.Before(until)) {
			continue
		}
		matching = append(matching, e)
	}
	if descending {
		slices.Reverse(matching)
	}
	// after is an opaque cursor; here, the uuid of the last event served.
	after := q.Get("after")
	if after != "" {
		i := slices.IndexFunc(matching, func(e LogEvent) bool { return e.UUID == after })
		if i < 0 {
			logsValidationError(w, "after", "The 'after' cursor is not valid for this query.")
			return
		}
		matching = matching[i+1:]
	}
	page := matching
	if len(page) > limit {
		page = page[:limit]
	}

	self := s.Issuer() + r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	w.Header().Add("Link", "<"+self+">; rel=\"self\"")
	if len(page) > 0 {
		after = page[len(page)-1].UUID
	}
	// A polling request that found nothing new keeps its cursor: the same
	// question, asked later, is answered with what was logged meanwhile.
	if len(matching) > len(page) || polling {
		next := url.Values{}
		maps.Copy(next, q)
		if after != "" {
			next.Set("after", after)
		}
		w.Header().Add("Link", "<"+s.Issuer()+r.URL.Path+"?"+next.Encode()+">; rel=\"next\"")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

func logsValidationError(w http.ResponseWriter, param, cause string) {
	writeAPIError(w, http.StatusBadRequest, errorValidation, "Api validation failed: "+param, param+": "+cause)
}
