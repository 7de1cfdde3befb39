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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// logsPath is the System Log API's one endpoint.
const logsPath = "/api/v1/logs"

const (
	// MaxLimit is the most events Okta returns per page.
	MaxLimit = 1000
	// requestTimeout bounds one request; Okta gives up on a System Log
	// query after 30 seconds.
	requestTimeout = 45 * time.Second
	// maxPageBytes bounds a page read into memory: 1000 events of a few
	// kilobytes each, with room to spare.
	maxPageBytes = 64 << 20
	userAgent    = "oktalogs (okta-token-operator)"
)

// Config configures a Client.
type Config struct {
	// OktaDomain is the org's URL, for example https://dev-123456.okta.com.
	OktaDomain string
	// Token gives the access token for every request; usually a TokenFile
	// on the mounted token Secret.
	Token TokenSource
	// AllowHTTP lets OktaDomain be a plain http:// URL, for a local
	// development server only: the token would cross the network in clear.
	AllowHTTP bool
	// HTTPClient sends the requests. Default: a client with a 45-second
	// timeout.
	HTTPClient *http.Client
	// Clock times the waits (poll interval, rate limits). Default: the real
	// clock.
	Clock clock.Clock
	// Logger gets a line per wait and per failure, never a token. Default:
	// discard.
	Logger *slog.Logger
}

// Query selects events, as GET /api/v1/logs's parameters do.
type Query struct {
	// Since is the earliest event; zero leaves it to Okta (seven days
	// before Until).
	Since time.Time
	// Until makes the query bounded: its pages end. Zero makes it a polling
	// query, which can be followed.
	Until time.Time
	// Limit is the page size, 1 to 1000; zero leaves it to Okta (100).
	Limit int
	// Filter is a SCIM filter expression, e.g. eventType eq "user.session.start".
	Filter string
}

