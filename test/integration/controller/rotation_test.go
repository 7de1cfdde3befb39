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

// Rotation before expiry: a signed-in token is renewed at status.renewalTime
// and at no other time, survives failures on either side (Okta's and the
// API server's), follows manual triggers and spec changes, and costs exactly
// three writes per rotation. The operator's time is a fake clock; every
// delay is crossed by stepping it, never by sleeping.

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
)

// TestRotationAtRenewalTime: nothing happens a second before
// status.renewalTime, even when the operator looks; at renewalTime the token
// is refreshed, Okta's rotated refresh token is stored, and status says so.
func TestRotationAtRenewalTime(t *testing.T) {
	g := NewWithT(t)
	f, cur := signedIn(t, fixtureOptions{})
	st := stateSecret(g, f.obj)
	issued, expiry := storedGrant(g, st).IssuedAt, storedGrant(g, st).Expiry
	renewal := cur.Status.RenewalTime.Time
	g.Expect(renewal).To(BeTemporally("==", policy.RenewalTime(issued, expiry, cur.Spec, cur.UID)),
		"status.renewalTime is the policy's renewal time, truncated to the second")
	g.Expect(renewal).To(BeTemporally("<", cur.Status.ExpiresAt.Time))
	oldAccess, oldRefresh := f.accessToken(g), f.refreshToken(g)
	base := f.srv.TokenRequests()

	f.setTime(renewal.Add(-time.Second))
	f.poke()
	f.expectNoTokenRequest(base, "no token request a second before renewalTime")
	g.Expect(get(g, f.obj).Status.Rotations).To(BeZero())

	// Exactly renewalTime: were the operator's own renewal time not
	// truncated, it would still be in the future here.
	f.setTime(renewal)
	g.Eventually(func(g Gomega) int64 { return get(g, f.obj).Status.Rotations }).Should(BeEquivalentTo(1))
	f.settle()
	g.Expect(f.srv.TokenRequests()).To(Equal(base+1), "one token request per rotation")

	cur = get(g, f.obj)
	newExpiry := renewal.Add(time.Hour) // the dev server's default lifetime
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	g.Expect(cur.Status.LastRotationTime.Time).To(BeTemporally("==", renewal))
	g.Expect(cur.Status.ExpiresAt.Time).To(BeTemporally("==", newExpiry))
	g.Expect(cur.Status.RenewalTime.Time).To(BeTemporally("==", policy.RenewalTime(renewal, newExpiry, cur.Spec, cur.UID)))
	g.Expect(cur.Status.RenewalTime.Time).To(BeTemporally(">", renewal))
	g.Expect(cur.Status.FailedAttempts).To(BeZero())

	access := f.accessToken(g)
	g.Expect(access).NotTo(BeEmpty())
	g.Expect(access).NotTo(Equal(oldAccess), "a new access token in the Secret")
	g.Expect(string(tokenSecret(g, f.ns, f.obj.TokenSecretName()).Data[v1.TokenSecretExpiry])).
		To(Equal(newExpiry.UTC().Format(time.RFC3339)))
	g.Expect(f.refreshToken(g)).NotTo(Equal(oldRefresh), "Okta's rotated refresh token is stored")
	remember(access, f.refreshToken(g))
	// A routine rotation is in status and the metrics, not in an Event.
	g.Expect(eventReasons(g, f.obj)).NotTo(ContainElement("Rotated"))

	// The new token is one Okta honours.
	req, _ := http.NewRequest(http.MethodGet, f.srv.Issuer()+"/api/v1/logs?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
}

// TestNoWritesBetweenRotations moves the operator's clock through three
// token lifetimes in five-minute steps and counts every write the operator
// sends to the API server: one state-Secret update, one token-Secret update
// and one status patch per rotation, and nothing else — no Event either: a
// routine rotation is not a transition worth one.
func TestNoWritesBetweenRotations(t *testing.T) {
	g := NewWithT(t)
	f, cur := signedIn(t, fixtureOptions{})
	mark, reads := f.api.mark(), f.api.readCount()
	base := f.srv.TokenRequests()
	var rotations int64
	end := f.clock.Now().Add(3*time.Hour + 10*time.Minute)
	for f.clock.Now().Before(end) {
		next := f.clock.Now().Add(5 * time.Minute)
		due := !next.Before(cur.Status.RenewalTime.Time)
		f.setTime(next)
		if due {
			rotations++
			g.Eventually(func(g Gomega) int64 {
				cur = get(g, f.obj)
				return cur.Status.Rotations
			}).Should(Equal(rotations), "rotation at %s", next)
		}
	}
	f.settle()
	g.Expect(rotations).To(BeNumerically(">=", 4), "three lifetimes of a 1h token renewed at about 2/3")
	g.Expect(f.srv.TokenRequests()).To(Equal(base + int(rotations)))

	n := int(rotations)
	g.Expect(countWrites(f.api.since(mark), f.obj)).To(Equal(map[string]int{
		"PUT state-secret": n, "PUT token-secret": n, "PATCH status": n}))
	// Reads past the cache: the state Secret right before its refresh
	// token is spent, and the client secret; nothing in between.
	g.Expect(f.api.readCount() - reads).To(Equal(2 * n))
}

// TestRotationSurvivesAKillBeforeTheStateIsWritten: Okta has answered the
// refresh (and rotated the refresh token) but the process dies before the
// state Secret holds the answer. The next manager refreshes with the old
// refresh token: within Okta's grace period that works and the grant lives
// on; after it, Okta treats it as reuse, the grant is gone and a person must
// sign in again.
func TestRotationSurvivesAKillBeforeTheStateIsWritten(t *testing.T) {
	tests := []struct {
		name string
		// downtime is the dev server's time between the lost answer and
		// the new manager's request.
		downtime    time.Duration
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantRotated bool
	}{
		{name: "restarted within the grace period", downtime: 20 * time.Second,
			wantStatus: metav1.ConditionTrue, wantReason: v1.ReasonIssued, wantRotated: true},
		{name: "restarted after the grace period", downtime: 31 * time.Second,
			wantStatus: metav1.ConditionFalse, wantReason: v1.ReasonReauthorizationRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f, cur := signedIn(t, fixtureOptions{devClock: true})
			oldAccess, oldRefresh := f.accessToken(g), f.refreshToken(g)
			base := f.srv.TokenRequests()

			f.api.refuseWrites(stateSecretPath(f.obj))
			f.setTime(cur.Status.RenewalTime.Time)
			g.Eventually(f.srv.TokenRequests).Should(Equal(base+1), "Okta answers the refresh")
			g.Eventually(func() []apiWrite { return f.api.since(0) }).Should(ContainElement(
				apiWrite{Method: http.MethodPut, Path: stateSecretPath(f.obj), Refused: true}))
			f.stop()
			g.Expect(f.refreshToken(g)).To(Equal(oldRefresh), "the answer died with the process")
			g.Expect(f.accessToken(g)).To(Equal(oldAccess), "nothing was published before the state was stored")

			f.devClock.Step(tc.downtime)
			f.restart()
			g.Eventually(f.srv.TokenRequests).Should(Equal(base+2), "the new manager refreshes with the stored refresh token")
			g.Eventually(func(g Gomega) {
				cur = get(g, f.obj)
				g.Expect(readyCondition(cur).Status).To(Equal(tc.wantStatus), "Ready: %+v", readyCondition(cur))
				g.Expect(readyCondition(cur).Reason).To(Equal(tc.wantReason))
				if tc.wantRotated {
					g.Expect(cur.Status.Rotations).To(BeEquivalentTo(1))
				}
			}).WithTimeout(10 * time.Second).Should(Succeed())
			f.settle()
			g.Expect(f.srv.TokenRequests()).To(Equal(base+2), "the new manager asks once")

			if !tc.wantRotated {
				g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
				g.Expect(f.accessToken(g)).To(Equal(oldAccess), "the current token stays until it expires")
				return
			}
			g.Expect(f.accessToken(g)).NotTo(Equal(oldAccess))
			g.Expect(f.refreshToken(g)).NotTo(Equal(oldRefresh))
			// The grant survived: the next rotation works too.
			f.setTime(cur.Status.RenewalTime.Time)
			g.Eventually(func(g Gomega) int64 { return get(g, f.obj).Status.Rotations }).Should(BeEquivalentTo(2))
			g.Expect(readyCondition(get(g, f.obj)).Reason).To(Equal(v1.ReasonIssued))
		})
	}
}

