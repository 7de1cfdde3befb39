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

// The cluster-fanout scenario: one ClusterOktaScopedToken selecting N
// namespaces by label, served by a manager in cluster mode (started
// without --watch-namespaces, which is what serves the kind). It measures
// what a user of the kind would look at: the time until every namespace
// holds its copy, from the create; that the whole fan-out took one token
// request; the writes to Secrets in the selected namespaces per copy,
// counted by the proxy in front of the API server (apiproxy.go), since the
// API server's own counter cannot tell a copy from the source's Secret;
// and the manager's memory. Then the same for a rotation requested by the
// renew-requested-at annotation, and then a pass over every copy with
// nothing changed, which must write nothing.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// The scenario's names.
const (
	fanoutClusterToken = "okta-logs"
	fanoutCopyName     = "okta-logs-token"
	fanoutClientID     = "0oaclusterfanout"
	// fanoutLabel=true is what the cluster token selects namespaces by.
	fanoutLabel = "okta-logs"
	// fanoutPokeLabel, set on a selected namespace, brings a pass over
	// every copy with nothing changed.
	fanoutPokeLabel = "bench.oktatoken.dev/poke"
	// fanoutRotation is the renew-requested-at value that rotates.
	fanoutRotation = "bench-rotation-1"
	// sourcePrefix begins the name of a cluster token's source
	// OktaScopedToken, in the credentials namespace.
	sourcePrefix = "cluster-"
)

// fanoutRun is what the scenario's phases share.
type fanoutRun struct {
	cfg     *Config
	c       client.Client
	hc      *http.Client
	host    string
	counter *requestCounter
	proxy   *apiProxy
	org     *org
	m       *managerProcess
	copies  *copyWatch
	targets map[string]bool
}

// fanoutWindow is what a phase's figures are counted from.
type fanoutWindow struct {
	api     apiServerCounters
	bench   RequestCounts
	proxied NamespacedCounts
	tokens  TokenRequests
	cpu     CPUTimes
	cpus    cpuSampler
	metrics managerMetrics
	changes int
}

// runClusterFanout runs the scenario on a control plane of its own.
func runClusterFanout(ctx context.Context, cfg *Config, binary string) (*ClusterFanoutResult, error) {
	dir := filepath.Join(cfg.WorkDir, string(ScenarioClusterFanout))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.Stop() }()
	run := &fanoutRun{cfg: cfg, counter: newRequestCounter(), targets: map[string]bool{}}
	benchCfg := countedConfig(env.Config, run.counter)
	run.host = benchCfg.Host
	if run.c, err = client.New(benchCfg, client.Options{Scheme: scheme.Scheme}); err != nil {
		return nil, err
	}
	if run.hc, err = rest.HTTPClientFor(benchCfg); err != nil {
		return nil, err
	}
	if run.org, err = startOrg(cfg.Clock, cfg.Orgs[0], ""); err != nil {
		return nil, err
	}
	defer run.org.close()
	targets, err := run.prepare(ctx)
	if err != nil {
		return nil, err
	}
	if run.copies, err = watchCopies(ctx, cfg.Clock, benchCfg, fanoutCopyName, targets); err != nil {
		return nil, err
	}
	defer run.copies.stop()
	if run.proxy, err = startAPIProxy(env.Config); err != nil {
		return nil, err
	}
	defer run.proxy.close()
	kubeconfig, err := run.proxy.kubeconfig(dir)
	if err != nil {
		return nil, err
	}
	opts := managerOptions{binary: binary, kubeconfig: kubeconfig, logPath: filepath.Join(dir, "manager.log"),
		stateNamespace: stateNamespace,
		extraArgs:      append([]string{fmt.Sprintf("--%s=%d", RateLimitFlag, unpacedPerMinute)}, cfg.ManagerArgs...),
		memoryLimit:    cfg.MemoryLimit, clock: cfg.Clock, controllers: []string{tokenController, clusterController}}
	pprofAddr, err := servePprof(ctx, cfg, binary, &opts)
	if err != nil {
		return nil, err
	}
	if run.m, err = startManager(ctx, opts); err != nil {
		return nil, err
	}
	defer run.m.stop()
	if err := run.m.waitForWorkers(ctx, 2*time.Minute); err != nil {
		return nil, err
	}
	if _, _, err := run.m.settle(ctx, time.Second, time.Minute); err != nil {
		return nil, err
	}
	res := &ClusterFanoutResult{Namespaces: len(targets)}

	cfg.progress("%s: manager running in cluster mode; one ClusterOktaScopedToken for %d namespaces", ScenarioClusterFanout,
		len(targets))
	if res.Created, err = run.phase(ctx, fanoutPhaseCreated, "", func() error {
		return run.c.Create(ctx, fanoutToken(run.org.issuer()))
	}); err != nil {
		return nil, err
	}
	first, err := run.currentToken(ctx)
	if err != nil {
		return nil, err
	}
	if err := saveHeapProfile(ctx, cfg, pprofAddr, string(ScenarioClusterFanout)); err != nil {
		return nil, err
	}
	if res.Rotated, err = run.phase(ctx, fanoutPhaseRotated, first, func() error {
		return run.annotate(ctx)
	}); err != nil {
		return nil, err
	}
	if _, err := run.currentToken(ctx); err != nil {
		return nil, err
	}
	res.Unchanged, err = run.unchangedPass(ctx, targets[0])
	return res, err
}

