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
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"

	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Options configure the operator. Zero values get the defaults below.
type Options struct {
	MetricsBindAddress     string // "0" disables; default "0"
	SecureMetrics          bool
	HealthProbeBindAddress string // "0" disables; default "0"
	// PprofBindAddress serves Go's profiler; "" or "0" disables. It has no
	// authentication of its own.
	PprofBindAddress string
	// CallbackBindAddress is where the callback server listens.
	CallbackBindAddress string
	// CallbackListener, when set, is used instead of CallbackBindAddress
	// (tests pass a listener on a free port).
	CallbackListener net.Listener
	// CallbackURL is the redirect URI registered with the Okta app; the
	// Ingress in front of the callback server answers it. Empty: no
	// callback server, ClientCredentials tokens only.
	CallbackURL string
	// ClusterTokens serves ClusterOktaScopedTokens. It is always on without
	// WatchNamespaces; a namespaced operator has no rights on cluster-scoped
	// objects, so it serves them only when this is set (and copies only into
	// its namespaces).
	ClusterTokens bool
	// StateNamespace holds the state Secrets.
	StateNamespace string
	LeaderElection bool
	// LeaderElectionNamespace is where the lease lives; default StateNamespace.
	LeaderElectionNamespace string
	LeaderElectionID        string
	// AllowInsecureIssuers accepts http:// issuers (local development).
	AllowInsecureIssuers    bool
	MaxConcurrentReconciles int
	// KubeAPIQPS and KubeAPIBurst bound the client-side rate of requests to
	// the API server; defaults 200 and 400.
	KubeAPIQPS          float64
	KubeAPIBurst        int
	AuthorizationURLTTL time.Duration // default 1h
	// HTTPTimeout bounds each request to Okta; default 30s.
	HTTPTimeout time.Duration
	// Clock drives every decision; default the real clock.
	Clock clock.WithTicker
	// Logger, default ctrl.Log.
	Logger *logr.Logger
	// TLSOpts apply to the metrics server.
	TLSOpts []func(*tls.Config)
	// MetricsCertDir, MetricsCertName and MetricsKeyName name the metrics
	// server's certificate; without them it makes a self-signed one.
	MetricsCertDir, MetricsCertName, MetricsKeyName string
	// SkipNameValidation lets tests start several managers in one process.
	SkipNameValidation bool
	// WatchNamespaces limits the operator to OktaScopedTokens (and their
	// Secrets) in these namespaces; empty means every namespace. Its RBAC
	// can then be Roles in those namespaces and the state namespace.
	WatchNamespaces []string
	// Shard limits the operator to OktaScopedTokens labelled
	// oktatoken.dev/shard=<Shard>; empty means those without the label.
	Shard string
	// OktaDomains are the host patterns the operator may send credentials
	// to; default okta.DefaultDomains.
	OktaDomains []string
	// RequireSecretLabel reads only referenced Secrets labelled
	// oktatoken.dev/allow-reference=true.
	RequireSecretLabel bool
	// MaxRequestsPerHost bounds the reconciler's requests in flight to
	// one Okta host; default 4.
	MaxRequestsPerHost int
	// OktaRateLimit is the token requests per minute the operator sends to
	// one Okta org, all resources together; default budget.DefaultPerMinute.
	OktaRateLimit int
	// OrgsKept, when set, is given a function that lists the Okta orgs
	// anything is kept for (a budget, cached metadata): tests check that
	// nothing is kept for a host the allowlist refuses or no resource uses.
	OrgsKept *func() []string
}

// Defaults of the flags and options below.
const (
	defaultMaxConcurrentReconciles = 16
	defaultKubeAPIQPS              = 200
	defaultKubeAPIBurst            = 400
	defaultMaxRequestsPerHost      = 4
)

func (o *Options) defaults() error {
	if o.StateNamespace == "" {
		return errors.New("--state-namespace is required: the namespace that holds the operator's state Secrets")
	}
	// Without a callback URL the operator serves ClientCredentials tokens
	// only; an AuthorizationCode resource says CallbackNotConfigured.
	if o.CallbackURL != "" {
		u, err := url.Parse(o.CallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--callback-url %q must be an absolute http(s) URL, the redirect URI registered with the Okta app", o.CallbackURL)
		}
	}
	if len(o.WatchNamespaces) == 0 {
		o.ClusterTokens = true
	}
	if o.MetricsBindAddress == "" {
		o.MetricsBindAddress = "0"
	}
	if o.HealthProbeBindAddress == "" {
		o.HealthProbeBindAddress = "0"
	}
	if o.CallbackBindAddress == "" {
		o.CallbackBindAddress = ":8082"
	}
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = o.StateNamespace
	}
	if o.Shard != "" && len(validation.IsDNS1123Label(o.Shard)) > 0 {
		return fmt.Errorf("--shard %q must be a DNS label: lower-case letters, digits and '-', at most 63 characters", o.Shard)
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = defaultLeaderElectionID(o.Shard, o.WatchNamespaces)
	}
	if o.AuthorizationURLTTL <= 0 {
		o.AuthorizationURLTTL = time.Hour
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = defaultMaxConcurrentReconciles
	}
	if len(o.OktaDomains) == 0 {
		o.OktaDomains = okta.DefaultDomains
	}
	if o.MaxRequestsPerHost <= 0 {
		o.MaxRequestsPerHost = defaultMaxRequestsPerHost
	}
	if o.OktaRateLimit <= 0 {
		o.OktaRateLimit = budget.DefaultPerMinute
	}
	if o.KubeAPIQPS == 0 {
		o.KubeAPIQPS = defaultKubeAPIQPS
	}
	if o.KubeAPIBurst <= 0 {
		o.KubeAPIBurst = defaultKubeAPIBurst
	}
	return nil
}

// defaultLeaderElectionID names the leader-election Lease so that Deployments
// splitting a cluster by shard or by namespaces each elect their own leader.
func defaultLeaderElectionID(shard string, watched []string) string {
	id := "okta-token-operator.oktatoken.dev"
	if shard != "" {
		id = shard + "." + id
	}
	if len(watched) > 0 {
		sorted := slices.Clone(watched)
		slices.Sort(sorted)
		sum := sha256.Sum256([]byte(strings.Join(sorted, ",")))
		id = hex.EncodeToString(sum[:4]) + "." + id
	}
	return id
}
