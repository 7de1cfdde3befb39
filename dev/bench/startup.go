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

// The issuing scenarios: N ClientCredentials tokens issued by a manager
// started after they were applied, the same with DPoP-bound tokens of apps
// that require DPoP, and N issued by a manager already running while they
// are applied. Each runs on a control plane of its own, so none sees
// another's objects.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// StartupResult is one manager issuing the run's tokens.
type StartupResult struct {
	Tokens int
	// Elapsed runs from the manager's start (resources applied first) or
	// from the first create (manager running) to the last Ready=True.
	Elapsed time.Duration
	// OrgElapsed is the same per org.
	OrgElapsed map[string]time.Duration
	// Reconciles are the OktaScopedToken controller's, until it settled.
	Reconciles float64
	// Requests are the manager's requests to the API server, by series.
	Requests RequestCounts
	// EventsDropped are the Events the manager's recorder dropped, its
	// queue full, by its log.
	EventsDropped int64
	// TokenRequests are the orgs' token-endpoint answers, per org.
	TokenRequests map[string]TokenRequests
	// DPoP: the tokens were DPoP-bound, and every app required DPoP.
	DPoP bool
	// NonceChallenges are the orgs' use_dpop_nonce answers (a DPoP proof
	// without the org's current nonce, answered 400 with a new one), per
	// org.
	NonceChallenges map[string]int
	// PeakRSS is the manager's VmHWM at the end, SettledRSS its VmRSS once
	// idle, SettledAnon the anonymous part of that (RssAnon: the heap and
	// what the Go runtime holds, not the binary's pages), in bytes.
	PeakRSS, SettledRSS, SettledAnon uint64
	// CPU used from the start of the window to the manager settling.
	CPU CPUTimes
	// Settled is false when the manager kept reconciling past the wait;
	// the counts then stop at that moment.
	Settled bool
}

// TokensPerSecond is Tokens over Elapsed.
func (s *StartupResult) TokensPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Tokens) / s.Elapsed.Seconds()
}

func (s *StartupResult) perToken(v float64) float64 {
	if s.Tokens == 0 {
		return 0
	}
	return v / float64(s.Tokens)
}

// ReconcilesPerToken is a target of issue 9 (≤ 1.5).
func (s *StartupResult) ReconcilesPerToken() float64 { return s.perToken(s.Reconciles) }

// GetsPerToken counts single-object GETs sent to the API server (≤ 1).
func (s *StartupResult) GetsPerToken() float64 { return s.perToken(s.Requests.Gets()) }

// NotFoundPerToken counts the GETs answered 404.
func (s *StartupResult) NotFoundPerToken() float64 { return s.perToken(s.Requests.NotFoundGets()) }

// WritesPerToken counts the manager's writes, Events included (≤ 3).
func (s *StartupResult) WritesPerToken() float64 { return s.perToken(s.Requests.Writes()) }

// PerToken is any series' count per token.
func (s *StartupResult) PerToken(k RequestKey) float64 { return s.perToken(s.Requests[k]) }

// TokenRequestsPerToken counts every org's token-endpoint answers, nonce
// challenges and failures included.
func (s *StartupResult) TokenRequestsPerToken() float64 {
	return s.perToken(float64(s.tokenRequests()))
}

func (s *StartupResult) tokenRequests() int {
	total := 0
	for _, tr := range s.TokenRequests {
		total += tr.Total
	}
	return total
}

// Challenges are the nonce challenges of every org together.
func (s *StartupResult) Challenges() int {
	total := 0
	for _, n := range s.NonceChallenges {
		total += n
	}
	return total
}

// TokenRequestsBesideNonce counts the token requests per token that were
// not answered with a nonce challenge. With the challenges counted apart
// (at most one per org), it is a target that holds at any N: at N = 40, the
// org's one challenge alone is 0.025 per token.
func (s *StartupResult) TokenRequestsBesideNonce() float64 {
	return s.perToken(float64(s.tokenRequests() - s.Challenges()))
}

// startupMode says when the resources are applied.
type startupMode int

const (
	appliedFirst startupMode = iota
	// appliedFirstDPoP is appliedFirst with DPoP-bound tokens of apps that
	// require DPoP.
	appliedFirstDPoP
	managerFirst
)

func (m startupMode) String() string {
	switch m {
	case appliedFirst:
		return string(ScenarioAppliedFirst)
	case appliedFirstDPoP:
		return string(ScenarioDPoP)
	}
	return string(ScenarioManagerRunning)
}

// managerStartsFirst says whether the manager runs before the tokens are
// applied.
func (m startupMode) managerStartsFirst() bool { return m == managerFirst }

