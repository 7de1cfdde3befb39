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
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/felixge/httpsnoop"
	"k8s.io/utils/clock"
)

// requestLog collects what handlers learn about a request (which client,
// which OAuth error) for its single log line. Only identifiers and error
// codes go in: never a token, code, secret, password, assertion, DPoP proof
// or nonce, and never the query string, which carries state and PKCE
// challenges.
type requestLog struct {
	mu         sync.Mutex
	clientID   string
	oauthError string
}

type requestLogKey struct{}

func setLogClientID(ctx context.Context, id string) {
	if l, ok := ctx.Value(requestLogKey{}).(*requestLog); ok && id != "" {
		l.mu.Lock()
		l.clientID = id
		l.mu.Unlock()
	}
}

func setLogError(ctx context.Context, code string) {
	if l, ok := ctx.Value(requestLogKey{}).(*requestLog); ok {
		l.mu.Lock()
		l.oauthError = code
		l.mu.Unlock()
	}
}

// logRequests writes one line per request: method, path, status, duration,
// and the client and OAuth error where known.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wallStart := clock.RealClock{}.Now()
		entry := &requestLog{}
		// The status the handler wrote, 0 when it wrote none: httpsnoop
		// keeps the writer's optional interfaces (Flusher, ...) intact.
		status := 0
		hooked := httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(code int) {
					if status == 0 {
						status = code
					}
					next(code)
				}
			},
			Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) {
					if status == 0 {
						status = http.StatusOK
					}
					return next(b)
				}
			},
		})
		next.ServeHTTP(hooked, r.WithContext(context.WithValue(r.Context(), requestLogKey{}, entry)))

		switch {
		case status == 0 && r.Context().Err() != nil:
			// The client gave up before an answer was written (for example
			// during a hang fault); 499 is nginx's name for that.
			status = 499
		case status == 0:
			status = http.StatusOK
		}
		// Duration is measured on the wall clock: a fake clock does not move
		// while a request is served.
		attrs := []any{
			"method", r.Method,
			"path", r.URL.Path,
			"status", status,
			"duration", clock.RealClock{}.Since(wallStart).Round(time.Microsecond).String(),
		}
		entry.mu.Lock()
		if entry.clientID != "" {
			attrs = append(attrs, "client_id", entry.clientID)
		}
		if entry.oauthError != "" {
			attrs = append(attrs, "error", entry.oauthError)
		}
		entry.mu.Unlock()
		s.logger.Info("request", attrs...)
	})
}
