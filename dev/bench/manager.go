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

// The manager runs as its own process, built from ./cmd, so that its memory
// and CPU are its own and nothing of the benchmark's (the dev server, the
// informer that watches for Ready) is counted against it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// tokenController and clusterController are the OktaScopedToken and
// ClusterOktaScopedToken controllers' names in controller-runtime's metrics
// and logs.
const (
	tokenController   = "oktascopedtoken"
	clusterController = "clusteroktascopedtoken"
)

// The labels that name the controller in controller-runtime's metrics:
// controller on its own, name on the work queue's.
const (
	labelController = "controller"
	labelName       = "name"
)

// BuildManager builds the manager binary from the checkout's ./cmd into dir
// and returns its path. It is built as the Dockerfile builds the image's:
// static, without symbol tables or paths, so the memory measured is the
// memory of what runs in a cluster (a binary with its symbols is larger, and
// its start-up touches more of it). quick builds it as `go build` does
// instead (cgo on, paths kept; symbols still stripped), which reuses every
// package `go vet` or an earlier build compiled: a cold CI run is spared a
// second compile of the whole tree.
func BuildManager(ctx context.Context, dir string, quick bool) (string, error) {
	out := filepath.Join(dir, "manager")
	args := []string{"build", "-ldflags=-s -w", "-o", out, "./cmd"}
	env := os.Environ()
	if !quick {
		args = append([]string{"build", "-trimpath"}, args[1:]...)
		env = append(env, "CGO_ENABLED=0")
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = env
	cmd.Dir = testenv.RepoRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w\n%s", err, msg)
	}
	return out, nil
}

// managerProcess is a running manager binary.
type managerProcess struct {
	cmd        *exec.Cmd
	clock      clock.Clock // times the process: its start and the waits for it
	started    time.Time
	metricsURL string
	logPath    string
	logFile    *os.File
	// controllers are those whose workers, queues and reconciles the
	// waits follow (managerOptions.controllers).
	controllers []string
	// workersStarted is closed when each of controllers has logged
	// "Starting workers": their caches have synced.
	workersStarted chan struct{}
	done           chan struct{}
	waitErr        error
	// scanned is done once the log scanner has read all output.
	scanned sync.WaitGroup
	// eventsDropped counts the Events the manager's recorder logged as
	// dropped (its queue was full).
	eventsDropped atomic.Int64
}

// managerOptions are what one run of the manager needs.
type managerOptions struct {
	binary     string
	kubeconfig string
	logPath    string
	// stateNamespace holds the state Secrets.
	stateNamespace string
	// extraArgs come after the benchmark's own flags.
	extraArgs []string
	// memoryLimit is the manager's GOMEMLIMIT in bytes; ≤ 0 for none.
	memoryLimit int64
	// clock is the run's Config.Clock, which times the process.
	clock clock.Clock
	// controllers are the controllers the waits follow; default the
	// OktaScopedToken controller alone.
	controllers []string
}

// managerArgs are the flags for a manager talking to an http:// dev server
// on 127.0.0.1, with plain-HTTP metrics on metricsAddr and the probes off.
// --okta-domains is passed when the binary has it (it limits where the
// operator sends credentials, and Okta's own domains are its default).
func managerArgs(help string, o managerOptions, metricsAddr, callbackAddr string) []string {
	args := []string{
		"--kubeconfig=" + o.kubeconfig,
		"--state-namespace=" + o.stateNamespace,
		"--callback-url=http://" + callbackAddr + "/callback",
		"--callback-bind-address=" + callbackAddr,
		"--health-probe-bind-address=0",
		"--metrics-bind-address=" + metricsAddr,
		"--metrics-secure=false",
		"--allow-insecure-issuers",
	}
	if hasFlag(help, "okta-domains") {
		args = append(args, "--okta-domains=127.0.0.1")
	}
	return append(args, o.extraArgs...)
}

// hasFlag says whether a Go flag usage text lists -name.
func hasFlag(help, name string) bool {
	for line := range strings.SplitSeq(help, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.TrimLeft(f[0], "-") == name {
			return true
		}
	}
	return false
}

// ManagerHasFlag says whether the manager binary lists --name in its
// --help: a scenario can then tell a manager without a feature from one
// where it fails.
func ManagerHasFlag(ctx context.Context, binary, name string) bool {
	return hasFlag(managerHelp(ctx, binary), name)
}

// managerHelp is the binary's --help text.
func managerHelp(ctx context.Context, binary string) string {
	// The flag package exits 0 on -help after printing usage to stderr.
	out, _ := exec.CommandContext(ctx, binary, "--help").CombinedOutput()
	return string(out)
}

// startManager starts the binary. Its log goes to o.logPath.
func startManager(ctx context.Context, o managerOptions) (*managerProcess, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	metricsAddr, callbackAddr := ports[0], ports[1]
	args := managerArgs(managerHelp(ctx, o.binary), o, metricsAddr, callbackAddr)
	logFile, err := os.Create(o.logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.binary, args...)
	cmd.Env = managerEnv(os.Environ(), o.memoryLimit)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	cmd.Stdout = logFile
	m := &managerProcess{
		cmd: cmd, metricsURL: "http://" + metricsAddr + "/metrics", logPath: o.logPath, logFile: logFile,
		workersStarted: make(chan struct{}), done: make(chan struct{}), clock: o.clock, controllers: o.controllers,
	}
	if len(m.controllers) == 0 {
		m.controllers = []string{tokenController}
	}
	m.started = m.clock.Now()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m.scanned.Add(1)
	go m.scanLog(stderr)
	go func() {
		m.scanned.Wait()
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	return m, nil
}

// managerEnv is environ for the manager: GOMEMLIMIT set to limit bytes, as
// a plain number (what a Pod's resourceFieldRef on limits.memory gives, of
// which the manager keeps 32 MiB for what Go does not count), or none when limit ≤ 0. environ's own
// GOMEMLIMIT is dropped either way, so the limit measured is the one the
// run reports.
func managerEnv(environ []string, limit int64) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			out = append(out, kv)
		}
	}
	if limit > 0 {
		out = append(out, "GOMEMLIMIT="+strconv.FormatInt(limit, 10))
	}
	return out
}

