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

// One tenant cannot hurt another: a namespace user's hostile use of their
// own resources — here, a loop of junk sign-in callbacks — happens, and
// another namespace's tokens on the same Okta org stay fine.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

// TestJunkSignInsDoNotStarveAnotherNamespace: a tenant with three sign-in
// resources calls the callback in a loop with each one's current state and
// a junk code, while the org's budget is 30 token requests a minute. Every
// failed exchange backs its resource off before it gets a new link, and the
// org's budget is shared between namespaces, so another namespace's
// two-minute tokens on the same org are renewed on time throughout.
func TestJunkSignInsDoNotStarveAnotherNamespace(t *testing.T) {
	g := NewWithT(t)
	victimNS := "v-" + rand.String(6)
	f := newFixture(t, fixtureOptions{dev: oktadev.Config{AccessTokenTTL: 2 * time.Minute},
		operator: func(o *operator.Options) {
			o.WatchNamespaces = append(o.WatchNamespaces, victimNS)
			o.OktaRateLimit = 30
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: victimNS}})).To(Succeed())

	// The victim: three service-app tokens at the org's custom
	// authorization server (the same org, so the same budget).
	const clientID = "0oavictimservice"
	f.customServerApp(victimNS, "default", clientID, "victim-service-app-secret", "logs:read")
	var victims []*v1.OktaScopedToken
	for i := range 3 {
		obj := &v1.OktaScopedToken{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("victim-%d", i), Namespace: victimNS},
			Spec: v1.OktaScopedTokenSpec{OktaDomain: f.srv.Issuer(), AuthorizationServerID: "default", ClientID: clientID,
				GrantType: v1.GrantClientCredentials, Scopes: []string{"logs:read"},
				ClientSecretRef: &v1.SecretKeyReference{Name: "okta-service-app", Key: "clientSecret"}},
		}
		g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
		victims = append(victims, obj)
	}
	// At 30 a minute the org's slots are two seconds apart on the
	// operator's clock.
	f.stepUntil(time.Second, func(g Gomega) {
		for _, obj := range victims {
			g.Expect(readyCondition(get(g, obj)).Status).To(Equal(metav1.ConditionTrue))
		}
	})

	// The tenant: three sign-in resources nobody will ever sign in to,
	// and a loop that sends each one's current state with a junk code.
	var junk []*v1.OktaScopedToken
	for i := range 3 {
		junk = append(junk, f.newWebToken(func(o *v1.OktaScopedToken) {
			o.Name, o.Spec.SecretName = fmt.Sprintf("junk-%d", i), fmt.Sprintf("junk-%d-token", i)
		}))
	}
	var sent atomic.Int64
	var loops sync.WaitGroup
	for _, obj := range junk {
		loops.Go(func() {
			for ctx.Err() == nil {
				cur := &v1.OktaScopedToken{}
				if env.Client.Get(ctx, client.ObjectKeyFromObject(obj), cur) != nil || cur.Status.AuthorizationURL == "" {
					continue
				}
				u, err := url.Parse(cur.Status.AuthorizationURL)
				if err != nil {
					continue
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
					f.callback+"?state="+url.QueryEscape(u.Query().Get("state"))+"&code="+rand.String(40), nil)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_ = resp.Body.Close()
					sent.Add(1)
				}
			}
		})
	}

	// Six minutes on the operator's clock, a second at a time: three
	// lifetimes of the victim's tokens. At every step each victim token
	// must be unexpired.
	var expiredSeconds int
	junkExchangesBefore := f.requests.withGrant("authorization_code")
	// pace waits, for a moment of real time at most, for the operator to
	// have done what is due at the fake clock's second: the junk loop keeps
	// it busy, so waiting for it to be idle would never end. pace never
	// fails the test; the expiry check after it does.
	pace := NewGomega(func(string, ...int) {})
	caughtUp := func() bool {
		for _, obj := range victims {
			cur := &v1.OktaScopedToken{}
			if env.Client.Get(ctx, client.ObjectKeyFromObject(obj), cur) != nil {
				return false
			}
			waiting := condition(cur, v1.ConditionReconciling).Reason == v1.ReasonWaitingForRateLimit
			if !waiting && (cur.Status.RenewalTime == nil || !cur.Status.RenewalTime.After(f.clock.Now())) {
				return false
			}
		}
		return true
	}
	for range 6 * 60 {
		f.clock.Step(time.Second)
		pace.Eventually(caughtUp).WithTimeout(2 * time.Second).WithPolling(10 * time.Millisecond).Should(BeTrue())
		for _, obj := range victims {
			cur := get(g, obj)
			if cur.Status.ExpiresAt == nil || !f.clock.Now().Before(cur.Status.ExpiresAt.Time) {
				expiredSeconds++
			}
		}
	}
	cancel()
	loops.Wait()
	junkExchanges := f.requests.withGrant("authorization_code") - junkExchangesBefore
	rotations := int64(0)
	for _, obj := range victims {
		rotations += get(g, obj).Status.Rotations
	}
	t.Logf("%d junk callbacks sent, %d of them reached Okta as code exchanges; the victim's 3 tokens rotated %d times; "+
		"expired token-seconds: %d", sent.Load(), junkExchanges, rotations, expiredSeconds)
	g.Expect(sent.Load()).To(BeNumerically(">", 20), "the junk loops ran")
	g.Expect(junkExchanges).To(BeNumerically(">=", 3), "junk codes reached Okta: the attack spent Person slots")
	g.Expect(expiredSeconds).To(BeZero(), "the other namespace's tokens never expired")
	g.Expect(rotations).To(BeNumerically(">=", 3*3), "each victim token rotated every two-thirds of its two minutes")
	for _, obj := range junk {
		g.Expect(readyCondition(get(g, obj)).Reason).To(BeElementOf(v1.ReasonSignInBackingOff, v1.ReasonAuthorizationRequired))
	}
}

