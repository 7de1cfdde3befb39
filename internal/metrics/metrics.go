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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// The labels that identify an OktaScopedToken's series.
const (
	labelNamespace = "namespace"
	labelName      = "name"
)

var (
	expiration = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktatoken_token_expiration_timestamp_seconds",
		Help: "When the current access token expires, as a unix timestamp.",
	}, []string{labelNamespace, labelName})
	renewal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktatoken_token_renewal_timestamp_seconds",
		Help: "When the next rotation is due, as a unix timestamp.",
	}, []string{labelNamespace, labelName})
	ready = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktatoken_token_ready_status",
		Help: "The Ready condition: 1 for the series whose condition label matches the current status.",
	}, []string{labelNamespace, labelName, "condition"})
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
)

func init() {
	crmetrics.Registry.MustRegister(expiration, renewal, ready, requests, requestDuration, callbacks)
}

// Observe sets the per-resource gauges from the resource's status.
func Observe(obj *v1.OktaScopedToken) {
	ns, name := obj.Namespace, obj.Name
	st := obj.Status
	if st.ExpiresAt != nil {
		expiration.WithLabelValues(ns, name).Set(float64(st.ExpiresAt.Unix()))
	} else {
		expiration.DeleteLabelValues(ns, name)
	}
	if st.RenewalTime != nil {
		renewal.WithLabelValues(ns, name).Set(float64(st.RenewalTime.Unix()))
	} else {
		renewal.DeleteLabelValues(ns, name)
	}
	current := "Unknown"
	for _, c := range st.Conditions {
		if c.Type == v1.ConditionReady {
			current = string(c.Status)
		}
	}
	for _, c := range []string{"True", "False", "Unknown"} {
		v := 0.0
		if c == current {
			v = 1
		}
		ready.WithLabelValues(ns, name, c).Set(v)
	}
}

// Forget removes a deleted resource's series.
func Forget(namespace, name string) {
	l := prometheus.Labels{labelNamespace: namespace, labelName: name}
	expiration.DeletePartialMatch(l)
	renewal.DeletePartialMatch(l)
	ready.DeletePartialMatch(l)
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