// scanLog copies the manager's log to its file and watches for the
// controllers starting their workers.
func (m *managerProcess) scanLog(r io.Reader) {
	defer m.scanned.Done()
	w := bufio.NewWriter(m.logFile)
	defer func() { _ = w.Flush() }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	waiting := slices.Clone(m.controllers)
	for sc.Scan() {
		line := sc.Text()
		_, _ = w.WriteString(line + "\n")
		if strings.Contains(line, "dropped event") {
			m.eventsDropped.Add(1)
		}
		if len(waiting) == 0 || !strings.Contains(line, "Starting workers") {
			continue
		}
		waiting = slices.DeleteFunc(waiting, func(name string) bool { return logsController(line, name) })
		if len(waiting) == 0 {
			close(m.workersStarted)
			_ = w.Flush()
		}
	}
	_, _ = io.Copy(w, r)
}

// logsController says whether a log line of controller-runtime's names the
// controller: "oktascopedtoken" is also part of "clusteroktascopedtoken".
func logsController(line, name string) bool {
	return strings.Contains(line, `"controller":"`+name+`"`) || strings.Contains(line, `"controller": "`+name+`"`)
}

// failure describes a manager that stopped on its own.
func (m *managerProcess) failure() error {
	select {
	case <-m.done:
		return fmt.Errorf("the manager exited (%v); its log: %s", m.waitErr, m.logPath)
	default:
		return nil
	}
}

// waitForWorkers waits until the controller's caches have synced.
func (m *managerProcess) waitForWorkers(ctx context.Context, timeout time.Duration) error {
	timer := m.clock.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-m.workersStarted:
		return nil
	case <-m.done:
		return m.failure()
	case <-timer.C():
		return fmt.Errorf("the manager did not start its workers within %s; its log: %s", timeout, m.logPath)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the manager (SIGTERM, then SIGKILL after ten seconds).
func (m *managerProcess) stop() {
	select {
	case <-m.done:
	default:
		_ = m.cmd.Process.Signal(os.Interrupt)
		select {
		case <-m.done:
		case <-m.clock.After(10 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.done
		}
	}
	_ = m.logFile.Close()
}

// managerMetrics is one scrape of the manager's own metrics, the
// process's controllers together.
type managerMetrics struct {
	reconciles    float64
	activeWorkers float64
	queueDepth    float64
	// tokenReconciles and clusterReconciles are the two controllers'
	// reconciles apart (0 for one the process does not follow).
	tokenReconciles, clusterReconciles float64
}

func (m *managerProcess) scrape(ctx context.Context) (managerMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.metricsURL, nil)
	if err != nil {
		return managerMetrics{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if f := m.failure(); f != nil {
			return managerMetrics{}, f
		}
		return managerMetrics{}, fmt.Errorf("scraping the manager's metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	families, err := parseMetrics(resp.Body)
	if err != nil {
		return managerMetrics{}, fmt.Errorf("parsing the manager's metrics: %w", err)
	}
	var out managerMetrics
	for _, name := range m.controllers {
		reconciles := sumOf(families, "controller_runtime_reconcile_total", map[string]string{labelController: name})
		switch name {
		case tokenController:
			out.tokenReconciles = reconciles
		case clusterController:
			out.clusterReconciles = reconciles
		}
		out.reconciles += reconciles
		out.activeWorkers += sumOf(families, "controller_runtime_active_workers", map[string]string{labelController: name})
		out.queueDepth += sumOf(families, "workqueue_depth", map[string]string{labelName: name})
	}
	return out, nil
}

// settle waits until the manager has nothing left to do: an empty work
// queue, no reconcile running and none finished for quiet. It returns the
// last scrape and whether the manager settled before timeout (a manager
// that never settles is reported, not fatal: its counts are still worth
// seeing).
func (m *managerProcess) settle(ctx context.Context, quiet, timeout time.Duration) (managerMetrics, bool, error) {
	deadline := m.clock.Now().Add(timeout)
	var last managerMetrics
	lastChange := m.clock.Now()
	for first := true; ; first = false {
		cur, err := m.scrape(ctx)
		if err != nil {
			return last, false, err
		}
		if first || cur.reconciles != last.reconciles || cur.activeWorkers != 0 || cur.queueDepth != 0 {
			lastChange = m.clock.Now()
		}
		last = cur
		if m.clock.Since(lastChange) >= quiet {
			return last, true, nil
		}
		if m.clock.Now().After(deadline) {
			return last, false, nil
		}
		if err := sleepCtx(ctx, m.clock, 200*time.Millisecond); err != nil {
			return last, false, err
		}
	}
}

// freePorts reserves n loopback addresses and releases them for the
// manager to bind.
func freePorts(n int) ([]string, error) {
	var out []string
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// sleepCtx waits d by clk, or until ctx is done.
func sleepCtx(ctx context.Context, clk clock.Clock, d time.Duration) error {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
