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
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

const testTokenEndpoint = "https://dev-123456.okta.com/oauth2/v1/token"

// assertionClaims are the claims of a client assertion, read after its
// signature was verified.
type assertionClaims struct {
	jwt.Claims
	header jose.Header
}

// verifyAssertion checks the signature with the public key and returns the
// claims; it fails the test when the signature does not verify.
func verifyAssertion(g Gomega, assertion string, pub crypto.PublicKey) assertionClaims {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tok.Headers).To(HaveLen(1))
	var c assertionClaims
	g.Expect(tok.Claims(pub, &c.Claims)).To(Succeed(), "the assertion verifies with the app's public key")
	c.header = tok.Headers[0]
	return c
}

func TestAssertion(t *testing.T) {
	tests := []struct {
		name    string
		key     *PrivateKey
		public  crypto.PublicKey
		other   crypto.PublicKey
		wantAlg jose.SignatureAlgorithm
	}{
		{name: "RSA with a key ID", key: mustParse(t, pkcs8(testRSAKey()), "rsa-1"), public: testRSAKey().Public(),
			other: testOtherRSAKey().Public(), wantAlg: jose.RS256},
		{name: "RSA PKCS#1 without a key ID", key: mustParse(t, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey())), ""),
			public: testRSAKey().Public(), other: testOtherRSAKey().Public(), wantAlg: jose.RS256},
		{name: "EC P-256 with a key ID", key: mustParse(t, sec1(testECKey()), "ec-1"), public: testECKey().Public(),
			other: mustEC(testECKey().Curve).Public(), wantAlg: jose.ES256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			c := &Client{Clock: clocktesting.NewFakeClock(now)}
			seen := map[string]bool{}
			for range 100 {
				s, err := c.Assertion("0oaservice", testTokenEndpoint, tc.key)
				g.Expect(err).NotTo(HaveOccurred())
				claims := verifyAssertion(g, s, tc.public)

				g.Expect(claims.header.Algorithm).To(Equal(string(tc.wantAlg)))
				if tc.key.KeyID != "" {
					g.Expect(claims.header.KeyID).To(Equal(tc.key.KeyID), "kid names the registered key")
				} else {
					g.Expect(claims.header.KeyID).To(BeEmpty())
				}
				g.Expect(claims.Issuer).To(Equal("0oaservice"))
				g.Expect(claims.Subject).To(Equal("0oaservice"))
				g.Expect([]string(claims.Audience)).To(Equal([]string{testTokenEndpoint}), "aud is exactly the token endpoint")
				g.Expect(claims.Expiry).NotTo(BeNil())
				exp := claims.Expiry.Time()
				g.Expect(exp).To(BeTemporally(">", now.Add(time.Minute)), "long enough to reach Okta")
				g.Expect(exp).To(BeTemporally("<=", now.Add(5*time.Minute)), "well under Okta's one-hour limit")
				g.Expect(claims.IssuedAt).NotTo(BeNil())
				g.Expect(claims.IssuedAt.Time()).To(BeTemporally("<=", now), "never issued in the future")
				g.Expect(claims.IssuedAt.Time()).To(BeTemporally(">=", now.Add(-time.Minute)))
				g.Expect(claims.Validate(jwt.Expected{
					Issuer: "0oaservice", Subject: "0oaservice", AnyAudience: jwt.Audience{testTokenEndpoint}, Time: now,
				})).To(Succeed())
				g.Expect(len(claims.ID)).To(BeNumerically(">=", 32), "a 128-bit random jti")
				g.Expect(seen).NotTo(HaveKey(claims.ID), "jti is never reused")
				seen[claims.ID] = true

				tok, err := jwt.ParseSigned(s, []jose.SignatureAlgorithm{tc.wantAlg})
				g.Expect(err).NotTo(HaveOccurred())
				var ignored jwt.Claims
				g.Expect(tok.Claims(tc.other, &ignored)).NotTo(Succeed(), "another key does not verify it")
			}
			g.Expect(seen).To(HaveLen(100))
		})
	}
}

