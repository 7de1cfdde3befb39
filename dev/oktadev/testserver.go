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
	"net"
	"net/http"
	"testing"
)

// NewTestServer starts a server for a test, the way httptest.NewServer
// does: on a free loopback port, with cfg (Issuer left empty becomes the
// listener's URL), and front, when given, in front of its handler. The
// server is closed when the test ends; a failure to start fails the test.
func NewTestServer(tb testing.TB, cfg Config, front ...func(http.Handler) http.Handler) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listening for the Okta dev server: %v", err)
	}
	srv, err := New(cfg)
	if err != nil {
		_ = l.Close()
		tb.Fatalf("creating the Okta dev server: %v", err)
	}
	var wrap func(http.Handler) http.Handler
	if len(front) > 0 {
		wrap = func(h http.Handler) http.Handler {
			for i := len(front) - 1; i >= 0; i-- {
				h = front[i](h)
			}
			return h
		}
	}
	if err := srv.StartBehind(l, wrap); err != nil {
		tb.Fatalf("starting the Okta dev server: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}
