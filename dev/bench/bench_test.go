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
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestPlanNamespaces(t *testing.T) {
	a, b := &org{name: "a"}, &org{name: "b"}
	tests := map[string]struct {
		n      int
		orgs   []*org
		shares []int
		// want is each namespace's org and token count.
		want []string
	}{
		"a few tokens fit one namespace": {n: 40, orgs: []*org{a}, shares: []int{0}, want: []string{"a:40"}},
		"a thousand make four":           {n: 1000, orgs: []*org{a}, shares: []int{0}, want: []string{"a:250", "a:250", "a:250", "a:250"}},
		"a remainder gets its own":       {n: 260, orgs: []*org{a}, shares: []int{1}, want: []string{"a:250", "a:10"}},
		"two orgs share by weight":       {n: 400, orgs: []*org{a, b}, shares: []int{3, 1}, want: []string{"a:250", "a:50", "b:100"}},
		"the last org takes what is left": {n: 5, orgs: []*org{a, b}, shares: []int{1, 1},
			want: []string{"a:2", "b:3"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			var got []string
			names := map[string]bool{}
			total := 0
			for _, ns := range planNamespaces("bench", tc.n, tc.orgs, tc.shares) {
				got = append(got, fmt.Sprintf("%s:%d", ns.org.name, ns.tokens))
				names[ns.name] = true
				total += ns.tokens
			}
			g.Expect(got).To(Equal(tc.want))
			g.Expect(names).To(HaveLen(len(got)), "namespace names are unique")
			g.Expect(total).To(Equal(tc.n))
		})
	}
}

func TestManagerArgs(t *testing.T) {
	o := managerOptions{kubeconfig: "/k", stateNamespace: "state", extraArgs: []string{"--max-concurrent-reconciles=8"}}
	tests := map[string]struct {
		help        string
		wantDomains bool
	}{
		"today's flags":                {help: "Usage of manager:\n  -allow-insecure-issuers\n    \tAccept http://...\n  -state-namespace string\n"},
		"with --okta-domains":          {help: "Usage of manager:\n  -okta-domains value\n    \tHost patterns...\n", wantDomains: true},
		"a flag that only mentions it": {help: "  -other string\n    \tsee -okta-domains\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			args := managerArgs(tc.help, o, "127.0.0.1:1", "127.0.0.1:2")
			g.Expect(args).To(ContainElements("--kubeconfig=/k", "--state-namespace=state", "--metrics-secure=false",
				"--metrics-bind-address=127.0.0.1:1", "--callback-bind-address=127.0.0.1:2",
				"--callback-url=http://127.0.0.1:2/callback", "--health-probe-bind-address=0", "--allow-insecure-issuers"))
			g.Expect(args[len(args)-1]).To(Equal("--max-concurrent-reconciles=8"), "extra flags come last, so they win")
			if tc.wantDomains {
				g.Expect(args).To(ContainElement("--okta-domains=127.0.0.1"))
			} else {
				g.Expect(args).NotTo(ContainElement(HavePrefix("--okta-domains")))
			}
		})
	}
}

func TestUnrelatedSecrets(t *testing.T) {
	g := NewWithT(t)
	secrets, err := unrelatedSecrets(1001)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(secrets).To(HaveLen(1001))
	g.Expect(namespacesOf(secrets)).To(HaveLen(2), "a thousand per namespace")
	seen := map[string]bool{}
	for _, s := range secrets[:20] {
		applied := s.Annotations[lastAppliedAnnotation]
		g.Expect(len(applied)).To(BeNumerically("~", lastAppliedSize, 4))
		var manifest map[string]any
		g.Expect(json.Unmarshal([]byte(applied), &manifest)).To(Succeed(), "the annotation is a manifest")
		g.Expect(seen).NotTo(HaveKey(applied), "no two annotations alike")
		seen[applied] = true
	}
}

func TestTable(t *testing.T) {
	g := NewWithT(t)
	status := RequestKey{Verb: "PATCH", Group: "oktatoken.dev", Resource: "oktascopedtokens", Subresource: "status", Code: "200"}
	res := &Result{
		N: 1000,
		AppliedFirst: &StartupResult{Tokens: 1000, Elapsed: 4 * time.Second, Reconciles: 1200, Settled: true,
			Requests:      RequestCounts{status: 1000, {Verb: "POST", Resource: "secrets", Code: "201"}: 1000},
			TokenRequests: map[string]TokenRequests{"org": {Total: 1000}}, PeakRSS: 60 << 20, SettledRSS: 50 << 20},
		Rotation: &RotationResult{
			ClientCredentials: RotationFigures{Tokens: 20, Rotations: 20, Writes: WriteCounts{"PUT secrets": 20, "PATCH oktascopedtokens/status": 20}},
			AuthorizationCode: RotationFigures{Tokens: 3, Rotations: 3, Writes: WriteCounts{"PUT secrets": 3, "PUT secrets (state)": 3,
				"PATCH oktascopedtokens/status": 3, "POST events": 3}},
			Idle: IdleFigures{Tokens: 23, Span: time.Hour},
		},
		Unrelated: &UnrelatedResult{Secrets: 10000, PeakRSS: 40 << 20, SettledRSS: 30 << 20},
	}
	out := Table(res)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	g.Expect(lines[0]).To(HavePrefix("| scenario |"))
	for _, l := range lines {
		g.Expect(strings.Count(l, "|")).To(Equal(6), "every row has five cells: %s", l)
	}
	g.Expect(out).To(ContainSubstring("| 1,000 tokens applied, then the manager started | time to all Ready, from the manager's start | 4.0 s (250 tokens/s) | ≥ 200 tokens/s | yes |"))
	g.Expect(out).To(ContainSubstring("| reconciles per token | 1.20 | ≤ 1.5 | yes |"))
	g.Expect(out).To(ContainSubstring("| writes per token, Events included | 2.00 (Events 0.00, 0 dropped) | ≤ 3 | yes |"))
	g.Expect(out).To(ContainSubstring("| · PATCH oktascopedtokens/status 200 | 1.00 per token (1000) |"))
	g.Expect(out).To(ContainSubstring("writes per AuthorizationCode rotation, Events included (3 rotations) | 4 (PATCH oktascopedtokens/status 1, POST events 1, PUT secrets 1, PUT secrets (state) 1) | ≤ 3 | **no** |"))
	g.Expect(out).To(ContainSubstring("| writes in an idle hour (23 tokens, 1h of fake time in 5m steps) | 0 (none) | 0 | yes |"))
	g.Expect(out).To(ContainSubstring("| 10,000 unrelated Secrets (2048-byte last-applied annotation each), no token | manager RSS, peak / settled | 40 MiB / 30 MiB | ≤ 48 MiB | yes |"))
	g.Expect(out).NotTo(ContainSubstring("manager running"), "a scenario not run has no rows")

	var failed []string
	for _, c := range res.Checks() {
		if !c.Met() {
			failed = append(failed, c.Name)
		}
	}
	g.Expect(failed).To(Equal([]string{"writes per AuthorizationCode rotation"}))
}