// TestStateWriteRetriedFromMemory: the state-Secret write fails after Okta
// answered; the token waits in memory (unpublished, since its refresh token
// is not stored yet) and a later pass stores and publishes it without
// asking Okta again.
func TestStateWriteRetriedFromMemory(t *testing.T) {
	g := NewWithT(t)
	f, cur := signedIn(t, fixtureOptions{})
	oldAccess, oldRefresh := f.accessToken(g), f.refreshToken(g)
	base := f.srv.TokenRequests()

	f.api.refuseWrites(stateSecretPath(f.obj))
	f.setTime(cur.Status.RenewalTime.Time)
	g.Eventually(f.srv.TokenRequests).Should(Equal(base + 1))
	g.Eventually(func() []apiWrite { return f.api.since(0) }).Should(ContainElement(
		apiWrite{Method: http.MethodPut, Path: stateSecretPath(f.obj), Refused: true}))
	f.settle()
	g.Expect(f.accessToken(g)).To(Equal(oldAccess), "not published before its refresh token is stored")
	g.Expect(f.refreshToken(g)).To(Equal(oldRefresh))

	f.api.refuseWrites()
	// The failed pass is retried with the work queue's backoff, which runs
	// on the operator's clock.
	f.step(5 * time.Second)
	g.Eventually(func(g Gomega) int64 { return get(g, f.obj).Status.Rotations }).Should(BeEquivalentTo(1))
	f.settle()
	g.Expect(f.srv.TokenRequests()).To(Equal(base+1), "the token kept in memory is stored, not asked for again")
	g.Expect(f.refreshToken(g)).NotTo(Equal(oldRefresh))
	g.Expect(f.accessToken(g)).NotTo(Equal(oldAccess))
	g.Expect(readyCondition(get(g, f.obj)).Reason).To(Equal(v1.ReasonIssued))
}

