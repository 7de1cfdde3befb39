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

package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clocktesting "k8s.io/utils/clock/testing"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/okta-token-operator/okta-token-operator/internal/budget"
)

// TestRateLimitMetrics drives a Budget with the Prometheus recorder and
// reads the series a dashboard would: what Okta said was left, the waits by
// priority, the 429s, the reservations waiting and the pace, labelled by
// the org's host.
func TestRateLimitMetrics(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 3, 2, 9, 30, 20, 0, time.UTC)
	clk := clocktesting.NewFakeClock(now)
	b := budget.New(budget.Config{PerMinute: 60, Clock: clk, Recorder: RateLimitRecorder{}})
	org := budget.Org("https://metrics-test.okta.com/oauth2/default")
	_, ok := b.Take(org, "ns/a", budget.Expiring)
	g.Expect(ok).To(BeTrue())
	g.Expect(value(rateLimitPace.WithLabelValues(org))).To(Equal(60.0), "the configured pace, before any answer")
	b.Take(org, "ns/b", budget.Early)
	b.Take(org, "ns/c", budget.Manual)
	b.Take(org, "ns/c", budget.Manual)
	g.Expect(value(rateLimitWaits.WithLabelValues(org, "early"))).To(Equal(1.0))
	g.Expect(value(rateLimitWaits.WithLabelValues(org, "manual"))).To(Equal(1.0), "a wait counts once, however often it asks")
	g.Expect(value(rateLimitWaiting.WithLabelValues(org))).To(Equal(2.0))

	h := http.Header{}
	h.Set(budget.HeaderLimit, "60")
	h.Set(budget.HeaderRemaining, "0")
	h.Set(budget.HeaderReset, strconv.FormatInt(now.Add(40*time.Second).Unix(), 10))
	h.Set("Date", now.Format(http.TimeFormat))
	b.Observe(org, http.StatusTooManyRequests, h)
	g.Expect(value(rateLimitRemaining.WithLabelValues(org))).To(Equal(0.0))
	g.Expect(value(rateLimitExceeded.WithLabelValues(org))).To(Equal(1.0))
	g.Expect(value(rateLimitPace.WithLabelValues(org))).To(Equal(0.0), "paused until the reset")

	families, err := crmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	seen := map[string]bool{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "oktatoken_rate_limit") {
			continue
		}
		seen[f.GetName()] = true
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == labelIssuer {
					g.Expect(l.GetValue()).To(Equal("metrics-test.okta.com"), "%s is labelled by the org's host", f.GetName())
				}
			}
		}
	}
	g.Expect(seen).To(HaveLen(5), "all five are registered on the manager's registry: %v", seen)
}

func value(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	switch {
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	case out.Counter != nil:
		return out.Counter.GetValue()
	}
	panic("neither a gauge nor a counter")
}
