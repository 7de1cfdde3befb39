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

// The cluster-fanout scenario's figures, its countable targets and its
// rows of the table.

import (
	"fmt"
	"strings"
	"time"
)

// The cluster-fanout scenario's targets: one token request and one write
// per copy for the whole fan-out, and for each rotation; nothing written
// when nothing changed.
const (
	TargetFanoutTokenRequests = 1
	TargetFanoutWritesPerCopy = 1
	TargetFanoutUnchanged     = 0
)

// The phases' names.
const (
	fanoutPhaseCreated   = "created"
	fanoutPhaseRotated   = "rotated"
	fanoutPhaseUnchanged = "nothing changed"
)

// ClusterFanoutResult is one ClusterOktaScopedToken copied into Namespaces
// namespaces: created, rotated, then passed over with nothing changed.
type ClusterFanoutResult struct {
	Namespaces                  int
	Created, Rotated, Unchanged FanoutPhase
}

// FanoutPhase is one phase of the scenario.
type FanoutPhase struct {
	Name string
	// Elapsed runs from the create (or the annotation) to the moment the
	// benchmark's watch saw the last copy hold the new token; 0 for the
	// pass with nothing changed.
	Elapsed time.Duration
	// TokenRequests are the org's token-endpoint answers.
	TokenRequests TokenRequests
	// Requests are the manager's requests, by the API server's count.
	Requests RequestCounts
	// CopyRequests, CredentialsRequests and ClusterRequests are the
	// manager's requests by the proxy's count: in the selected namespaces,
	// in the credentials namespace (the operator's), and to cluster-scoped
	// resources or across all namespaces.
	CopyRequests, CredentialsRequests, ClusterRequests RequestCounts
	// ProxiedSecretWrites are the Secret writes the proxy counted in all
	// namespaces: the API server's count of them, Requests, must agree.
	ProxiedSecretWrites float64
	// CopyChanges are the changes to copies the benchmark's watch saw.
	CopyChanges int
	// Strays are namespaces outside the selection that hold a copy.
	Strays []string
	// ClusterReconciles and TokenReconciles are the two controllers'.
	ClusterReconciles, TokenReconciles float64
	// Targets, Served and Distributed are the cluster token's status
	// once the manager settled: status.targets, status.served and the
	// Distributed condition's reason.
	Targets, Served int
	Distributed     string
	// PeakRSS is the manager's VmHWM so far, SettledRSS its VmRSS once
	// idle, SettledAnon the anonymous part of that, in bytes.
	PeakRSS, SettledRSS, SettledAnon uint64
	CPU                              CPUTimes
	// Settled is false when the manager kept reconciling past the wait.
	Settled bool
}

// CopyWrites are the manager's Secret writes in the selected namespaces.
func (p FanoutPhase) CopyWrites() float64 { return p.CopyRequests.Sum(secretWrite) }

// WritesPerCopy is CopyWrites over the n selected namespaces.
func (p FanoutPhase) WritesPerCopy(n int) float64 {
	if n == 0 {
		return 0
	}
	return p.CopyWrites() / float64(n)
}

// CopyGets are the manager's single-object reads in the selected
// namespaces.
func (p FanoutPhase) CopyGets() float64 { return p.CopyRequests.Gets() }

// checks are the countable targets of the scenario.
func (r *ClusterFanoutResult) checks() []Check {
	n := r.Namespaces
	return []Check{
		{Name: "token requests for the fan-out, cluster fan-out", Got: float64(r.Created.TokenRequests.Total),
			Max: TargetFanoutTokenRequests},
		{Name: "writes per copy on creation, cluster fan-out", Got: r.Created.WritesPerCopy(n), Max: TargetFanoutWritesPerCopy},
		{Name: "token requests per rotation, cluster fan-out", Got: float64(r.Rotated.TokenRequests.Total),
			Max: TargetFanoutTokenRequests},
		{Name: "writes per copy per rotation, cluster fan-out", Got: r.Rotated.WritesPerCopy(n), Max: TargetFanoutWritesPerCopy},
		{Name: "copy writes in a pass with nothing changed, cluster fan-out", Got: r.Unchanged.CopyWrites(),
			Max: TargetFanoutUnchanged},
		{Name: "writes of any kind in a pass with nothing changed, cluster fan-out", Got: r.Unchanged.Requests.Writes(),
			Max: TargetFanoutUnchanged},
	}
}

func (t *table) clusterFanout(r *ClusterFanoutResult) {
	n := r.Namespaces
	t.group(fmt.Sprintf("one ClusterOktaScopedToken into %s namespaces (selected by label; manager in cluster mode)",
		thousands(n)))
	for _, p := range []FanoutPhase{r.Created, r.Rotated, r.Unchanged} {
		t.fanoutPhase(p, n)
	}
}