// Client reads the System Log of one Okta org.
type Client struct {
	domain    *url.URL
	token     TokenSource
	http      *http.Client
	clock     clock.Clock
	logger    *slog.Logger
	budgetMu  sync.Mutex
	budget    rateBudget
	hasBudget bool
	// nonce is the DPoP nonce the org's APIs last handed out, sent with
	// every proof so that it is not asked for again.
	nonceMu sync.Mutex
	nonce   string
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	domain, err := url.Parse(strings.TrimSuffix(cfg.OktaDomain, "/"))
	if err != nil || domain.Host == "" || (domain.Path != "" && domain.Path != "/") || domain.RawQuery != "" {
		return nil, fmt.Errorf("okta domain %q: want a URL like https://dev-123456.okta.com", cfg.OktaDomain)
	}
	switch {
	case domain.Scheme == "https":
	case domain.Scheme == "http" && cfg.AllowHTTP:
	default:
		return nil, fmt.Errorf("okta domain %q: want an https:// URL (plain http only for a local development server)", cfg.OktaDomain)
	}
	domain.Path = ""
	if cfg.Token == nil {
		return nil, errors.New("no token source")
	}
	c := &Client{domain: domain, token: cfg.Token, http: cfg.HTTPClient, clock: cfg.Clock, logger: cfg.Logger}
	if c.http == nil {
		c.http = &http.Client{Timeout: requestTimeout}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Validate checks a Query the way Okta would, before a request is spent on
// it.
func (q Query) Validate() error {
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("limit %d: want 1 to %d", q.Limit, MaxLimit)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return fmt.Errorf("since %s is not before until %s", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	return nil
}

// firstRequest is the URL of a query's first request.
func (c *Client) firstRequest(q Query) *url.URL {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(publishedLayout))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(publishedLayout))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	u := *c.domain
	u.Path = logsPath
	u.RawQuery = v.Encode()
	return &u
}

// Each calls handle for every event q selects, page by page, and returns
// when it has them all: for a bounded query at the page without a next link,
// for a polling query at the first empty page (Okta's polling pages never
// end; an empty one means there is nothing newer yet). An error from handle
// stops the reading and is returned as it is.
func (c *Client) Each(ctx context.Context, q Query, handle func(Event) error) error {
	return c.read(ctx, q, 0, handle)
}

// Follow is Each that never catches up for good: at an empty page it waits
// interval and asks Okta's next link again, for as long as ctx lives. A
// failed request is logged and retried after interval, except for a query
// Okta refuses outright (400) and a next link off the Okta domain. q must be
// a polling query (no Until).
func (c *Client) Follow(ctx context.Context, q Query, interval time.Duration, handle func(Event) error) error {
	if !q.Until.IsZero() {
		return errors.New("a query with until ends; only a polling query (no until) can be followed")
	}
	if interval <= 0 {
		return fmt.Errorf("poll interval %s: want more than zero", interval)
	}
	return c.read(ctx, q, interval, handle)
}

func (c *Client) read(ctx context.Context, q Query, interval time.Duration, handle func(Event) error) error {
	if err := q.Validate(); err != nil {
		return err
	}
	next := c.firstRequest(q)
	for {
		answer, err := c.fetch(ctx, next)
		if err != nil {
			if interval == 0 || ctx.Err() != nil || isPermanent(err) {
				return err
			}
			c.logger.Warn("reading the System Log failed; retrying after the poll interval", "error", err, "interval", interval)
			if err := c.sleep(ctx, interval); err != nil {
				return err
			}
			continue
		}
		for _, e := range answer.events {
			if err := handle(e); err != nil {
				return err
			}
		}
		switch {
		case answer.next == nil && interval > 0:
			return errors.New("the answer to a polling query has no next link to poll")
		case answer.next == nil:
			return nil // the last page of a bounded query
		}
		if len(answer.events) == 0 {
			if interval == 0 {
				return nil // a polling query has caught up
			}
			if err := c.sleep(ctx, interval); err != nil {
				return err
			}
		}
		next = answer.next
	}
}

// page is one answer of /api/v1/logs.
type page struct {
	events []Event
	next   *url.URL
}

// fetch gets one page. It waits first if the rate-limit budget runs low,
// waits for the window's reset and retries after a 429, and retries a 401
// once if the token file changed since it was read.
func (c *Client) fetch(ctx context.Context, u *url.URL) (*page, error) {
	// refused is the token Okta answered 401 for, and its answer.
	var refused *Token
	var refusal error
	nonceRetried := false
	for {
		if err := c.sleep(ctx, c.budgetDelay()); err != nil {
			return nil, err
		}
		// Read right before the request: a wait may have outlasted the token.
		token, err := c.token.Read()
		if err != nil {
			return nil, err
		}
		if refused != nil {
			if token.Value == refused.Value {
				return nil, refusal
			}
			c.logger.Info("Okta refused the access token; the token file has a new one, retrying with it")
		}
		resp, body, err := c.get(ctx, u, token)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			events, err := decodeEvents(body)
			if err != nil {
				return nil, err
			}
			p := &page{events: events}
			if link := nextLink(resp.Header); link != "" {
				if p.next, err = resolveNext(c.domain, u, link); err != nil {
					return nil, err
				}
			}
			return p, nil
		case resp.StatusCode == http.StatusTooManyRequests:
			wait := retryAfterRateLimit(resp.Header, c.clock.Now())
			c.logger.Info("rate limited by Okta; waiting for the window to reset", "wait", wait)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusUnauthorized && token.dpop() && asksForNonce(resp) && !nonceRetried:
			// The resource server wants its nonce in the proof: get
			// stored it; the next proof, fresh, carries it.
			nonceRetried = true
		case resp.StatusCode == http.StatusUnauthorized && refused == nil:
			// The kubelet may have swapped in a rotated token between the
			// read and the request, and the old one may already be revoked:
			// one more try if the file now holds another token.
			refused, refusal = &token, newAPIError(resp, body)
		default:
			return nil, newAPIError(resp, body)
		}
	}
}