// runStartup runs one issuing scenario.
func runStartup(ctx context.Context, cfg *Config, binary string, mode startupMode) (*StartupResult, error) {
	dir := filepath.Join(cfg.WorkDir, mode.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.Stop() }()
	counter := newRequestCounter()
	benchCfg := countedConfig(env.Config, counter)
	c, err := client.New(benchCfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, err
	}
	hc, err := rest.HTTPClientFor(benchCfg)
	if err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}}); err != nil {
		return nil, err
	}
	orgs, shares, err := startOrgs(cfg.Clock, cfg.Orgs)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, o := range orgs {
			o.close()
		}
	}()
	namespaces := planNamespaces("bench", cfg.N, orgs, shares)
	for i := range namespaces {
		namespaces[i].dpop = mode == appliedFirstDPoP
	}
	if err := prepareNamespaces(ctx, c, namespaces); err != nil {
		return nil, err
	}
	tokens := serviceTokens(namespaces)
	watch, err := watchReady(ctx, cfg.Clock, benchCfg, namespaces)
	if err != nil {
		return nil, err
	}
	defer watch.stop()
	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		return nil, err
	}
	if !mode.managerStartsFirst() {
		cfg.progress("%s: applying %d tokens in %d namespaces", mode, len(tokens), len(namespaces))
		if _, err := createAll(ctx, cfg.Clock, c, tokens); err != nil {
			return nil, err
		}
	}
	tokensBefore, noncesBefore := orgTokenRequests(orgs), orgNonceChallenges(orgs)

	// These scenarios measure what a token costs the operator and the API
	// server, not the pace of an Okta org's budget (the rate-limit scenario
	// does): the budget is set out of the way. At the default of 100 token
	// requests a minute per org, N tokens of one org take N/100 minutes by
	// design.
	opts := managerOptions{binary: binary, kubeconfig: kubeconfig, logPath: filepath.Join(dir, "manager.log"),
		stateNamespace: stateNamespace,
		extraArgs:      append([]string{fmt.Sprintf("--%s=%d", RateLimitFlag, unpacedPerMinute)}, cfg.ManagerArgs...),
		memoryLimit:    cfg.MemoryLimit, clock: cfg.Clock}
	pprofAddr, err := servePprof(ctx, cfg, binary, &opts)
	if err != nil {
		return nil, err
	}
	var (
		profile    *cpuProfiler
		m          *managerProcess
		start      time.Time
		apiBefore  apiServerCounters
		benchMark  RequestCounts
		cpuBefore  CPUTimes
		reconciled float64
		sampler    cpuSampler
	)
	// The window opens right before the manager starts (resources applied
	// first) or right before the first create (manager running), after a
	// scrape of the API server's counters.
	openWindow := func() error {
		var err error
		if apiBefore, err = scrapeAPIServer(ctx, hc, benchCfg.Host); err != nil {
			return err
		}
		benchMark = counter.snapshot()
		return nil
	}
	switch {
	case !mode.managerStartsFirst():
		if err := openWindow(); err != nil {
			return nil, err
		}
		cpuBefore = newCPUSampler(0).sample()
		if m, err = startManager(ctx, opts); err != nil {
			return nil, err
		}
		defer m.stop()
		start = m.started
		sampler = newCPUSampler(m.cmd.Process.Pid)
		cfg.progress("%s: manager started", mode)
		profile = startScenarioProfile(ctx, cfg, mode, pprofAddr)
	default:
		if m, err = startManager(ctx, opts); err != nil {
			return nil, err
		}
		defer m.stop()
		if err := m.waitForWorkers(ctx, 2*time.Minute); err != nil {
			return nil, err
		}
		idle, _, err := m.settle(ctx, time.Second, time.Minute)
		if err != nil {
			return nil, err
		}
		reconciled = idle.reconciles
		if err := openWindow(); err != nil {
			return nil, err
		}
		sampler = newCPUSampler(m.cmd.Process.Pid)
		cpuBefore = sampler.sample()
		profile = startScenarioProfile(ctx, cfg, mode, pprofAddr)
		cfg.progress("%s: manager running, applying %d tokens in %d namespaces", mode, len(tokens), len(namespaces))
		if start, err = createAll(ctx, cfg.Clock, c, tokens); err != nil {
			return nil, err
		}
	}

	done, err := watch.wait(ctx, cfg.readyTimeout(), m.failure)
	if err != nil {
		return nil, fmt.Errorf("waiting for %d tokens to be Ready: %w; the manager's log: %s", len(tokens), err, m.logPath)
	}
	res := &StartupResult{Tokens: len(tokens), Elapsed: done.Sub(start),
		OrgElapsed: elapsedSince(watch.orgTimes(), start), DPoP: mode == appliedFirstDPoP}
	cfg.progress("%s: %d tokens Ready after %.1fs; waiting for the manager to settle", mode, len(tokens), res.Elapsed.Seconds())
	if err := finishScenarioProfile(cfg, mode, profile); err != nil {
		return nil, err
	}
	final, settled, err := m.settle(ctx, 2*time.Second, time.Minute)
	if err != nil {
		return nil, err
	}
	res.Settled = settled
	if err := eventsWritten(ctx, cfg.Clock, hc, benchCfg.Host, 2*time.Second, time.Minute); err != nil {
		return nil, err
	}
	res.Reconciles = final.reconciles - reconciled
	res.EventsDropped = m.eventsDropped.Load()
	res.CPU = sampler.sample().Sub(cpuBefore)
	// The informer's watch is the benchmark's last request; stop it so
	// that nothing of the benchmark's is in flight during the scrape.
	watch.stop()
	apiAfter, err := scrapeAPIServer(ctx, hc, benchCfg.Host)
	if err != nil {
		return nil, err
	}
	res.Requests = managerRequests(apiBefore, apiAfter, counter.since(benchMark))
	res.TokenRequests = orgTokenRequestsSince(orgs, tokensBefore)
	res.NonceChallenges = orgNonceChallengesSince(orgs, noncesBefore)
	mem, err := settledMemory(ctx, cfg.Clock, m.cmd.Process.Pid, 30*time.Second)
	if err != nil {
		return nil, err
	}
	res.PeakRSS, res.SettledRSS, res.SettledAnon = mem.hwm, mem.rss, mem.anon
	if err := saveHeapProfile(ctx, cfg, pprofAddr, mode.String()); err != nil {
		return nil, err
	}
	return res, nil
}

