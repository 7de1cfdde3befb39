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

// Package metrics exposes the operator's Prometheus metrics on the manager's
// metrics endpoint. Labels name resources and outcomes, never a token.
package metrics

import (
	"iter"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// The labels that identify an OktaScopedToken's series.
const (
	labelNamespace = "namespace"
	labelName      = "name"
)

// labelIssuer names an Okta org by its host (budget.Org), the key of its
// rate-limit budget: a handful of values, never a token or a path.
const labelIssuer = "issuer"

var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oktatoken_token_requests_total",
		Help: "Token requests to Okta by grant and result (success or the error class).",
	}, []string{"grant", "result"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "oktatoken_token_request_duration_seconds",
		Help:    "Duration of token requests to Okta.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"grant"})
	callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oktatoken_callback_requests_total",
		Help: "Requests to the sign-in callback by result.",
	}, []string{"result"})

	rateLimitRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktatoken_rate_limit_remaining",
		Help: "The last X-Rate-Limit-Remaining the org's token or revocation endpoint answered: requests left in its current window, for every client of the org.",
	}, []string{labelIssuer})
	rateLimitWaits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oktatoken_rate_limit_waits_total",
		Help: "Token requests that found no free slot in the org's rate-limit budget and waited for one, by priority.",
	}, []string{labelIssuer, "priority"})
	rateLimitExceeded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oktatoken_rate_limit_exceeded_total",
		Help: "429 answers from the org's token or revocation endpoint; each pauses the org's requests until its reset.",
	}, []string{labelIssuer})
	rateLimitWaiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktatoken_rate_limit_waiting_requests",
		Help: "Token requests holding a reservation in the org's rate-limit budget.",
	}, []string{labelIssuer})
	rateLimitPace = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktatoken_rate_limit_pace_per_minute",
		Help: "Token requests a minute the budget allows the org now: --okta-rate-limit, or less when Okta's headers ask for less; 0 while paused after a 429 or an exhausted window.",
	}, []string{labelIssuer})
)

func init() {
	crmetrics.Registry.MustRegister(tokens, requests, requestDuration, callbacks,
		rateLimitRemaining, rateLimitWaits, rateLimitExceeded, rateLimitWaiting, rateLimitPace)
}

// The per-resource series are made at each scrape from the resource cache
// (tokenCollector) rather than kept: five gauges per resource held by
// client_golang were 25.6 MB of the manager's heap at 10,000 resources
// (heap profile of `go run ./dev/bench/cmd/bench -n 10000 -heapprofile`),
// the largest part of it after the caches themselves. A scrape now costs a
// walk over the cache, with nothing copied, and a deleted resource's series
// go with it.
var (
	expirationDesc = prometheus.NewDesc("oktatoken_token_expiration_timestamp_seconds",
		"When the current access token expires, as a unix timestamp.", []string{labelNamespace, labelName}, nil)
	renewalDesc = prometheus.NewDesc("oktatoken_token_renewal_timestamp_seconds",
		"When the next rotation is due, as a unix timestamp.", []string{labelNamespace, labelName}, nil)
	readyDesc = prometheus.NewDesc("oktatoken_token_ready_status",
		"The Ready condition: 1 for the series whose condition label matches the current status.",
		[]string{labelNamespace, labelName, "condition"}, nil)
)

// tokens is the collector of the per-resource series.
var tokens = &tokenCollector{}

type tokenCollector struct {
	mu     sync.RWMutex
	source iter.Seq[*v1.OktaScopedToken]
}

// SetTokenSource makes the per-resource series those of the resources
// each yields (the manager's cache, read and not copied: the objects must
// not be changed).
func SetTokenSource(each iter.Seq[*v1.OktaScopedToken]) {
	tokens.mu.Lock()
	defer tokens.mu.Unlock()
	tokens.source = each
}

func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- expirationDesc
	ch <- renewalDesc
	ch <- readyDesc
}

func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	source := c.source
	c.mu.RUnlock()
	if source == nil {
		return
	}
	for obj := range source {
		ns, name := obj.Namespace, obj.Name
		st := &obj.Status
		if st.ExpiresAt != nil {
			ch <- prometheus.MustNewConstMetric(expirationDesc, prometheus.GaugeValue, float64(st.ExpiresAt.Unix()), ns, name)
		}
		if st.RenewalTime != nil {
			ch <- prometheus.MustNewConstMetric(renewalDesc, prometheus.GaugeValue, float64(st.RenewalTime.Unix()), ns, name)
		}
		current := "Unknown"
		for _, cond := range st.Conditions {
			if cond.Type == v1.ConditionReady {
				current = string(cond.Status)
			}
		}
		for _, cond := range []string{"True", "False", "Unknown"} {
			v := 0.0
			if cond == current {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, v, ns, name, cond)
		}
	}
}

// TokenRequest counts one token request.
func TokenRequest(grant string, err error, d time.Duration) {
	result := "success"
	if err != nil {
		result = string(okta.ClassOf(err))
	}
	requests.WithLabelValues(grant, result).Inc()
	requestDuration.WithLabelValues(grant).Observe(d.Seconds())
}

// Callback counts one callback request by result.
func Callback(result string) { callbacks.WithLabelValues(result).Inc() }

// RateLimitRecorder puts a budget.Budget's measurements into the rate-limit
// metrics: pass it as budget.Config.Recorder.
type RateLimitRecorder struct{}

var _ budget.Recorder = RateLimitRecorder{}

// Remaining sets oktatoken_rate_limit_remaining.
func (RateLimitRecorder) Remaining(org string, n int) {
	rateLimitRemaining.WithLabelValues(org).Set(float64(n))
}

// Waited counts oktatoken_rate_limit_waits_total.
func (RateLimitRecorder) Waited(org string, p budget.Priority) {
	rateLimitWaits.WithLabelValues(org, p.String()).Inc()
}

// RateLimited counts oktatoken_rate_limit_exceeded_total.
func (RateLimitRecorder) RateLimited(org string) { rateLimitExceeded.WithLabelValues(org).Inc() }

// Waiting sets oktatoken_rate_limit_waiting_requests.
func (RateLimitRecorder) Waiting(org string, n int) {
	rateLimitWaiting.WithLabelValues(org).Set(float64(n))
}

// Forget deletes every rate-limit series of org.
func (RateLimitRecorder) Forget(org string) {
	for _, v := range []*prometheus.GaugeVec{rateLimitRemaining, rateLimitWaiting, rateLimitPace} {
		v.DeleteLabelValues(org)
	}
	rateLimitExceeded.DeleteLabelValues(org)
	rateLimitWaits.DeletePartialMatch(prometheus.Labels{labelIssuer: org})
}

// Pace sets oktatoken_rate_limit_pace_per_minute.
func (RateLimitRecorder) Pace(org string, perMinute float64) {
	rateLimitPace.WithLabelValues(org).Set(perMinute)
}