// TestTransientFailuresBackOff: while Okta fails with 5xx or does not
// answer, the current token stays in the Secret, Ready stays True
// (RotationFailing) until the token expires, requests are spaced by
// policy.Backoff whatever else wakes the operator, and the first success
// resets the failure count.
func TestTransientFailuresBackOff(t *testing.T) {
	tests := []struct {
		name        string
		fault       oktadev.Fault
		httpTimeout time.Duration
	}{
		{name: "503 temporarily_unavailable", fault: oktadev.Fault{Status: http.StatusServiceUnavailable, Count: 100}},
		{name: "500 server_error", fault: oktadev.Fault{Status: http.StatusInternalServerError, Count: 100}},
		{name: "no answer", fault: oktadev.Fault{Hang: time.Hour, Count: 100}, httpTimeout: 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f, cur := signedIn(t, fixtureOptions{httpTimeout: tc.httpTimeout})
			uid := cur.UID
			oldAccess := f.accessToken(g)
			base := f.srv.TokenRequests()
			f.srv.InjectFault(tc.fault)

			failedAt := cur.Status.RenewalTime.Time
			f.setTime(failedAt)
			waitForFailures := func(n int32) *v1.OktaScopedToken {
				t.Helper()
				var cur *v1.OktaScopedToken
				g.Eventually(func(g Gomega) int32 {
					cur = get(g, f.obj)
					return cur.Status.FailedAttempts
				}).WithTimeout(10*time.Second).Should(Equal(n), "failed attempts")
				f.settle()
				return get(g, f.obj)
			}
			cur = waitForFailures(1)
			for n := int32(1); ; n++ {
				g.Expect(f.srv.TokenRequests()).To(Equal(base + int(n)))
				g.Expect(cur.Status.LastFailureTime.Time).To(BeTemporally("==", failedAt.Truncate(time.Second)))
				g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "the token is still valid")
				g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonRotationFailing))
				g.Expect(condition(cur, v1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
				g.Expect(f.accessToken(g)).To(Equal(oldAccess))
				if n == 4 {
					break
				}
				backoff := policy.Backoff(n, uid)
				f.setTime(failedAt.Add(backoff - time.Second))
				f.poke()
				f.expectNoTokenRequest(base+int(n), "no request before the backoff is over")
				failedAt = failedAt.Add(backoff)
				f.setTime(failedAt)
				cur = waitForFailures(n + 1)
			}
			g.Eventually(func(g Gomega) bool { return hasEvent(g, f.obj, corev1.EventTypeWarning, "RotationFailed") }).Should(BeTrue())

			// Past expiry the token is no longer good, but it is not removed;
			// the failure stays on record.
			f.setTime(cur.Status.ExpiresAt.Add(time.Second))
			cur = waitForFailures(5)
			failedAt = f.clock.Now()
			g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonExpired))
			g.Expect(condition(cur, v1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(cur, v1.ConditionReconciling).Reason).To(Equal(v1.ReasonTokenRequestFailed))
			g.Expect(f.accessToken(g)).To(Equal(oldAccess), "the old token is never removed")
			g.Expect(f.srv.TokenRequests()).To(Equal(base + 5))

			f.srv.ClearFaults()
			f.setTime(failedAt.Add(policy.Backoff(5, uid)))
			g.Eventually(func(g Gomega) int64 { return get(g, f.obj).Status.Rotations }).Should(BeEquivalentTo(1))
			f.settle()
			cur = get(g, f.obj)
			g.Expect(f.srv.TokenRequests()).To(Equal(base + 6))
			g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
			g.Expect(cur.Status.FailedAttempts).To(BeZero(), "recovery resets the failure count")
			g.Expect(cur.Status.LastFailureTime).To(BeNil())
			g.Expect(condition(cur, v1.ConditionReconciling).Type).To(BeEmpty(), "Reconciling is gone")
			g.Expect(f.accessToken(g)).NotTo(Equal(oldAccess))
		})
	}
}

