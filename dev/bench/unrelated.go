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

// The memory scenario: a cluster full of Secrets the operator has nothing
// to do with, and no OktaScopedToken at all. Each Secret carries what
// `kubectl apply` leaves on it, a 2 KB last-applied-configuration
// annotation (which holds the Secret's data in plain text), so a cache that
// keeps annotations pays for every one of them.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

const (
	lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
	// lastAppliedSize is the annotation's size, in bytes.
	lastAppliedSize = 2048
	// secretsPerNamespace spreads the unrelated Secrets as applications
	// would.
	secretsPerNamespace = 1000
)

// UnrelatedResult is the manager's memory with Secrets that are not its.
type UnrelatedResult struct {
	Secrets int
	// InitialSync runs from the manager's start to its controller's
	// "Starting workers".
	InitialSync time.Duration
	// PeakRSS is VmHWM, SettledRSS VmRSS once it stopped moving, in bytes.
	PeakRSS, SettledRSS uint64
}

// runUnrelated starts the manager in a cluster of n unrelated Secrets.
//
// The manager has finished its initial sync when its OktaScopedToken
// controller logs "Starting workers": controller-runtime logs it only after
// every source of the controller, the Secret watches included, has listed
// and cached what it watches. Its RSS keeps moving for a moment after (the
// list's garbage being collected and returned), so the settled figure is
// read once VmRSS has stayed within 1 MiB for three seconds.
func runUnrelated(ctx context.Context, cfg *Config, binary string) (*UnrelatedResult, error) {
	dir := filepath.Join(cfg.WorkDir, "unrelated")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env, c, stop, err := controlPlane(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	secrets, err := unrelatedSecrets(cfg.Unrelated)
	if err != nil {
		return nil, err
	}
	for ns := range namespacesOf(secrets) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, err
		}
	}
	cfg.progress("unrelated: creating %d Secrets with a %d-byte last-applied annotation", len(secrets), lastAppliedSize)
	if _, err := createAll(ctx, cfg.Clock, c, secrets); err != nil {
		return nil, err
	}
	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := startManager(ctx, managerOptions{binary: binary, kubeconfig: kubeconfig,
		logPath: filepath.Join(dir, "manager.log"), stateNamespace: stateNamespace, extraArgs: cfg.ManagerArgs,
		memoryLimit: cfg.MemoryLimit, clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	defer m.stop()
	if err := m.waitForWorkers(ctx, cfg.readyTimeout()); err != nil {
		return nil, err
	}
	res := &UnrelatedResult{Secrets: len(secrets), InitialSync: cfg.Clock.Since(m.started)}
	mem, err := settledMemory(ctx, cfg.Clock, m.cmd.Process.Pid, time.Minute)
	if err != nil {
		return nil, err
	}
	res.PeakRSS, res.SettledRSS = mem.hwm, mem.rss
	cfg.progress("unrelated: initial sync after %.1fs, RSS %s peak, %s settled", res.InitialSync.Seconds(),
		mib(res.PeakRSS), mib(res.SettledRSS))
	return res, nil
}

// unrelatedSecrets are n Secrets as `kubectl apply` leaves them: the
// annotation holds the applied manifest, data included, in about
// lastAppliedSize bytes.
func unrelatedSecrets(n int) ([]*corev1.Secret, error) {
	var out []*corev1.Secret
	for i := range n {
		ns := fmt.Sprintf("app-%d", i/secretsPerNamespace)
		name := fmt.Sprintf("app-secret-%05d", i)
		manifest := func(data []byte) ([]byte, error) {
			return json.Marshal(map[string]any{
				"apiVersion": "v1", "kind": "Secret",
				"metadata": map[string]any{"name": name, "namespace": ns},
				"data":     map[string]string{"password": base64.StdEncoding.EncodeToString(data)},
			})
		}
		empty, err := manifest(nil)
		if err != nil {
			return nil, err
		}
		// Random data, so no two annotations are alike; base64 makes four
		// bytes of three.
		data := make([]byte, (lastAppliedSize-len(empty))*3/4)
		if _, err := rand.Read(data); err != nil {
			return nil, err
		}
		applied, err := manifest(data)
		if err != nil {
			return nil, err
		}
		out = append(out, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
				Annotations: map[string]string{lastAppliedAnnotation: string(applied)}},
			Data: map[string][]byte{"password": data},
		})
	}
	return out, nil
}

func namespacesOf(secrets []*corev1.Secret) map[string]bool {
	out := map[string]bool{}
	for _, s := range secrets {
		out[s.Namespace] = true
	}
	return out
}

// controlPlane starts a control plane of a scenario's own, with a client
// and the operator's namespace; stop stops it.
func controlPlane(ctx context.Context) (env *testenv.Env, c client.Client, stop func(), err error) {
	env, err = testenv.Start()
	if err != nil {
		return nil, nil, nil, err
	}
	stop = func() { _ = env.Stop() }
	c, err = client.New(env.Config, client.Options{Scheme: scheme.Scheme})
	if err == nil {
		err = c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}})
	}
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return env, c, stop, nil
}
