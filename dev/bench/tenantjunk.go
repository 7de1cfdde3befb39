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

// The tenant-junk scenario: the manager's memory beside what a namespace
// user can make big, while N ordinary tokens are served. Anyone may label
// a Secret app.kubernetes.io/managed-by=okta-token-operator, the label the
// manager's Secret cache selects by, and anyone who may create an
// OktaScopedToken may make it as big as the CRD's caps allow. The
// manager's caches must not pay for the first (internal/operator/caches.go
// keeps a Secret whole only when the operator wrote it) and pay for the
// second only what the caps bound. The manager runs under the run's
// GOMEMLIMIT, the 128 MiB limit of its Deployment by default, and its
// memory is read three times: started among the junk Secrets with the N
// tokens applied, once the big resources are served as well, and after a
// restart among all of it, which lists everything again at once.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// The scenario's tenant junk.
const (
	// tenantJunkSecrets Secrets of corev1.MaxSecretSize bytes each.
	tenantJunkSecrets = 40
	// tenantBigTokens resources at the CRD's caps.
	tenantBigTokens = 30
)

// TenantJunkResult is the manager's memory beside the tenant junk.
type TenantJunkResult struct {
	// Tokens are the ordinary tokens served beside the junk.
	Tokens int
	// JunkSecrets and BigTokens count the junk; JunkSecretBytes is each
	// junk Secret's data, BigTokenBytes one big resource's JSON as
	// applied, BigSecretDataBytes the templated data of one of their token
	// Secrets.
	JunkSecrets, BigTokens                             int
	JunkSecretBytes, BigTokenBytes, BigSecretDataBytes int
	// BigReady counts the big resources that were Ready.
	BigReady int
	// Phases are the three readings, in order.
	Phases []JunkPhase
	// MemoryLimit is the manager's GOMEMLIMIT, 0 for none.
	MemoryLimit int64
}

// JunkPhase is one reading of the manager's memory.
type JunkPhase struct {
	Name string
	// PeakRSS is the process's VmHWM so far, SettledRSS its VmRSS once the
	// manager settled, SettledAnon the anonymous part of that (RssAnon:
	// not the binary's pages), in bytes.
	PeakRSS, SettledRSS, SettledAnon uint64
	// Ready counts the ordinary tokens Ready=True at the reading.
	Ready int
	// Settled is false when the manager kept reconciling past the wait.
	Settled bool
}

// PeakRSS is the highest peak of the phases.
func (r *TenantJunkResult) PeakRSS() uint64 {
	var peak uint64
	for _, p := range r.Phases {
		peak = max(peak, p.PeakRSS)
	}
	return peak
}

// The phases' names.
const (
	junkPhaseStarted   = "started among the junk Secrets, N tokens applied"
	junkPhaseServed    = "the big resources served too"
	junkPhaseRestarted = "restarted among all of it"
)

