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
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	operatorbench "github.com/okta-token-operator/okta-token-operator/dev/bench"
)

// The size of the CI run: big enough that the manager's fixed start-up
// requests are a small share of the per-token figures, small enough to
// finish in about a minute.
const (
	ciTokens          = 40
	ciUnrelated       = 400
	ciRotationTokens  = 5
	ciSignedInTokens  = 2
	benchmarkDeadline = 5 * time.Minute
)

// countedScenarios are the scenarios whose counts TestCountableTargets
// asserts: issue 9's, and DPoP's; the rate-limit and tenant-junk scenarios
// have tests of their own.
var countedScenarios = []operatorbench.Scenario{operatorbench.ScenarioRotation, operatorbench.ScenarioAppliedFirst,
	operatorbench.ScenarioDPoP, operatorbench.ScenarioManagerRunning, operatorbench.ScenarioUnrelated}

// TestCountableTargets runs issue 9's scenarios of the benchmark and the
// DPoP one once and checks each countable figure against its target (the
// DPoP scenario's: one token request per token beside the nonce
// challenges, and at most one challenge for the org, as
// TestDPoPNonceOncePerOrg has it on the integration side). A failure lists
// the figures that missed, then prints the whole measured table.
func TestCountableTargets(t *testing.T) {
	skipInShortMode(t)
	res := runBenchmark(benchContext(t), t, operatorbench.Config{
		N: ciTokens, Unrelated: ciUnrelated, RotationTokens: ciRotationTokens, SignInTokens: ciSignedInTokens,
		Scenarios: countedScenarios, QuickBuild: true,
	})
	table := operatorbench.Table(res)

	for _, s := range []struct {
		name string
		res  *operatorbench.StartupResult
	}{{"applied first", res.AppliedFirst}, {"DPoP", res.DPoP}, {"manager running", res.ManagerRunning}} {
		if !s.res.Settled {
			t.Errorf("%s: the manager was still reconciling a minute after the last token was Ready, so its counts "+
				"are cut short (a requeue loop?)", s.name)
		}
	}
	var missed []string
	for _, c := range res.Checks() {
		t.Run(c.Name, func(t *testing.T) {
			if !c.Met() {
				missed = append(missed, c.Name)
				t.Errorf("measured %.2f, target ≤ %.2f", c.Got, c.Max)
			}
		})
	}
	if len(missed) > 0 {
		t.Errorf("%d of %d countable targets missed (%s); the measured table:\n\n%s",
			len(missed), len(res.Checks()), strings.Join(missed, "; "), table)
	} else {
		t.Logf("measured:\n%s", table)
	}
}

// skipInShortMode skips a test that starts a control plane and the
// manager when `go test -short` runs (make unit); make test runs it.
func skipInShortMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and the manager binary: make test runs it, make unit (-short) does not")
	}
}

// benchContext quiets controller-runtime's global logger and bounds the
// run by benchmarkDeadline.
func benchContext(t *testing.T) context.Context {
	// Not the test log: informers may still log while they stop, after the
	// test has returned.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	ctx, cancel := context.WithTimeout(context.Background(), benchmarkDeadline)
	t.Cleanup(cancel)
	return ctx
}

// runBenchmark runs the benchmark with its progress in the test log. When
// it does not finish, the test fails with what it measured so far and
// where the logs are kept.
func runBenchmark(ctx context.Context, t *testing.T, cfg operatorbench.Config) *operatorbench.Result {
	t.Helper()
	cfg.Progress = testWriter{t}
	res, err := operatorbench.Run(ctx, cfg)
	if err != nil {
		measured := ""
		if res != nil {
			t.Logf("the manager's and the operator's logs are kept in %s", res.WorkDir)
			if res.HasFigures() {
				measured = "\n\nmeasured so far:\n" + operatorbench.Table(res)
			}
		}
		t.Fatalf("the benchmark did not finish: %v%s", err, measured)
	}
	return res
}

// testWriter sends the benchmark's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
