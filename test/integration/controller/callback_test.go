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

package controller

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/callback"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// storedToken is what must not change when the callback gets bad input.
type storedToken struct {
	secretVersion string
	accessToken   string
	refreshToken  string
}

func snapshot(g Gomega, obj *v1.OktaScopedToken) storedToken {
	sec := tokenSecret(g, obj.Namespace, obj.TokenSecretName())
	st := state.Decode(stateSecret(g, obj))
	g.Expect(st.Grant).NotTo(BeNil())
	return storedToken{sec.ResourceVersion, string(sec.Data[v1.TokenSecretAccessToken]), st.Grant.RefreshToken}
}

// freshState asks for a new sign-in on a resource that already has a token
// (the re-authorize annotation) and returns the new link's state. After a
// failed code exchange the new link waits out a backoff: the operator's
// clock is moved on until it is there.
func freshState(t *testing.T, f *fixture, obj *v1.OktaScopedToken) (string, string) {
	t.Helper()
	g := NewWithT(t)
	before := get(g, obj).Status.AuthorizationURL
	cur := get(g, obj)
	patch := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[v1.AnnotationReauthorizeRequestedAt] = rand.String(8)
	g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
	var authURL string
	f.stepUntil(time.Second, func(g Gomega) {
		authURL = get(g, obj).Status.AuthorizationURL
		g.Expect(authURL).NotTo(BeEmpty())
		g.Expect(authURL).NotTo(Equal(before))
		// The link is usable once the callback's cache sees it.
		st := state.Decode(stateSecret(g, obj))
		g.Expect(st.Pending).NotTo(BeNil())
	})
	u, err := url.Parse(authURL)
	g.Expect(err).NotTo(HaveOccurred())
	return u.Query().Get("state"), authURL
}

