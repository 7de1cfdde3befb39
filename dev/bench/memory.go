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

// The manager's memory, read from /proc the way a node's kubelet sees a
// container's: resident pages, their peak, and the anonymous part that
// cannot be reclaimed under a cgroup's limit.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/utils/clock"
)

// Memory of a process, from /proc/<pid>/status.
type memory struct {
	// rss is VmRSS, hwm VmHWM (the peak RSS), anon RssAnon (the part of
	// rss that is not the binary's or another file's pages: the heap,
	// what the Go runtime has not yet given back, the stacks), in bytes.
	rss, hwm, anon uint64
}

func processMemory(pid int) (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("reading the manager's memory: %w", err)
	}
	var out memory
	for line := range strings.SplitSeq(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			out.rss = kb * 1024
		case "VmHWM":
			out.hwm = kb * 1024
		case "RssAnon":
			out.anon = kb * 1024
		}
	}
	if out.rss == 0 {
		return memory{}, errors.New("no VmRSS in /proc/<pid>/status")
	}
	return out, nil
}

// settledMemory waits until the process's RSS has moved by less than 1 MiB
// for three seconds (the Go runtime keeps returning memory for a while
// after the work stops), or for at most timeout, and returns it then. clk
// times the wait.
func settledMemory(ctx context.Context, clk clock.Clock, pid int, timeout time.Duration) (memory, error) {
	const band = 1 << 20
	deadline := clk.Now().Add(timeout)
	ref, err := processMemory(pid)
	if err != nil {
		return memory{}, err
	}
	since := clk.Now()
	for {
		if err := sleepCtx(ctx, clk, 500*time.Millisecond); err != nil {
			return ref, err
		}
		cur, err := processMemory(pid)
		if err != nil {
			return ref, err
		}
		if diff := int64(cur.rss) - int64(ref.rss); diff > band || diff < -band {
			ref, since = cur, clk.Now()
			continue
		}
		if clk.Since(since) >= 3*time.Second || clk.Now().After(deadline) {
			return cur, nil
		}
	}
}
