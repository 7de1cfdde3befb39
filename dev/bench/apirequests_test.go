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

import (
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestClassifyRequest(t *testing.T) {
	tests := map[string]struct {
		method, url, contentType string
		code                     int
		want                     RequestKey
		nonResource              bool
	}{
		"get a Secret": {method: "GET", url: "/api/v1/namespaces/ns/secrets/token", code: 404,
			want: RequestKey{Verb: "GET", Resource: "secrets", Code: "404"}},
		"list Secrets": {method: "GET", url: "/api/v1/namespaces/ns/secrets?labelSelector=a%3Db", code: 200,
			want: RequestKey{Verb: "LIST", Resource: "secrets", Code: "200"}},
		"list across namespaces": {method: "GET", url: "/api/v1/secrets", code: 200,
			want: RequestKey{Verb: "LIST", Resource: "secrets", Code: "200"}},
		"watch": {method: "GET", url: "/apis/oktatoken.dev/v1alpha1/oktascopedtokens?watch=true", code: 200,
			want: RequestKey{Verb: "WATCH", Group: "oktatoken.dev", Resource: "oktascopedtokens", Code: "200"}},
		"status patch": {method: "PATCH", url: "/apis/oktatoken.dev/v1alpha1/namespaces/ns/oktascopedtokens/t/status",
			contentType: "application/merge-patch+json", code: 200,
			want: RequestKey{Verb: "PATCH", Group: "oktatoken.dev", Resource: "oktascopedtokens", Subresource: "status", Code: "200"}},
		"server-side apply": {method: "PATCH", url: "/api/v1/namespaces/ns/secrets/s", contentType: "application/apply-patch+yaml",
			code: 200, want: RequestKey{Verb: "APPLY", Resource: "secrets", Code: "200"}},
		"create an Event": {method: "POST", url: "/apis/events.k8s.io/v1/namespaces/ns/events", code: 201,
			want: RequestKey{Verb: "POST", Group: "events.k8s.io", Resource: "events", Code: "201"}},
		"delete": {method: "DELETE", url: "/api/v1/namespaces/ns/secrets/s", code: 200,
			want: RequestKey{Verb: "DELETE", Resource: "secrets", Code: "200"}},
		"delete a collection": {method: "DELETE", url: "/api/v1/namespaces/ns/secrets", code: 200,
			want: RequestKey{Verb: "DELETECOLLECTION", Resource: "secrets", Code: "200"}},
		"a namespace": {method: "GET", url: "/api/v1/namespaces/ns", code: 200,
			want: RequestKey{Verb: "GET", Resource: "namespaces", Code: "200"}},
		"a namespace's status": {method: "PUT", url: "/api/v1/namespaces/ns/status", code: 200,
			want: RequestKey{Verb: "PUT", Resource: "namespaces", Subresource: "status", Code: "200"}},
		"list namespaces": {method: "GET", url: "/api/v1/namespaces", code: 200,
			want: RequestKey{Verb: "LIST", Resource: "namespaces", Code: "200"}},
		"discovery":        {method: "GET", url: "/apis/oktatoken.dev/v1alpha1", code: 200, nonResource: true},
		"core discovery":   {method: "GET", url: "/api", code: 200, nonResource: true},
		"metrics":          {method: "GET", url: "/metrics", code: 200, nonResource: true},
		"version":          {method: "GET", url: "/version", code: 200, nonResource: true},
		"group discovery":  {method: "GET", url: "/apis", code: 200, nonResource: true},
		"openapi":          {method: "GET", url: "/openapi/v3", code: 200, nonResource: true},
		"core v1 resource": {method: "GET", url: "/api/v1", code: 200, nonResource: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			u, err := url.Parse(tc.url)
			g.Expect(err).NotTo(HaveOccurred())
			got, ok := classifyRequest(tc.method, u, tc.contentType, tc.code)
			g.Expect(ok).To(Equal(!tc.nonResource))
			if !tc.nonResource {
				g.Expect(got).To(Equal(tc.want))
			}
		})
	}
}