// TestClientCredentials mints tokens from the dev server and checks the
// request as it went on the wire.
func TestClientCredentials(t *testing.T) {
	env := newDevEnv(t)
	tests := []struct {
		name     string
		clientID string
		key      *PrivateKey
		public   crypto.PublicKey
		wantAlg  jose.SignatureAlgorithm
	}{
		{name: "RS256", clientID: rsaServiceID, key: mustParse(t, pkcs8(testRSAKey()), "rsa-1"), public: testRSAKey().Public(), wantAlg: jose.RS256},
		{name: "ES256 without kid", clientID: ecServiceID, key: mustParse(t, sec1(testECKey()), ""), public: testECKey().Public(), wantAlg: jose.ES256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			before := len(env.recorder.sent())
			tok, err := env.client.ClientCredentials(context.Background(), env.ep, tc.clientID, tc.key, []string{grantedScope})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(tok.AccessToken).NotTo(BeEmpty())
			g.Expect(tok.TokenType).To(Equal("Bearer"))
			g.Expect(tok.RefreshToken).To(BeEmpty(), "no refresh token without a person")
			g.Expect(tok.Scopes).To(Equal([]string{grantedScope}))
			g.Expect(tok.IssuedAt).To(Equal(env.clock.Now()))
			g.Expect(tok.Expiry).To(Equal(env.clock.Now().Add(devTokenLifetime)), "expiry follows expires_in")
			g.Expect(tok.IDToken).To(BeEmpty(), "no ID token without a person")

			sent := env.recorder.sent()[before:]
			g.Expect(sent).To(HaveLen(1))
			form := sent[0]
			g.Expect(form.Get("grant_type")).To(Equal("client_credentials"))
			g.Expect(form.Get("scope")).To(Equal(grantedScope))
			g.Expect(form.Get("client_assertion_type")).To(Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
			g.Expect(form).NotTo(HaveKey("client_secret"))
			claims := verifyAssertion(g, form.Get("client_assertion"), tc.public)
			g.Expect(claims.header.Algorithm).To(Equal(string(tc.wantAlg)))
			g.Expect(claims.header.KeyID).To(Equal(tc.key.KeyID))
			g.Expect([]string(claims.Audience)).To(Equal([]string{env.ep.TokenEndpoint}))
			g.Expect(claims.Issuer).To(Equal(tc.clientID))
			g.Expect(claims.Subject).To(Equal(tc.clientID))

			// The token is good for what it was asked for.
			req, _ := http.NewRequest(http.MethodGet, env.srv.Issuer()+"/api/v1/logs?limit=1", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			_ = resp.Body.Close()
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		})
	}
}

// TestClientCredentialsRetryIsNeverAReplay: each call signs a new assertion,
// so a retry after a failure carries a new jti. The dev server refuses a jti
// it has seen, as Okta does; the last part shows that it would have noticed.
func TestClientCredentialsRetryIsNeverAReplay(t *testing.T) {
	g := NewWithT(t)
	env := newDevEnv(t)
	key := mustParse(t, pkcs8(testRSAKey()), "rsa-1")
	env.srv.InjectFault(oktadev.Fault{Status: http.StatusServiceUnavailable, Count: 2})

	for attempt := 1; attempt <= 2; attempt++ {
		_, err := env.client.ClientCredentials(context.Background(), env.ep, rsaServiceID, key, []string{grantedScope})
		g.Expect(ClassOf(err)).To(Equal(Transient), "attempt %d: %v", attempt, err)
	}
	tok, err := env.client.ClientCredentials(context.Background(), env.ep, rsaServiceID, key, []string{grantedScope})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tok.AccessToken).NotTo(BeEmpty())

	sent := env.recorder.sent()
	g.Expect(sent).To(HaveLen(3))
	jtis := map[string]bool{}
	for _, form := range sent {
		jtis[verifyAssertion(g, form.Get("client_assertion"), testRSAKey().Public()).ID] = true
	}
	g.Expect(jtis).To(HaveLen(3), "every attempt has its own jti")

	// Sending the accepted assertion again is refused.
	resp, err := http.PostForm(env.ep.TokenEndpoint, sent[2])
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var body map[string]string
	g.Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
	g.Expect(body).To(HaveKeyWithValue("error", "invalid_client"))
	g.Expect(body["error_description"]).To(ContainSubstring("already been used"))
}

