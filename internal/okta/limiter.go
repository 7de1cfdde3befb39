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
	"io"
	"net/http"
	"sync"
	"time"
)

// HostLimiter is a RoundTripper that bounds the requests in flight to each
// host. The operator's workers are shared by every namespace: without a
// bound, a dozen resources pointing at a server that never answers would
// hold every worker until their requests time out, and another namespace's
// rotation would wait. A request that finds its host busy waits at most
// Wait for a slot, then fails with HostBusyError, which is not a failure
// of Okta: the resource is simply tried again shortly.
type HostLimiter struct {
	// PerHost is the number of requests in flight allowed per host.
	PerHost int
	// Wait is how long a request may wait for a slot.
	Wait time.Duration
	// Next sends the request; default http.DefaultTransport.
	Next http.RoundTripper

	mu    sync.Mutex
	slots map[string]chan struct{}
}

// HostBusyError says a host already has as many requests in flight as the
// operator allows.
type HostBusyError struct{ Host string }

func (e *HostBusyError) Error() string {
	return fmt.Sprintf("%s already has as many requests from the operator in flight as it allows; trying again shortly",
		Sanitize(e.Host, 200))
}

func (l *HostLimiter) slotsFor(host string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slots == nil {
		l.slots = map[string]chan struct{}{}
	}
	s, ok := l.slots[host]
	if !ok {
		s = make(chan struct{}, max(l.PerHost, 1))
		l.slots[host] = s
	}
	return s
}

// RoundTrip sends r once a slot for its host is free; the slot is held
// until the response body is closed.
func (l *HostLimiter) RoundTrip(r *http.Request) (*http.Response, error) {
	slots := l.slotsFor(r.URL.Host)
	timer := time.NewTimer(l.Wait)
	defer timer.Stop()
	select {
	case slots <- struct{}{}:
	case <-timer.C:
		return nil, &HostBusyError{Host: r.URL.Host}
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	next := l.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		<-slots
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { <-slots }}
	return resp, nil
}

type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// NoRedirects is an http.Client's CheckRedirect that follows none: a
// redirect from something claiming to be Okta would send the next request —
// and what it carries — to a host nobody checked.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// IsHostBusy says whether err is (or wraps) a HostBusyError.
func IsHostBusy(err error) bool {
	_, ok := errors.AsType[*HostBusyError](err)
	return ok
}

// LimitBodies is a RoundTripper that fails a response body past Max bytes:
// whatever claims to be Okta cannot make the operator read without bound
// (go-oidc reads a key set whole, for one).
type LimitBodies struct {
	Max  int64
	Next http.RoundTripper
}

// RoundTrip sends r and bounds the answer's body.
func (l LimitBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	next := l.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: l.Max}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

// errBodyTooLarge ends a read past the bound.
var errBodyTooLarge = errors.New("the answer is larger than the operator reads")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
