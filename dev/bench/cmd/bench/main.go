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

// Command bench measures the operator in the tree and prints one markdown
// table: tokens/s, reconciles, API requests and writes per token, writes per
// rotation and in an idle hour, and the manager's memory, each beside the
// target of issue 9; and, with two orgs side by side, one of them
// rate-limited, the 429s, the time against the limit and the other org's
// pace, beside the targets of issue 13; what DPoP's nonce costs; and the
// manager's memory beside what tenants can make big; and one
// ClusterOktaScopedToken copied into many namespaces (its time to every
// copy, token requests and writes per copy, created and rotated). The
// manager runs with
// GOMEMLIMIT=134217728 (128 MiB, its Deployment's limit) unless
// -memory-limit says otherwise. `make bench` runs it; see
// docs/performance.md.
//
//	make bench                      # N = 1000
//	BENCH_N=10000 make bench
//	go run ./dev/bench/cmd/bench -n 50 -unrelated 1000 -scenarios rotation,applied-first
//	go run ./dev/bench/cmd/bench -n 80 -scenarios rate-limit -rate-limit 120 -other-apps 100 -window-left 15s
//	go run ./dev/bench/cmd/bench -n 1000 -scenarios dpop,tenant-junk -memory-limit 0
//	go run ./dev/bench/cmd/bench -scenarios cluster-fanout -cluster-namespaces 500
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/utils/clock"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/okta-token-operator/okta-token-operator/dev/bench"
)

func main() {
	var (
		n         = flag.Int("n", envInt("BENCH_N", 1000), "ClientCredentials tokens to issue ($BENCH_N).")
		unrelated = flag.Int("unrelated", envInt("BENCH_UNRELATED", 10000),
			"Unrelated Secrets in the memory scenario ($BENCH_UNRELATED).")
		rotating  = flag.Int("rotation-tokens", 20, "ClientCredentials tokens per org in the rotation scenario.")
		signedIn  = flag.Int("sign-in-tokens", 3, "AuthorizationCode tokens per org in the rotation scenario.")
		clusterNS = flag.Int("cluster-namespaces", envInt("BENCH_CLUSTER_NAMESPACES", 500),
			"Namespaces the cluster-fanout scenario's ClusterOktaScopedToken selects ($BENCH_CLUSTER_NAMESPACES).")
		scenarios = flag.String("scenarios", "", "Comma-separated scenarios to run (default all): "+scenarioNames()+".")
		binary    = flag.String("manager", "", "A manager binary to measure (default: built from ./cmd).")
		workDir   = flag.String("dir", "",
			"Where the kubeconfigs and the manager's logs go (default a temporary folder, removed on success).")
		args      = flag.String("manager-args", "", "Extra flags for the manager, space-separated.")
		rateLimit = flag.Int("rate-limit", envInt("BENCH_RATE_LIMIT", bench.DefaultRateLimitPerMinute),
			"The rate-limit scenario's token-endpoint limit per minute, "+
				"and the manager's --okta-rate-limit ($BENCH_RATE_LIMIT).")
		otherApps = flag.Int("other-apps", 0,
			"Token requests the limited org's other applications make in its window just before the apply.")
		cpuProfile = flag.String("cpuprofile", "",
			"A folder for the manager's CPU profile while the issuing scenarios issue their tokens "+
				"(go tool pprof -top DIR/applied-first-cpu-*.pprof).")
		windowLeft = flag.Duration("window-left", 0,
			"How long the limited org's rate-limit window has left at the apply (default: wherever it falls).")
		memoryLimit = flag.Int64("memory-limit", envInt64("BENCH_MEMORY_LIMIT", bench.DefaultMemoryLimit),
			"The manager's GOMEMLIMIT in bytes, as a Pod's memory limit gives it (the manager keeps 32 MiB of it for what Go does not count); "+
				"0 for none ($BENCH_MEMORY_LIMIT).")
		heapProfile = flag.String("heapprofile", "",
			"A folder for the manager's heap profile once each issuing scenario and tenant-junk has settled "+
				"(go tool pprof -sample_index=inuse_space -top DIR/applied-first-heap.pprof).")
	)
	flag.Parse()
	// controller-runtime's global logger (envtest, the in-process
	// operator's caches) would otherwise warn that it was never set.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	clk := clock.RealClock{}
	cfg := bench.Config{
		N: *n, Unrelated: *unrelated, RotationTokens: *rotating, SignInTokens: *signedIn, ClusterNamespaces: *clusterNS,
		ManagerBinary: *binary, WorkDir: *workDir, Progress: os.Stderr,
		RateLimitPerMinute: *rateLimit, RateLimitOtherApps: *otherApps, RateLimitWindowLeft: *windowLeft,
		CPUProfileDir: *cpuProfile, HeapProfileDir: *heapProfile, Clock: clk,
		MemoryLimit: *memoryLimit,
	}
	if *memoryLimit == 0 {
		cfg.MemoryLimit = -1
	}
	if *args != "" {
		cfg.ManagerArgs = strings.Fields(*args)
	}
	if *scenarios != "" {
		for s := range strings.SplitSeq(*scenarios, ",") {
			cfg.Scenarios = append(cfg.Scenarios, bench.Scenario(strings.TrimSpace(s)))
		}
	}
	started := clk.Now()
	res, err := bench.Run(ctx, cfg)
	if res != nil {
		fmt.Printf("### okta-token-operator benchmark: %s, %s, %s, %s\n\n",
			describe(cfg, res), memoryLimitText(res.MemoryLimit), clk.Now().UTC().Format("2006-01-02"), tree())
		fmt.Print(bench.Table(res))
		fmt.Printf("\nWall time %s.\n", clk.Since(started).Round(time.Second))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if res != nil {
			fmt.Fprintln(os.Stderr, "bench: logs kept in", res.WorkDir)
		}
		os.Exit(1)
	}
}

