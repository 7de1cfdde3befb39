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
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Fault makes the token endpoints (/oauth2/v1/token and every custom
// authorization server's) misbehave, so that tests can see how a client copes
// with an authorization server that is down, rate limited or slow.
type Fault struct {
	// Status is the HTTP status to answer with: 429 answers like Okta's rate
	// limit (with X-Rate-Limit-Reset set to Reset), 5xx answers with an OAuth
	// server_error or temporarily_unavailable (503). Zero, together with Hang,
	// answers normally once the hang is over.
	Status int
	// Hang holds each affected request this long (by Config.Clock) before it
	// is answered. The client giving up, or Close, ends it early.
	Hang time.Duration
	// Count is how many requests the fault affects. Zero means every request
	// until Until, or a single request when Until is zero too.
	Count int
	// Until ends the fault at this time (by Config.Clock); zero means no end.
	Until time.Time
	// Reset is the X-Rate-Limit-Reset sent with a 429; zero means the end of
	// the current minute.
	Reset time.Time
}

func (f Fault) validate() error {
	switch {
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("fault status %d is not an HTTP error status", f.Status)
	case f.Status == 0 && f.Hang <= 0:
		return errors.New("a fault needs an error status, a hang, or both")
	case f.Count < 0 || f.Hang < 0:
		return errors.New("a fault's count and hang must not be negative")
	}
	return nil
}

// faultInjector holds the faults waiting to be applied, oldest first.
type faultInjector struct {
	clock clock.Clock

	mu     sync.Mutex
	faults []*pendingFault
}

type pendingFault struct {
	Fault
	// remaining is how many more requests it affects; -1 is unlimited.
	remaining int
}

func (fi *faultInjector) add(f Fault) {
	p := &pendingFault{Fault: f, remaining: f.Count}
	if f.Count == 0 {
		p.remaining = -1
		if f.Until.IsZero() {
			p.remaining = 1
		}
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.faults = append(fi.faults, p)
}

func (fi *faultInjector) clear() {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.faults = nil
}

// next returns the fault for the request at hand, using it up, and forgets
// faults that are over.
func (fi *faultInjector) next() (Fault, bool) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.dropFinished()
	if len(fi.faults) == 0 {
		return Fault{}, false
	}
	f := fi.faults[0]
	if f.remaining > 0 {
		f.remaining--
	}
	return f.Fault, true
}

func (fi *faultInjector) pending() []pendingFault {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.dropFinished()
	out := make([]pendingFault, 0, len(fi.faults))
	for _, f := range fi.faults {
		out = append(out, *f)
	}
	return out
}

func (fi *faultInjector) dropFinished() {
	now := fi.clock.Now()
	kept := fi.faults[:0]
	for _, f := range fi.faults {
		if f.remaining == 0 || (!f.Until.IsZero() && !now.Before(f.Until)) {
			continue
		}
		kept = append(kept, f)
	}
	fi.faults = kept
}

// InjectFault queues a fault for the token endpoints. Faults apply one after
// another, in the order given. An invalid fault (see Fault) is ignored and
// logged.
func (s *Server) InjectFault(f Fault) {
	if err := f.validate(); err != nil {
		s.logger.Warn("ignoring invalid fault", "error", err.Error())
		return
	}
	s.faults.add(f)
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// injectFaults applies the next pending fault, if any, to a token request
// counted in the rate-limit bucket named bucket.
func (s *Server) injectFaults(bucket string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.faults.next()
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		setLogError(r.Context(), "injected_fault")
		if f.Hang > 0 {
			timer := s.clock.NewTimer(f.Hang)
			select {
			case <-timer.C():
			case <-r.Context().Done():
				timer.Stop()
				return
			case <-s.done:
				timer.Stop()
				return
			}
		}
		switch f.Status {
		case 0:
			next.ServeHTTP(w, r)
		case http.StatusTooManyRequests:
			reset := f.Reset
			if reset.IsZero() {
				reset = s.clock.Now().Truncate(time.Minute).Add(time.Minute)
			}
			s.limiter.countRefusal(bucket)
			writeRateLimited(w, s.limiter.get().TokenPerMinute, reset)
		case http.StatusServiceUnavailable:
			writeOAuthError(w, newOAuthError("temporarily_unavailable", "The authorization server is temporarily unavailable. Try again later.", f.Status))
		default:
			writeOAuthError(w, newOAuthError("server_error", "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.", f.Status))
		}
	})
}

