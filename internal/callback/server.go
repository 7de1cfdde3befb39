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

// Package callback is the HTTP server Okta redirects the browser to after a
// person signs in. It runs on every replica, leader or not: the pending
// sign-in lives in the state Secret, not in memory, so any replica, even one
// started after the link was made, can finish it.
//
// Every request that is not a valid, first use of a pending sign-in gets a
// 4xx (or a 502 when Okta fails) and a plain page saying what happened and
// what to do, and changes no stored token.
package callback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Server is a manager runnable serving /callback.
type Server struct {
	BindAddress string
	// Listener, when set, is served instead of BindAddress.
	Listener net.Listener
	// Client reads through the manager's cache (state Secrets are cached).
	Client client.Client
	// APIReader reads straight from the API server, where staleness
	// matters: the one-time use of a state.
	APIReader      client.Reader
	Okta           *okta.Client
	Discovery      *okta.Discoverer
	Clock          clock.PassiveClock
	StateNamespace string
	CallbackURL    string
	Log            logr.Logger
	// SecretPolicy says which referenced Secrets may be read.
	SecretPolicy creds.Policy
	// Recorder records Events about resources (a refused sign-in).
	Recorder record.EventRecorder
	// Budget paces token requests per Okta org; a code exchange goes
	// first (a person is waiting). Nil: unpaced.
	Budget *budget.Budget

	ready atomic.Bool
}

// NeedLeaderElection is false: every replica serves callbacks.
func (s *Server) NeedLeaderElection() bool { return false }

// Ready is a readiness check that passes once the server listens.
func (s *Server) Ready(*http.Request) error {
	if !s.ready.Load() {
		return errors.New("callback server not listening yet")
	}
	return nil
}

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	l := s.Listener
	if l == nil {
		var err error
		l, err = net.Listen("tcp", s.BindAddress)
		if err != nil {
			return fmt.Errorf("callback server: listening on %s: %w", s.BindAddress, err)
		}
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Long enough for the code exchange with Okta (bounded below).
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 32 << 10,
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	s.ready.Store(true)
	s.Log.Info("serving sign-in callbacks", "address", l.Addr().String(), "callbackURL", s.CallbackURL)
	select {
	case <-ctx.Done():
		s.ready.Store(false)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	case err := <-errc:
		s.ready.Store(false)
		return fmt.Errorf("callback server: %w", err)
	}
}

// Handler serves /callback and a liveness answer at /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", s.serveCallback)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		render(w, http.StatusNotFound, page{Title: "Not found", Message: "This server only answers sign-in callbacks at /callback."})
	})
	return mux
}