// prepare registers the service app, stores its key in the credentials
// namespace (the operator's, the default) and makes the selected
// namespaces; it returns their names.
func (run *fanoutRun) prepare(ctx context.Context) ([]string, error) {
	keyPEM, key, err := serviceKeyPEM()
	if err != nil {
		return nil, err
	}
	if err := run.org.addServiceApp(fanoutClientID, key, false); err != nil {
		return nil, err
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: keySecretName, Namespace: stateNamespace},
			Data: map[string][]byte{keySecretKey: keyPEM}},
	}
	for _, o := range objs {
		if err := run.c.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("creating %s: %w", client.ObjectKeyFromObject(o), err)
		}
	}
	n := run.cfg.ClusterNamespaces
	namespaces := make([]*corev1.Namespace, 0, n)
	names := make([]string, 0, n)
	for i := range n {
		name := fmt.Sprintf("fanout-%04d", i)
		names = append(names, name)
		run.targets[name] = true
		namespaces = append(namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{fanoutLabel: "true"}}})
	}
	run.cfg.progress("%s: creating %d namespaces labelled %s=true", ScenarioClusterFanout, n, fanoutLabel)
	if _, err := createAll(ctx, run.cfg.Clock, run.c, namespaces); err != nil {
		return nil, err
	}
	return names, nil
}

// fanoutToken is the cluster token: a ClientCredentials token of a
// private_key_jwt service app, its key in the operator's namespace, into
// every namespace labelled okta-logs=true.
func fanoutToken(issuer string) *v1.ClusterOktaScopedToken {
	return &v1.ClusterOktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: fanoutClusterToken},
		Spec: v1.ClusterOktaScopedTokenSpec{
			Token: v1.OktaScopedTokenSpec{
				OktaDomain: issuer,
				ClientID:   fanoutClientID,
				GrantType:  v1.GrantClientCredentials,
				PrivateKeyRef: &v1.PrivateKeyReference{
					SecretKeyReference: v1.SecretKeyReference{Name: keySecretName, Key: keySecretKey},
				},
				Scopes: []string{serviceScope},
			},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{fanoutLabel: "true"}},
			SecretName:        fanoutCopyName,
		},
	}
}

// annotate requests a rotation the way a person would: the
// renew-requested-at annotation on the cluster token.
func (run *fanoutRun) annotate(ctx context.Context) error {
	cur := &v1.ClusterOktaScopedToken{}
	if err := run.c.Get(ctx, client.ObjectKey{Name: fanoutClusterToken}, cur); err != nil {
		return err
	}
	patch := client.MergeFrom(cur.DeepCopy())
	metav1.SetMetaDataAnnotation(&cur.ObjectMeta, v1.AnnotationRenewRequestedAt, fanoutRotation)
	return run.c.Patch(ctx, cur, patch)
}

// phase opens a window, acts, waits until every copy holds a token other
// than old ("": any token), lets the manager settle and closes the window.
func (run *fanoutRun) phase(ctx context.Context, name, old string, act func() error) (FanoutPhase, error) {
	run.copies.expect(old)
	w, err := run.open(ctx)
	if err != nil {
		return FanoutPhase{}, err
	}
	start := run.cfg.Clock.Now()
	if err := act(); err != nil {
		return FanoutPhase{}, fmt.Errorf("%s: %w", name, err)
	}
	done, err := run.copies.wait(ctx, run.cfg.readyTimeout(), run.m.failure)
	if err != nil {
		return FanoutPhase{}, fmt.Errorf("%s: waiting for every copy: %w; the manager's log: %s", name, err, run.m.logPath)
	}
	elapsed := done.Sub(start)
	run.cfg.progress("%s: %s: every copy after %.1fs; waiting for the manager to settle", ScenarioClusterFanout, name,
		elapsed.Seconds())
	p, err := run.close(ctx, name, w)
	p.Elapsed = elapsed
	return p, err
}

// unchangedPass labels a selected namespace, which brings a pass over
// every copy and changes nothing the copies are made of, and proves that
// the pass ran before it counts what it wrote.
func (run *fanoutRun) unchangedPass(ctx context.Context, namespace string) (FanoutPhase, error) {
	w, err := run.open(ctx)
	if err != nil {
		return FanoutPhase{}, err
	}
	ns := &corev1.Namespace{}
	if err := run.c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return FanoutPhase{}, err
	}
	patch := client.MergeFrom(ns.DeepCopy())
	metav1.SetMetaDataLabel(&ns.ObjectMeta, fanoutPokeLabel, "1")
	if err := run.c.Patch(ctx, ns, patch); err != nil {
		return FanoutPhase{}, err
	}
	before := w.metrics.clusterReconciles
	deadline := run.cfg.Clock.Now().Add(time.Minute)
	for {
		cur, err := run.m.scrape(ctx)
		if err != nil {
			return FanoutPhase{}, err
		}
		if cur.clusterReconciles > before {
			break
		}
		if run.cfg.Clock.Now().After(deadline) {
			return FanoutPhase{}, fmt.Errorf("%s: no pass of the cluster token within a minute of a namespace's "+
				"label change, so its writes would prove nothing; the manager's log: %s", fanoutPhaseUnchanged, run.m.logPath)
		}
		if err := sleepCtx(ctx, run.cfg.Clock, 100*time.Millisecond); err != nil {
			return FanoutPhase{}, err
		}
	}
	return run.close(ctx, fanoutPhaseUnchanged, w)
}