// TestErrorsFromOkta: what the dev server answers, sorted into the classes
// the reconciler acts on, with Okta's words kept and no secret in the text.
func TestErrorsFromOkta(t *testing.T) {
	env := newDevEnv(t)
	rsaKey := mustParse(t, pkcs8(testRSAKey()), "rsa-1")
	wrongKey := mustParse(t, pkcs8(testOtherRSAKey()), "rsa-1")
	reset := env.clock.Now().Add(42 * time.Second).Truncate(time.Second)
	clientCredentials := func(key *PrivateKey, scopes ...string) func() error {
		return func() error {
			_, err := env.client.ClientCredentials(context.Background(), env.ep, rsaServiceID, key, scopes)
			return err
		}
	}
	tests := []struct {
		name       string
		fault      *oktadev.Fault
		call       func() error
		wantClass  ErrorClass
		wantStatus int
		wantCode   string
		wantDesc   string
		wantRetry  time.Time
	}{
		{
			name: "429 with X-Rate-Limit-Reset", fault: &oktadev.Fault{Status: http.StatusTooManyRequests, Reset: reset},
			call: clientCredentials(rsaKey, grantedScope), wantClass: RateLimited, wantStatus: 429, wantCode: "rate_limited", wantRetry: reset,
		},
		{
			name: "503", fault: &oktadev.Fault{Status: http.StatusServiceUnavailable},
			call: clientCredentials(rsaKey, grantedScope), wantClass: Transient, wantStatus: 503, wantCode: "temporarily_unavailable",
		},
		{
			name: "500", fault: &oktadev.Fault{Status: http.StatusInternalServerError},
			call: clientCredentials(rsaKey, grantedScope), wantClass: Transient, wantStatus: 500, wantCode: "server_error",
		},
		{
			name: "a key the app does not have", call: clientCredentials(wrongKey, grantedScope),
			wantClass: ClientInvalid, wantStatus: 401, wantCode: "invalid_client", wantDesc: "The client_assertion signature is invalid.",
		},
		{
			name: "a scope not granted to the app", call: clientCredentials(rsaKey, ungrantedScope),
			wantClass: ScopesRefused, wantStatus: 400, wantCode: "consent_required", wantDesc: "You are not allowed any of the requested scopes.",
		},
		{
			name: "a scope Okta does not know", call: clientCredentials(rsaKey, "okta.nothing.read"),
			wantClass: ScopesRefused, wantStatus: 400, wantCode: "invalid_scope",
		},
		{
			name: "a refresh token Okta does not know",
			call: func() error {
				_, err := env.client.Refresh(context.Background(), env.ep, ClientSecret{ID: webClientID, Secret: webSecret}, "not-a-refresh-token")
				return err
			},
			wantClass: GrantInvalid, wantStatus: 400, wantCode: "invalid_grant",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			if tc.fault != nil {
				env.srv.InjectFault(*tc.fault)
			}
			before := len(env.recorder.sent())
			err := tc.call()
			var oe *Error
			g.Expect(errors.As(err, &oe)).To(BeTrue(), "%v", err)
			g.Expect(oe.Class).To(Equal(tc.wantClass), "%v", err)
			g.Expect(oe.StatusCode).To(Equal(tc.wantStatus))
			g.Expect(oe.Code).To(Equal(tc.wantCode))
			if tc.wantDesc != "" {
				g.Expect(oe.Description).To(Equal(tc.wantDesc))
				g.Expect(err.Error()).To(ContainSubstring(tc.wantDesc), "the message says what Okta said")
			}
			g.Expect(err.Error()).To(ContainSubstring(tc.wantCode))
			g.Expect(oe.RetryAt).To(BeTemporally("==", tc.wantRetry))
			for _, form := range env.recorder.sent()[before:] {
				for _, secret := range []string{form.Get("client_assertion"), form.Get("refresh_token"), webSecret} {
					if secret != "" {
						g.Expect(err.Error()).NotTo(ContainSubstring(secret))
					}
				}
			}
		})
	}

	t.Run("no answer at all", func(t *testing.T) {
		g := NewWithT(t)
		closed := env.ep
		closed.TokenEndpoint = "http://127.0.0.1:1/oauth2/v1/token"
		_, err := env.client.ClientCredentials(context.Background(), closed, rsaServiceID, rsaKey, []string{grantedScope})
		g.Expect(ClassOf(err)).To(Equal(Transient))
		g.Expect(err.Error()).To(HavePrefix("requesting a client-credentials token: "))
	})
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   ErrorClass
	}{
		{http.StatusTooManyRequests, "", RateLimited},
		{http.StatusTooManyRequests, "invalid_client", RateLimited},
		{http.StatusInternalServerError, "server_error", Transient},
		{http.StatusBadGateway, "", Transient},
		{http.StatusServiceUnavailable, "temporarily_unavailable", Transient},
		{http.StatusGatewayTimeout, "", Transient},
		{http.StatusRequestTimeout, "", Transient},
		{http.StatusBadRequest, "invalid_grant", GrantInvalid},
		{http.StatusUnauthorized, "invalid_client", ClientInvalid},
		{http.StatusBadRequest, "unauthorized_client", ClientInvalid},
		{http.StatusBadRequest, "consent_required", ScopesRefused},
		{http.StatusBadRequest, "invalid_scope", ScopesRefused},
		{http.StatusForbidden, "access_denied", ScopesRefused},
		{http.StatusBadRequest, "temporarily_unavailable", Transient},
		{http.StatusBadRequest, "server_error", Transient},
		{http.StatusNotFound, "", Transient},
		{http.StatusBadRequest, "invalid_request", Permanent},
		{http.StatusBadRequest, "unsupported_grant_type", Permanent},
		{http.StatusBadRequest, "invalid_dpop_proof", DPoPRefused},
		{http.StatusBadRequest, "use_dpop_nonce", DPoPRefused},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSpace(http.StatusText(tc.status)+" "+tc.code), func(t *testing.T) {
			if got := classifyStatus(tc.status, tc.code); got != tc.want {
				t.Errorf("classifyStatus(%d, %q) = %s, want %s", tc.status, tc.code, got, tc.want)
			}
		})
	}
}

