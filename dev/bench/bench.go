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
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"k8s.io/utils/clock"
)

// stateNamespace is the operator's own namespace in every scenario.
const stateNamespace = "okta-token-operator-system"

// Scenario is one part of a run.
type Scenario string

// The scenarios, in the order Run runs them.
const (
	// ScenarioRotation: writes per rotation and in an idle hour, in-process
	// on a fake clock.
	ScenarioRotation Scenario = "rotation"
	// ScenarioAppliedFirst: N tokens applied, then the manager started.
	ScenarioAppliedFirst Scenario = "applied-first"
	// ScenarioDPoP: the same with DPoP-bound tokens, every app requiring
	// DPoP: what the org's nonce costs.
	ScenarioDPoP Scenario = "dpop"
	// ScenarioManagerRunning: the manager running while N tokens are applied.
	ScenarioManagerRunning Scenario = "manager-running"
	// ScenarioUnrelated: the manager's memory among unrelated Secrets.
	ScenarioUnrelated Scenario = "unrelated"
	// ScenarioRateLimit: N tokens over two orgs, one of them rate-limited,
	// with the manager told the limit (issue 13).
	ScenarioRateLimit Scenario = "rate-limit"
	// ScenarioTenantJunk: the manager's memory beside what tenants can
	// make big: Secrets labelled as the operator's, and resources at the
	// CRD's caps, while N tokens are served.
	ScenarioTenantJunk Scenario = "tenant-junk"
	// ScenarioClusterFanout: one ClusterOktaScopedToken copied into
	// Config.ClusterNamespaces namespaces by a manager in cluster mode,
	// created, rotated, and passed over with nothing changed.
	ScenarioClusterFanout Scenario = "cluster-fanout"
)

// AllScenarios are every scenario, in run order.
var AllScenarios = []Scenario{ScenarioRotation, ScenarioAppliedFirst, ScenarioDPoP, ScenarioManagerRunning,
	ScenarioUnrelated, ScenarioRateLimit, ScenarioTenantJunk, ScenarioClusterFanout}

// managerScenarios are the scenarios that run the manager binary, in run
// order.
var managerScenarios = []Scenario{ScenarioAppliedFirst, ScenarioDPoP, ScenarioManagerRunning, ScenarioUnrelated,
	ScenarioRateLimit, ScenarioTenantJunk, ScenarioClusterFanout}

// DefaultMemoryLimit is the manager's GOMEMLIMIT unless Config.MemoryLimit
// says otherwise: the memory limit config/manager and the chart give its
// container, 128 MiB.
const DefaultMemoryLimit = 128 << 20