// describe names the run's size: N when a scenario issued N tokens, and
// the cluster token's namespaces when it ran.
func describe(cfg bench.Config, res *bench.Result) string {
	var parts []string
	if res.AppliedFirst != nil || res.DPoP != nil || res.ManagerRunning != nil || res.RateLimit != nil ||
		res.TenantJunk != nil {
		parts = append(parts, fmt.Sprintf("N = %d", res.N))
	}
	if f := res.ClusterFanout; f != nil {
		parts = append(parts, fmt.Sprintf("%d namespaces of one cluster token", f.Namespaces))
	}
	if len(parts) == 0 {
		names := make([]string, 0, len(cfg.Scenarios))
		for _, s := range cfg.Scenarios {
			names = append(names, string(s))
		}
		return "scenarios " + strings.Join(names, ", ")
	}
	return strings.Join(parts, ", ")
}

func envInt(name string, def int) int {
	v, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return def
	}
	return v
}

func envInt64(name string, def int64) int64 {
	v, err := strconv.ParseInt(os.Getenv(name), 10, 64)
	if err != nil {
		return def
	}
	return v
}

// memoryLimitText says what GOMEMLIMIT the manager ran with.
func memoryLimitText(limit int64) string {
	if limit <= 0 {
		return "manager without GOMEMLIMIT"
	}
	return fmt.Sprintf("manager GOMEMLIMIT=%d (%d MiB)", limit, limit>>20)
}

func scenarioNames() string {
	names := make([]string, 0, len(bench.AllScenarios))
	for _, s := range bench.AllScenarios {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// tree names the code measured: the commit, and whether the checkout has
// changes on top of it.
func tree() string {
	head, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "commit unknown"
	}
	out := "commit " + strings.TrimSpace(string(head))
	status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(status) > 0 {
		out += " with uncommitted changes"
	}
	return out
}
