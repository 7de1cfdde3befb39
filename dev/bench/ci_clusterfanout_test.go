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

package bench_test

import (
	"testing"

	operatorbench "github.com/okta-token-operator/okta-token-operator/dev/bench"
)

// ciClusterNamespaces is the cluster-fanout scenario's size in CI: enough
// namespaces that eight writes at a time take several rounds, and that a
// second write to a few copies shows in writes per copy.
const ciClusterNamespaces = 50

// TestClusterFanout runs the cluster-fanout scenario at 50 namespaces: one
// ClusterOktaScopedToken, served by a manager in cluster mode, must reach
// every selected namespace with one token request and one write per copy,
// do the same for a rotation, and write nothing in a pass where nothing
// changed. It asserts the scenario's countable targets, that the cluster
// token reports every namespace served, and that the proxy's count of
// Secret writes, by which copies are told from the source, agrees with
// the API server's.
func TestClusterFanout(t *testing.T) {
	skipInShortMode(t)
	res := runBenchmark(benchContext(t), t, operatorbench.Config{
		ClusterNamespaces: ciClusterNamespaces, Scenarios: []operatorbench.Scenario{operatorbench.ScenarioClusterFanout},
		QuickBuild: true,
	})
	table := operatorbench.Table(res)
	f := res.ClusterFanout
	for _, p := range []operatorbench.FanoutPhase{f.Created, f.Rotated, f.Unchanged} {
		if !p.Settled {
			t.Errorf("%s: the manager was still reconciling a minute after, so its counts are cut short (a requeue loop?)",
				p.Name)
		}
		if got, want := p.Requests.Sum(func(k operatorbench.RequestKey) bool {
			return k.Write() && k.Resource == "secrets" && k.Group == ""
		}), p.ProxiedSecretWrites; got != want {
			t.Errorf("%s: the API server counted %.0f Secret writes of the manager's, the proxy %.0f: the split by "+
				"namespace is not to be trusted", p.Name, got, want)
		}
		if len(p.Strays) > 0 {
			t.Errorf("%s: copies outside the selected namespaces: %v", p.Name, p.Strays)
		}
	}
	for _, p := range []operatorbench.FanoutPhase{f.Created, f.Rotated} {
		if p.Served != f.Namespaces || p.Targets != f.Namespaces {
			t.Errorf("%s: the cluster token reports %d of %d targets served, want %d of %d", p.Name, p.Served, p.Targets,
				f.Namespaces, f.Namespaces)
		}
	}
	for _, c := range res.Checks() {
		t.Run(c.Name, func(t *testing.T) {
			if !c.Met() {
				t.Errorf("measured %.2f, target ≤ %.2f", c.Got, c.Max)
			}
		})
	}
	if t.Failed() {
		t.Logf("the measured table:\n\n%s", table)
	} else {
		t.Logf("measured:\n%s", table)
	}
}