// Config is one run. Zero values get the defaults in their comments.
type Config struct {
	// N is the number of ClientCredentials tokens issued; default 1000.
	N int
	// Unrelated is the number of unrelated Secrets; default 10000.
	Unrelated int
	// RotationTokens is the number of ClientCredentials tokens per org in
	// the rotation scenario; default 20.
	RotationTokens int
	// SignInTokens is the number of AuthorizationCode tokens per org in
	// the rotation scenario; default 3.
	SignInTokens int
	// ClusterNamespaces is the number of namespaces the cluster-fanout
	// scenario's ClusterOktaScopedToken selects; default 500.
	ClusterNamespaces int
	// Orgs are the Okta orgs the N tokens are spread over; default one,
	// limited far above the load.
	Orgs []OrgConfig
	// Scenarios to run; default all.
	Scenarios []Scenario
	// ManagerBinary is the manager to run; default: built from ./cmd into
	// WorkDir.
	ManagerBinary string
	// QuickBuild builds that manager the way `go build` and `go vet` build
	// (cgo on, paths kept), reusing what they compiled, instead of the way
	// the Dockerfile builds the image's (static, trimmed), which compiles
	// every package again. For the counts CI asserts; memory is measured
	// on the image's build (make bench).
	QuickBuild bool
	// ManagerArgs are passed to the manager after the benchmark's flags.
	ManagerArgs []string
	// MemoryLimit is the manager's GOMEMLIMIT in bytes, the plain number a
	// Pod's resourceFieldRef on limits.memory gives (the manager sets Go's
	// soft limit 32 MiB below it); default DefaultMemoryLimit, negative for
	// none. A GOMEMLIMIT in the benchmark's own environment never reaches
	// the manager.
	MemoryLimit int64
	// RateLimitPerMinute is the rate-limit scenario's token-endpoint limit
	// of its limited org, and the manager's --okta-rate-limit; default
	// DefaultRateLimitPerMinute.
	RateLimitPerMinute int
	// RateLimitOtherApps is how many token requests the limited org's
	// other applications make in its window right before the scenario's
	// tokens are applied; default none.
	RateLimitOtherApps int
	// RateLimitWindowLeft is how long the limited org's rate-limit window
	// has left when the tokens are applied (the org's clock is set ahead to
	// place it); default 0, wherever the wall clock puts it.
	RateLimitWindowLeft time.Duration
	// CPUProfileDir, when set, receives the manager's CPU profile while
	// the issuing scenarios issue their tokens (the binary must have
	// --pprof-bind-address), in pieces that `go tool pprof` reads together.
	CPUProfileDir string
	// HeapProfileDir, when set, receives the manager's heap profile once
	// each issuing scenario (and the tenant-junk one) has settled, as
	// SCENARIO-heap.pprof (the binary must have --pprof-bind-address).
	HeapProfileDir string
	// WorkDir holds the kubeconfigs and the manager's logs; default a new
	// temporary folder, removed after a run without error.
	WorkDir string
	// ReadyTimeout bounds the wait for all tokens to be Ready; default
	// 2m + 200ms per token.
	ReadyTimeout time.Duration
	// Progress receives a line per step; default nowhere.
	Progress io.Writer
	// Clock is what the benchmark times its runs with; default
	// clock.RealClock{}, since the manager it times is a real process of
	// its own. Tests may pass a fake one.
	Clock clock.Clock
}

