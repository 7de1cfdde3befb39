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
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event is the part of an Okta System Log event
// (https://developer.okta.com/docs/reference/api/system-log/#logevent-object)
// that a person scanning the log looks at; Raw keeps the whole event.
type Event struct {
	UUID           string    `json:"uuid"`
	Published      time.Time `json:"published"`
	EventType      string    `json:"eventType"`
	Severity       string    `json:"severity"`
	DisplayMessage string    `json:"displayMessage"`
	Actor          Actor     `json:"actor"`
	Outcome        Outcome   `json:"outcome"`
	// Raw is the event exactly as Okta sent it, for consumers that forward
	// events whole (a SIEM, a log pipeline).
	Raw json.RawMessage `json:"-"`
}

// Actor is who or what performed the action an Event records.
type Actor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

// Outcome is how the action ended: SUCCESS, FAILURE, ALLOW, DENY, ...
type Outcome struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// publishedLayout is how Okta writes times: UTC, milliseconds.
const publishedLayout = "2006-01-02T15:04:05.000Z"

// Summary is the event on one line: when, what, who, how it ended, and
// Okta's message. Empty fields print as "-" so the columns stay countable.
func (e Event) Summary() string {
	return fmt.Sprintf("%s %s %s %s %s", e.Published.UTC().Format(publishedLayout),
		orDash(e.EventType), orDash(e.Actor.AlternateID), orDash(e.Outcome.Result), orDash(e.DisplayMessage))
}

func orDash(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return "-"
	}
	return s
}

// decodeEvents decodes a page: a JSON array of events.
func decodeEvents(body []byte) ([]Event, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, fmt.Errorf("decoding the System Log page: %w", err)
	}
	events := make([]Event, 0, len(raws))
	for i, raw := range raws {
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("decoding event %d of the page: %w", i, err)
		}
		e.Raw = raw
		events = append(events, e)
	}
	return events, nil
}
