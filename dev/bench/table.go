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

// The table: one markdown table with every figure beside issue 9's target.

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Issue 9's targets.
const (
	// TargetTokensPerSecond: 1,000 tokens in ≤ 5 s. Printed only.
	TargetTokensPerSecond = 200
	// TargetReconcilesPerToken and the two below are counts per new token.
	TargetReconcilesPerToken = 1.5
	TargetGetsPerToken       = 1
	// TargetWritesPerToken counts Events too.
	TargetWritesPerToken = 3
	// TargetRSS is the manager's at 1,000 tokens. Printed only.
	TargetRSS = 64 << 20
	// TargetWritesPerServiceRotation and TargetWritesPerSignInRotation are
	// per ClientCredentials and AuthorizationCode rotation, Events included.
	TargetWritesPerServiceRotation = 2
	TargetWritesPerSignInRotation  = 3
	// TargetIdleWrites: nothing is written between rotations.
	TargetIdleWrites = 0
	// TargetUnrelatedRSS is the manager's among 10,000 unrelated Secrets
	// with no token. Printed only.
	TargetUnrelatedRSS = 48 << 20
)

// Issue 13's targets, for the rate-limit scenario.
const (
	// TargetRateLimited: the limited org answers no 429 (a count).
	TargetRateLimited = 0
	// TargetBoundRatio: its tokens within 1.15× the time its limit allows.
	// Printed only.
	TargetBoundRatio = 1.15
	// TargetUnlimitedSlowdown: the other org at most 10% slower beside it
	// than alone. Printed only.
	TargetUnlimitedSlowdown = 0.10
)

// The DPoP scenario's targets, the shape of the integration test
// TestDPoPNonceOncePerOrg: the operator learns an org's nonce once and
// sends it up front on every later proof.
const (
	// TargetDPoPTokenRequestsPerToken counts the token requests per token
	// beside the nonce challenges, which are counted apart.
	TargetDPoPTokenRequestsPerToken = 1.01
	// TargetDPoPNonceChallenges is per org, for the whole run.
	TargetDPoPNonceChallenges = 1
)

// Check is one countable figure against its target (at most Max).
type Check struct {
	Name     string
	Got, Max float64
}

// Met says whether the figure is within the target.
func (c Check) Met() bool { return c.Got <= c.Max }

// Checks are the countable targets of the scenarios that ran: the figures
// that do not depend on how busy the machine is, so a test can assert them.
func (r *Result) Checks() []Check {
	var out []Check
	for _, s := range []struct {
		label string
		res   *StartupResult
	}{{"applied first", r.AppliedFirst}, {"DPoP", r.DPoP}, {"manager running", r.ManagerRunning}} {
		if s.res == nil {
			continue
		}
		out = append(out,
			Check{Name: "reconciles per token, " + s.label, Got: s.res.ReconcilesPerToken(), Max: TargetReconcilesPerToken},
			Check{Name: "GETs per token, " + s.label, Got: s.res.GetsPerToken(), Max: TargetGetsPerToken},
			Check{Name: "writes per token incl. Events, " + s.label, Got: s.res.WritesPerToken(), Max: TargetWritesPerToken},
		)
	}
	if d := r.DPoP; d != nil {
		out = append(out, Check{Name: "token requests per token beside the nonce challenges, DPoP",
			Got: d.TokenRequestsBesideNonce(), Max: TargetDPoPTokenRequestsPerToken})
		for _, name := range sortedKeys(d.NonceChallenges) {
			out = append(out, Check{Name: "DPoP nonce challenges, " + name, Got: float64(d.NonceChallenges[name]),
				Max: TargetDPoPNonceChallenges})
		}
	}
	if rot := r.Rotation; rot != nil {
		out = append(out,
			Check{Name: "writes per ClientCredentials rotation", Got: rot.ClientCredentials.WritesPerRotation(), Max: TargetWritesPerServiceRotation},
			Check{Name: "writes per AuthorizationCode rotation", Got: rot.AuthorizationCode.WritesPerRotation(), Max: TargetWritesPerSignInRotation},
			Check{Name: "writes in an idle hour", Got: float64(rot.Idle.Writes.Total()), Max: TargetIdleWrites},
		)
	}
	if rl := r.RateLimit; rl != nil {
		out = append(out, Check{Name: "429s from the rate-limited org", Got: float64(rl.RateLimited), Max: TargetRateLimited})
	}
	if f := r.ClusterFanout; f != nil {
		out = append(out, f.checks()...)
	}
	return out
}