func (c *Config) defaults() error {
	if c.N == 0 {
		c.N = 1000
	}
	if c.Unrelated == 0 {
		c.Unrelated = 10000
	}
	if c.RotationTokens == 0 {
		c.RotationTokens = 20
	}
	if c.SignInTokens == 0 {
		c.SignInTokens = 3
	}
	if c.ClusterNamespaces == 0 {
		c.ClusterNamespaces = 500
	}
	if c.RateLimitPerMinute == 0 {
		c.RateLimitPerMinute = DefaultRateLimitPerMinute
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.N < 0 || c.Unrelated < 0 || c.RotationTokens < 0 || c.SignInTokens < 0 || c.RateLimitPerMinute < 0 ||
		c.RateLimitOtherApps < 0 || c.ClusterNamespaces < 0 {
		return errors.New("counts must not be negative")
	}
	if c.RateLimitOtherApps >= c.RateLimitPerMinute {
		return fmt.Errorf("the other applications' %d requests would spend the whole window of %d", c.RateLimitOtherApps,
			c.RateLimitPerMinute)
	}
	if c.RateLimitWindowLeft < 0 || c.RateLimitWindowLeft > time.Minute {
		return fmt.Errorf("a rate-limit window is a minute: %s cannot be left of it", c.RateLimitWindowLeft)
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = AllScenarios
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			return fmt.Errorf("unknown scenario %q (known: %v)", s, AllScenarios)
		}
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 2*time.Minute + time.Duration(c.N)*200*time.Millisecond
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return nil
}

func (c *Config) readyTimeout() time.Duration { return c.ReadyTimeout }

func (c *Config) progress(format string, args ...any) {
	_, _ = fmt.Fprintf(c.Progress, "[bench] "+format+"\n", args...)
}

func (c *Config) runs(s Scenario) bool { return slices.Contains(c.Scenarios, s) }

// Result is a run's figures; a scenario not run is nil.
type Result struct {
	N int
	// Orgs name the orgs the N tokens were spread over.
	Orgs []string
	// MemoryLimit is the manager's GOMEMLIMIT in bytes, 0 for none.
	MemoryLimit int64
	// AppliedFirst: the manager started with N tokens applied.
	AppliedFirst *StartupResult
	// DPoP: the same with DPoP-bound tokens.
	DPoP *StartupResult
	// ManagerRunning: the manager running while N tokens were applied.
	ManagerRunning *StartupResult
	Rotation       *RotationResult
	Unrelated      *UnrelatedResult
	RateLimit      *RateLimitResult
	TenantJunk     *TenantJunkResult
	ClusterFanout  *ClusterFanoutResult
	// WorkDir holds the logs of the run (kept when Run failed).
	WorkDir string
}

// HasFigures says whether any scenario finished.
func (r *Result) HasFigures() bool {
	return r.AppliedFirst != nil || r.DPoP != nil || r.ManagerRunning != nil || r.Rotation != nil ||
		r.Unrelated != nil || r.RateLimit != nil || r.TenantJunk != nil || r.ClusterFanout != nil
}

// Run runs the scenarios. On error, the result holds what was measured
// before it and WorkDir is kept for its logs.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.WorkDir == "" {
		if cfg.WorkDir, err = os.MkdirTemp("", "okta-token-operator-bench-"); err != nil {
			return nil, err
		}
		defer func() {
			if err == nil {
				_ = os.RemoveAll(cfg.WorkDir)
			}
		}()
	}
	for _, dir := range []string{cfg.WorkDir, cfg.CPUProfileDir, cfg.HeapProfileDir} {
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	res = &Result{N: cfg.N, WorkDir: cfg.WorkDir, MemoryLimit: max(cfg.MemoryLimit, 0)}
	orgs := cfg.Orgs
	if len(orgs) == 0 {
		orgs = []OrgConfig{{Name: "org"}}
	}
	for _, o := range orgs {
		res.Orgs = append(res.Orgs, o.Name)
	}
	cfg.Orgs = orgs

	// The manager builds while the in-process scenario runs: that one
	// measures counts only, which a busy machine does not change.
	type built struct {
		path string
		err  error
	}
	binary := make(chan built, 1)
	switch {
	case cfg.ManagerBinary != "":
		binary <- built{path: cfg.ManagerBinary}
	case slices.ContainsFunc(managerScenarios, cfg.runs):
		go func() {
			path, err := BuildManager(ctx, cfg.WorkDir, cfg.QuickBuild)
			binary <- built{path, err}
		}()
	}
	manager := func() (string, error) {
		b := <-binary
		binary <- b
		return b.path, b.err
	}

	if cfg.runs(ScenarioRotation) {
		cfg.progress("rotation: %d ClientCredentials and %d AuthorizationCode tokens per org, in-process",
			cfg.RotationTokens, cfg.SignInTokens)
		if res.Rotation, err = runRotation(ctx, cfg.Clock, cfg.RotationTokens, cfg.SignInTokens, cfg.WorkDir, cfg.progress); err != nil {
			return res, fmt.Errorf("rotation scenario: %w", err)
		}
	}
	for _, s := range managerScenarios {
		if !cfg.runs(s) {
			continue
		}
		path, err := manager()
		if err != nil {
			return res, err
		}
		switch s {
		case ScenarioAppliedFirst:
			res.AppliedFirst, err = runStartup(ctx, &cfg, path, appliedFirst)
		case ScenarioDPoP:
			res.DPoP, err = runStartup(ctx, &cfg, path, appliedFirstDPoP)
		case ScenarioManagerRunning:
			res.ManagerRunning, err = runStartup(ctx, &cfg, path, managerFirst)
		case ScenarioUnrelated:
			res.Unrelated, err = runUnrelated(ctx, &cfg, path)
		case ScenarioRateLimit:
			res.RateLimit, err = runRateLimit(ctx, &cfg, path)
		case ScenarioTenantJunk:
			res.TenantJunk, err = runTenantJunk(ctx, &cfg, path)
		case ScenarioClusterFanout:
			res.ClusterFanout, err = runClusterFanout(ctx, &cfg, path)
		}
		if err != nil {
			return res, fmt.Errorf("%s scenario: %w", s, err)
		}
	}
	return res, nil
}
