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

package operator

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// maxOktaBody bounds any answer read from Okta: metadata, tokens and
// key sets are a few kilobytes.
const maxOktaBody = 1 << 20

// oktaClients are the operator's clients of Okta: the reconciler's and the
// callback server's, paced by one budget per Okta org.
type oktaClients struct {
	orgBudget *budget.Budget
	// nonces are the DPoP nonces each authorization server last handed
	// out, shared by the reconciler and the callback.
	nonces            *okta.DPoPNonces
	oktaClient        *okta.Client
	discovery         *okta.Discoverer
	callbackOkta      *okta.Client
	callbackDiscovery *okta.Discoverer
}

// newOktaClients builds them, and the budget, from the options.
func newOktaClients(o *Options) (*oktaClients, error) {
	domains, err := okta.ParseDomains(o.OktaDomains)
	if err != nil {
		return nil, err
	}
	// One budget per Okta org for every token request the operator makes
	// there, the reconciler's and the callback's: each answer's
	// X-Rate-Limit-* headers pace it, and a 429 pauses the org.
	orgBudget := budget.New(budget.Config{PerMinute: o.OktaRateLimit, Clock: o.Clock,
		Recorder: metrics.RateLimitRecorder{}})
	// The reconciler's requests to Okta: no redirects followed, and a bound
	// on those in flight per host, so one slow or broken domain cannot hold
	// every worker.
	// A DPoP proof is signed per request, outermost, so that the retry a
	// nonce asks for passes the limiter and the budget's observer like any
	// request; the retry waits for a slot of its own.
	nonces := &okta.DPoPNonces{}
	httpClient := &http.Client{
		Timeout:       o.HTTPTimeout,
		CheckRedirect: okta.NoRedirects,
		Transport: &okta.DPoPTransport{Nonces: nonces, Clock: o.Clock, BeforeRetry: slotFor(orgBudget, budget.Expiring),
			Next: &okta.HostLimiter{PerHost: o.MaxRequestsPerHost, Wait: time.Second,
				Next: &budget.Observer{Budget: orgBudget,
					Next: okta.LimitBodies{Max: maxOktaBody, Next: http.DefaultTransport.(*http.Transport).Clone()}}}},
	}
	oktaClient := &okta.Client{HTTP: httpClient, Clock: o.Clock}
	discovery := &okta.Discoverer{HTTP: httpClient, Clock: o.Clock, TTL: 15 * time.Minute,
		AllowInsecure: o.AllowInsecureIssuers, Domains: domains}
	// The callback's: a person is waiting, so it does not queue behind the
	// reconciler's requests; it follows no redirects either.
	callbackHTTP := &http.Client{Timeout: o.HTTPTimeout, CheckRedirect: okta.NoRedirects,
		Transport: &okta.DPoPTransport{Nonces: nonces, Clock: o.Clock, BeforeRetry: slotFor(orgBudget, budget.Person),
			Next: &budget.Observer{Budget: orgBudget,
				Next: okta.LimitBodies{Max: maxOktaBody, Next: http.DefaultTransport.(*http.Transport).Clone()}}}}
	callbackOkta := &okta.Client{HTTP: callbackHTTP, Clock: o.Clock}
	callbackDiscovery := &okta.Discoverer{HTTP: callbackHTTP, Clock: o.Clock, TTL: 15 * time.Minute,
		AllowInsecure: o.AllowInsecureIssuers, Domains: domains}
	return &oktaClients{orgBudget: orgBudget, nonces: nonces, oktaClient: oktaClient, discovery: discovery,
		callbackOkta: callbackOkta, callbackDiscovery: callbackDiscovery}, nil
}

// slotFor waits for a slot in the budget of a request's org at priority p:
// a DPoP nonce retry is a token request of its own.
func slotFor(b *budget.Budget, p budget.Priority) func(context.Context, *http.Request) error {
	return func(ctx context.Context, r *http.Request) error {
		return b.Wait(ctx, budget.Org(r.URL.String()), budget.TenantFrom(ctx), p)
	}
}

// forgetOrg drops everything the clients keep of an org no resource uses
// any more: its budget and metric series, cached metadata, key sets and
// DPoP nonces. (The per-host limiter forgets a host by itself once nothing
// is in flight there.)
func (c *oktaClients) forgetOrg(org string) {
	c.orgBudget.Forget(org)
	c.discovery.ForgetOrg(org)
	c.callbackDiscovery.ForgetOrg(org)
	c.oktaClient.ForgetOrg(org)
	c.callbackOkta.ForgetOrg(org)
	c.nonces.ForgetOrg(org)
}

// orgsKept lists the orgs a budget or cached metadata is kept for.
func (c *oktaClients) orgsKept() []string {
	orgs := append(append(c.orgBudget.Orgs(), c.discovery.Orgs()...), c.callbackDiscovery.Orgs()...)
	slices.Sort(orgs)
	return slices.Compact(orgs)
}
