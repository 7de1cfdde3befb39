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
	"crypto/tls"
	"flag"
	"os"
	"strings"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Environment variables that give flags their defaults, so manifests can set
// a value by name (an env entry) instead of by its position in args.
const (
	EnvCallbackURL  = "CALLBACK_URL"
	EnvPodNamespace = "POD_NAMESPACE"
)

// Flags are the operator binary's command line: Options plus the few
// settings that only shape the process.
type Flags struct {
	Options
	// EnableHTTP2 serves the metrics endpoint over HTTP/2 too.
	EnableHTTP2 bool
}

// BindFlags registers the operator's flags on fs. cmd/ parses os.Args with
// it; the install tests parse the args of the rendered Deployment with it,
// so what a manifest passes is what the binary reads.
func BindFlags(fs *flag.FlagSet, f *Flags) {
	o := &f.Options
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", "0",
		"The address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	fs.StringVar(&o.PprofBindAddress, "pprof-bind-address", "0",
		"The address Go's profiler (/debug/pprof) binds to, 0 to disable. It is not authenticated: bind it to "+
			"127.0.0.1 and reach it with kubectl port-forward.")
	fs.BoolVar(&o.SecureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS with authentication and authorization. --metrics-secure=false serves plain HTTP.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081",
		"The address the probe endpoint binds to.")
	fs.BoolVar(&o.LeaderElection, "leader-elect", false,
		"Enable leader election, so that only one replica reconciles. Every replica serves callbacks.")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "",
		"The name of the leader-election Lease (default okta-token-operator.oktatoken.dev). "+
			"Deployments that split a cluster by --shard or --watch-namespaces need one each.")
	fs.StringVar(&o.CallbackBindAddress, "callback-bind-address", ":8082",
		"The address the sign-in callback server binds to.")
	fs.StringVar(&o.CallbackURL, "callback-url", os.Getenv(EnvCallbackURL),
		"The redirect URI registered with the Okta web app, served by this operator's /callback through an Ingress, "+
			"e.g. https://okta-token-operator.example.com/callback. Needed only for AuthorizationCode tokens: without it no callback is served, "+
			"ClientCredentials tokens work and an AuthorizationCode token says CallbackNotConfigured. Defaults to $"+EnvCallbackURL+".")
	fs.StringVar(&o.StateNamespace, "state-namespace", os.Getenv(EnvPodNamespace),
		"The namespace of the state Secrets (refresh tokens, pending sign-ins). Defaults to $"+EnvPodNamespace+".")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", defaultMaxConcurrentReconciles,
		"How many OktaScopedTokens are reconciled at once.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", defaultKubeAPIQPS,
		"Requests per second the operator may send to the Kubernetes API server (client-side limit; "+
			"the API server's priority and fairness applies as well).")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", defaultKubeAPIBurst,
		"Burst of requests to the Kubernetes API server above --kube-api-qps.")
	fs.BoolVar(&o.AllowInsecureIssuers, "allow-insecure-issuers", false,
		"Accept http:// Okta domains on loopback hosts. For local development against a dev server only.")
	fs.DurationVar(&o.AuthorizationURLTTL, "authorization-url-ttl", 0,
		"How long a published sign-in URL stays valid before a new one replaces it (default 1h).")
	fs.DurationVar(&o.HTTPTimeout, "okta-request-timeout", 0, "Timeout of each request to Okta (default 30s).")
	fs.StringVar(&o.MetricsCertDir, "metrics-cert-path", "",
		"The directory that holds the metrics server's certificate; without it a self-signed one is made.")
	fs.StringVar(&o.MetricsCertName, "metrics-cert-name", "tls.crt", "The metrics server's certificate file name.")
	fs.StringVar(&o.MetricsKeyName, "metrics-cert-key", "tls.key", "The metrics server's key file name.")
	fs.BoolVar(&f.EnableHTTP2, "enable-http2", false, "Enable HTTP/2 for the metrics server.")
	fs.Func("watch-namespaces", "Comma-separated namespaces whose OktaScopedTokens this operator manages "+
		"(default: all). With it, the operator needs Roles only in those namespaces and its own.",
		func(v string) error {
			o.WatchNamespaces = splitList(v)
			return nil
		})
	fs.Func("okta-domains", "Comma-separated host patterns of the Okta orgs this operator may send credentials to: "+
		"a host (login.example.com, an Okta custom URL domain) or *.host, the star standing for one DNS label. "+
		"Replaces the default, "+strings.Join(okta.DefaultDomains, ",")+". A resource naming another host is refused.",
		func(v string) error {
			o.OktaDomains = splitList(v)
			return nil
		})
	fs.BoolVar(&o.RequireSecretLabel, "require-secret-label", false,
		"Read a Secret a resource references (client secret, private key) only when it is labelled "+
			v1.LabelAllowReference+"=true.")
	fs.IntVar(&o.MaxRequestsPerHost, "okta-max-requests-per-host", defaultMaxRequestsPerHost,
		"Requests to one Okta host the reconciler may have in flight; a slow or broken domain holds at most this many workers.")
	fs.IntVar(&o.OktaRateLimit, "okta-rate-limit", budget.DefaultPerMinute,
		"Token requests per minute the operator sends to one Okta org, all its resources together (sign-ins, refreshes, "+
			"client credentials, revocations). Okta's smallest published token-endpoint limit is 300 a minute (free "+
			"plans), shared with the org's other apps; paid plans allow 1,200 or more. Okta's X-Rate-Limit-* headers "+
			"lower the pace further, and a 429 pauses the org until its reset.")
	fs.StringVar(&o.Shard, "shard", "",
		"Manage only OktaScopedTokens labelled "+v1.LabelShard+"=<value>; without it, only those without the label. "+
			"Several operator Deployments, each with its own --shard and --leader-election-id, split a big cluster.")
}

// splitList reads a comma-separated flag value, ignoring blanks.
func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Complete applies what the process-only flags imply to Options.
func (f *Flags) Complete() {
	if !f.EnableHTTP2 {
		// HTTP/2 stays off unless asked for: the Stream Cancellation and
		// Rapid Reset CVEs.
		f.TLSOpts = append(f.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
}
