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

// The rate-limit scenario (issue 13): two orgs side by side, one whose token
// endpoint enforces a per-minute limit the way Okta does (fixed one-minute
// windows, X-Rate-Limit-* headers, 429 beyond) and one without a limit,
// and a manager told the limited org's limit with --okta-rate-limit.
//
//  1. Alone: half the tokens, all at the unlimited org, are applied at once;
//     their tokens/s is the baseline.
//  2. Together: the other half at the limited org, then as many again at
//     the unlimited org, are applied at once. The limited org is saturated:
//     its tokens can only come at its limit's pace.
//
// Figures: the 429s the limited org answered (target 0: the operator paces
// itself instead of finding the limit), the time to all of its tokens
// against the time its limit allows (tokens ÷ limit; target within 1.15×),
// and the unlimited org's tokens/s beside the saturated org against alone
// (target: at most 10% slower — one org's limit must not hold another's
// tokens).
//
// Okta's other applications spend the same window. RateLimitOtherApps has
// them spend part of it right before the apply, and RateLimitWindowLeft
// places that window (the org's clock is set ahead, and its Date header
// follows, as Okta's clock is not the operator's), so that the limit bites
// at a small N: CI uses both.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// The scenario's orgs.
const (
	limitedOrg   = "limited"
	unlimitedOrg = "unlimited"
)

// RateLimitFlag is the manager's flag for its per-org budget.
const RateLimitFlag = "okta-rate-limit"

// unpacedPerMinute is a budget no scenario but the rate-limit one reaches.
const unpacedPerMinute = 600000

// DefaultRateLimitPerMinute is the limited org's token-endpoint limit:
// Okta's published limit for /oauth2/v1/token on its paid plans, and well
// under what the manager issues on two cores, so that the limit, not the
// manager, sets the pace of the limited org. (The manager's
// --okta-rate-limit caps every org, so the unlimited org is paced at it
// too: its figures say whether the limited org's waiting requests slow
// another org, not how fast the manager can go.)
const DefaultRateLimitPerMinute = 1200

// RateLimitResult is the rate-limit scenario's figures.
type RateLimitResult struct {
	// LimitPerMinute is the limited org's token-endpoint limit.
	LimitPerMinute int
	// Paced says whether the manager was told the limit (it has
	// --okta-rate-limit); without it, the figures are of a manager that
	// finds the limit by running into it.
	Paced bool
	// OtherAppsRequests were spent in the limited org's window by its
	// other applications right before the apply; WindowLeft is how long
	// that window had left at the first create, by the org's clock.
	OtherAppsRequests int
	WindowLeft        time.Duration

	// LimitedTokens were issued by the limited org, in LimitedElapsed from
	// their first create to the last Ready.
	LimitedTokens  int
	LimitedElapsed time.Duration
	// LimitedRequests are the limited org's token-endpoint answers while
	// they were issued; RateLimited counts every 429 it served then.
	LimitedRequests TokenRequests
	RateLimited     int

	// UnlimitedTokens were issued by the unlimited org twice: alone, and
	// beside the saturated limited org, each timed from the first create.
	UnlimitedTokens                 int
	UnlimitedAlone, UnlimitedBeside time.Duration
	// Saturated is the share of the unlimited org's run beside the limited
	// one during which the limited org was still issuing: 1 when "beside"
	// was beside a saturated org all along.
	Saturated float64
}

// LimitBound is the least time the limit allows for the limited org's
// tokens, sent at its pace: tokens ÷ limit. When other applications have
// spent part of the window, only what they left can go before it resets:
// the rest goes after the reset, at the limit's pace.
func (r *RateLimitResult) LimitBound() time.Duration {
	if r.LimitPerMinute <= 0 {
		return 0
	}
	perRequest := time.Minute / time.Duration(r.LimitPerMinute)
	paced := time.Duration(r.LimitedTokens) * perRequest
	if r.OtherAppsRequests == 0 || r.WindowLeft <= 0 {
		return paced
	}
	left := r.LimitPerMinute - r.OtherAppsRequests
	if time.Duration(left)*perRequest >= r.WindowLeft || r.LimitedTokens <= left {
		// What the others left lasts until the reset at the limit's pace.
		return paced
	}
	return r.WindowLeft + time.Duration(r.LimitedTokens-left)*perRequest
}

