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

// Command okta-token-proxy is the token proxy sidecar (package
// cmd/okta-token-proxy/proxy): it alone mounts an OktaScopedToken's Secret,
// listens on the pod's loopback, and forwards the application's requests to
// the token's Okta org with the token (and, for a DPoP-bound token, a fresh
// proof) added, so the application holds no token and no key.
//
//	okta-token-proxy --okta-domain https://dev-123456.okta.com --token-dir /var/run/okta-token
//	curl http://127.0.0.1:8181/api/v1/logs?limit=10
//
// It ships in the operator's image; docs/consumers.md shows the sidecar.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/okta-token-operator/okta-token-operator/cmd/okta-token-proxy/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "okta-token-proxy:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	listen, healthListen, domain, tokenDir string
	allowInsecure                          bool
	maxRequest, maxResponse                int64
	timeout                                time.Duration
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("okta-token-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8181",
		"Where the application reaches the proxy: a loopback address, shared by the pod's containers and no one else.")
	fs.StringVar(&o.healthListen, "health-listen", "",
		"Optional address of /healthz and /readyz for the kubelet's probes (nothing else is served there), e.g. :8182.")
	fs.StringVar(&o.domain, "okta-domain", "", "The token's Okta org, such as https://dev-123456.okta.com: the only place requests go. Required.")
	fs.StringVar(&o.tokenDir, "token-dir", "/var/run/okta-token", "Where the token Secret is mounted (a volume, not subPath).")
	fs.BoolVar(&o.allowInsecure, "allow-insecure-okta-domain", false,
		"Accept an http:// --okta-domain on a loopback address. For a local development server only.")
	fs.Int64Var(&o.maxRequest, "max-request-bytes", proxy.DefaultMaxRequestBytes, "The largest request body forwarded.")
	fs.Int64Var(&o.maxResponse, "max-response-bytes", proxy.DefaultMaxResponseBytes, "The largest answer body passed back.")
	fs.DurationVar(&o.timeout, "timeout", proxy.DefaultTimeout, "How long one request to Okta may take.")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.domain == "" {
		return o, errors.New("--okta-domain is required")
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return o, fmt.Errorf("--listen %q: %w", o.listen, err)
	}
	// The proxy adds the token to whatever reaches it: only the pod's own
	// containers may.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return o, fmt.Errorf("--listen %q must be a loopback address, such as 127.0.0.1:8181: anyone who reaches the proxy uses the token", o.listen)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	p, err := proxy.New(proxy.Config{
		Upstream: o.domain, AllowInsecureUpstream: o.allowInsecure, Public: "http://" + o.listen,
		Token: proxy.TokenDir(o.tokenDir), MaxRequestBytes: o.maxRequest, MaxResponseBytes: o.maxResponse,
		Timeout: o.timeout, Logger: logger,
	})
	if err != nil {
		return err
	}
	servers := []*http.Server{{Addr: o.listen, Handler: p, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}}
	if o.healthListen != "" {
		health := http.NewServeMux()
		health.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
		health.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := p.Ready(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok")
		})
		servers = append(servers, &http.Server{Addr: o.healthListen, Handler: health, ReadHeaderTimeout: 5 * time.Second})
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.ListenAndServe() }()
	}
	logger.Info("forwarding", "listen", o.listen, "oktaDomain", o.domain, "tokenDir", o.tokenDir)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	return nil
}
