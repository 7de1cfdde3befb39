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

// RoundTrippers that keep what the operator sends and reads bounded, so
// that no single host — whatever a resource names — can take more than its
// share: HostLimiter bounds the requests in flight per host, NoRedirects
// keeps requests on the host that was checked, and LimitBodies bounds what
// is read from an answer.

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
//
// A host is its canonical name (CanonicalHost), without port: the
// allowlist allows a host on every port, so keying by host:port would give
// a resource naming dev-1.okta.com:444, :445, ... one more share of the
// workers per port. (Two names of one address — localhost and 127.0.0.1 —
// are still two hosts: the limiter does not resolve names.) A request
// whose host has no canonical form is refused without being sent.
//
// A host's state lives only while a request holds or waits for one of its
// slots, and is dropped with the last one: the map never holds more hosts
// than there are requests in flight or waiting, however many hosts
// resources have named over time, so there is nothing to forget by hand.
type HostLimiter struct {
	// PerHost is the number of requests in flight allowed per host.
	PerHost int
	// Wait is how long a request may wait for a slot.
	Wait time.Duration
	// Next sends the request; default http.DefaultTransport.
	Next http.RoundTripper

	mu    sync.Mutex
	hosts map[string]*hostSlots
}

// hostSlots is one host's state. slots holds a token for each request in
// flight; users counts the requests holding or waiting for a slot, so the
// entry is dropped only when nobody can still send on or receive from
// slots.
type hostSlots struct {
	slots chan struct{}
	users int // guarded by HostLimiter.mu
}

// HostBusyError says a host already has as many requests in flight as the
// operator allows.
type HostBusyError struct {
	// Host is the host in canonical form, without port.
	Host string
}

func (e *HostBusyError) Error() string {
	return fmt.Sprintf("%s already has as many requests from the operator in flight as it allows; trying again shortly",
		Sanitize(e.Host, 200))
}

// acquire registers a user of host's state, creating it if needed.
func (l *HostLimiter) acquire(host string) *hostSlots {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hosts == nil {
		l.hosts = map[string]*hostSlots{}
	}
	h, ok := l.hosts[host]
	if !ok {
		h = &hostSlots{slots: make(chan struct{}, max(l.PerHost, 1))}
		l.hosts[host] = h
	}
	h.users++
	return h
}

// release ends a use of host's state; the last one drops it.
func (l *HostLimiter) release(host string, h *hostSlots) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h.users--
	if h.users == 0 && l.hosts[host] == h {
		delete(l.hosts, host)
	}
}

// RoundTrip sends r once a slot for its host is free; the slot is held
// until the response body is closed.
func (l *HostLimiter) RoundTrip(r *http.Request) (*http.Response, error) {
	host, err := canonicalURLHost(r.URL)
	if err != nil {
		return nil, err
	}
	h := l.acquire(host)
	timer := time.NewTimer(l.Wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-timer.C:
		l.release(host, h)
		return nil, &HostBusyError{Host: host}
	case <-r.Context().Done():
		l.release(host, h)
		return nil, r.Context().Err()
	}
	done := func() {
		<-h.slots
		l.release(host, h)
	}
	next := l.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		done()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: done}
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