// table accumulates rows; a scenario's name is printed on its first row.
type table struct {
	b        strings.Builder
	scenario string
}

func (t *table) group(scenario string) { t.scenario = scenario }

// row adds a figure; met is "" for figures without a target.
func (t *table) row(figure, measured, target, met string) {
	fmt.Fprintf(&t.b, "| %s | %s | %s | %s | %s |\n", t.scenario, figure, measured, target, met)
	t.scenario = ""
}

func metWord(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// Table renders the result as one markdown table.
func Table(r *Result) string {
	t := &table{}
	t.b.WriteString("| scenario | figure | measured | target | met |\n|---|---|---|---|---|\n")
	if s := r.AppliedFirst; s != nil {
		t.group(fmt.Sprintf("%s tokens applied, then the manager started", thousands(s.Tokens)))
		t.startup(s, "from the manager's start")
	}
	if s := r.DPoP; s != nil {
		t.group(fmt.Sprintf("%s DPoP-bound tokens applied, then the manager started (every app requires DPoP)",
			thousands(s.Tokens)))
		t.startup(s, "from the manager's start")
	}
	if s := r.ManagerRunning; s != nil {
		t.group(fmt.Sprintf("manager running while %s tokens are applied", thousands(s.Tokens)))
		t.startup(s, "from the first create")
	}
	if rot := r.Rotation; rot != nil {
		t.group(fmt.Sprintf("rotation, in-process on a fake clock (%d ClientCredentials + %d AuthorizationCode tokens)",
			rot.ClientCredentials.Tokens, rot.AuthorizationCode.Tokens))
		t.rotation("ClientCredentials", rot.ClientCredentials, TargetWritesPerServiceRotation)
		t.rotation("AuthorizationCode", rot.AuthorizationCode, TargetWritesPerSignInRotation)
		idle := rot.Idle
		t.row(fmt.Sprintf("writes in an idle hour (%d tokens, %s of fake time in %s steps)", idle.Tokens,
			shortDuration(idle.Span), shortDuration(idleStep)),
			fmt.Sprintf("%d (%s)", idle.Writes.Total(), idle.Writes), "0", metWord(idle.Writes.Total() <= TargetIdleWrites))
		t.row("reconciles and token requests in the idle hour",
			fmt.Sprintf("%.0f reconciles, %d token requests", idle.Reconciles, idle.TokenRequests.Total), "—", "")
	}
	if u := r.Unrelated; u != nil {
		t.group(fmt.Sprintf("%s unrelated Secrets (%d-byte last-applied annotation each), no token", thousands(u.Secrets), lastAppliedSize))
		t.row("manager RSS, peak / settled", mib(u.PeakRSS)+" / "+mib(u.SettledRSS), "≤ "+mib(TargetUnrelatedRSS),
			metWord(u.PeakRSS <= TargetUnrelatedRSS))
		t.row("initial sync (start to \"Starting workers\")", fmt.Sprintf("%.1f s", u.InitialSync.Seconds()), "—", "")
	}
	if rl := r.RateLimit; rl != nil {
		t.rateLimit(rl)
	}
	if j := r.TenantJunk; j != nil {
		t.tenantJunk(j)
	}
	if f := r.ClusterFanout; f != nil {
		t.clusterFanout(f)
	}
	return t.b.String()
}

func (t *table) rateLimit(r *RateLimitResult) {
	paced := fmt.Sprintf("manager run with --%s=%d", RateLimitFlag, r.LimitPerMinute)
	if !r.Paced {
		paced = fmt.Sprintf("the manager has no --%s: unpaced", RateLimitFlag)
	}
	t.group(fmt.Sprintf("rate limit (issue 13): %s + %s tokens, one org limited to %s token requests a minute; %s",
		thousands(r.LimitedTokens), thousands(r.UnlimitedTokens), thousands(r.LimitPerMinute), paced))
	if r.OtherAppsRequests > 0 {
		t.row("the limited org's window at the apply", fmt.Sprintf("%d requests spent by other applications, %.0fs left of it",
			r.OtherAppsRequests, r.WindowLeft.Seconds()), "—", "")
	}
	t.row("429s from the limited org's token endpoint",
		fmt.Sprintf("%d (of %d token requests)", r.RateLimited, r.LimitedRequests.Total),
		fmt.Sprintf("%d", TargetRateLimited), metWord(r.RateLimited <= TargetRateLimited))
	if r.LimitedElapsed <= 0 || r.UnlimitedBeside <= 0 {
		t.row("time to all of the limited org's tokens", "did not finish", "—", metWord(false))
		return
	}
	t.row(fmt.Sprintf("time to all of the limited org's %s tokens, from its first create", thousands(r.LimitedTokens)),
		fmt.Sprintf("%.1f s = %.2f× the %.1f s its limit allows", r.LimitedElapsed.Seconds(), r.BoundRatio(),
			r.LimitBound().Seconds()),
		fmt.Sprintf("≤ %.2f×", TargetBoundRatio), metWord(r.BoundRatio() <= TargetBoundRatio))
	alone, beside := r.UnlimitedRates()
	t.row("the unlimited org's tokens/s, alone / beside the saturated org",
		fmt.Sprintf("%.0f / %.0f (%+.0f%%; the limited org saturated for %.0f%% of it)", alone, beside,
			-100*r.UnlimitedSlowdown(), 100*r.Saturated),
		fmt.Sprintf("≤ %.0f%% slower", 100*TargetUnlimitedSlowdown),
		metWord(r.UnlimitedSlowdown() <= TargetUnlimitedSlowdown))
}

func (t *table) tenantJunk(j *TenantJunkResult) {
	limit := "no GOMEMLIMIT"
	if j.MemoryLimit > 0 {
		limit = "GOMEMLIMIT " + mib(uint64(j.MemoryLimit))
	}
	t.group(fmt.Sprintf("tenant junk: %d Secrets of %s labelled as the operator's, %d resources of %s at the CRD's caps "+
		"(%s of templated data in each token Secret), beside %s tokens; %s", j.JunkSecrets, mib(uint64(j.JunkSecretBytes)),
		j.BigTokens, kib(j.BigTokenBytes), kib(j.BigSecretDataBytes), thousands(j.Tokens), limit))
	target, under := "—", func(uint64) string { return "" }
	if j.MemoryLimit > 0 {
		target = "< " + mib(uint64(j.MemoryLimit)) + " (the limit)"
		under = func(b uint64) string { return metWord(b < uint64(j.MemoryLimit)) }
	}
	ready := make([]string, 0, len(j.Phases))
	allReady := true
	for _, p := range j.Phases {
		t.row("manager RSS, peak / settled (anonymous): "+p.Name,
			fmt.Sprintf("%s / %s (%s)", mib(p.PeakRSS), mib(p.SettledRSS), mib(p.SettledAnon)), target, under(p.PeakRSS))
		ready = append(ready, thousands(p.Ready))
		allReady = allReady && p.Ready == j.Tokens
		if !p.Settled {
			t.row("settled: "+p.Name, "no: still reconciling a minute after; read then", "yes", metWord(false))
		}
	}
	t.row("ordinary tokens Ready at each reading", fmt.Sprintf("%s of %s", strings.Join(ready, " / "), thousands(j.Tokens)), "all",
		metWord(allReady))
	t.row("big resources Ready", fmt.Sprintf("%d of %d", j.BigReady, j.BigTokens), "—", "")
}

func (t *table) startup(s *StartupResult, from string) {
	t.row("time to all Ready, "+from, fmt.Sprintf("%.1f s (%.0f tokens/s)", s.Elapsed.Seconds(), s.TokensPerSecond()),
		fmt.Sprintf("≥ %d tokens/s", TargetTokensPerSecond), metWord(s.TokensPerSecond() >= TargetTokensPerSecond))
	if len(s.OrgElapsed) > 1 {
		for _, name := range sortedKeys(s.OrgElapsed) {
			t.row("· time to all Ready, "+name, fmt.Sprintf("%.1f s", s.OrgElapsed[name].Seconds()), "—", "")
		}
	}
	t.row("reconciles per token", fmt.Sprintf("%.2f", s.ReconcilesPerToken()),
		fmt.Sprintf("≤ %.1f", float64(TargetReconcilesPerToken)), metWord(s.ReconcilesPerToken() <= TargetReconcilesPerToken))
	t.row("GETs per token (of which 404)", fmt.Sprintf("%.2f (%.2f)", s.GetsPerToken(), s.NotFoundPerToken()),
		fmt.Sprintf("≤ %d", TargetGetsPerToken), metWord(s.GetsPerToken() <= TargetGetsPerToken))
	t.row("writes per token, Events included", fmt.Sprintf("%.2f (Events %.2f, %d dropped)", s.WritesPerToken(), s.perToken(s.Requests.Events()), s.EventsDropped),
		fmt.Sprintf("≤ %d", TargetWritesPerToken), metWord(s.WritesPerToken() <= TargetWritesPerToken))
	for _, k := range s.Requests.Sorted() {
		t.row("· "+k.String(), fmt.Sprintf("%.2f per token (%.0f)", s.PerToken(k), s.Requests[k]), "", "")
	}
	for _, name := range sortedKeys(s.TokenRequests) {
		tr := s.TokenRequests[name]
		figure := "token requests per token"
		if len(s.TokenRequests) > 1 {
			figure += ", " + name
		}
		if !s.DPoP {
			t.row(figure, fmt.Sprintf("%.2f (429s: %d, other failures: %d)", s.perToken(float64(tr.Total)), tr.RateLimited, tr.Failed), "1", "")
			continue
		}
		challenges := s.NonceChallenges[name]
		t.row(figure, fmt.Sprintf("%.3f (%d: %d answered with a nonce challenge, %d beside them; 429s: %d, other failures: %d)",
			s.perToken(float64(tr.Total)), tr.Total, challenges, tr.Total-challenges, tr.RateLimited, tr.Failed-challenges),
			fmt.Sprintf("≤ %.2f beside the challenges", TargetDPoPTokenRequestsPerToken),
			metWord(s.perToken(float64(tr.Total-challenges)) <= TargetDPoPTokenRequestsPerToken))
		t.row("DPoP nonce challenges (use_dpop_nonce answers)"+strings.TrimPrefix(figure, "token requests per token"),
			fmt.Sprint(challenges), fmt.Sprintf("≤ %d per org", TargetDPoPNonceChallenges),
			metWord(challenges <= TargetDPoPNonceChallenges))
	}
	rss := mib(s.PeakRSS) + " / " + mib(s.SettledRSS)
	if s.SettledAnon > 0 {
		rss += " (anonymous " + mib(s.SettledAnon) + ")"
	}
	t.row("manager RSS, peak / settled", rss, "≤ "+mib(TargetRSS), metWord(s.PeakRSS <= TargetRSS))
	t.row("CPU: manager / kube-apiserver / etcd / benchmark and dev server",
		fmt.Sprintf("%.1f / %.1f / %.1f / %.1f s", s.CPU.Manager.Seconds(), s.CPU.APIServer.Seconds(), s.CPU.Etcd.Seconds(),
			s.CPU.Benchmark.Seconds()), "—", "")
	if !s.Settled {
		t.row("settled", "no: still reconciling a minute after the last Ready; counts stop there", "yes", metWord(false))
	}
}

func (t *table) rotation(grant string, f RotationFigures, target int) {
	per := func(n int) string { return trimFloat(float64(n) / float64(max(f.Rotations, 1))) }
	parts := make([]string, 0, len(f.Writes))
	for _, k := range sortedKeys(f.Writes) {
		parts = append(parts, k+" "+per(f.Writes[k]))
	}
	t.row(fmt.Sprintf("writes per %s rotation, Events included (%d rotations)", grant, f.Rotations),
		fmt.Sprintf("%s (%s)", trimFloat(f.WritesPerRotation()), strings.Join(parts, ", ")),
		fmt.Sprintf("≤ %d", target), metWord(f.WritesPerRotation() <= float64(target)))
	t.row(fmt.Sprintf("token requests and GETs per %s rotation", grant),
		fmt.Sprintf("%s token requests, %s GETs", per(f.TokenRequests.Total), per(f.Gets)), "1 token request", "")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mib formats bytes as MiB.
func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// trimFloat prints a count that is usually whole without decimals.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// thousands writes 10000 as 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// shortDuration writes 1h0m0s as 1h and 5m0s as 5m.
func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	return s
}
