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

// One rate-limit budget per Okta org: every token request of every resource
// naming the org spends it, Okta's X-Rate-Limit-* headers lower its pace, a
// 429 pauses the whole org, and inside it the more urgent request goes
// first. The dev server runs on the operator's clock here, so its windows,
// its Date header and its X-Rate-Limit-Reset are on the operator's time.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

// rateLimitFixture is a fixture for service apps whose operator allows
// perMinute token requests a minute per org. Its clock starts four minutes
// behind the wall clock: the tests step it minutes ahead, and the dev
// server judges client assertions by the wall clock (see behindWall).
func rateLimitFixture(t *testing.T, perMinute int, dev oktadev.Config) *fixture {
	t.Helper()
	if dev.RateLimitPerMinute == 0 {
		dev.RateLimitPerMinute = 600 // the dev server's default
	}
	return newFixture(t, fixtureOptions{behindWall: 4 * time.Minute, sharedDevClock: true, dev: dev,
		operator: func(o *operator.Options) { o.OktaRateLimit = perMinute }})
}

// newServiceTokens makes n ClientCredentials resources, each its own app.
func (f *fixture) newServiceTokens(prefix string, n int) []*v1.OktaScopedToken {
	f.t.Helper()
	out := make([]*v1.OktaScopedToken, 0, n)
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		f.addServiceApp("0oa"+name, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
		out = append(out, f.newServiceToken("0oa"+name, nil, "", func(o *v1.OktaScopedToken) {
			o.Name, o.Spec.SecretName = name, name
		}))
	}
	return out
}

// TestA429PausesTheWholeOrg: Okta's 429 to one resource's request stops
// every resource's requests to that org until the reset, without counting
// as anyone's failure.
func TestA429PausesTheWholeOrg(t *testing.T) {
	g := NewWithT(t)
	f := rateLimitFixture(t, 600, oktadev.Config{})
	f.createServiceKey(encodePKCS8(serviceRSAKey()))
	tokens := f.newServiceTokens("paused", 2)
	for _, obj := range tokens {
		waitForReady(t, obj)
	}
	f.settle()
	before := f.srv.TokenRequests()
	reset := f.clock.Now().Add(30 * time.Second)
	f.srv.InjectFault(oktadev.Fault{Status: http.StatusTooManyRequests, Count: 1, Reset: reset})

	f.obj = tokens[0]
	f.annotate(v1.AnnotationRenewRequestedAt, "first")
	g.Eventually(func(g Gomega) string { return condition(get(g, tokens[0]), v1.ConditionReconciling).Reason }).
		Should(Equal(v1.ReasonWaitingForRateLimit))
	g.Expect(f.srv.TokenRequests()).To(Equal(before+1), "the one request answered 429")

	f.obj = tokens[1]
	f.annotate(v1.AnnotationRenewRequestedAt, "second")
	g.Eventually(func(g Gomega) string { return condition(get(g, tokens[1]), v1.ConditionReconciling).Reason }).
		Should(Equal(v1.ReasonWaitingForRateLimit), "the other resource waits for the org's reset too")
	f.settle()
	g.Expect(f.srv.TokenRequests()).To(Equal(before+1), "and sends nothing meanwhile")
	for _, obj := range tokens {
		cur := get(g, obj)
		g.Expect(cur.Status.FailedAttempts).To(BeZero())
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "their tokens stay valid")
	}

	f.stepUntil(2*time.Second, func(g Gomega) {
		for _, obj := range tokens {
			g.Expect(get(g, obj).Status.Rotations).To(BeEquivalentTo(1))
		}
	})
	g.Expect(f.clock.Now()).To(BeTemporally(">=", reset), "nothing before the reset")
	g.Expect(f.srv.TokenRequests()).To(Equal(before + 3))
	g.Expect(f.srv.RateLimitedResponses()).To(Equal(1), "one 429, the injected one")
}