// get sends one request and reads the whole answer, noting its rate-limit
// headers.
func (c *Client) get(ctx context.Context, u *url.URL, token Token) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("building the System Log request: %w", err)
	}
	if token.Type != "" {
		req.Header.Set("Authorization", token.authorization())
	}
	if token.dpop() {
		proof, err := token.proof(http.MethodGet, u, c.clock.Now(), c.dpopNonce())
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("DPoP", proof)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s%s: %w", c.domain, logsPath, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the System Log answer: %w", err)
	}
	if n := resp.Header.Get("DPoP-Nonce"); n != "" && len(n) <= 1024 {
		c.nonceMu.Lock()
		c.nonce = n
		c.nonceMu.Unlock()
	}
	if b, ok := parseRateBudget(resp.Header, c.clock.Now()); ok {
		c.budgetMu.Lock()
		c.budget, c.hasBudget = b, true
		c.budgetMu.Unlock()
	}
	return resp, body, nil
}

func (c *Client) dpopNonce() string {
	c.nonceMu.Lock()
	defer c.nonceMu.Unlock()
	return c.nonce
}

// asksForNonce says whether a 401 asks for a DPoP nonce (RFC 9449 section
// 9): WWW-Authenticate: DPoP error="use_dpop_nonce" and a DPoP-Nonce.
func asksForNonce(resp *http.Response) bool {
	return resp.Header.Get("DPoP-Nonce") != "" &&
		authenticateError(resp.Header.Get("WWW-Authenticate")) == "use_dpop_nonce"
}

func (c *Client) budgetDelay() time.Duration {
	c.budgetMu.Lock()
	defer c.budgetMu.Unlock()
	if !c.hasBudget {
		return 0
	}
	return c.budget.delay(c.clock.Now())
}

// sleep waits d on the client's clock, or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// APIError is an answer of the System Log API other than 200, with Okta's
// error code and summary (https://developer.okta.com/docs/reference/error-codes/).
type APIError struct {
	StatusCode int
	// Code and Summary are Okta's errorCode and errorSummary, e.g. E0000011
	// "Invalid token provided".
	Code, Summary string
	// Causes are the errorSummary of each of Okta's errorCauses.
	Causes []string
	// Authenticate is the error named in the WWW-Authenticate header of a
	// 401 or 403: invalid_token or insufficient_scope.
	Authenticate string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("Okta answered %d", e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Summary != "" {
		msg += ": " + e.Summary
	}
	if len(e.Causes) > 0 {
		msg += " (" + strings.Join(e.Causes, "; ") + ")"
	}
	switch e.Authenticate {
	case "invalid_token":
		msg += "; the access token is invalid, expired or revoked: is the OktaScopedToken Ready, and is the Secret mounted as a volume (not subPath)?"
	case "insufficient_scope":
		msg += "; the access token lacks okta.logs.read: add it to the OktaScopedToken's scopes and grant it to the Okta app"
	}
	return msg
}

func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Authenticate: authenticateError(resp.Header.Get("WWW-Authenticate"))}
	var okta struct {
		ErrorCode    string `json:"errorCode"`
		ErrorSummary string `json:"errorSummary"`
		ErrorCauses  []struct {
			ErrorSummary string `json:"errorSummary"`
		} `json:"errorCauses"`
	}
	if json.Unmarshal(body, &okta) == nil {
		e.Code, e.Summary = okta.ErrorCode, okta.ErrorSummary
		for _, cause := range okta.ErrorCauses {
			e.Causes = append(e.Causes, cause.ErrorSummary)
		}
	}
	return e
}

// authenticateError picks error="..." out of a WWW-Authenticate header.
func authenticateError(header string) string {
	_, rest, ok := strings.Cut(header, `error="`)
	if !ok {
		return ""
	}
	value, _, _ := strings.Cut(rest, `"`)
	return value
}

// isPermanent reports an error that retrying the same request cannot fix:
// Okta refused the query itself, or its next link leaves the domain.
func isPermanent(err error) bool {
	var apiErr *APIError
	return errors.Is(err, ErrForeignLink) || (errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest)
}