// issuerSeries are the rate-limit metric series whose issuer label matches.
func issuerSeries(match func(issuer string) bool) []string {
	var out []string
	for _, name := range []string{"oktatoken_rate_limit_pace_per_minute", "oktatoken_rate_limit_remaining",
		"oktatoken_rate_limit_waiting_requests", "oktatoken_rate_limit_waits_total", "oktatoken_rate_limit_exceeded_total"} {
		for _, m := range metricSeries(name, nil) {
			for _, l := range m.GetLabel() {
				if l.GetName() == "issuer" && match(l.GetValue()) {
					out = append(out, name+"{issuer="+l.GetValue()+"}")
				}
			}
		}
	}
	return out
}

// TestNothingIsKeptForAHostNoResourceUses: a tenant pointing a resource at
// forty hosts the allowlist refuses leaves no metric series and no state
// for any of them; and what is kept for an allowed org goes once no
// resource uses it.
func TestNothingIsKeptForAHostNoResourceUses(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	const clientID = "0oaservicehosts"
	f.addServiceApp(clientID, []string{"okta.logs.read"}, serviceAppJWK(serviceRSAKey(), "rsa-1"))
	// A second org, on another port of the same address: an org of its own.
	other := oktadev.NewTestServer(t, oktadev.Config{Clock: f.clock, RateLimitPerMinute: unlimitedPerMinute})
	g.Expect(other.AddServiceClient(oktadev.ServiceClient{ID: clientID,
		JWKS: serviceAppJWKS(serviceAppJWK(serviceRSAKey(), "rsa-1")), GrantedScopes: []string{"okta.logs.read"}})).To(Succeed())
	firstOrg := strings.TrimPrefix(f.srv.Issuer(), "http://")
	obj := f.newServiceToken(clientID, encodePKCS8(serviceRSAKey()), "rsa-1")
	waitForReady(t, obj)
	g.Expect(issuerSeries(func(i string) bool { return i == firstOrg })).NotTo(BeEmpty(), "an org in use has its series")
	g.Expect(f.orgs()).To(ContainElement(firstOrg))

	setDomain := func(domain string) {
		g.Eventually(func(g Gomega) {
			cur := get(g, obj)
			patch := client.MergeFrom(cur.DeepCopy())
			cur.Spec.OktaDomain = domain
			g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
		}).Should(Succeed())
	}
	for i := range 40 {
		setDomain(fmt.Sprintf("https://tenant-%02d.attacker.example", i))
		waitForReason(t, obj, v1.ReasonDomainNotAllowed)
	}
	f.settle()
	refused := issuerSeries(func(i string) bool { return strings.Contains(i, "attacker.example") })
	g.Expect(refused).To(BeEmpty(), "no series for a host the allowlist refuses")
	g.Expect(issuerSeries(func(i string) bool { return i == firstOrg })).To(BeEmpty(),
		"the org the resource left, which nothing else uses, is forgotten")
	kept := f.orgs()
	g.Expect(kept).NotTo(ContainElement(ContainSubstring("attacker.example")), "no state for a refused host")
	g.Expect(kept).NotTo(ContainElement(firstOrg), "no state for an org no resource uses")

	setDomain(other.Issuer())
	waitForReady(t, obj)
	secondOrg := strings.TrimPrefix(other.Issuer(), "http://")
	g.Expect(issuerSeries(func(i string) bool { return i == secondOrg })).NotTo(BeEmpty())
	g.Expect(f.orgs()).To(Equal([]string{secondOrg}))
	t.Logf("after 40 refused hosts: %d series and no state kept for them; orgs kept now: %v", len(refused), f.orgs())
}