// The manager's requests are the API server's delta less its loopback
// requests and the benchmark's own.
func TestManagerRequests(t *testing.T) {
	getSecret200 := RequestKey{Verb: "GET", Resource: "secrets", Code: "200"}
	getSecret404 := RequestKey{Verb: "GET", Resource: "secrets", Code: "404"}
	createToken := RequestKey{Verb: "POST", Group: "oktatoken.dev", Resource: "oktascopedtokens", Code: "201"}
	putLease := RequestKey{Verb: "PUT", Group: "coordination.k8s.io", Resource: "leases", Code: "200"}
	leaseSelf := selfKey{"PUT", "coordination.k8s.io", "leases", ""}
	secretSelf := selfKey{"GET", "", "secrets", ""}
	tests := map[string]struct {
		before, after apiServerCounters
		benchmark     RequestCounts
		want          RequestCounts
	}{
		"the benchmark's creates are not the manager's": {
			before:    counters(RequestCounts{createToken: 5}, nil),
			after:     counters(RequestCounts{createToken: 105, getSecret404: 3}, nil),
			benchmark: RequestCounts{createToken: 100},
			want:      RequestCounts{getSecret404: 3},
		},
		"the API server's own lease updates are taken out": {
			before: counters(RequestCounts{putLease: 10}, map[selfKey]float64{leaseSelf: 10}),
			after:  counters(RequestCounts{putLease: 13, getSecret200: 2}, map[selfKey]float64{leaseSelf: 13}),
			want:   RequestCounts{getSecret200: 2},
		},
		"loopback requests without a code come off the largest series first": {
			before: counters(RequestCounts{}, nil),
			after:  counters(RequestCounts{getSecret200: 4, getSecret404: 1}, map[selfKey]float64{secretSelf: 2}),
			want:   RequestCounts{getSecret200: 2, getSecret404: 1},
		},
		"a series that did not move is left out": {
			before: counters(RequestCounts{getSecret200: 7}, nil),
			after:  counters(RequestCounts{getSecret200: 7}, nil),
			want:   RequestCounts{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(managerRequests(tc.before, tc.after, tc.benchmark)).To(Equal(tc.want))
		})
	}
}

func counters(requests RequestCounts, self map[selfKey]float64) apiServerCounters {
	if self == nil {
		self = map[selfKey]float64{}
	}
	return apiServerCounters{requests: requests, self: self}
}

func TestRequestCountsFigures(t *testing.T) {
	g := NewWithT(t)
	c := RequestCounts{
		{Verb: "GET", Resource: "secrets", Code: "200"}:                                                           3,
		{Verb: "GET", Resource: "secrets", Code: "404"}:                                                           2,
		{Verb: "LIST", Resource: "secrets", Code: "200"}:                                                          1,
		{Verb: "POST", Resource: "secrets", Code: "201"}:                                                          4,
		{Verb: "POST", Group: "events.k8s.io", Resource: "events", Code: "201"}:                                   4,
		{Verb: "PATCH", Group: "oktatoken.dev", Resource: "oktascopedtokens", Subresource: "status", Code: "200"}: 5,
	}
	g.Expect(c.Gets()).To(Equal(5.0))
	g.Expect(c.NotFoundGets()).To(Equal(2.0))
	g.Expect(c.Writes()).To(Equal(13.0))
	g.Expect(c.Events()).To(Equal(4.0))
	sorted := c.Sorted()
	g.Expect(sorted).To(HaveLen(6))
	g.Expect(sorted[:3]).NotTo(ContainElement(WithTransform(RequestKey.Write, BeTrue())), "reads first")
	g.Expect(sorted[3:]).To(HaveEach(WithTransform(RequestKey.Write, BeTrue())), "then writes")
}

func TestParseMetrics(t *testing.T) {
	g := NewWithT(t)
	text := `# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} 7
apiserver_request_total{code="201",component="apiserver",dry_run="All",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 2
# TYPE workqueue_depth gauge
workqueue_depth{controller="oktascopedtoken",name="oktascopedtoken"} 3
`
	families, err := parseMetrics(strings.NewReader(text))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sumOf(families, "workqueue_depth", map[string]string{"name": "oktascopedtoken"})).To(Equal(3.0))
	g.Expect(sumOf(families, "apiserver_request_total", nil)).To(Equal(9.0))
	g.Expect(sumOf(families, "apiserver_request_total", map[string]string{"verb": "POST"})).To(Equal(2.0))
}