// runTenantJunk runs the scenario on a control plane of its own.
func runTenantJunk(ctx context.Context, cfg *Config, binary string) (*TenantJunkResult, error) {
	dir := filepath.Join(cfg.WorkDir, string(ScenarioTenantJunk))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env, c, stop, err := controlPlane(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	orgs, shares, err := startOrgs(cfg.Clock, cfg.Orgs)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, o := range orgs {
			o.close()
		}
	}()
	ordinary := planNamespaces("bench", cfg.N, orgs, shares)
	tenant := planNamespaces("tenant", tenantBigTokens, orgs[:1], []int{1})
	// One more token, given to the restarted manager: it proves that
	// manager serves, rather than finding everything done already.
	later := planNamespaces("later", 1, orgs[:1], []int{1})
	if err := prepareNamespaces(ctx, c, append(append(append([]fleetNamespace{}, ordinary...), tenant...), later...)); err != nil {
		return nil, err
	}
	big := serviceTokens(tenant)
	owners := make([]string, 0, len(big))
	for _, t := range big {
		owners = append(owners, t.Name)
	}
	junk, err := junkSecrets(tenant[0].name, tenantJunkSecrets, owners)
	if err != nil {
		return nil, err
	}
	res := &TenantJunkResult{JunkSecrets: len(junk), BigTokens: len(big), MemoryLimit: max(cfg.MemoryLimit, 0),
		JunkSecretBytes: corev1.MaxSecretSize}
	cfg.progress("%s: creating %d Secrets of %s labelled %s=%s", ScenarioTenantJunk, len(junk), mib(corev1.MaxSecretSize),
		v1.LabelManagedBy, v1.ManagedByValue)
	if _, err := createAll(ctx, cfg.Clock, c, junk); err != nil {
		return nil, err
	}
	tokens := serviceTokens(ordinary)
	res.Tokens = len(tokens)
	watch, err := watchReady(ctx, cfg.Clock, env.Config, ordinary)
	if err != nil {
		return nil, err
	}
	defer watch.stop()
	if _, err := createAll(ctx, cfg.Clock, c, tokens); err != nil {
		return nil, err
	}

	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		return nil, err
	}
	opts := managerOptions{binary: binary, kubeconfig: kubeconfig, logPath: filepath.Join(dir, "manager.log"),
		stateNamespace: stateNamespace,
		extraArgs:      append([]string{fmt.Sprintf("--%s=%d", RateLimitFlag, unpacedPerMinute)}, cfg.ManagerArgs...),
		memoryLimit:    cfg.MemoryLimit, clock: cfg.Clock}
	pprofAddr, err := servePprof(ctx, cfg, binary, &opts)
	if err != nil {
		return nil, err
	}
	m, err := startManager(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { m.stop() }()
	cfg.progress("%s: manager started among them with %d tokens applied", ScenarioTenantJunk, len(tokens))
	if _, err := watch.wait(ctx, cfg.readyTimeout(), m.failure); err != nil {
		return nil, fmt.Errorf("waiting for %d tokens to be Ready: %w; the manager's log: %s", len(tokens), err, m.logPath)
	}
	phase, err := readPhase(ctx, cfg, m, junkPhaseStarted, watch)
	if err != nil {
		return nil, err
	}
	res.Phases = append(res.Phases, phase)

	// The big resources' templates repeat the access token: how long the
	// org's tokens are decides how big their token Secrets get.
	accessTokenLen, err := accessTokenLength(ctx, c, tokens[0])
	if err != nil {
		return nil, err
	}
	for i, t := range big {
		bigToken(t, i, accessTokenLen)
	}
	res.BigTokenBytes, res.BigSecretDataBytes = jsonSize(big[0]), renderedDataBytes(big[0], accessTokenLen)
	bigWatch, err := watchReady(ctx, cfg.Clock, env.Config, tenant)
	if err != nil {
		return nil, err
	}
	defer bigWatch.stop()
	cfg.progress("%s: creating %d resources of %s each at the CRD's caps", ScenarioTenantJunk, len(big),
		kib(res.BigTokenBytes))
	if _, err := createAll(ctx, cfg.Clock, c, big); err != nil {
		return nil, fmt.Errorf("creating the big resources: %w", err)
	}
	// Not Ready is a figure, not a failure: the junk's own fate is not
	// what this scenario is about.
	if _, err := bigWatch.wait(ctx, cfg.readyTimeout(), m.failure); err != nil {
		cfg.progress("%s: not all big resources became Ready: %v", ScenarioTenantJunk, err)
	}
	res.BigReady = bigWatch.readyCount()
	if phase, err = readPhase(ctx, cfg, m, junkPhaseServed, watch); err != nil {
		return nil, err
	}
	res.Phases = append(res.Phases, phase)
	if err := saveHeapProfile(ctx, cfg, pprofAddr, string(ScenarioTenantJunk)+"-served"); err != nil {
		return nil, err
	}

	m.stop()
	opts.logPath = filepath.Join(dir, "manager-restarted.log")
	if m, err = startManager(ctx, opts); err != nil {
		return nil, err
	}
	if err := m.waitForWorkers(ctx, cfg.readyTimeout()); err != nil {
		return nil, err
	}
	laterWatch, err := watchReady(ctx, cfg.Clock, env.Config, later)
	if err != nil {
		return nil, err
	}
	defer laterWatch.stop()
	cfg.progress("%s: manager restarted; one more token", ScenarioTenantJunk)
	if _, err := createAll(ctx, cfg.Clock, c, serviceTokens(later)); err != nil {
		return nil, err
	}
	if _, err := laterWatch.wait(ctx, cfg.readyTimeout(), m.failure); err != nil {
		return nil, fmt.Errorf("the restarted manager did not serve a new token: %w; its log: %s", err, m.logPath)
	}
	if phase, err = readPhase(ctx, cfg, m, junkPhaseRestarted, watch); err != nil {
		return nil, err
	}
	res.Phases = append(res.Phases, phase)
	if err := saveHeapProfile(ctx, cfg, pprofAddr, string(ScenarioTenantJunk)+"-restarted"); err != nil {
		return nil, err
	}
	return res, nil
}

// readPhase waits for the manager to settle and reads its memory and how
// many of watch's tokens are Ready.
func readPhase(ctx context.Context, cfg *Config, m *managerProcess, name string, watch *readyWatch) (JunkPhase, error) {
	_, settled, err := m.settle(ctx, 2*time.Second, time.Minute)
	if err != nil {
		return JunkPhase{}, err
	}
	mem, err := settledMemory(ctx, cfg.Clock, m.cmd.Process.Pid, 30*time.Second)
	if err != nil {
		return JunkPhase{}, err
	}
	p := JunkPhase{Name: name, PeakRSS: mem.hwm, SettledRSS: mem.rss, SettledAnon: mem.anon, Ready: watch.readyCount(),
		Settled: settled}
	cfg.progress("%s: %s: RSS %s peak, %s settled (%s anonymous); %d of %d tokens Ready", ScenarioTenantJunk, name,
		mib(p.PeakRSS), mib(p.SettledRSS), mib(p.SettledAnon), p.Ready, watch.want)
	return p, nil
}

// accessTokenLength is the length of the access token in t's token Secret.
func accessTokenLength(ctx context.Context, c client.Client, t *v1.OktaScopedToken) (int, error) {
	token, err := accessTokenOf(ctx, c, t)
	return len(token), err
}

// accessTokenOf is the access token in t's token Secret.
func accessTokenOf(ctx context.Context, c client.Client, t *v1.OktaScopedToken) (string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: t.TokenSecretName()}, &s); err != nil {
		return "", fmt.Errorf("reading a token Secret: %w", err)
	}
	token := string(s.Data[v1.TokenSecretAccessToken])
	if token == "" {
		return "", fmt.Errorf("the token Secret %s/%s holds no access token", s.Namespace, s.Name)
	}
	return token, nil
}

// jsonSize is the length of obj in JSON, as the benchmark sends it.
func jsonSize(obj client.Object) int {
	raw, err := json.Marshal(obj)
	if err != nil {
		return 0
	}
	return len(raw)
}

// kib formats bytes as KiB.
func kib(b int) string { return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10)) }