// TestRateLimitWaitsForTheReset: after a 429 nothing is sent before Okta's
// X-Rate-Limit-Reset, not when the backoff is over and not when the resource
// changes; at the reset the request is retried.
func TestRateLimitWaitsForTheReset(t *testing.T) {
	g := NewWithT(t)
	// The dev server on the operator's clock: its Date header and
	// X-Rate-Limit-Reset are then on the operator's time line.
	f, cur := signedIn(t, fixtureOptions{sharedDevClock: true})
	renewal := cur.Status.RenewalTime.Time
	reset := renewal.Add(40 * time.Second)
	f.srv.InjectFault(oktadev.Fault{Status: http.StatusTooManyRequests, Count: 1, Reset: reset})
	base := f.srv.TokenRequests()

	f.setTime(renewal)
	g.Eventually(func(g Gomega) string { return condition(get(g, f.obj), v1.ConditionReconciling).Reason }).
		Should(Equal(v1.ReasonWaitingForRateLimit))
	f.settle()
	cur = get(g, f.obj)
	g.Expect(f.srv.TokenRequests()).To(Equal(base + 1))
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "the current token is fine meanwhile")
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	g.Expect(condition(cur, v1.ConditionReconciling).Message).To(ContainSubstring("rate_limited"))
	g.Expect(cur.Status.FailedAttempts).To(BeZero(), "a 429 is the org's budget, not this resource's failure")

	for at := renewal.Add(10 * time.Second); at.Before(reset); at = at.Add(10 * time.Second) {
		f.setTime(at)
		f.expectNoTokenRequest(base+1, "no retry before X-Rate-Limit-Reset")
	}
	f.setTime(reset.Add(-time.Second))
	f.expectNoTokenRequest(base+1, "no retry a second before X-Rate-Limit-Reset")

	f.stepUntil(time.Second, func(g Gomega) {
		g.Expect(get(g, f.obj).Status.Rotations).To(BeEquivalentTo(1))
	})
	f.settle()
	cur = get(g, f.obj)
	g.Expect(f.clock.Now()).To(BeTemporally(">=", reset))
	g.Expect(f.srv.TokenRequests()).To(Equal(base + 2))
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	g.Expect(condition(cur, v1.ConditionReconciling).Type).To(BeEmpty())
}

// TestRevokedGrantAsksForANewSignIn: Okta answers invalid_grant (the
// administrator revoked the app's tokens). The operator publishes a new
// sign-in link, warns, keeps the current token while it lasts, and asks
// Okta nothing more however long it waits; signing in again restores it.
func TestRevokedGrantAsksForANewSignIn(t *testing.T) {
	g := NewWithT(t)
	// The operator's clock moves hours ahead before the second sign-in;
	// it starts behind the dev server's (the wall clock), so the ID token
	// of that sign-in is not yet expired by the operator's time.
	f, cur := signedIn(t, fixtureOptions{behindWall: 3 * time.Hour})
	oldAccess := f.accessToken(g)
	f.srv.RevokeGrantsFor(webClientID)
	base := f.srv.TokenRequests()

	f.setTime(cur.Status.RenewalTime.Time)
	g.Eventually(func(g Gomega) {
		cur = get(g, f.obj)
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonReauthorizationRequired))
		g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
	}).Should(Succeed())
	g.Expect(readyCondition(cur).Message).To(ContainSubstring("invalid_grant"))
	g.Expect(readyCondition(cur).Message).To(ContainSubstring("stays in place"))
	g.Eventually(func(g Gomega) bool {
		return hasEvent(g, f.obj, corev1.EventTypeWarning, v1.ReasonReauthorizationRequired)
	}).Should(BeTrue())
	g.Expect(f.srv.TokenRequests()).To(Equal(base + 1))
	g.Expect(f.refreshToken(g)).To(BeEmpty(), "the dead refresh token is dropped")
	g.Expect(f.accessToken(g)).To(Equal(oldAccess), "the current token stays until it expires")
	firstURL := cur.Status.AuthorizationURL

	// Three hours: past the token's expiry and the sign-in link's.
	for range 9 {
		f.step(20 * time.Minute)
		f.poke()
	}
	f.settle()
	g.Expect(f.srv.TokenRequests()).To(Equal(base+1), "no token request without a grant")
	cur = get(g, f.obj)
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonReauthorizationRequired))
	g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
	g.Expect(cur.Status.AuthorizationURL).NotTo(Equal(firstURL), "an expired link is replaced")

	status, page, err := oktadev.SignIn(cur.Status.AuthorizationURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	cur = waitForReady(t, f.obj)
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	g.Expect(cur.Status.AuthorizationURL).To(BeEmpty())
	g.Expect(f.accessToken(g)).NotTo(Equal(oldAccess))
	g.Expect(f.refreshToken(g)).NotTo(BeEmpty())
}