func TestRateLimitReset(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	tests := map[string]struct {
		header http.Header
		want   time.Time
	}{
		"X-Rate-Limit-Reset in unix seconds": {
			header: http.Header{"X-Rate-Limit-Reset": {"1772366460"}},
			want:   time.Unix(1772366460, 0),
		},
		"X-Rate-Limit-Reset wins over Retry-After": {
			header: http.Header{"X-Rate-Limit-Reset": {"1772366460"}, "Retry-After": {"5"}},
			want:   time.Unix(1772366460, 0),
		},
		"Retry-After in seconds": {
			header: http.Header{"Retry-After": {"17"}},
			want:   now.Add(17 * time.Second),
		},
		"unreadable X-Rate-Limit-Reset falls back to Retry-After": {
			header: http.Header{"X-Rate-Limit-Reset": {"soon"}, "Retry-After": {"3"}},
			want:   now.Add(3 * time.Second),
		},
		"Retry-After as an HTTP date is not read": {
			header: http.Header{"Retry-After": {"Sun, 01 Mar 2026 12:05:00 GMT"}},
			want:   now.Add(time.Minute),
		},
		"zero reset": {
			header: http.Header{"X-Rate-Limit-Reset": {"0"}},
			want:   now.Add(time.Minute),
		},
		"no headers: Okta's one-minute window": {header: http.Header{}, want: now.Add(time.Minute)},
		"no response":                          {header: nil, want: now.Add(time.Minute)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := rateLimitReset(tc.header, now); !got.Equal(tc.want) {
				t.Errorf("rateLimitReset = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestErrorMessages: a condition message is built from Error(), so it must
// read well in each case.
func TestErrorMessages(t *testing.T) {
	tests := map[string]struct {
		err  *Error
		want string
	}{
		"code and description": {
			err:  &Error{Op: "requesting a client-credentials token", Code: "invalid_client", Description: "The client_assertion signature is invalid."},
			want: "requesting a client-credentials token: Okta answered invalid_client: The client_assertion signature is invalid.",
		},
		"code only":   {err: &Error{Op: "refreshing", Code: "invalid_grant"}, want: "refreshing: Okta answered invalid_grant"},
		"status only": {err: &Error{Op: "refreshing", StatusCode: 502}, want: "refreshing: Okta answered HTTP 502"},
		"network":     {err: &Error{Op: "refreshing", cause: &url.Error{Op: "Post", URL: "https://x/token", Err: errors.New("connection refused")}}, want: `refreshing: Post "https://x/token": connection refused`},
		"nothing":     {err: &Error{Op: "refreshing"}, want: "refreshing: failed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
