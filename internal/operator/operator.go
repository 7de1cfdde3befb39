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
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
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
	"github.com/okta-token-operator/okta-token-operator/internal/callback"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
)

func init() {
	// The manager uses client-go's scheme, extended with this API group.
	_ = v1.AddToScheme(scheme.Scheme)
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
	applyMemoryLimit()
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
	// The Secret cache's transform looks the owning resource up in the
	// resource cache, which exists once the manager does. While the
	// resources' initial list is not in, the lookup waits for it (a
	// Secret's owner may be in it); a Secret whose owner is not found is
	// cached trimmed, and read live the one time a pass needs it.
	var tokens client.Reader
	lookup := func(key types.NamespacedName, obj client.Object) bool {
		if tokens == nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return tokens.Get(ctx, key, obj) == nil
	}
	tokenOf := func(namespace, name string) *v1.OktaScopedToken {
		obj := &v1.OktaScopedToken{}
		if !lookup(types.NamespacedName{Namespace: namespace, Name: name}, obj) {
			return nil
		}
		return obj
	}
	clusterTokenOf := func(name string) *v1.ClusterOktaScopedToken {
		// Without cluster tokens there is no informer for them to ask
		// (and a namespaced operator may not start one).
		obj := &v1.ClusterOktaScopedToken{}
		if !o.ClusterTokens || !lookup(types.NamespacedName{Name: name}, obj) {
			return nil
		}
		return obj
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
				&corev1.Secret{}: {Label: managed, Namespaces: namespaces(o.WatchNamespaces, o.StateNamespace),
					Transform: trimSecret(o.StateNamespace, tokenOf, clusterTokenOf)},
				&v1.OktaScopedToken{}:        {Label: shard, Transform: trimToken},
				&v1.ClusterOktaScopedToken{}: {Label: shard},
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
	tokens = mgr.GetCache()
	metrics.SetTokenSource(cachedTokens(mgr.GetCache()))
	clients, err := newOktaClients(&o)
	if err != nil {
		return nil, err
	}
	if o.OrgsKept != nil {
		*o.OrgsKept = clients.orgsKept
	}
	referencedCache, err := newReferencedCache(cfg, mgr, &o)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(referencedCache); err != nil {
		return nil, err
	}
	events, err := eventRecorder(cfg, scheme.Scheme, mgr)
	if err != nil {
		return nil, fmt.Errorf("starting the Event recorder: %w", err)
	}
	rec := &controllers.OktaScopedTokenReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		ReferencedSecrets:       referencedCache,
		Recorder:                events,
		EventLog:                mgr.GetLogger().WithName("events"),
		Clock:                   o.Clock,
		Okta:                    clients.oktaClient,
		Discovery:               clients.discovery,
		StateNamespace:          o.StateNamespace,
		CallbackURL:             o.CallbackURL,
		AuthorizationURLTTL:     o.AuthorizationURLTTL,
		MaxConcurrentReconciles: o.MaxConcurrentReconciles,
		SecretPolicy:            creds.Policy{RequireLabel: o.RequireSecretLabel},
		WatchNamespaces:         o.WatchNamespaces,
		Budget:                  clients.orgBudget,
		ForgetOrg:               clients.forgetOrg,
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
	if o.ClusterTokens {
		cluster := &controllers.ClusterTokenReconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: o.Clock,
			StateNamespace: o.StateNamespace, WatchNamespaces: o.WatchNamespaces,
		}
		if _, real := o.Clock.(clock.RealClock); !real {
			cluster.QueueClock = o.Clock
		}
		if err := cluster.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the ClusterOktaScopedToken controller: %w", err)
		}
	}
	// The callback server runs only with a callback URL: without one,
	// nobody can sign in, and nothing listens.
	var callbackReady healthz.Checker = healthz.Ping
	if o.CallbackURL != "" {
		cb := &callback.Server{
			BindAddress:    o.CallbackBindAddress,
			Listener:       o.CallbackListener,
			Client:         mgr.GetClient(),
			APIReader:      mgr.GetAPIReader(),
			Okta:           clients.callbackOkta,
			Discovery:      clients.callbackDiscovery,
			Clock:          o.Clock,
			StateNamespace: o.StateNamespace,
			CallbackURL:    o.CallbackURL,
			Log:            mgr.GetLogger().WithName("callback"),
			SecretPolicy:   creds.Policy{RequireLabel: o.RequireSecretLabel},
			Recorder:       events,
			Budget:         clients.orgBudget,
		}
		if err := mgr.Add(cb); err != nil {
			return nil, fmt.Errorf("adding the callback server: %w", err)
		}
		callbackReady = cb.Ready
	}
	if err := mgr.Add(startupPages{gcPercent: gcPercent, informers: []informerOf{
		{mgr.GetCache(), &v1.OktaScopedToken{}}, {mgr.GetCache(), &corev1.Secret{}}, {referencedCache, secretMeta},
	}}); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("callback", callbackReady); err != nil {
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
