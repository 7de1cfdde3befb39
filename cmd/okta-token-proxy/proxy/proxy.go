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

// Package proxy is the token proxy: a sidecar that alone mounts a token
// Secret, listens on the pod's loopback, and forwards the application's
// requests to the token's one Okta org with the token added — a Bearer
// token, or a DPoP-bound token with a fresh proof for each request — so the
// application container holds no token and no key at all.
//
// It is not an open proxy: it answers only origin-form requests (a path,
// never a URL or CONNECT) and sends them to the one Okta org it was given.
// What the application sends as credentials (Authorization, DPoP, cookies)
// is dropped. Request and answer sizes are capped. Okta's X-Rate-Limit-*
// headers come back unchanged, a Link or Location that points into the org
// is rewritten to point at the proxy, so paging works through it. The token
// files are read for every request, so a rotation is picked up as soon as
// the kubelet writes it. A resource server's use_dpop_nonce is answered
// with one retry, and a 401 with one retry when the token files changed in
// between. No token, proof or key reaches a log line.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Defaults of Config.
const (
	DefaultMaxRequestBytes  = 1 << 20
	DefaultMaxResponseBytes = 64 << 20
	DefaultTimeout          = 60 * time.Second
)

// Config configures a Proxy.
type Config struct {
	// Upstream is the Okta org, such as https://dev-123456.okta.com: the
	// only place requests go.
	Upstream string
	// AllowInsecureUpstream accepts an http:// Upstream on a loopback
	// address (a local development server only).
	AllowInsecureUpstream bool
	// Public is the proxy's own base URL as the application reaches it
	// (http://127.0.0.1:8181): Links into the org are rewritten to it.
	Public string
	// Token reads the token for each request (TokenDir on the mounted
	// Secret).
	Token TokenSource
	// MaxRequestBytes and MaxResponseBytes cap a request's and an answer's
	// body; defaults DefaultMaxRequestBytes and DefaultMaxResponseBytes.
	MaxRequestBytes, MaxResponseBytes int64
	// Timeout bounds one request to Okta; default DefaultTimeout.
	Timeout time.Duration
	// Transport sends the requests; default a copy of net/http's that
	// never uses an HTTP proxy from the environment (the token would go
	// there).
	Transport http.RoundTripper
	// Clock dates the proofs; default the real clock.
	Clock clock.PassiveClock
	// Logger gets one line per request: method, path, status, duration.
	// Default: discard.
	Logger *slog.Logger
}

// Proxy forwards to one Okta org. It is an http.Handler.
type Proxy struct {
	upstream, public *url.URL
	token            TokenSource
	maxReq, maxResp  int64
	client           *http.Client
	clock            clock.PassiveClock
	logger           *slog.Logger
	nonces           okta.DPoPNonces
}

// New checks cfg and returns a Proxy.
func New(cfg Config) (*Proxy, error) {
	upstream, err := url.Parse(strings.TrimSuffix(cfg.Upstream, "/"))
	if err != nil || upstream.Host == "" || upstream.User != nil || (upstream.Path != "" && upstream.Path != "/") ||
		upstream.RawQuery != "" || upstream.Fragment != "" {
		return nil, fmt.Errorf("--okta-domain %q: want the org's base URL, such as https://dev-123456.okta.com", cfg.Upstream)
	}
	upstream.Path = ""
	if err := (*okta.Domains)(nil).CheckURL(upstream.String(), cfg.AllowInsecureUpstream); err != nil {
		return nil, fmt.Errorf("--okta-domain: %w", err)
	}
	public, err := url.Parse(strings.TrimSuffix(cfg.Public, "/"))
	if err != nil || public.Host == "" || (public.Scheme != "http" && public.Scheme != "https") {
		return nil, fmt.Errorf("the proxy's own URL %q is not an http(s) URL", cfg.Public)
	}
	public.Path = ""
	if cfg.Token == nil {
		return nil, errors.New("no token source")
	}
	p := &Proxy{upstream: upstream, public: public, token: cfg.Token, maxReq: cfg.MaxRequestBytes,
		maxResp: cfg.MaxResponseBytes, clock: cfg.Clock, logger: cfg.Logger}
	if p.maxReq <= 0 {
		p.maxReq = DefaultMaxRequestBytes
	}
	if p.maxResp <= 0 {
		p.maxResp = DefaultMaxResponseBytes
	}
	if p.clock == nil {
		p.clock = clock.RealClock{}
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		transport = t
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Redirects are the application's to follow (through the proxy, when
	// they stay in the org): the proxy follows none, so the token never
	// goes anywhere but the org.
	p.client = &http.Client{Transport: transport, Timeout: timeout, CheckRedirect: okta.NoRedirects}
	return p, nil
}

// ServeHTTP forwards one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := p.clock.Now()
	status, err := p.forward(w, r)
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status,
		"duration", p.clock.Since(start).Round(time.Millisecond).String()}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	p.logger.Info("request", attrs...)
}

// refusal is an answer of the proxy's own: its status and a line that says
// why, in plain text.
type refusal struct {
	status int
	msg    string
}

