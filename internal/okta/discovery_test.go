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
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// metadataServer serves the dev server's handler on its own listener,
// hiding the documents in hide, and records the paths asked for.
type metadataServer struct {
	issuer string
	mu     sync.Mutex
	paths  []string
}

func (m *metadataServer) asked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.paths...)
}

func newMetadataServer(t *testing.T, hide ...string) *metadataServer {
	t.Helper()
	m := &metadataServer{}
	dev := oktadev.NewTestServer(t, oktadev.Config{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.mu.Lock()
			m.paths = append(m.paths, r.URL.Path)
			m.mu.Unlock()
			if slices.Contains(hide, r.URL.Path) {
				http.NotFound(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	m.issuer = dev.Issuer()
	return m
}

func TestDiscover(t *testing.T) {
	const rfc8414, oidc = "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"
	tests := map[string]struct {
		hide      []string
		asID      string
		wantAsked []string
		wantErr   string
	}{
		"org authorization server metadata": {
			wantAsked: []string{rfc8414},
		},
		"falls back to the OpenID configuration": {
			hide: []string{rfc8414}, wantAsked: []string{rfc8414, oidc},
		},
		"neither document": {
			hide: []string{rfc8414, oidc}, wantAsked: []string{rfc8414, oidc},
			wantErr: "HTTP 404",
		},
		"a custom authorization server is asked at its own path": {
			asID:      "default",
			wantAsked: []string{"/oauth2/default" + rfc8414, "/oauth2/default" + oidc},
			wantErr:   "/oauth2/default/.well-known/oauth-authorization-server",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := newMetadataServer(t, tc.hide...)
			d := &Discoverer{HTTP: http.DefaultClient, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Minute, AllowInsecure: true}
			ep, err := d.Discover(context.Background(), m.issuer, tc.asID)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				if ClassOf(err) != Transient {
					t.Fatalf("class %s, want Transient: the server may come back", ClassOf(err))
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if ep.TokenEndpoint != m.issuer+"/oauth2/v1/token" || ep.AuthorizationEndpoint != m.issuer+"/oauth2/v1/authorize" ||
					ep.RevocationEndpoint != m.issuer+"/oauth2/v1/revoke" {
					t.Fatalf("endpoints %+v", ep)
				}
			}
			if got := m.asked(); strings.Join(got, ",") != strings.Join(tc.wantAsked, ",") {
				t.Fatalf("asked %v, want %v", got, tc.wantAsked)
			}
		})
	}
}

func TestDiscoverCachesForItsTTL(t *testing.T) {
	m := newMetadataServer(t)
	clk := clocktesting.NewFakeClock(time.Now())
	d := &Discoverer{HTTP: http.DefaultClient, Clock: clk, TTL: 15 * time.Minute, AllowInsecure: true}
	for range 3 {
		if _, err := d.Discover(context.Background(), m.issuer, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.asked()); n != 1 {
		t.Fatalf("%d fetches within the TTL, want 1", n)
	}
	clk.Step(15 * time.Minute)
	if _, err := d.Discover(context.Background(), m.issuer, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(m.asked()); n != 2 {
		t.Fatalf("%d fetches after the TTL, want 2", n)
	}
}

func TestDiscoverRefusesWhatItShould(t *testing.T) {
	m := newMetadataServer(t)
	strict := &Discoverer{HTTP: http.DefaultClient, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Minute}
	_, err := strict.Discover(context.Background(), m.issuer, "")
	var insecure *InsecureIssuerError
	if !errors.As(err, &insecure) || !strings.Contains(err.Error(), "--allow-insecure-issuers") {
		t.Fatalf("http issuer without --allow-insecure-issuers: %v", err)
	}
	if len(m.asked()) != 0 {
		t.Fatalf("asked %v of an insecure issuer", m.asked())
	}

	// A document whose issuer is not the one asked for is refused (RFC
	// 8414 section 3.3): here the same server is asked under another name.
	other := strings.Replace(m.issuer, "127.0.0.1", "localhost", 1)
	lenient := &Discoverer{HTTP: http.DefaultClient, Clock: clocktesting.NewFakeClock(time.Now()), TTL: time.Minute, AllowInsecure: true}
	_, err = lenient.Discover(context.Background(), other, "")
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched issuer: %v", err)
	}
}