// TestInvalidClientStallsUntilTheSecretIsFixed: a wrong client secret makes
// Okta answer invalid_client; the resource is Stalled with Okta's own words,
// and fixing the referenced Secret resumes at once, without waiting for a
// timer.
func TestInvalidClientStallsUntilTheSecretIsFixed(t *testing.T) {
	g := NewWithT(t)
	f, cur := signedIn(t, fixtureOptions{})
	oldAccess := f.accessToken(g)
	const wrongSecret = "not-the-app-secret"
	f.setClientSecret(wrongSecret)
	code, description := tokenEndpointError(t, f.srv, wrongSecret)
	g.Expect(code).To(Equal("invalid_client"))
	base := f.srv.TokenRequests()

	f.setTime(cur.Status.RenewalTime.Time)
	g.Eventually(func(g Gomega) {
		cur = get(g, f.obj)
		g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
	stalled := condition(cur, v1.ConditionStalled)
	g.Expect(stalled.Reason).To(Equal(v1.ReasonInvalidClient))
	g.Expect(stalled.Message).To(ContainSubstring("invalid_client"))
	g.Expect(stalled.Message).To(ContainSubstring(description), "Okta's error_description")
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
	g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonInvalidClient))
	g.Expect(f.srv.TokenRequests()).To(Equal(base + 1))
	g.Expect(f.accessToken(g)).To(Equal(oldAccess))

	f.settle()
	f.setClientSecret(webSecret)
	g.Eventually(func(g Gomega) {
		cur = get(g, f.obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
	}).WithTimeout(5*time.Second).Should(Succeed(), "the fixed Secret is used at once, the clock standing still")
	g.Expect(condition(cur, v1.ConditionStalled).Type).To(BeEmpty())
	g.Expect(cur.Status.Rotations).To(BeEquivalentTo(1))
	g.Expect(cur.Status.FailedAttempts).To(BeZero())
	g.Expect(f.srv.TokenRequests()).To(Equal(base + 2))
	g.Expect(f.accessToken(g)).NotTo(Equal(oldAccess))
}

// TestScopesNotGranted: asking for a scope the app was not granted.
func TestScopesNotGranted(t *testing.T) {
	// For a web app Okta refuses at the authorization request, before the
	// sign-in form: the browser lands on the callback with Okta's error,
	// the page says where to grant the scope, and the resource offers a
	// new link.
	t.Run("at sign-in", func(t *testing.T) {
		g := NewWithT(t)
		f := newFixture(t, fixtureOptions{})
		f.newWebToken(func(o *v1.OktaScopedToken) { o.Spec.Scopes = []string{"okta.users.manage"} })
		authURL := waitForAuthorizationURL(t, f.obj)
		status, page, _ := oktadev.SignIn(authURL, userName, userPassword, false)
		g.Expect(status).To(Equal(http.StatusBadRequest), page)
		g.Expect(page).To(ContainSubstring("Okta did not grant the token"))
		g.Expect(page).To(ContainSubstring("consent_required"))
		g.Expect(page).To(ContainSubstring("Okta API Scopes tab"))
		g.Eventually(func(g Gomega) {
			cur := get(g, f.obj)
			g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
			g.Expect(cur.Status.AuthorizationURL).NotTo(Equal(authURL), "the used link is replaced")
			g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonAuthorizationRequired))
		}).Should(Succeed())
		g.Expect(f.srv.TokenRequests()).To(BeZero())
		err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: f.ns, Name: f.obj.TokenSecretName()}, &corev1.Secret{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no token Secret: %v", err)
	})

	// An administrator takes okta.logs.read away from the app after the
	// sign-in: the refresh is refused, and retrying cannot help.
	t.Run("at renewal", func(t *testing.T) {
		g := NewWithT(t)
		f, cur := signedIn(t, fixtureOptions{})
		oldAccess := f.accessToken(g)
		g.Expect(f.srv.AddWebClient(oktadev.WebClient{
			ID: webClientID, Secret: webSecret, RedirectURIs: []string{f.callback},
			GrantedScopes: []string{"okta.users.read"},
		})).To(Succeed())
		f.setTime(cur.Status.RenewalTime.Time)
		g.Eventually(func(g Gomega) {
			cur = get(g, f.obj)
			g.Expect(condition(cur, v1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		stalled := condition(cur, v1.ConditionStalled)
		g.Expect(stalled.Reason).To(Equal(v1.ReasonScopesNotGranted))
		g.Expect(stalled.Message).To(ContainSubstring("invalid_scope"))
		g.Expect(stalled.Message).To(ContainSubstring("okta.logs.read"))
		g.Expect(stalled.Message).To(ContainSubstring("Okta API Scopes tab"))
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonScopesNotGranted))
		g.Expect(f.accessToken(g)).To(Equal(oldAccess))
	})
}

// TestTokenSecretDrift: the token Secret is restored from the state Secret
// when deleted or edited, without a token request; labels others add are
// kept; spec.secretTemplate is applied; an unchanged Secret is not written.
func TestTokenSecretDrift(t *testing.T) {
	g := NewWithT(t)
	f, _ := signedIn(t, fixtureOptions{})
	ctx := context.Background()
	base := f.srv.TokenRequests()
	key := types.NamespacedName{Namespace: f.ns, Name: f.obj.TokenSecretName()}
	want := tokenSecret(g, f.ns, key.Name).Data

	t.Run("deleted", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(env.Client.Delete(ctx, tokenSecret(g, f.ns, key.Name))).To(Succeed())
		g.Eventually(func(g Gomega) map[string][]byte { return tokenSecret(g, f.ns, key.Name).Data }).
			Should(Equal(want), "restored")
	})
	t.Run("key edited", func(t *testing.T) {
		g := NewWithT(t)
		s := tokenSecret(g, f.ns, key.Name)
		s.Data[v1.TokenSecretAccessToken] = []byte("edited-by-hand")
		g.Expect(env.Client.Update(ctx, s)).To(Succeed())
		g.Eventually(func(g Gomega) map[string][]byte { return tokenSecret(g, f.ns, key.Name).Data }).
			Should(Equal(want))
	})
	t.Run("foreign label kept", func(t *testing.T) {
		g := NewWithT(t)
		f.settle()
		s := tokenSecret(g, f.ns, key.Name)
		s.Labels["team"] = "observability"
		g.Expect(env.Client.Update(ctx, s)).To(Succeed())
		f.settle()
		got := tokenSecret(g, f.ns, key.Name)
		g.Expect(got.Labels).To(HaveKeyWithValue("team", "observability"))
		g.Expect(got.ResourceVersion).To(Equal(s.ResourceVersion), "the operator did not write")
	})
	t.Run("secretTemplate labels applied", func(t *testing.T) {
		g := NewWithT(t)
		cur := get(g, f.obj)
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.SecretTemplate = &v1.SecretTemplate{Labels: map[string]string{"tier": "gold"}, Annotations: map[string]string{"owner": "sre"}}
		g.Expect(env.Client.Patch(ctx, cur, patch)).To(Succeed())
		g.Eventually(func(g Gomega) {
			s := tokenSecret(g, f.ns, key.Name)
			g.Expect(s.Labels).To(HaveKeyWithValue("tier", "gold"))
			g.Expect(s.Annotations).To(HaveKeyWithValue("owner", "sre"))
			g.Expect(s.Labels).To(HaveKeyWithValue("team", "observability"))
			g.Expect(s.Data).To(Equal(want))
		}).Should(Succeed())

		cur = get(g, f.obj)
		patch = client.MergeFrom(cur.DeepCopy())
		cur.Spec.SecretTemplate.Labels["tier"] = "silver"
		g.Expect(env.Client.Patch(ctx, cur, patch)).To(Succeed())
		g.Eventually(func(g Gomega) map[string]string { return tokenSecret(g, f.ns, key.Name).Labels }).
			Should(HaveKeyWithValue("tier", "silver"))
	})
	t.Run("unchanged Secret not rewritten", func(t *testing.T) {
		g := NewWithT(t)
		f.settle()
		rv := tokenSecret(g, f.ns, key.Name).ResourceVersion
		mark := f.api.mark()
		f.poke()
		f.step(time.Minute)
		f.poke()
		f.settle()
		g.Expect(tokenSecret(g, f.ns, key.Name).ResourceVersion).To(Equal(rv))
		for _, w := range f.api.since(mark) {
			g.Expect(classifyWrite(w, f.obj)).NotTo(HaveSuffix("token-secret"))
		}
	})
	g.Expect(f.srv.TokenRequests()).To(Equal(base), "drift is repaired from the state Secret, not from Okta")
}

