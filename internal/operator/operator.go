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

// Package operator assembles the operator process: a controller-runtime
// manager with the OktaScopedToken reconciler, the sign-in callback server
// (a runnable on every replica, leader or not), metrics and health probes.
// cmd/ runs it; tests and the demo start it in-process.
package operator

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/controllers"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/callback"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

func init() {
	// The manager uses client-go's scheme, extended with this API group.
	_ = v1.AddToScheme(scheme.Scheme)
}

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
	// Ingress in front of the callback server answers it.
	CallbackURL string
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
}

// Defaults of the flags and options below.
const (
	defaultMaxConcurrentReconciles = 16
	defaultKubeAPIQPS              = 200
	defaultKubeAPIBurst            = 400
	defaultMaxRequestsPerHost      = 4
	// maxOktaBody bounds any answer read from Okta: metadata, tokens and
	// key sets are a few kilobytes.
	maxOktaBody = 1 << 20
)

func (o *Options) defaults() error {
	if o.StateNamespace == "" {
		return errors.New("--state-namespace is required: the namespace that holds the operator's state Secrets")
	}
	u, err := url.Parse(o.CallbackURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--callback-url %q must be an absolute http(s) URL, the redirect URI registered with the Okta app", o.CallbackURL)
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

// New builds the manager with everything registered. Start it with
// mgr.Start(ctx).
func New(cfg *rest.Config, o Options) (manager.Manager, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	// Every package's initialisation has run by now: most of what it
	// touched of the binary is not needed again.
	releaseStartupPages()
	// Until the initial lists are in, collect garbage twice as eagerly:
	// they stream every watched object through the heap once (every
	// Secret's metadata, for one), and without this the heap's peak, not
	// what the operator keeps, decides its memory limit. startupPages puts
	// it back.
	gcPercent := debug.SetGCPercent(startupGCPercent)
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.KubeAPIQPS), o.KubeAPIBurst
	managed := labels.SelectorFromSet(labels.Set{v1.LabelManagedBy: v1.ManagedByValue})
	shard, err := shardSelector(o.Shard)
	if err != nil {
		return nil, err
	}
	metricsOpts := metricsserver.Options{BindAddress: o.MetricsBindAddress, SecureServing: o.SecureMetrics, TLSOpts: o.TLSOpts,
		CertDir: o.MetricsCertDir, CertName: o.MetricsCertName, KeyName: o.MetricsKeyName}
	if o.SecureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mopts := ctrl.Options{
		Scheme:                        scheme.Scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		PprofBindAddress:              o.PprofBindAddress,
		LeaderElection:                o.LeaderElection,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{
			// Only the Secrets the operator manages are cached, so memory
			// does not grow with every Secret in the cluster; managed
			// fields are dropped from everything cached.
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}:      {Label: managed, Namespaces: namespaces(o.WatchNamespaces, o.StateNamespace)},
				&v1.OktaScopedToken{}: {Label: shard},
			},
			DefaultNamespaces: namespaces(o.WatchNamespaces),
			DefaultTransform:  cache.TransformStripManagedFields(),
		},
	}
	if o.Logger != nil {
		mopts.Logger = *o.Logger
	}
	if o.SkipNameValidation {
		t := true
		mopts.Controller.SkipNameValidation = &t
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
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
	httpClient := &http.Client{
		Timeout:       o.HTTPTimeout,
		CheckRedirect: okta.NoRedirects,
		Transport: &okta.HostLimiter{PerHost: o.MaxRequestsPerHost, Wait: time.Second,
			Next: &budget.Observer{Budget: orgBudget,
				Next: okta.LimitBodies{Max: maxOktaBody, Next: http.DefaultTransport.(*http.Transport).Clone()}}},
	}
	oktaClient := &okta.Client{HTTP: httpClient, Clock: o.Clock}
	discovery := &okta.Discoverer{HTTP: httpClient, Clock: o.Clock, TTL: 15 * time.Minute,
		AllowInsecure: o.AllowInsecureIssuers, Domains: domains}
	// The callback's: a person is waiting, so it does not queue behind the
	// reconciler's requests; it follows no redirects either.
	callbackHTTP := &http.Client{Timeout: o.HTTPTimeout, CheckRedirect: okta.NoRedirects,
		Transport: &budget.Observer{Budget: orgBudget,
			Next: okta.LimitBodies{Max: maxOktaBody, Next: http.DefaultTransport.(*http.Transport).Clone()}}}
	callbackOkta := &okta.Client{HTTP: callbackHTTP, Clock: o.Clock}
	callbackDiscovery := &okta.Discoverer{HTTP: callbackHTTP, Clock: o.Clock, TTL: 15 * time.Minute,
		AllowInsecure: o.AllowInsecureIssuers, Domains: domains}

	// The user's Secrets (client secret, private key) are watched through
	// a separate metadata-only cache: the manager's cache is limited to
	// managed Secrets, and of the others only their name and version are
	// kept — not their labels or annotations, which can be large and, in
	// kubectl's last-applied-configuration, hold the Secret's data.
	referencedOpts := cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultNamespaces: namespaces(o.WatchNamespaces),
		DefaultTransform:  keepOnlyIdentity,
	}
	// The operator's own Secrets are never credentials; with
	// --require-secret-label, only labelled Secrets can be.
	notManaged, _ := labels.NewRequirement(v1.LabelManagedBy, selection.NotEquals, []string{v1.ManagedByValue})
	referencedSelector := labels.NewSelector().Add(*notManaged)
	if o.RequireSecretLabel {
		allowed, _ := labels.NewRequirement(v1.LabelAllowReference, selection.Equals, []string{"true"})
		referencedSelector = referencedSelector.Add(*allowed)
	}
	referencedOpts.DefaultLabelSelector = referencedSelector
	referencedCache, err := cache.New(cfg, referencedOpts)
	if err != nil {
		return nil, fmt.Errorf("creating the referenced-Secret cache: %w", err)
	}
	if err := mgr.Add(referencedCache); err != nil {
		return nil, err
	}
	rec := &controllers.OktaScopedTokenReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		ReferencedSecrets:       referencedCache,
		Recorder:                mgr.GetEventRecorder("okta-token-operator"),
		EventLog:                mgr.GetLogger().WithName("events"),
		Clock:                   o.Clock,
		Okta:                    oktaClient,
		Discovery:               discovery,
		StateNamespace:          o.StateNamespace,
		CallbackURL:             o.CallbackURL,
		AuthorizationURLTTL:     o.AuthorizationURLTTL,
		MaxConcurrentReconciles: o.MaxConcurrentReconciles,
		SecretPolicy:            creds.Policy{RequireLabel: o.RequireSecretLabel},
		WatchNamespaces:         o.WatchNamespaces,
		Budget:                  orgBudget,
	}
	if _, real := o.Clock.(clock.RealClock); !real {
		rec.QueueClock = o.Clock
	}
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	referenced := source.Kind(referencedCache, client.Object(secretMeta),
		handler.EnqueueRequestsFromMapFunc(rec.TokensReferencing))
	if err := rec.SetupWithManager(mgr, referenced); err != nil {
		return nil, fmt.Errorf("setting up the controller: %w", err)
	}
	cb := &callback.Server{
		BindAddress:    o.CallbackBindAddress,
		Listener:       o.CallbackListener,
		Client:         mgr.GetClient(),
		APIReader:      mgr.GetAPIReader(),
		Okta:           callbackOkta,
		Discovery:      callbackDiscovery,
		Clock:          o.Clock,
		StateNamespace: o.StateNamespace,
		CallbackURL:    o.CallbackURL,
		Log:            mgr.GetLogger().WithName("callback"),
		SecretPolicy:   creds.Policy{RequireLabel: o.RequireSecretLabel},
		Recorder:       mgr.GetEventRecorder("okta-token-operator"),
		Budget:         orgBudget,
	}
	if err := mgr.Add(cb); err != nil {
		return nil, fmt.Errorf("adding the callback server: %w", err)
	}
	if err := mgr.Add(startupPages{gcPercent: gcPercent, informers: []informerOf{
		{mgr.GetCache(), &v1.OktaScopedToken{}}, {mgr.GetCache(), &corev1.Secret{}}, {referencedCache, secretMeta},
	}}); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("callback", cb.Ready); err != nil {
		return nil, err
	}
	// Not ready until the informers have their initial lists: a replica
	// whose RBAC does not let it list what it watches says so here.
	if err := mgr.AddReadyzCheck("informers", func(r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced yet (if this lasts, check the operator's RBAC)")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}

// keepOnlyIdentity is the referenced-Secret cache's transform: what maps a
// Secret to the resources that reference it (namespace and name) and tells
// that it changed (resourceVersion), and nothing else.
func keepOnlyIdentity(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		},
	}, nil
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

// namespaces is a cache's namespace configuration: watched plus extra, or
// nil (every namespace) when watched is empty.
func namespaces(watched []string, extra ...string) map[string]cache.Config {
	if len(watched) == 0 {
		return nil
	}
	out := map[string]cache.Config{}
	for _, ns := range append(slices.Clone(watched), extra...) {
		out[ns] = cache.Config{}
	}
	return out
}

// shardSelector selects the OktaScopedTokens of a shard: those labelled
// with it, or, for the default shard, those without the label.
func shardSelector(shard string) (labels.Selector, error) {
	op := selection.DoesNotExist
	var values []string
	if shard != "" {
		op, values = selection.Equals, []string{shard}
	}
	req, err := labels.NewRequirement(v1.LabelShard, op, values)
	if err != nil {
		return nil, fmt.Errorf("--shard %q is not a valid label value: %w", shard, err)
	}
	return labels.NewSelector().Add(*req), nil
}

// startupPages releases the binary's pages that starting touched, and the
// memory the initial lists took, once the informers the operator runs on
// have synced (see releaseStartupPages), on every replica.
type startupPages struct {
	gcPercent int
	informers []informerOf
}

// startupGCPercent is GOGC until the initial lists are in.
const startupGCPercent = 50

type informerOf struct {
	cache cache.Cache
	obj   client.Object
}

func (startupPages) NeedLeaderElection() bool { return false }

func (p startupPages) Start(ctx context.Context) error {
	for _, i := range p.informers {
		// The informers the controller starts later are these same ones:
		// asking for them now starts them, so there is something to wait
		// for.
		if _, err := i.cache.GetInformer(ctx, i.obj); err != nil {
			return nil
		}
		if !i.cache.WaitForCacheSync(ctx) {
			return nil
		}
	}
	debug.SetGCPercent(p.gcPercent)
	releaseStartupPages()
	// The initial lists (every Secret's metadata, for one) are garbage
	// now: return the memory they took to the system rather than keep it
	// for a heap that will not grow that large again.
	debug.FreeOSMemory()
	return nil
}
