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
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestRequestNamespace(t *testing.T) {
	tests := map[string]struct{ path, want string }{
		"a Secret":               {"/api/v1/namespaces/team-a/secrets/token", "team-a"},
		"Secrets of a namespace": {"/api/v1/namespaces/team-a/secrets", "team-a"},
		"a custom resource":      {"/apis/oktatoken.dev/v1alpha1/namespaces/team-a/oktascopedtokens/t/status", "team-a"},
		"across namespaces":      {"/api/v1/secrets", ""},
		"a cluster-scoped kind":  {"/apis/oktatoken.dev/v1alpha1/clusteroktascopedtokens/logs", ""},
		"a namespace itself":     {"/api/v1/namespaces/team-a", ""},
		"a namespace's status":   {"/api/v1/namespaces/team-a/status", ""},
		"namespaces":             {"/api/v1/namespaces", ""},
		"discovery":              {"/apis/oktatoken.dev/v1alpha1", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := requestNamespace(tc.path); got != tc.want {
				t.Errorf("requestNamespace(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

// TestAPIProxyCountsByNamespace: a client given the proxy's kubeconfig
// reaches the server behind it, and each answered request is counted
// under its namespace, keyed as the API server keys it.
func TestAPIProxyCountsByNamespace(t *testing.T) {
	g := NewWithT(t)
	apiServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer apiServer.Close()
	p, err := startAPIProxy(&rest.Config{Host: apiServer.URL})
	g.Expect(err).NotTo(HaveOccurred())
	defer p.close()
	path, err := p.kubeconfig(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	g.Expect(err).NotTo(HaveOccurred())
	hc, err := rest.HTTPClientFor(cfg)
	g.Expect(err).NotTo(HaveOccurred())

	before := p.snapshot()
	for _, req := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/namespaces/team-a/secrets"},
		{http.MethodPost, "/api/v1/namespaces/team-b/secrets"},
		{http.MethodGet, "/api/v1/namespaces/team-a/secrets/copy"},
		{http.MethodGet, "/api/v1/namespaces"},
	} {
		r, err := http.NewRequest(req.method, cfg.Host+req.path, nil)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := hc.Do(r)
		g.Expect(err).NotTo(HaveOccurred())
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	g.Expect(p.since(before)).To(Equal(NamespacedCounts{
		"team-a": {{Verb: "POST", Resource: "secrets", Code: "201"}: 1, {Verb: "GET", Resource: "secrets", Code: "200"}: 1},
		"team-b": {{Verb: "POST", Resource: "secrets", Code: "201"}: 1},
		"":       {{Verb: "LIST", Resource: "namespaces", Code: "200"}: 1},
	}))
	copies := p.since(before).In(func(ns string) bool { return ns != "" })
	g.Expect(copies.Sum(secretWrite)).To(Equal(2.0))
}