// open scrapes every counter a phase is measured by.
func (run *fanoutRun) open(ctx context.Context) (fanoutWindow, error) {
	var w fanoutWindow
	var err error
	if w.metrics, err = run.m.scrape(ctx); err != nil {
		return w, err
	}
	if w.api, err = scrapeAPIServer(ctx, run.hc, run.host); err != nil {
		return w, err
	}
	w.bench, w.proxied, w.tokens = run.counter.snapshot(), run.proxy.snapshot(), run.org.tokens.snapshot()
	w.cpus = newCPUSampler(run.m.cmd.Process.Pid)
	w.cpu = w.cpus.sample()
	_, w.changes, _ = run.copies.state()
	return w, nil
}

// close lets the manager settle and reads the phase's figures.
func (run *fanoutRun) close(ctx context.Context, name string, w fanoutWindow) (FanoutPhase, error) {
	final, settled, err := run.m.settle(ctx, 2*time.Second, time.Minute)
	if err != nil {
		return FanoutPhase{}, err
	}
	p := FanoutPhase{Name: name, Settled: settled,
		ClusterReconciles: final.clusterReconciles - w.metrics.clusterReconciles,
		TokenReconciles:   final.tokenReconciles - w.metrics.tokenReconciles,
		TokenRequests:     run.org.tokens.snapshot().Sub(w.tokens),
		CPU:               w.cpus.sample().Sub(w.cpu)}
	apiAfter, err := scrapeAPIServer(ctx, run.hc, run.host)
	if err != nil {
		return p, err
	}
	p.Requests = managerRequests(w.api, apiAfter, run.counter.since(w.bench))
	proxied := run.proxy.since(w.proxied)
	p.CopyRequests = proxied.In(func(ns string) bool { return run.targets[ns] })
	p.CredentialsRequests = proxied.In(func(ns string) bool { return ns == stateNamespace })
	p.ClusterRequests = proxied.In(func(ns string) bool { return ns == "" })
	p.ProxiedSecretWrites = proxied.In(func(string) bool { return true }).Sum(secretWrite)
	var changes int
	_, changes, p.Strays = run.copies.state()
	p.CopyChanges = changes - w.changes
	cur := &v1.ClusterOktaScopedToken{}
	if err := run.c.Get(ctx, client.ObjectKey{Name: fanoutClusterToken}, cur); err != nil {
		return p, err
	}
	p.Targets, p.Served = int(cur.Status.Targets), int(cur.Status.Served)
	if c := meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionDistributed); c != nil {
		p.Distributed = c.Reason
	}
	mem, err := settledMemory(ctx, run.cfg.Clock, run.m.cmd.Process.Pid, 30*time.Second)
	if err != nil {
		return p, err
	}
	p.PeakRSS, p.SettledRSS, p.SettledAnon = mem.hwm, mem.rss, mem.anon
	run.cfg.progress("%s: %s: %.2f writes per copy, %d token requests, RSS %s peak / %s settled", ScenarioClusterFanout, name,
		p.WritesPerCopy(len(run.targets)), p.TokenRequests.Total, mib(p.PeakRSS), mib(p.SettledRSS))
	return p, nil
}

// currentToken checks that every copy holds one token, the one in the
// source's token Secret, and returns it.
func (run *fanoutRun) currentToken(ctx context.Context) (string, error) {
	tokens, _, strays := run.copies.state()
	if len(strays) > 0 {
		return "", fmt.Errorf("copies outside the selected namespaces: %v", strays)
	}
	if len(tokens) != 1 {
		return "", fmt.Errorf("the copies hold %d different tokens, want one", len(tokens))
	}
	src := &v1.OktaScopedToken{}
	if err := run.c.Get(ctx, client.ObjectKey{Namespace: stateNamespace, Name: sourcePrefix + fanoutClusterToken}, src); err != nil {
		return "", fmt.Errorf("reading the source OktaScopedToken: %w", err)
	}
	token, err := accessTokenOf(ctx, run.c, src)
	if err != nil {
		return "", err
	}
	if tokens[token] != len(run.targets) {
		return "", errors.New("the copies do not hold the token of the source's token Secret")
	}
	return token, nil
}

// secretWrite says whether a request wrote a Secret.
func secretWrite(k RequestKey) bool { return k.Write() && k.Resource == "secrets" && k.Group == "" }
