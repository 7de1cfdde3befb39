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

package bench

// The manager's requests to the API server are read from the API server's
// own counter, apiserver_request_total, as the difference of two scrapes.
// That counter also sees two other clients, which are taken out exactly:
//   - the API server's loopback requests (its lease, endpoints, OpenAPI
//     aggregation...), which it counts once more in
//     apiserver_selfrequest_total;
//   - this benchmark's own requests (creating resources, watching them,
//     scraping), which requestCounter counts as they come back.
// envtest runs no controller-manager or scheduler, so what is left is the
// manager's.
//
// Two kinds of request are left out of the figures: WATCH, because the API
// server counts a watch only when it ends, which is after the second scrape
// for every watch still open; and non-resource requests (discovery,
// OpenAPI, /metrics), which the API server does not count consistently.
// Both are start-up costs, not costs per token.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// RequestKey is one series of apiserver_request_total, reduced to what the
// figures are split by.
type RequestKey struct {
	// Verb is the API server's: GET (one object), LIST, POST, PUT, PATCH,
	// APPLY, DELETE, DELETECOLLECTION.
	Verb string
	// Group is the API group, "" for the core group.
	Group string
	// Resource is the plural resource name, e.g. secrets.
	Resource string
	// Subresource is e.g. status; "" for the resource itself.
	Subresource string
	// Code is the HTTP status code.
	Code string
}

// The verbs the figures single out.
const (
	verbGet   = "GET"
	verbWatch = "WATCH"
)

// Write says whether the request changes something.
func (k RequestKey) Write() bool {
	switch k.Verb {
	case "POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION":
		return true
	}
	return false
}

// What names the resource, e.g. "secrets" or "oktascopedtokens/status".
func (k RequestKey) What() string {
	if k.Subresource != "" {
		return k.Resource + "/" + k.Subresource
	}
	return k.Resource
}

func (k RequestKey) String() string { return k.Verb + " " + k.What() + " " + k.Code }

// selfKey is a series of apiserver_selfrequest_total, which has no code.
type selfKey struct{ verb, group, resource, subresource string }

func (k RequestKey) self() selfKey { return selfKey{k.Verb, k.Group, k.Resource, k.Subresource} }

// RequestCounts are API requests by series.
type RequestCounts map[RequestKey]float64

// Sum adds the counts the filter accepts.
func (c RequestCounts) Sum(filter func(RequestKey) bool) float64 {
	total := 0.0
	for k, v := range c {
		if filter(k) {
			total += v
		}
	}
	return total
}

// Gets counts single-object reads (verb GET), whatever their answer.
func (c RequestCounts) Gets() float64 {
	return c.Sum(func(k RequestKey) bool { return k.Verb == verbGet })
}

// NotFoundGets counts the single-object reads answered 404.
func (c RequestCounts) NotFoundGets() float64 {
	return c.Sum(func(k RequestKey) bool { return k.Verb == verbGet && k.Code == "404" })
}

// Writes counts creates, updates, patches and deletes, Events included.
func (c RequestCounts) Writes() float64 { return c.Sum(RequestKey.Write) }

// Events counts the writes to Events (core or events.k8s.io).
func (c RequestCounts) Events() float64 {
	return c.Sum(func(k RequestKey) bool { return k.Write() && k.Resource == "events" })
}

// Sorted lists the series, writes last, each group by resource then verb.
func (c RequestCounts) Sorted() []RequestKey {
	keys := slices.Collect(maps.Keys(c))
	slices.SortFunc(keys, func(a, b RequestKey) int {
		if a.Write() != b.Write() {
			if a.Write() {
				return 1
			}
			return -1
		}
		return strings.Compare(a.What()+" "+a.Verb+" "+a.Code, b.What()+" "+b.Verb+" "+b.Code)
	})
	return keys
}

// apiServerCounters is one scrape of the API server's request counters.
type apiServerCounters struct {
	requests RequestCounts
	self     map[selfKey]float64
}