// TestManualTriggers: each new value of oktatoken.dev/renew-requested-at
// rotates once; oktatoken.dev/reauthorize-requested-at publishes a sign-in
// link while the current token stays, and signing in replaces the token.
func TestManualTriggers(t *testing.T) {
	f, _ := signedIn(t, fixtureOptions{})
	base := f.srv.TokenRequests()
	rotations := func(g Gomega) int64 { return get(g, f.obj).Status.Rotations }

	t.Run("renew", func(t *testing.T) {
		g := NewWithT(t)
		f.annotate(v1.AnnotationRenewRequestedAt, "2026-03-01T10:00:00Z")
		g.Eventually(rotations).Should(BeEquivalentTo(1))
		f.settle()
		g.Expect(f.srv.TokenRequests()).To(Equal(base + 1))

		f.annotate(v1.AnnotationRenewRequestedAt, "2026-03-01T10:00:00Z")
		f.poke()
		f.expectNoTokenRequest(base+1, "the same value again changes nothing")
		g.Expect(rotations(g)).To(BeEquivalentTo(1))

		// A new value within a minute of the last manual renewal waits for
		// the minute.
		f.annotate(v1.AnnotationRenewRequestedAt, "2026-03-01T10:05:00Z")
		g.Eventually(func(g Gomega) string { return condition(get(g, f.obj), v1.ConditionReconciling).Reason }).
			Should(Equal(v1.ReasonRenewalDebounced))
		g.Expect(f.srv.TokenRequests()).To(Equal(base + 1))
		f.step(policy.MinManualRenewalInterval)
		g.Eventually(rotations).Should(BeEquivalentTo(2))
		f.settle()
		g.Expect(f.srv.TokenRequests()).To(Equal(base + 2))
	})

	t.Run("reauthorize", func(t *testing.T) {
		g := NewWithT(t)
		f.settle()
		access := f.accessToken(g)
		requests := f.srv.TokenRequests()
		f.annotate(v1.AnnotationReauthorizeRequestedAt, "2026-03-01T11:00:00Z")
		var cur *v1.OktaScopedToken
		g.Eventually(func(g Gomega) {
			cur = get(g, f.obj)
			g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
		}).Should(Succeed())
		authURL := cur.Status.AuthorizationURL
		// The link stays put while the operator goes on reconciling.
		f.poke()
		f.settle()
		cur = get(g, f.obj)
		g.Expect(cur.Status.AuthorizationURL).To(Equal(authURL))
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonAuthorizationRequired))
		g.Expect(readyCondition(cur).Message).To(ContainSubstring("the current token stays in place until it expires"))
		g.Expect(f.accessToken(g)).To(Equal(access), "the current token stays in the Secret")
		g.Expect(f.srv.TokenRequests()).To(Equal(requests))

		// The person takes a while to sign in.
		f.step(2 * time.Minute)
		status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(http.StatusOK), page)
		cur = waitForReady(t, f.obj)
		g.Expect(readyCondition(cur).Reason).To(Equal(v1.ReasonIssued))
		g.Expect(cur.Status.AuthorizationURL).To(BeEmpty())
		g.Expect(cur.Status.Rotations).To(BeZero(), "rotations count from the last sign-in")
		g.Expect(f.accessToken(g)).NotTo(Equal(access), "signing in again replaces the token")
		f.settle()
		g.Expect(get(g, f.obj).Status.AuthorizationURL).To(BeEmpty())
	})
}

