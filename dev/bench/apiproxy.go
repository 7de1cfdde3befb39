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

// The API server's request counter has no namespace label, so it cannot
// tell a write to a copy in one of 500 namespaces from a write to the
// source's own Secret beside it. apiProxy can: the manager is given a
// kubeconfig for it, a plain-HTTP listener on loopback that forwards every
// request to the API server with the control plane's admin credentials and
// counts it, keyed as apirequests.go keys the API server's series, by the
// namespace in its path. The API server's own counter stays the reference
// for the totals; the proxy only splits them.

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// NamespacedCounts are API requests by namespace ("" for cluster-scoped
// resources and requests across all namespaces), then by series.
type NamespacedCounts map[string]RequestCounts

// In adds the counts of the namespaces the filter accepts.
func (c NamespacedCounts) In(namespace func(string) bool) RequestCounts {
	out := RequestCounts{}
	for ns, counts := range c {
		if !namespace(ns) {
			continue
		}
		for k, v := range counts {
			out[k] += v
		}
	}
	return out
}

// sub is what was counted after earlier.
func (c NamespacedCounts) sub(earlier NamespacedCounts) NamespacedCounts {
	out := NamespacedCounts{}
	for ns, counts := range c {
		for k, v := range counts {
			if d := v - earlier[ns][k]; d != 0 {
				if out[ns] == nil {
					out[ns] = RequestCounts{}
				}
				out[ns][k] = d
			}
		}
	}
	return out
}

// apiProxy forwards the manager's requests to the API server and counts
// them by namespace.
type apiProxy struct {
	srv  *http.Server
	addr string

	mu     sync.Mutex
	counts NamespacedCounts
}

// startAPIProxy serves the API server of cfg (admin credentials, not
// counted by the benchmark's requestCounter: these are the manager's
// requests) on a loopback port.
func startAPIProxy(cfg *rest.Config) (*apiProxy, error) {
	target, err := apiServerURL(cfg.Host)
	if err != nil {
		return nil, err
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("the API proxy's transport: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &apiProxy{addr: l.Addr().String(), counts: NamespacedCounts{}}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: p.count(transport),
		// Watches stream: every event goes to the manager when it comes.
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// apiServerURL is rest.Config's Host as a URL (it may lack the scheme).
func apiServerURL(host string) (*url.URL, error) {
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the API server's address %q: %v", host, err)
	}
	return u, nil
}

// count wraps the transport to the API server. As with requestCounter, a
// request that got no answer is not counted.
func (p *apiProxy) count(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		if k, ok := classifyRequest(r.Method, r.URL, r.Header.Get("Content-Type"), resp.StatusCode); ok && counted(k) {
			ns := requestNamespace(r.URL.Path)
			p.mu.Lock()
			if p.counts[ns] == nil {
				p.counts[ns] = RequestCounts{}
			}
			p.counts[ns][k]++
			p.mu.Unlock()
		}
		return resp, nil
	})
}

// requestNamespace is the namespace a resource request's path names: ""
// for a cluster-scoped resource (a Namespace itself included) or a request
// across all namespaces.
func requestNamespace(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return ""
	}
	// As classifyRequest tells them apart: namespaces/x/status is the
	// namespace's own.
	if parts[0] == "namespaces" && len(parts) > 2 && !slices.Contains(namespaceSubresources, parts[2]) {
		return parts[1]
	}
	return ""
}

// snapshot copies the counts so far.
func (p *apiProxy) snapshot() NamespacedCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(NamespacedCounts, len(p.counts))
	for ns, counts := range p.counts {
		out[ns] = maps.Clone(counts)
	}
	return out
}

// since is what was counted after an earlier snapshot.
func (p *apiProxy) since(earlier NamespacedCounts) NamespacedCounts { return p.snapshot().sub(earlier) }

// kubeconfig writes a kubeconfig for the proxy into dir: no credentials,
// since the proxy adds them.
func (p *apiProxy) kubeconfig(dir string) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: "http://" + p.addr}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	path := filepath.Join(dir, "kubeconfig-proxied")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("writing the proxy's kubeconfig: %w", err)
	}
	return path, nil
}

// close ends the proxy and the connections through it (the manager's
// watches never go idle, so there is nothing to wait for).
func (p *apiProxy) close() { _ = p.srv.Close() }