// scrapeAPIServer reads /metrics of the API server with the admin client
// hc (which counts this request like any other of the benchmark's).
func scrapeAPIServer(ctx context.Context, hc *http.Client, host string) (apiServerCounters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(host, "/")+"/metrics", nil)
	if err != nil {
		return apiServerCounters{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return apiServerCounters{}, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return apiServerCounters{}, fmt.Errorf("scraping the API server's metrics: %s", resp.Status)
	}
	families, err := parseMetrics(resp.Body)
	if err != nil {
		return apiServerCounters{}, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	out := apiServerCounters{requests: RequestCounts{}, self: map[selfKey]float64{}}
	for _, m := range families["apiserver_request_total"] {
		k := RequestKey{Verb: m.labels["verb"], Group: m.labels["group"], Resource: m.labels["resource"],
			Subresource: m.labels["subresource"], Code: m.labels["code"]}
		if counted(k) && m.labels["dry_run"] == "" {
			out.requests[k] += m.value
		}
	}
	for _, m := range families["apiserver_selfrequest_total"] {
		k := selfKey{m.labels["verb"], m.labels["group"], m.labels["resource"], m.labels["subresource"]}
		out.self[k] += m.value
	}
	return out, nil
}

// counted says whether a series takes part in the figures (see the top of
// this file).
func counted(k RequestKey) bool {
	return k.Resource != "" && k.Verb != verbWatch && k.Verb != "CONNECT"
}

// managerRequests is what the manager sent between two scrapes: the API
// server's delta, less its own loopback requests and the benchmark's.
// Loopback requests carry no code, so they are taken from the series of
// their verb and resource with the most requests first (in practice they
// touch only resources the operator does not: leases, endpoints).
// eventsWritten waits until the API server's count of Event writes has
// stood still for quiet (or timeout has passed): the manager's recorder
// writes Events from a queue, after the passes that record them.
func eventsWritten(ctx context.Context, clk clock.Clock, hc *http.Client, host string, quiet, timeout time.Duration) error {
	deadline, last, since := clk.Now().Add(timeout), -1.0, clk.Now()
	for {
		c, err := scrapeAPIServer(ctx, hc, host)
		if err != nil {
			return err
		}
		if n := c.requests.Events(); n != last {
			last, since = n, clk.Now()
		}
		if clk.Since(since) >= quiet || clk.Now().After(deadline) {
			return nil
		}
		if err := sleepCtx(ctx, clk, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

func managerRequests(before, after apiServerCounters, benchmark RequestCounts) RequestCounts {
	out := RequestCounts{}
	for k, v := range after.requests {
		if d := v - before.requests[k] - benchmark[k]; d != 0 {
			out[k] = d
		}
	}
	for sk, v := range after.self {
		left := v - before.self[sk]
		var keys []RequestKey
		for k := range out {
			if k.self() == sk {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b RequestKey) int { return int(out[b] - out[a]) })
		for _, k := range keys {
			take := min(left, out[k])
			out[k] -= take
			left -= take
		}
	}
	for k, v := range out {
		if v <= 0 {
			delete(out, k)
		}
	}
	return out
}

// metricSample is one series of a scrape.
type metricSample struct {
	labels map[string]string
	value  float64
}

// parseMetrics reads Prometheus' text format into counters and gauges by
// family name.
func parseMetrics(r io.Reader) (map[string][]metricSample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	return samplesOf(slices.Collect(maps.Values(families))), nil
}

// samplesOf flattens metric families into counters and gauges by name.
func samplesOf(families []*dto.MetricFamily) map[string][]metricSample {
	out := map[string][]metricSample{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			s := metricSample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Counter != nil:
				s.value = m.GetCounter().GetValue()
			case m.Gauge != nil:
				s.value = m.GetGauge().GetValue()
			case m.Untyped != nil:
				s.value = m.GetUntyped().GetValue()
			default:
				continue
			}
			out[f.GetName()] = append(out[f.GetName()], s)
		}
	}
	return out
}

// sumOf adds the samples of a family whose labels include match.
func sumOf(families map[string][]metricSample, name string, match map[string]string) float64 {
	total := 0.0
samples:
	for _, s := range families[name] {
		for k, v := range match {
			if s.labels[k] != v {
				continue samples
			}
		}
		total += s.value
	}
	return total
}

// requestCounter counts the benchmark's own requests to the API server,
// keyed the way the API server counts them, so they can be subtracted.
type requestCounter struct {
	mu     sync.Mutex
	counts RequestCounts
}

func newRequestCounter() *requestCounter { return &requestCounter{counts: RequestCounts{}} }

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// wrap is a rest.Config WrapTransport. A request that got no answer is
// not counted: the API server either never saw it or is still serving it.
func (c *requestCounter) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err == nil {
			if k, ok := classifyRequest(r.Method, r.URL, r.Header.Get("Content-Type"), resp.StatusCode); ok && counted(k) {
				c.mu.Lock()
				c.counts[k]++
				c.mu.Unlock()
			}
		}
		return resp, err
	})
}

// snapshot copies the counts so far.
func (c *requestCounter) snapshot() RequestCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// since is what was counted after an earlier snapshot.
func (c *requestCounter) since(earlier RequestCounts) RequestCounts {
	out := c.snapshot()
	for k, v := range earlier {
		out[k] -= v
		if out[k] == 0 {
			delete(out, k)
		}
	}
	return out
}

// countedConfig is cfg with every request counted by c.
func countedConfig(cfg *rest.Config, c *requestCounter) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Wrap(c.wrap)
	return out
}

// namespaceSubresources are the subresources of a namespace, which the API
// server tells apart from resources inside the namespace by name.
var namespaceSubresources = []string{"status", "finalize"}

// classifyRequest keys a request the way the API server's request metrics
// do (k8s.io/apiserver's RequestInfoFactory and CleanVerb). ok is false for
// non-resource requests such as discovery and /metrics.
func classifyRequest(method string, u *url.URL, contentType string, code int) (k RequestKey, ok bool) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		k.Group = parts[1]
		parts = parts[3:]
	default:
		return RequestKey{}, false
	}
	if parts[0] == "namespaces" && len(parts) > 2 && !slices.Contains(namespaceSubresources, parts[2]) {
		parts = parts[2:]
	}
	k.Resource = parts[0]
	name := ""
	if len(parts) > 1 {
		name = parts[1]
	}
	if len(parts) > 2 {
		k.Subresource = parts[2]
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		switch w := u.Query().Get("watch"); {
		case w == "true" || w == "1":
			k.Verb = verbWatch
		case name == "":
			k.Verb = "LIST"
		default:
			k.Verb = verbGet
		}
	case http.MethodPatch:
		k.Verb = "PATCH"
		if strings.HasPrefix(contentType, "application/apply-patch") {
			k.Verb = "APPLY"
		}
	case http.MethodDelete:
		k.Verb = "DELETE"
		if name == "" {
			k.Verb = "DELETECOLLECTION"
		}
	default:
		k.Verb = method
	}
	k.Code = fmt.Sprint(code)
	return k, true
}
