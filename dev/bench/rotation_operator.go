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
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/okta-token-operator/okta-token-operator/internal/operator"
)

func (r *rotationRun) startOperator(ctx context.Context, cfg *rest.Config, l net.Listener, callbackURL, logPath string) (func(), error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	logger := zap.New(zap.WriteTo(logFile))
	opCfg := rest.CopyConfig(cfg)
	opCfg.Wrap(r.requests.wrap)
	mgr, err := operator.New(opCfg, operator.Options{
		CallbackListener:     l,
		CallbackURL:          callbackURL,
		StateNamespace:       stateNamespace,
		AllowInsecureIssuers: true,
		// The dev servers listen on 127.0.0.1, not an Okta domain.
		OktaDomains: []string{"127.0.0.1"},
		Clock:       r.clock,
		Logger:      &logger,
		// A test binary may run the scenario more than once.
		SkipNameValidation: true,
		// The fake clock stands still between steps: a budget that made
		// requests wait for it would measure the steps, not the writes.
		OktaRateLimit: 60000,
	})
	if err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("creating the in-process operator: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() {
		cancel()
		<-done
		_ = logFile.Close()
	}, nil
}

// settle waits until the in-process operator is idle: an empty work
// queue, no reconcile running and no reconcile or request finished for
// a while.
func (r *rotationRun) settle(ctx context.Context) error {
	var last managerMetrics
	lastRequests, quiet := -1, 0
	err := poll(ctx, r.wall, time.Minute, 50*time.Millisecond, func() (bool, error) {
		cur, requests := inProcessMetrics(), r.requests.mark()
		if cur != last || requests != lastRequests || cur.activeWorkers != 0 || cur.queueDepth != 0 {
			last, lastRequests, quiet = cur, requests, 0
			return false, nil
		}
		quiet++
		return quiet >= 6, nil
	})
	if err != nil {
		return fmt.Errorf("the operator did not settle (last seen %+v): %w", last, err)
	}
	return nil
}

// inProcessMetrics reads the in-process operator's controller metrics.
func inProcessMetrics() managerMetrics {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return managerMetrics{}
	}
	samples := samplesOf(families)
	return managerMetrics{
		reconciles:    sumOf(samples, "controller_runtime_reconcile_total", map[string]string{labelController: tokenController}),
		activeWorkers: sumOf(samples, "controller_runtime_active_workers", map[string]string{labelController: tokenController}),
		queueDepth:    sumOf(samples, "workqueue_depth", map[string]string{labelName: tokenController}),
	}
}