// BoundRatio is LimitedElapsed over LimitBound (target ≤ 1.15).
func (r *RateLimitResult) BoundRatio() float64 {
	if b := r.LimitBound(); b > 0 {
		return r.LimitedElapsed.Seconds() / b.Seconds()
	}
	return 0
}

// UnlimitedRates are the unlimited org's tokens/s alone and beside the
// limited one.
func (r *RateLimitResult) UnlimitedRates() (alone, beside float64) {
	rate := func(d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(r.UnlimitedTokens) / d.Seconds()
	}
	return rate(r.UnlimitedAlone), rate(r.UnlimitedBeside)
}

// UnlimitedSlowdown is how much slower the unlimited org issued beside the
// saturated one than alone, as a fraction (target ≤ 0.10; negative when it
// was faster).
func (r *RateLimitResult) UnlimitedSlowdown() float64 {
	alone, beside := r.UnlimitedRates()
	if alone == 0 {
		return 0
	}
	return 1 - beside/alone
}

// runRateLimit runs the scenario on a control plane of its own.
func runRateLimit(ctx context.Context, cfg *Config, binary string) (*RateLimitResult, error) {
	dir := filepath.Join(cfg.WorkDir, string(ScenarioRateLimit))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env, c, stop, err := controlPlane(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()

	limitedClock := &orgClock{Clock: cfg.Clock}
	limited, err := startOrg(cfg.Clock, OrgConfig{Name: limitedOrg, TokenRateLimitPerMinute: cfg.RateLimitPerMinute,
		clock: limitedClock}, "")
	if err != nil {
		return nil, err
	}
	defer limited.close()
	free, err := startOrg(cfg.Clock, OrgConfig{Name: unlimitedOrg}, "")
	if err != nil {
		return nil, err
	}
	defer free.close()

	res := &RateLimitResult{LimitPerMinute: cfg.RateLimitPerMinute, OtherAppsRequests: cfg.RateLimitOtherApps}
	res.LimitedTokens = cfg.N / 2
	res.UnlimitedTokens = cfg.N - res.LimitedTokens
	alone := planNamespaces("alone", res.UnlimitedTokens, []*org{free}, []int{1})
	limitedNamespaces := planNamespaces("limited", res.LimitedTokens, []*org{limited}, []int{1})
	beside := planNamespaces("beside", res.UnlimitedTokens, []*org{free}, []int{1})
	if err := prepareNamespaces(ctx, c, append(append(append([]fleetNamespace{}, alone...), limitedNamespaces...), beside...)); err != nil {
		return nil, err
	}

	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		return nil, err
	}
	args := cfg.ManagerArgs
	if res.Paced = hasFlag(managerHelp(ctx, binary), RateLimitFlag); res.Paced {
		args = append([]string{fmt.Sprintf("--%s=%d", RateLimitFlag, cfg.RateLimitPerMinute)}, args...)
	} else {
		cfg.progress("%s: the manager has no --%s; measuring it unpaced", ScenarioRateLimit, RateLimitFlag)
	}
	m, err := startManager(ctx, managerOptions{binary: binary, kubeconfig: kubeconfig,
		logPath: filepath.Join(dir, "manager.log"), stateNamespace: stateNamespace, extraArgs: args,
		memoryLimit: cfg.MemoryLimit, clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	defer m.stop()
	if err := m.waitForWorkers(ctx, 2*time.Minute); err != nil {
		return nil, err
	}

	cfg.progress("%s: %d tokens at the unlimited org, alone", ScenarioRateLimit, res.UnlimitedTokens)
	first, err := issue(ctx, cfg.Clock, c, env, m, alone, cfg.readyTimeout())
	if err != nil {
		return nil, fmt.Errorf("issuing alone: %w", err)
	}
	res.UnlimitedAlone = first.elapsed(unlimitedOrg)

	// Other applications spend their part of the limited org's window just
	// before the operator's requests arrive.
	if cfg.RateLimitWindowLeft > 0 {
		limitedClock.endWindowIn(cfg.RateLimitWindowLeft)
	}
	if err := spendWindow(ctx, limited, cfg.RateLimitOtherApps); err != nil {
		return nil, err
	}
	requestsBefore, refusedBefore := limited.tokens.snapshot(), limited.srv.RateLimitedResponses()
	res.WindowLeft = limitedClock.windowLeft()
	cfg.progress("%s: %d tokens at the org limited to %d a minute, then %d at the unlimited org", ScenarioRateLimit,
		res.LimitedTokens, cfg.RateLimitPerMinute, res.UnlimitedTokens)
	timeout := cfg.readyTimeout() + 3*res.LimitBound() + cfg.RateLimitWindowLeft
	second, err := issue(ctx, cfg.Clock, c, env, m, append(limitedNamespaces, beside...), timeout)
	res.LimitedRequests = limited.tokens.snapshot().Sub(requestsBefore)
	res.RateLimited = limited.srv.RateLimitedResponses() - refusedBefore
	if err != nil {
		return res, fmt.Errorf("issuing beside the limited org (%d 429s so far): %w", res.RateLimited, err)
	}
	res.LimitedElapsed = second.elapsed(limitedOrg)
	res.UnlimitedBeside = second.elapsed(unlimitedOrg)
	if d := res.UnlimitedBeside; d > 0 {
		busy := second.ready[limitedOrg].Sub(second.start[unlimitedOrg])
		res.Saturated = min(max(busy.Seconds()/d.Seconds(), 0), 1)
	}
	cfg.progress("%s: the limited org's tokens after %.1fs (its limit allows %.1fs), %d 429s", ScenarioRateLimit,
		res.LimitedElapsed.Seconds(), res.LimitBound().Seconds(), res.RateLimited)
	return res, nil
}

// applied is one apply of tokens: each org's first create and last Ready.
type applied struct {
	start, ready map[string]time.Time
}

// elapsed is the org's time from its first create to its last Ready.
func (a applied) elapsed(org string) time.Duration { return a.ready[org].Sub(a.start[org]) }

// issue applies the namespaces' tokens at once, org by org in the order
// given, and waits until all are Ready, timed by clk.
func issue(ctx context.Context, clk clock.Clock, c client.Client, env *testenv.Env, m *managerProcess, namespaces []fleetNamespace,
	timeout time.Duration) (applied, error) {
	out := applied{start: map[string]time.Time{}}
	watch, err := watchReady(ctx, clk, env.Config, namespaces)
	if err != nil {
		return out, err
	}
	defer watch.stop()
	var orgs []string
	byOrg := map[string][]fleetNamespace{}
	for _, ns := range namespaces {
		if _, ok := byOrg[ns.org.name]; !ok {
			orgs = append(orgs, ns.org.name)
		}
		byOrg[ns.org.name] = append(byOrg[ns.org.name], ns)
	}
	for _, name := range orgs {
		if out.start[name], err = createAll(ctx, clk, c, serviceTokens(byOrg[name])); err != nil {
			return out, err
		}
	}
	if _, err := watch.wait(ctx, timeout, m.failure); err != nil {
		return out, fmt.Errorf("waiting for the tokens to be Ready: %w; the manager's log: %s", err, m.logPath)
	}
	out.ready = watch.orgTimes()
	return out, nil
}

// spendWindow sends n token requests to o as the org's other applications
// would (unauthenticated: they count against the window all the same).
func spendWindow(ctx context.Context, o *org, n int) error {
	if n <= 0 {
		return nil
	}
	endpoint := o.issuer() + "/oauth2/v1/token"
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		work  = make(chan struct{})
	)
	for range creators {
		wg.Go(func() {
			for range work {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint,
					strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
				if err == nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					var resp *http.Response
					if resp, err = http.DefaultClient.Do(req); err == nil {
						_ = resp.Body.Close()
						if resp.StatusCode == http.StatusTooManyRequests {
							err = fmt.Errorf("the org's other applications ran into its limit (%d requests asked)", n)
						}
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	return first
}
