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

// Where the manager's own time goes: its CPU profile while the tokens are
// issued, read from its /debug/pprof (--pprof-bind-address). Go's CPU
// profile covers a window fixed when it is asked for, and the issuing takes
// as long as it takes, so the profile is taken in short pieces until the
// last token is Ready; `go tool pprof` merges the pieces it is given. And
// where its memory goes: its heap profile once a scenario has settled.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// PprofFlag is the manager's flag that serves /debug/pprof.
const PprofFlag = "pprof-bind-address"

// profilePiece is the length of one piece of the CPU profile.
const profilePiece = 2 * time.Second

// cpuProfiler saves a manager's CPU profile in pieces.
type cpuProfiler struct {
	addr   string // host:port of the manager's pprof server
	prefix string // path prefix of the pieces
	stop   chan struct{}
	done   chan struct{}
	// clock times the wait for the manager to start listening.
	clock  clock.Clock
	mu     sync.Mutex
	pieces int // saved so far
	err    error
}

// piecesSaved is how many pieces are saved so far.
func (p *cpuProfiler) piecesSaved() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pieces
}

// startCPUProfile saves the profile of the manager serving pprof at addr as
// prefix-000.pprof, prefix-001.pprof, … until stopped. The manager may
// still be starting: connection errors are retried for a while, by clk.
func startCPUProfile(ctx context.Context, clk clock.Clock, addr, prefix string) *cpuProfiler {
	p := &cpuProfiler{clock: clk, addr: addr, prefix: prefix, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(ctx)
	return p
}

func (p *cpuProfiler) run(ctx context.Context) {
	defer close(p.done)
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.addr, int(profilePiece/time.Second))
	startBy := p.clock.Now().Add(time.Minute)
	for {
		select {
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		err := p.piece(ctx, url)
		if err != nil && p.piecesSaved() == 0 && p.clock.Now().Before(startBy) {
			// Not listening yet.
			select {
			case <-p.clock.After(50 * time.Millisecond):
			case <-p.stop:
				return
			}
			continue
		}
		if err != nil {
			p.err = err
			return
		}
	}
}

// piece fetches one piece of the profile and saves it.
func (p *cpuProfiler) piece(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the manager's CPU profile: %s: %s", resp.Status, msg)
	}
	f, err := os.Create(fmt.Sprintf("%s-%03d.pprof", p.prefix, p.piecesSaved()))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	p.mu.Lock()
	p.pieces++
	p.mu.Unlock()
	return nil
}

// finish waits for the piece being taken and returns the glob that names
// every piece, for `go tool pprof`.
func (p *cpuProfiler) finish() (string, error) {
	close(p.stop)
	<-p.done
	if p.err == nil && p.pieces == 0 {
		p.err = fmt.Errorf("no CPU profile from the manager at %s", p.addr)
	}
	return filepath.Clean(p.prefix) + "-*.pprof", p.err
}

// saveHeapProfile saves the heap profile of the manager serving pprof at
// addr as cfg.HeapProfileDir/name-heap.pprof, after a garbage collection
// (gc=1), so that its in-use figures are what the manager holds; nothing
// when the run asks for no heap profile.
func saveHeapProfile(ctx context.Context, cfg *Config, addr, name string) error {
	if cfg.HeapProfileDir == "" || addr == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the manager's heap profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the manager's heap profile: %s: %s", resp.Status, msg)
	}
	path := filepath.Join(cfg.HeapProfileDir, name+"-heap.pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cfg.progress("%s: the manager's heap once settled: go tool pprof -sample_index=inuse_space -top %s", name, path)
	return nil
}
