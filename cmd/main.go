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

// Command manager is the okta-token-operator: it keeps scoped Okta access
// tokens in Secrets and renews them before they expire.
package main

import (
	"crypto/tls"
	"flag"
	"os"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

func main() {
	var o operator.Options
	var enableHTTP2 bool
	flag.StringVar(&o.MetricsBindAddress, "metrics-bind-address", "0",
		"The address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	flag.BoolVar(&o.SecureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS with authentication and authorization. --metrics-secure=false serves plain HTTP.")
	flag.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081",
		"The address the probe endpoint binds to.")
	flag.BoolVar(&o.LeaderElection, "leader-elect", false,
		"Enable leader election, so that only one replica reconciles. Every replica serves callbacks.")
	flag.StringVar(&o.CallbackBindAddress, "callback-bind-address", ":8082",
		"The address the sign-in callback server binds to.")
	flag.StringVar(&o.CallbackURL, "callback-url", "",
		"The redirect URI registered with the Okta web app, served by this operator's /callback through an Ingress, "+
			"e.g. https://okta-token-operator.example.com/callback. Required.")
	flag.StringVar(&o.StateNamespace, "state-namespace", os.Getenv("POD_NAMESPACE"),
		"The namespace of the state Secrets (refresh tokens, pending sign-ins). Defaults to $POD_NAMESPACE.")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"How many OktaScopedTokens are reconciled at once.")
	flag.BoolVar(&o.AllowInsecureIssuers, "allow-insecure-issuers", false,
		"Accept http:// Okta domains. For local development against a dev server only.")
	flag.DurationVar(&o.AuthorizationURLTTL, "authorization-url-ttl", 0,
		"How long a published sign-in URL stays valid before a new one replaces it (default 1h).")
	flag.DurationVar(&o.HTTPTimeout, "okta-request-timeout", 0, "Timeout of each request to Okta (default 30s).")
	flag.StringVar(&o.MetricsCertDir, "metrics-cert-path", "",
		"The directory that holds the metrics server's certificate; without it a self-signed one is made.")
	flag.StringVar(&o.MetricsCertName, "metrics-cert-name", "tls.crt", "The metrics server's certificate file name.")
	flag.StringVar(&o.MetricsKeyName, "metrics-cert-key", "tls.key", "The metrics server's key file name.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Enable HTTP/2 for the metrics server.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")

	if !enableHTTP2 {
		// HTTP/2 stays off unless asked for: the Stream Cancellation and
		// Rapid Reset CVEs.
		o.TLSOpts = append(o.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	mgr, err := operator.New(ctrl.GetConfigOrDie(), o)
	if err != nil {
		setupLog.Error(err, "cannot start the operator")
		os.Exit(1)
	}
	setupLog.Info("starting the operator", "callbackURL", o.CallbackURL, "stateNamespace", o.StateNamespace)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "the operator stopped")
		os.Exit(1)
	}
}