// TestTokenMetrics: the per-resource gauges equal status, the request
// counter counts rotations, and a deleted resource's series go away.
func TestTokenMetrics(t *testing.T) {
	g := NewWithT(t)
	f, cur := signedIn(t, fixtureOptions{})
	labels := resourceLabels(cur)
	successes := func() float64 {
		return counterValue("oktatoken_token_requests_total", map[string]string{"grant": "AuthorizationCode", "result": "success"})
	}
	gaugesMatchStatus := func() {
		t.Helper()
		g.Eventually(func(g Gomega) {
			cur := get(g, f.obj)
			g.Expect(gaugeValue("oktatoken_token_expiration_timestamp_seconds", labels)).To(Equal(float64(cur.Status.ExpiresAt.Unix())))
			g.Expect(gaugeValue("oktatoken_token_renewal_timestamp_seconds", labels)).To(Equal(float64(cur.Status.RenewalTime.Unix())))
			g.Expect(gaugeValue("oktatoken_token_ready_status", withLabel(labels, "condition", "True"))).To(Equal(1.0))
			g.Expect(gaugeValue("oktatoken_token_ready_status", withLabel(labels, "condition", "False"))).To(Equal(0.0))
		}).Should(Succeed())
	}
	gaugesMatchStatus()
	before := successes()

	f.setTime(cur.Status.RenewalTime.Time)
	g.Eventually(func(g Gomega) int64 { return get(g, f.obj).Status.Rotations }).Should(BeEquivalentTo(1))
	f.settle()
	gaugesMatchStatus()
	g.Expect(successes()).To(Equal(before+1), "one successful AuthorizationCode token request")

	g.Expect(env.Client.Delete(context.Background(), get(g, f.obj))).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.obj), &v1.OktaScopedToken{}))
	}).WithTimeout(10 * time.Second).Should(BeTrue())
	for _, name := range []string{"oktatoken_token_expiration_timestamp_seconds", "oktatoken_token_renewal_timestamp_seconds", "oktatoken_token_ready_status"} {
		g.Eventually(func() int { return len(metricSeries(name, labels)) }).Should(BeZero(), "%s of a deleted resource", name)
	}
}