func (e *refusal) Error() string { return e.msg }

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) (int, error) {
	resp, err := p.roundTrip(r)
	if err != nil {
		ref, ok := errors.AsType[*refusal](err)
		if !ok {
			ref = &refusal{status: http.StatusBadGateway, msg: "Okta could not be reached: " + okta.Sanitize(err.Error(), 300)}
		}
		http.Error(w, "okta-token-proxy: "+ref.msg, ref.status)
		return ref.status, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ContentLength > p.maxResp {
		msg := fmt.Sprintf("Okta's answer is %d bytes, more than the proxy passes (%d)", resp.ContentLength, p.maxResp)
		http.Error(w, "okta-token-proxy: "+msg, http.StatusBadGateway)
		return http.StatusBadGateway, errors.New(msg)
	}
	copyAnswerHeaders(w.Header(), resp.Header, p.upstream, p.public)
	w.WriteHeader(resp.StatusCode)
	n, err := io.Copy(w, io.LimitReader(resp.Body, p.maxResp+1))
	if err == nil && n > p.maxResp {
		// The status is sent; all that is left is to cut the answer short
		// so the application cannot take it for a whole one.
		panic(http.ErrAbortHandler)
	}
	return resp.StatusCode, err
}

// roundTrip sends r to the org with the token, retrying once for a
// resource server's nonce and once for a token rotated in between.
func (p *Proxy) roundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodConnect || r.URL.IsAbs() || !strings.HasPrefix(r.RequestURI, "/") {
		return nil, &refusal{http.StatusBadRequest, "this proxy forwards paths of " + p.upstream.String() +
			" only: send GET /api/v1/..., not a URL or CONNECT"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, p.maxReq))
	if err != nil {
		return nil, &refusal{http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", p.maxReq)}
	}
	target := *p.upstream
	target.Path, target.RawPath, target.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	tok, err := p.token.Read()
	if err != nil {
		return nil, &refusal{http.StatusServiceUnavailable, "the token is not available: " + err.Error()}
	}
	resp, err := p.send(r, &target, body, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	retryWith := tok
	challenge := strings.ToLower(resp.Header.Get("WWW-Authenticate"))
	switch {
	case tok.DPoP() && strings.Contains(challenge, `error="use_dpop_nonce"`) && resp.Header.Get(okta.HeaderDPoPNonce) != "":
		// The resource server wants its nonce in the proof: send's answer
		// stored it, and a fresh proof carries it.
	default:
		// Perhaps the kubelet swapped in a rotated token meanwhile: one
		// more try, but only with another token.
		next, err := p.token.Read()
		if err != nil || next.Value == tok.Value {
			return resp, nil
		}
		retryWith = next
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, p.maxResp))
	_ = resp.Body.Close()
	return p.send(r, &target, body, retryWith)
}

// send sends one request to the org with tok, and remembers the DPoP nonce
// the answer carries.
func (p *Proxy) send(r *http.Request, target *url.URL, body []byte, tok Token) (*http.Response, error) {
	req, err := p.upstreamRequest(r, target, body, tok)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	if tok.DPoP() {
		p.nonces.Set(okta.NonceScope(target), resp.Header.Get(okta.HeaderDPoPNonce))
	}
	return resp, nil
}

// upstreamRequest is r as it goes to the org: the application's headers
// without its credentials or anything that only concerns this hop, and the
// token's.
func (p *Proxy) upstreamRequest(r *http.Request, target *url.URL, body []byte, tok Token) (*http.Request, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, &refusal{http.StatusBadRequest, "the request cannot be forwarded"}
	}
	for name, values := range r.Header {
		if !forwardedRequestHeader(name) {
			continue
		}
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	req.Header.Set("Authorization", tok.Type+" "+tok.Value)
	if tok.DPoP() {
		proof, err := tok.Key.Proof(r.Method, target, p.clock.Now(), p.nonces.Get(okta.NonceScope(target)), tok.Value)
		if err != nil {
			return nil, &refusal{http.StatusInternalServerError, "the DPoP proof could not be made"}
		}
		req.Header.Set(okta.HeaderDPoP, proof)
	}
	return req, nil
}

// hopByHop are the headers that concern one connection only (RFC 9110
// section 7.6.1), which a proxy never forwards.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// forwardedRequestHeader says whether an application's request header goes
// to Okta: not its credentials, which the proxy sets, not what is about
// this hop, and not forwarding headers that would tell Okta the pod's
// addresses.
func forwardedRequestHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Dpop", "Cookie", "Host", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
		"X-Forwarded-Proto", "X-Real-Ip", "Content-Length":
		return false
	}
	return !hopByHop[http.CanonicalHeaderKey(name)]
}

// copyAnswerHeaders copies Okta's answer headers for the application: not
// what concerns this hop, no cookies of Okta's and no DPoP nonce (the
// proxy's business), and Link and Location rewritten from the org to the
// proxy.
func copyAnswerHeaders(dst, src http.Header, upstream, public *url.URL) {
	for name, values := range src {
		switch c := http.CanonicalHeaderKey(name); {
		case hopByHop[c], c == "Set-Cookie", c == "Dpop-Nonce", c == "Content-Length":
			continue
		case c == "Link" || c == "Location":
			for _, v := range values {
				dst.Add(name, rewriteOrigin(v, upstream, public))
			}
		default:
			for _, v := range values {
				dst.Add(name, v)
			}
		}
	}
}

// rewriteOrigin replaces the org's origin with the proxy's wherever a URL
// in v starts with it: a Link header's <...> targets or a Location.
func rewriteOrigin(v string, upstream, public *url.URL) string {
	from := upstream.Scheme + "://" + upstream.Host
	to := public.Scheme + "://" + public.Host
	out := strings.ReplaceAll(v, "<"+from+"/", "<"+to+"/")
	if strings.HasPrefix(out, from+"/") || out == from {
		out = to + strings.TrimPrefix(out, from)
	}
	return out
}

// Ready says whether the proxy can forward: the token can be read and has
// not expired.
func (p *Proxy) Ready(context.Context) error {
	tok, err := p.token.Read()
	if err != nil {
		return err
	}
	if !tok.Expiry.IsZero() && !p.clock.Now().Before(tok.Expiry) {
		return fmt.Errorf("the token expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	return nil
}