// ParseFault reads the --fault flag's syntax: KIND[:HOWLONG], where KIND is
// an HTTP status ("503", "429") or "hang=DURATION", and HOWLONG is a number of
// requests ("3") or a duration from now ("2m"); the default is one request.
// Examples: "503:3", "429", "hang=30s:2", "500:1m".
func ParseFault(spec string, now time.Time) (Fault, error) {
	kind, howLong, _ := strings.Cut(spec, ":")
	var f Fault
	if d, ok := strings.CutPrefix(kind, "hang="); ok {
		hang, err := time.ParseDuration(d)
		if err != nil {
			return Fault{}, fmt.Errorf("fault %q: hang: %w", spec, err)
		}
		f.Hang = hang
	} else {
		status, err := strconv.Atoi(kind)
		if err != nil {
			return Fault{}, fmt.Errorf("fault %q: want an HTTP status or hang=DURATION before the colon", spec)
		}
		f.Status = status
	}
	if howLong != "" {
		if n, err := strconv.Atoi(howLong); err == nil {
			f.Count = n
		} else if d, err := time.ParseDuration(howLong); err == nil {
			f.Until = now.Add(d)
		} else {
			return Fault{}, fmt.Errorf("fault %q: want a request count or a duration after the colon", spec)
		}
	}
	if err := f.validate(); err != nil {
		return Fault{}, fmt.Errorf("fault %q: %w", spec, err)
	}
	return f, nil
}

// faultRequest is the JSON accepted by POST /admin/faults. Durations use Go's
// syntax ("30s"), times RFC 3339.
type faultRequest struct {
	Status int    `json:"status"`
	Hang   string `json:"hang,omitempty"`
	Count  int    `json:"count,omitempty"`
	// For ends the fault this long from now; Until at a given time.
	For   string     `json:"for,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// ResetAfter sets X-Rate-Limit-Reset this long from now; Reset to a
	// given time.
	ResetAfter string     `json:"resetAfter,omitempty"`
	Reset      *time.Time `json:"reset,omitempty"`
}

type faultView struct {
	Status    int        `json:"status,omitempty"`
	Hang      string     `json:"hang,omitempty"`
	Remaining int        `json:"remaining"`
	Until     *time.Time `json:"until,omitempty"`
	Reset     *time.Time `json:"reset,omitempty"`
}

func (req faultRequest) fault(now time.Time) (Fault, error) {
	f := Fault{Status: req.Status, Count: req.Count}
	parse := func(name, value string) (time.Duration, error) {
		if value == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return d, nil
	}
	hang, err := parse("hang", req.Hang)
	if err != nil {
		return Fault{}, err
	}
	f.Hang = hang
	if d, err := parse("for", req.For); err != nil {
		return Fault{}, err
	} else if d > 0 {
		f.Until = now.Add(d)
	}
	if req.Until != nil {
		f.Until = *req.Until
	}
	if d, err := parse("resetAfter", req.ResetAfter); err != nil {
		return Fault{}, err
	} else if d > 0 {
		f.Reset = now.Add(d)
	}
	if req.Reset != nil {
		f.Reset = *req.Reset
	}
	return f, f.validate()
}

// handleAdminFaults lets a test outside the process inject faults:
// POST adds one, GET lists them, DELETE clears them. Only loopback clients
// are served, so a server listening on every interface cannot be disturbed
// from elsewhere.
func (s *Server) handleAdminFaults(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeAPIError(w, http.StatusForbidden, errorForbidden, summaryForbidden)
		return
	}
	switch r.Method {
	case http.MethodPost:
		var req faultRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeAPIError(w, http.StatusBadRequest, errorValidation, "Api validation failed: fault", err.Error())
			return
		}
		f, err := req.fault(s.clock.Now())
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, errorValidation, "Api validation failed: fault", err.Error())
			return
		}
		s.InjectFault(f)
		s.writeFaults(w, http.StatusCreated)
	case http.MethodGet:
		s.writeFaults(w, http.StatusOK)
	case http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) writeFaults(w http.ResponseWriter, status int) {
	pending := s.faults.pending()
	// Never nil: no faults encode as [], not null.
	views := make([]faultView, 0, len(pending))
	for _, f := range pending {
		v := faultView{Status: f.Status, Remaining: f.remaining}
		if f.Hang > 0 {
			v.Hang = f.Hang.String()
		}
		if !f.Until.IsZero() {
			v.Until = &f.Until
		}
		if !f.Reset.IsZero() {
			v.Reset = &f.Reset
		}
		views = append(views, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(views)
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