// TestSpecChanges: new scopes need a new grant, so a person must sign in
// again; a new secretName moves the Secret without asking Okta.
func TestSpecChanges(t *testing.T) {
	t.Run("scopes", func(t *testing.T) {
		g := NewWithT(t)
		f, cur := signedIn(t, fixtureOptions{})
		base := f.srv.TokenRequests()
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.Scopes = []string{"okta.logs.read", "okta.users.read"}
		g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
		g.Eventually(func(g Gomega) {
			cur = get(g, f.obj)
			g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
			g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(cur.Status.AuthorizationURL).NotTo(BeEmpty())
		}).Should(Succeed())
		u, err := url.Parse(cur.Status.AuthorizationURL)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(strings.Fields(u.Query().Get("scope"))).To(ContainElements("okta.logs.read", "okta.users.read"))
		g.Eventually(func(g Gomega) bool { return hasEvent(g, f.obj, corev1.EventTypeNormal, "GrantReset") }).Should(BeTrue())
		f.settle()
		g.Expect(f.srv.TokenRequests()).To(Equal(base), "the old grant is not used for the new scopes")
		g.Expect(f.refreshToken(g)).To(BeEmpty())

		status, page, err := oktadev.SignIn(get(g, f.obj).Status.AuthorizationURL, userName, userPassword, false)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(http.StatusOK), page)
		cur = waitForReady(t, f.obj)
		g.Expect(cur.Status.GrantedScopes).To(ContainElements("okta.logs.read", "okta.users.read"))
		g.Expect(string(tokenSecret(g, f.ns, f.obj.TokenSecretName()).Data[v1.TokenSecretScope])).To(ContainSubstring("okta.users.read"))
	})

	t.Run("secretName", func(t *testing.T) {
		g := NewWithT(t)
		f, cur := signedIn(t, fixtureOptions{})
		base := f.srv.TokenRequests()
		oldName := f.obj.TokenSecretName()
		want := tokenSecret(g, f.ns, oldName).Data
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.SecretName = "logs-reader-token-v2"
		g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(tokenSecret(g, f.ns, "logs-reader-token-v2").Data).To(Equal(want))
			err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: f.ns, Name: oldName}, &corev1.Secret{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the old Secret is deleted: %v", err)
		}).Should(Succeed())
		f.settle()
		g.Expect(f.srv.TokenRequests()).To(Equal(base), "moving the Secret needs no new token")
		g.Expect(readyCondition(get(g, f.obj)).Reason).To(Equal(v1.ReasonIssued))
		s := tokenSecret(g, f.ns, "logs-reader-token-v2")
		g.Expect(metav1.IsControlledBy(s, get(g, f.obj))).To(BeTrue())
	})
}