// TestOktasHeadersLowerThePace: the org allows fewer token requests a
// minute (4) than the operator was told (60); the X-Rate-Limit-* headers of
// its answers hold the operator back before Okta has to answer 429, and the
// rest are issued once the window resets.
func TestOktasHeadersLowerThePace(t *testing.T) {
	g := NewWithT(t)
	f := rateLimitFixture(t, 60, oktadev.Config{TokenRateLimitPerMinute: 4})
	// Start a window with all of a minute ahead, so the test sees it run out.
	windowEnd := f.clock.Now().Truncate(time.Minute).Add(2 * time.Minute)
	f.setTime(windowEnd.Add(-time.Minute))
	f.createServiceKey(encodePKCS8(serviceRSAKey()))
	tokens := f.newServiceTokens("paced", 7)
	ready := func(g Gomega) int {
		n := 0
		for _, obj := range tokens {
			if readyCondition(get(g, obj)).Status == metav1.ConditionTrue {
				n++
			}
		}
		return n
	}
	for f.clock.Now().Before(windowEnd.Add(-2 * time.Second)) {
		f.step(2 * time.Second)
		g.Expect(f.srv.TokenRequests()).To(BeNumerically("<=", 4), "at %s, within the org's window", f.clock.Now())
	}
	f.settle()
	// The pace keeps a request in hand rather than spend the last one.
	issuedInWindow := ready(g)
	g.Expect(issuedInWindow).To(BeNumerically(">=", 3), "most of the org's window was used")
	g.Eventually(func(g Gomega) int {
		waiting := 0
		for _, obj := range tokens {
			if condition(get(g, obj), v1.ConditionReconciling).Reason == v1.ReasonWaitingForRateLimit {
				waiting++
			}
		}
		return waiting
	}).Should(Equal(len(tokens)-issuedInWindow), "the others say they wait for the org's budget")

	f.stepUntil(2*time.Second, func(g Gomega) { g.Expect(ready(g)).To(Equal(len(tokens))) })
	g.Expect(f.srv.RateLimitedResponses()).To(BeZero(), "Okta never had to say 429")
	g.Expect(f.srv.TokenRequests()).To(Equal(len(tokens)))
}

// TestUrgentRequestsGoFirst: inside a spent budget, a resource that has no
// token yet is served before manual renewals that were asked for earlier.
func TestUrgentRequestsGoFirst(t *testing.T) {
	g := NewWithT(t)
	// Six a minute: one slot every ten seconds.
	f := rateLimitFixture(t, 6, oktadev.Config{})
	f.createServiceKey(encodePKCS8(serviceRSAKey()))
	issued := f.newServiceTokens("issued", 2)
	f.stepUntil(5*time.Second, func(g Gomega) {
		for _, obj := range issued {
			g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
		}
	})
	f.settle()

	// Two manual renewals queue up first...
	for _, obj := range issued {
		f.obj = obj
		f.annotate(v1.AnnotationRenewRequestedAt, "please")
	}
	g.Eventually(func(g Gomega) string {
		return condition(get(g, issued[1]), v1.ConditionReconciling).Reason
	}).Should(Equal(v1.ReasonWaitingForRateLimit))
	// ...then a resource without a token arrives.
	urgent := f.newServiceTokens("urgent", 1)[0]
	g.Eventually(func(g Gomega) string { return condition(get(g, urgent), v1.ConditionReconciling).Reason }).
		Should(Equal(v1.ReasonWaitingForRateLimit))
	g.Expect(condition(get(g, urgent), v1.ConditionReconciling).Message).To(ContainSubstring("expiring request"))

	f.stepUntil(5*time.Second, func(g Gomega) {
		g.Expect(readyCondition(get(g, urgent)).Status).To(Equal(metav1.ConditionTrue))
		for _, obj := range issued {
			g.Expect(get(g, obj).Status.Rotations).To(BeEquivalentTo(1))
		}
	})
	f.requests.mu.Lock()
	order := make([]string, 0, len(f.requests.forms))
	for _, form := range f.requests.forms {
		order = append(order, form.Get("client_id"))
	}
	f.requests.mu.Unlock()
	urgentAt := slices.Index(order, "0oaurgent-0")
	g.Expect(urgentAt).To(BeNumerically(">=", 0))
	g.Expect(slices.Index(order[urgentAt:], "0oaissued-0")).To(BeNumerically(">", 0),
		"the manual renewals asked for first were served after the urgent request: %v", order)
	g.Expect(slices.Index(order[urgentAt:], "0oaissued-1")).To(BeNumerically(">", 0), "order %v", order)
	g.Expect(f.srv.RateLimitedResponses()).To(BeZero())
}