// TestCallbackRejectsBadInput sends every kind of broken or hostile request
// to the callback of a resource that already holds a token: each gets a 4xx
// (or 502) and a plain page, and the stored token does not change.
func TestCallbackRejectsBadInput(t *testing.T) {
	g := NewWithT(t)
	f, _ := signedIn(t, fixtureOptions{})
	srv, callbackURL, obj := f.srv, f.callback, f.obj
	var want storedToken
	g.Eventually(func(g Gomega) { want = snapshot(g, obj) }).Should(Succeed())
	remember(want.accessToken, want.refreshToken)

	long := strings.Repeat("A", 10000)
	tests := []struct {
		name string
		// request builds the method and query; state is a live state
		// when needsState is set.
		method     string
		query      func(state string) string
		needsState bool
		// before runs before the request (fault injection).
		before     func()
		wantStatus int
		wantText   string
	}{
		{name: "wrong method", method: http.MethodPost, query: func(string) string { return "state=x&code=y" },
			wantStatus: http.StatusMethodNotAllowed, wantText: "only answers GET"},
		{name: "no state", query: func(string) string { return "code=abc" },
			wantStatus: http.StatusBadRequest, wantText: "no state parameter"},
		{name: "unknown state", query: func(string) string { return "state=" + rand.String(43) + "&code=abc" },
			wantStatus: http.StatusBadRequest, wantText: "unknown or was already used"},
		{name: "duplicated state", query: func(s string) string { return "state=" + s + "&state=" + s + "&code=abc" }, needsState: true,
			wantStatus: http.StatusBadRequest, wantText: "appears more than once"},
		{name: "duplicated code", query: func(s string) string { return "state=" + s + "&code=a&code=b" }, needsState: true,
			wantStatus: http.StatusBadRequest, wantText: "appears more than once"},
		{name: "absurdly long state", query: func(string) string { return "state=" + long[:1000] + "&code=abc" },
			wantStatus: http.StatusBadRequest, wantText: "too long"},
		{name: "absurdly long query", query: func(string) string { return "state=abc&code=" + long },
			wantStatus: http.StatusBadRequest, wantText: "too long"},
		{name: "broken query encoding", query: func(string) string { return "state=%zz&code=abc" },
			wantStatus: http.StatusBadRequest, wantText: "cannot be read"},
		{name: "script in the parameters", query: func(string) string { return "state=<script>alert(1)</script>&code=x" },
			wantStatus: http.StatusBadRequest, wantText: "unknown or was already used"},
		{name: "missing code", query: func(s string) string { return "state=" + s }, needsState: true,
			wantStatus: http.StatusBadRequest, wantText: "neither a code nor an error"},
		{name: "person cancelled", query: func(s string) string {
			return "state=" + s + "&error=access_denied&error_description=" + url.QueryEscape("The resource owner or authorization server denied the request.")
		}, needsState: true, wantStatus: http.StatusForbidden, wantText: "Sign-in cancelled"},
		{name: "other Okta error", query: func(s string) string {
			return "state=" + s + "&error=invalid_scope&error_description=" + url.QueryEscape("One or more scopes are not configured for the authorization server resource.")
		}, needsState: true, wantStatus: http.StatusBadRequest, wantText: "One or more scopes are not configured"},
		{name: "code Okta rejects", query: func(s string) string { return "state=" + s + "&code=" + rand.String(40) }, needsState: true,
			wantStatus: http.StatusBadRequest, wantText: "Okta did not accept the sign-in"},
		{name: "Okta fails during the exchange", query: func(s string) string { return "state=" + s + "&code=" + rand.String(40) }, needsState: true,
			before:     func() { srv.InjectFault(oktadev.Fault{Status: http.StatusServiceUnavailable, Count: 1}) },
			wantStatus: http.StatusBadGateway, wantText: "Okta could not be reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := ""
			if tc.needsState {
				st, _ = freshState(t, f, obj)
				remember(st)
			}
			if tc.before != nil {
				tc.before()
				defer srv.ClearFaults()
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, callbackURL+"?"+tc.query(st), nil)
			g.Expect(err).NotTo(HaveOccurred())
			resp, err := http.DefaultClient.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			g.Expect(resp.StatusCode).To(Equal(tc.wantStatus), string(body))
			g.Expect(resp.Header.Get("Content-Type")).To(Equal("text/html; charset=utf-8"))
			g.Expect(resp.Header.Get("Referrer-Policy")).To(Equal("no-referrer"))
			g.Expect(string(body)).To(ContainSubstring(tc.wantText))
			g.Expect(string(body)).NotTo(ContainSubstring("<script>alert"), "input is never echoed unescaped")
			if st != "" {
				g.Expect(string(body)).NotTo(ContainSubstring(st), "the state is not echoed")
			}
			// The stored token is untouched, also after a pass.
			f.poke()
			g.Expect(snapshot(g, obj)).To(Equal(want))
		})
	}

	t.Run("a valid sign-in still works afterwards", func(t *testing.T) {
		g := NewWithT(t)
		_, authURL := freshState(t, f, obj)
		status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(http.StatusOK), page)
		g.Eventually(func(g Gomega) bool { return snapshot(g, obj).accessToken != want.accessToken }).Should(BeTrue(), "a new access token")
	})
}

// TestCallbackExpiredState: a link used after its expiry is refused with a
// page that says so, and the stored token is untouched. The callback server
// is driven directly with a fake clock, with no reconciler running to
// replace the expired link first.
func TestCallbackExpiredState(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	fc, callbackURL := f.clock, f.callback
	obj := f.newWebToken()
	authURL := waitForAuthorizationURL(t, obj)
	callbackAt, err := oktadev.Authorize(authURL, userName, userPassword)
	g.Expect(err).NotTo(HaveOccurred())
	f.stop()

	fc.Step(61 * time.Minute)
	cb := &callback.Server{
		Client: env.Client, APIReader: env.Client, Clock: fc, StateNamespace: stateNamespace, CallbackURL: callbackURL,
		Okta:      &okta.Client{HTTP: http.DefaultClient, Clock: fc},
		Discovery: &okta.Discoverer{HTTP: http.DefaultClient, Clock: fc, TTL: time.Minute, AllowInsecure: true},
		Log:       logr.Discard(),
	}
	rec := httptest.NewRecorder()
	cb.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?"+callbackAt.RawQuery, nil))
	g.Expect(rec.Code).To(Equal(http.StatusBadRequest))
	g.Expect(rec.Body.String()).To(ContainSubstring("This sign-in link has expired"))
	g.Expect(state.Decode(stateSecret(g, obj)).Grant).To(BeNil(), "no token stored from an expired link")

	// Used once, even when expired.
	rec = httptest.NewRecorder()
	cb.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?"+callbackAt.RawQuery, nil))
	g.Expect(rec.Code).To(Equal(http.StatusBadRequest))
	g.Expect(rec.Body.String()).To(ContainSubstring("unknown or was already used"))
}
