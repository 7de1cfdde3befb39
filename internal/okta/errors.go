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

package okta

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// ErrorClass says what the caller should do about a failed request.
type ErrorClass string

const (
	// Transient failures (network, timeout, 5xx) go away by themselves:
	// retry with backoff.
	Transient ErrorClass = "Transient"
	// RateLimited: wait until RetryAt, never sooner.
	RateLimited ErrorClass = "RateLimited"
	// GrantInvalid: the refresh token or code is gone (invalid_grant). A
	// person must sign in again.
	GrantInvalid ErrorClass = "GrantInvalid"
	// ClientInvalid: Okta does not accept the app's credentials
	// (invalid_client, unauthorized_client). Fix the app or the Secret.
	ClientInvalid ErrorClass = "ClientInvalid"
	// ScopesRefused: the app may not have these scopes (invalid_scope,
	// consent_required, access_denied). Grant them in the Admin Console.
	ScopesRefused ErrorClass = "ScopesRefused"
	// Permanent: any other error Okta answers with; retrying the same
	// request will not help.
	Permanent ErrorClass = "Permanent"
	// Busy: the request was not sent, the host already had as many of the
	// operator's requests in flight as allowed. Not a failure: try again
	// shortly.
	Busy ErrorClass = "Busy"
	// DPoPRefused: Okta wants a DPoP proof and got none, or refused the
	// one it got (invalid_dpop_proof, or use_dpop_nonce once more after
	// the nonce was sent).
	DPoPRefused ErrorClass = "DPoPRefused"
)

// Error is a failed request to Okta. Its message carries Okta's own error and
// error_description, never a token or secret.
type Error struct {
	Class ErrorClass
	// Op is what was being done: "exchanging the code", "refreshing", ...
	Op string
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Code and Description are Okta's `error` and `error_description`.
	Code, Description string
	// RetryAt is set for RateLimited: Okta's X-Rate-Limit-Reset.
	RetryAt time.Time
	// cause is kept for errors.Is; only set for network errors, whose text
	// holds the endpoint URL and nothing secret.
	cause error
}

func (e *Error) Error() string {
	switch {
	case e.Code != "" && e.Description != "":
		return fmt.Sprintf("%s: Okta answered %s: %s", e.Op, e.Code, e.Description)
	case e.Code != "":
		return fmt.Sprintf("%s: Okta answered %s", e.Op, e.Code)
	case e.StatusCode != 0:
		return fmt.Sprintf("%s: Okta answered HTTP %d", e.Op, e.StatusCode)
	case e.cause != nil:
		return fmt.Sprintf("%s: %s", e.Op, Sanitize(e.cause.Error(), 600))
	}
	return e.Op + ": failed"
}

func (e *Error) Unwrap() error { return e.cause }

// ClassOf returns the class of err, Transient when err is not an *Error.
func ClassOf(err error) ErrorClass {
	if oe, ok := errors.AsType[*Error](err); ok {
		return oe.Class
	}
	return Transient
}

// classify turns what x/oauth2 or net/http returned into an *Error.
func classify(op string, err error, now time.Time) *Error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// No answer from Okta: DNS, connection, timeout, cancelled context.
		// url.Error's text names the endpoint, which is not secret.
		if IsHostBusy(err) {
			return &Error{Class: Busy, Op: op, cause: err}
		}
		return &Error{Class: Transient, Op: op, cause: err}
	}
	// What Okta (or whatever answers) says is shown in conditions, Events
	// and logs: cleaned and cut to a sensible length.
	e := &Error{Op: op, Code: Sanitize(re.ErrorCode, 64), Description: Sanitize(re.ErrorDescription, 400)}
	var header http.Header
	if re.Response != nil {
		e.StatusCode = re.Response.StatusCode
		header = re.Response.Header
	}
	e.Class = classifyStatus(e.StatusCode, e.Code)
	if e.Class == RateLimited {
		e.RetryAt = rateLimitReset(header, now)
		// Okta's 429 body is an API error (errorSummary), not an OAuth one.
		if e.Code == "" {
			e.Code = "rate_limited"
			e.Description = "API call exceeded rate limit due to too many requests."
		}
	}
	return e
}

func classifyStatus(status int, code string) ErrorClass {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status >= 500 || status == http.StatusRequestTimeout:
		return Transient
	}
	switch code {
	case "invalid_dpop_proof", ErrorUseDPoPNonce:
		return DPoPRefused
	case "invalid_grant":
		return GrantInvalid
	case "invalid_client", "unauthorized_client":
		return ClientInvalid
	case "invalid_scope", "consent_required", "access_denied":
		return ScopesRefused
	case "temporarily_unavailable", "server_error":
		return Transient
	case "":
		// A 4xx without an OAuth error body: a proxy or a misconfigured
		// domain. Retrying with backoff is the safe answer.
		return Transient
	}
	return Permanent
}

// rateLimitReset reads Okta's X-Rate-Limit-Reset (unix seconds), falling back
// to Retry-After, then to one minute: Okta's limits are per minute.
func rateLimitReset(h http.Header, now time.Time) time.Time {
	if h != nil {
		if v, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64); err == nil && v > 0 {
			return time.Unix(v, 0)
		}
		if v, err := strconv.Atoi(h.Get("Retry-After")); err == nil && v >= 0 {
			return now.Add(time.Duration(v) * time.Second)
		}
	}
	return now.Add(time.Minute)
}
