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

package callback

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// pendingSignIn is a callback server for one resource with a live sign-in
// whose state is st; its log lines are collected in logs.
func pendingSignIn(t *testing.T, st string) (*Server, *strings.Builder) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	const stateNamespace = "okta-token-operator-system"
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: "team-a", UID: "uid-1"},
		Spec: v1.OktaScopedTokenSpec{OktaDomain: "https://dev-123456.okta.com", ClientID: "0oaweb", GrantType: v1.GrantAuthorizationCode,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"}, Scopes: []string{"okta.logs.read"}},
	}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	s := state.NewSecret(stateNamespace, key, obj.UID)
	state.Encode(state.State{Pending: &state.PendingLogin{StateHash: okta.HashState(st), Verifier: "verifier",
		ExpiresAt: clk.Now().Add(time.Hour), RedirectURI: "https://operator.example.com/callback",
		Fingerprint: state.Fingerprint(obj.Spec), Nonce: "nonce"}}, s)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj, s).Build()
	logs := &strings.Builder{}
	return &Server{Client: c, APIReader: c, Clock: clk, StateNamespace: stateNamespace,
		CallbackURL: "https://operator.example.com/callback",
		Log:         funcr.New(func(prefix, args string) { logs.WriteString(prefix + args + "\n") }, funcr.Options{})}, logs
}

var messagePattern = regexp.MustCompile(`(?s)<p id="message">(.*?)</p>`)

// TestOktaErrorTextIsCleaned: error and error_description arrive in the
// browser's query string, so anyone can put anything there. The page shows
// what Okta said without control characters, terminal escapes or
// bidirectional overrides, cut to a sensible length, and the log line
// carries none of it.
func TestOktaErrorTextIsCleaned(t *testing.T) {
	const st = "state-0123456789abcdefghijklmnopqrstuvwxyzABCDEF"
	tests := map[string]struct {
		code, description string
		wantStatus        int
		// wantShown is what the page's message must say (after HTML
		// unescaping); wantGone what it must not.
		wantShown []string
		wantGone  []string
		// rawGone must not appear in the page's HTML as it is sent.
		rawGone []string
	}{
		"a newline forging a log line": {
			code: "access_denied", description: "denied\n2026-11-30T00:00:00Z\tINFO\tcallback\tresult=success",
			wantStatus: http.StatusForbidden,
			wantShown:  []string{"denied 2026-11-30T00:00:00Z INFO callback result=success"},
		},
		"terminal escapes": {
			code: "invalid_scope", description: "\x1b[2J\x1b[31mYour cluster is compromised\x1b[0m\x07",
			wantStatus: http.StatusBadRequest,
			wantShown:  []string{"[2J [31mYour cluster is compromised [0m"},
		},
		"a right-to-left override": {
			code: "server_error", description: "download fix\u202egpj.exe and run it",
			wantStatus: http.StatusBadRequest,
			wantShown:  []string{"download fix gpj.exe and run it"},
		},
		"bidi isolates and marks in the error code": {
			code: "access\u2066_denied\u2069\u200f", description: "x",
			wantStatus: http.StatusBadRequest,
			wantShown:  []string{`Okta answered "access _denied": x.`},
		},
		"control characters in the error code": {
			code: "invalid_scope\r\n\x00\x1b]0;title\x07", description: "y",
			wantStatus: http.StatusBadRequest,
			wantShown:  []string{`Okta answered "invalid_scope ]0;title": y.`},
		},
		"C1 controls, zero-width and invalid UTF-8": {
			code: "consent_required", description: "a\u009b31mb\u200bc\xffd\u2028e",
			wantStatus: http.StatusBadRequest,
			wantShown:  []string{"a 31mb c d e"},
		},
		"markup stays text": {
			code: "access_denied", description: "<script>alert(1)</script>\n<img src=x onerror=alert(2)>",
			wantStatus: http.StatusForbidden,
			wantShown:  []string{"<script>alert(1)</script> <img src=x onerror=alert(2)>"},
			rawGone:    []string{"<script", "<img"},
		},
		"a long description is cut": {
			code: "access_denied", description: strings.Repeat("x", 1000),
			wantStatus: http.StatusForbidden,
			wantShown:  []string{strings.Repeat("x", 400) + "…"},
			wantGone:   []string{strings.Repeat("x", 401)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, logs := pendingSignIn(t, st)
			q := url.Values{"state": {st}, "error": {tc.code}, "error_description": {tc.description}}
			req := httptest.NewRequest(http.MethodGet, "/callback?"+q.Encode(), nil)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)

			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; page:\n%s", rec.Code, tc.wantStatus, rec.Body)
			}
			body := rec.Body.String()
			m := messagePattern.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no message on the page:\n%s", body)
			}
			message := html.UnescapeString(m[1])
			for _, want := range tc.wantShown {
				if !strings.Contains(message, want) {
					t.Errorf("the message %q does not show %q", message, want)
				}
			}
			for _, gone := range tc.wantGone {
				if strings.Contains(message, gone) {
					t.Errorf("the message shows %q", gone)
				}
			}
			for _, gone := range tc.rawGone {
				if strings.Contains(body, gone) {
					t.Errorf("the page's HTML holds %q", gone)
				}
			}
			// Nothing but printable text and plain spaces, anywhere on the
			// page's lines (the template's own newlines separate them).
			if !utf8.ValidString(body) {
				t.Errorf("the page is not valid UTF-8")
			}
			for _, r := range strings.ReplaceAll(body, "\n", "") {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || (unicode.IsSpace(r) && r != ' ') {
					t.Errorf("the page holds %U", r)
				}
			}
			// The log line says how the request ended, never what it
			// carried.
			if strings.Count(logs.String(), "\n") != 1 || !strings.Contains(logs.String(), `"result"="okta_error"`) {
				t.Errorf("log:\n%s", logs)
			}
			for _, leaked := range []string{st, tc.description} {
				if strings.Contains(logs.String(), leaked) {
					t.Errorf("the log carries %q", leaked)
				}
			}
		})
	}
}

// TestOktaErrorEndsTheSignIn: after Okta's error the state is spent and the
// claim released, so the reconciler publishes a new link at once.
func TestOktaErrorEndsTheSignIn(t *testing.T) {
	const st = "state-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"
	srv, _ := pendingSignIn(t, st)
	q := url.Values{"state": {st}, "error": {"access_denied\n"}, "error_description": {"\x1b[31mno"}}
	for i, want := range []int{http.StatusForbidden, http.StatusBadRequest} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?"+q.Encode(), nil))
		if rec.Code != want {
			t.Fatalf("request %d: status %d, want %d", i+1, rec.Code, want)
		}
	}
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: srv.StateNamespace, Name: state.SecretName(types.NamespacedName{Namespace: "team-a", Name: "logs-reader"})}
	if err := srv.Client.Get(context.Background(), key, s); err != nil {
		t.Fatal(err)
	}
	got := state.Decode(s)
	if got.Pending != nil || !got.Claimed.IsZero() || got.Grant != nil {
		t.Fatalf("state after Okta's error: pending %+v, claimed %v, grant %v", got.Pending, got.Claimed, got.Grant)
	}
}