// servePprof has the manager serve pprof on a free port when the run asks
// for a CPU or heap profile, and returns the port's address: "" when it
// does not.
func servePprof(ctx context.Context, cfg *Config, binary string, opts *managerOptions) (string, error) {
	if cfg.CPUProfileDir == "" && cfg.HeapProfileDir == "" {
		return "", nil
	}
	if !ManagerHasFlag(ctx, binary, PprofFlag) {
		return "", fmt.Errorf("a profile needs a manager with --%s", PprofFlag)
	}
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	pprofAddr := ports[0]
	opts.extraArgs = append(opts.extraArgs, "--"+PprofFlag+"="+pprofAddr)
	return pprofAddr, nil
}

// startScenarioProfile starts saving the CPU profile of the manager serving
// pprof at pprofAddr, in the run's profile folder; nil when pprofAddr is "".
func startScenarioProfile(ctx context.Context, cfg *Config, mode startupMode, pprofAddr string) *cpuProfiler {
	if pprofAddr == "" || cfg.CPUProfileDir == "" {
		return nil
	}
	return startCPUProfile(ctx, cfg.Clock, pprofAddr, filepath.Join(cfg.CPUProfileDir, mode.String()+"-cpu"))
}

// finishScenarioProfile stops the CPU profile, if there is one, and says
// where its pieces are.
func finishScenarioProfile(cfg *Config, mode startupMode, profile *cpuProfiler) error {
	if profile == nil {
		return nil
	}
	pieces, err := profile.finish()
	if err != nil {
		return err
	}
	cfg.progress("%s: the manager's CPU profile while issuing: go tool pprof -top %s", mode, pieces)
	return nil
}

// elapsedSince is each time's distance from start, by name.
func elapsedSince(times map[string]time.Time, start time.Time) map[string]time.Duration {
	out := make(map[string]time.Duration, len(times))
	for name, at := range times {
		out[name] = at.Sub(start)
	}
	return out
}

// orgTokenRequests are the orgs' token-endpoint answers so far, by org.
func orgTokenRequests(orgs []*org) map[string]TokenRequests {
	out := make(map[string]TokenRequests, len(orgs))
	for _, o := range orgs {
		out[o.name] = o.tokens.snapshot()
	}
	return out
}

// orgTokenRequestsSince are the orgs' token-endpoint answers since before
// (an orgTokenRequests), by org.
func orgTokenRequestsSince(orgs []*org, before map[string]TokenRequests) map[string]TokenRequests {
	out := make(map[string]TokenRequests, len(orgs))
	for _, o := range orgs {
		out[o.name] = o.tokens.snapshot().Sub(before[o.name])
	}
	return out
}

// orgNonceChallenges are the orgs' DPoP nonce challenges so far, by org.
func orgNonceChallenges(orgs []*org) map[string]int {
	out := make(map[string]int, len(orgs))
	for _, o := range orgs {
		out[o.name] = o.srv.DPoPNonceChallenges()
	}
	return out
}

// orgNonceChallengesSince are the orgs' nonce challenges since before (an
// orgNonceChallenges), by org.
func orgNonceChallengesSince(orgs []*org, before map[string]int) map[string]int {
	out := orgNonceChallenges(orgs)
	for name := range out {
		out[name] -= before[name]
	}
	return out
}

// startOrgs starts the configured orgs, or one unlimited org, on the
// run's clock.
func startOrgs(clk clock.Clock, configs []OrgConfig) ([]*org, []int, error) {
	if len(configs) == 0 {
		configs = []OrgConfig{{Name: "org"}}
	}
	var orgs []*org
	var shares []int
	for _, oc := range configs {
		o, err := startOrg(clk, oc, "")
		if err != nil {
			for _, started := range orgs {
				started.close()
			}
			return nil, nil, err
		}
		orgs = append(orgs, o)
		shares = append(shares, oc.Share)
	}
	return orgs, shares, nil
}