func (t *table) fanoutPhase(p FanoutPhase, n int) {
	label := map[string]string{fanoutPhaseCreated: "on creation", fanoutPhaseRotated: "per rotation",
		fanoutPhaseUnchanged: "in a pass with nothing changed"}[p.Name]
	switch p.Name {
	case fanoutPhaseCreated:
		t.row("time to every copy, from the create", fmt.Sprintf("%.1f s (%.0f copies/s)", p.Elapsed.Seconds(),
			perSecond(n, p.Elapsed)), "—", "")
	case fanoutPhaseRotated:
		t.row("time to every copy holding the new token, from the annotation", fmt.Sprintf("%.1f s (%.0f copies/s)",
			p.Elapsed.Seconds(), perSecond(n, p.Elapsed)), "—", "")
	}
	if p.Name == fanoutPhaseUnchanged {
		t.row("passes of the cluster token after a selected namespace's label changed", trimFloat(p.ClusterReconciles),
			"≥ 1", metWord(p.ClusterReconciles >= 1))
		t.row("copy writes "+label, fmt.Sprintf("%.0f (reads: %s)", p.CopyWrites(), seriesList(readsOf(p.CopyRequests), 1)),
			fmt.Sprint(TargetFanoutUnchanged), metWord(p.CopyWrites() <= TargetFanoutUnchanged))
		t.row("writes of any kind "+label, fmt.Sprintf("%.0f", p.Requests.Writes()), fmt.Sprint(TargetFanoutUnchanged),
			metWord(p.Requests.Writes() <= TargetFanoutUnchanged))
	} else {
		tr := p.TokenRequests
		t.row("token requests "+label, fmt.Sprintf("%d (429s: %d, other failures: %d)", tr.Total, tr.RateLimited, tr.Failed),
			fmt.Sprint(TargetFanoutTokenRequests), metWord(tr.Total <= TargetFanoutTokenRequests))
		t.row("writes per copy "+label+" (Secret writes in the selected namespaces)",
			fmt.Sprintf("%.2f (%s)", p.WritesPerCopy(n), seriesList(writesOf(p.CopyRequests), n)),
			fmt.Sprintf("≤ %.2f", float64(TargetFanoutWritesPerCopy)),
			metWord(p.WritesPerCopy(n) <= TargetFanoutWritesPerCopy))
		t.row("GETs per copy "+label+" (reads in the selected namespaces)", fmt.Sprintf("%.2f (%s)",
			p.CopyGets()/float64(max(n, 1)), seriesList(readsOf(p.CopyRequests), n)), "—", "")
		t.row("changes to copies seen by the benchmark's watch, per copy", fmt.Sprintf("%.2f", float64(p.CopyChanges)/float64(max(n, 1))),
			"—", "")
		t.row("cluster token's status once settled", fmt.Sprintf("served %d of %d targets, Distributed: %s", p.Served, p.Targets,
			p.Distributed), fmt.Sprintf("%d of %d", n, n), metWord(p.Served == n && p.Targets == n))
	}
	t.row("manager requests "+label+": in the credentials namespace / cluster-wide",
		fmt.Sprintf("%s / %s", seriesList(p.CredentialsRequests, 1), seriesList(p.ClusterRequests, 1)), "—", "")
	t.row("Secret writes in all namespaces: API server's count / the proxy's",
		fmt.Sprintf("%.0f / %.0f", p.Requests.Sum(secretWrite), p.ProxiedSecretWrites), "equal",
		metWord(p.Requests.Sum(secretWrite) == p.ProxiedSecretWrites))
	t.row("reconciles "+label+": cluster token / OktaScopedToken", fmt.Sprintf("%s / %s", trimFloat(p.ClusterReconciles),
		trimFloat(p.TokenReconciles)), "—", "")
	t.row("manager RSS after it, peak / settled (anonymous)", fmt.Sprintf("%s / %s (%s)", mib(p.PeakRSS), mib(p.SettledRSS),
		mib(p.SettledAnon)), "—", "")
	t.row("CPU: manager / kube-apiserver / etcd / benchmark and dev server",
		fmt.Sprintf("%.1f / %.1f / %.1f / %.1f s", p.CPU.Manager.Seconds(), p.CPU.APIServer.Seconds(), p.CPU.Etcd.Seconds(),
			p.CPU.Benchmark.Seconds()), "—", "")
	if len(p.Strays) > 0 {
		t.row("copies outside the selected namespaces", strings.Join(p.Strays, ", "), "none", metWord(false))
	}
	if !p.Settled {
		t.row("settled", "no: still reconciling a minute after; counts stop there", "yes", metWord(false))
	}
}

// writesOf and readsOf are the counts' writes and the rest.
func writesOf(c RequestCounts) RequestCounts { return filterCounts(c, RequestKey.Write) }

func readsOf(c RequestCounts) RequestCounts {
	return filterCounts(c, func(k RequestKey) bool { return !k.Write() })
}

func filterCounts(c RequestCounts, keep func(RequestKey) bool) RequestCounts {
	out := RequestCounts{}
	for k, v := range c {
		if keep(k) {
			out[k] = v
		}
	}
	return out
}

// seriesList lists the series of counts, each per n ("none" when empty).
func seriesList(c RequestCounts, n int) string {
	keys := c.Sorted()
	if len(keys) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k.String()+" "+trimFloat(c[k]/float64(max(n, 1))))
	}
	return strings.Join(parts, ", ")
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
