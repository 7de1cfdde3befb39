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

// Where the time goes, coarsely: the CPU time each process of the run used
// while the tokens were being issued. The control plane's processes are
// children of this one (envtest starts them), so they are found by parent
// PID; the benchmark's own figure includes the in-process dev server.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// CPUTimes are the CPU seconds (user + system) each process used.
type CPUTimes struct {
	Manager, APIServer, Etcd, Benchmark time.Duration
}

// cpuSampler reads the CPU time of the manager, the control plane and this
// process.
type cpuSampler struct {
	manager, apiServer, etcd int
}

// newCPUSampler finds the control plane among this process's children.
func newCPUSampler(managerPID int) cpuSampler {
	s := cpuSampler{manager: managerPID}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, ppid, _, err := procStat(pid)
		if err != nil || ppid != self {
			continue
		}
		switch comm {
		case "kube-apiserver":
			s.apiServer = pid
		case "etcd":
			s.etcd = pid
		}
	}
	return s
}

func (s cpuSampler) sample() CPUTimes {
	cpu := func(pid int) time.Duration {
		if pid == 0 {
			return 0
		}
		_, _, t, err := procStat(pid)
		if err != nil {
			return 0
		}
		return t
	}
	return CPUTimes{Manager: cpu(s.manager), APIServer: cpu(s.apiServer), Etcd: cpu(s.etcd), Benchmark: cpu(os.Getpid())}
}

// Sub is the CPU used between two samples.
func (c CPUTimes) Sub(earlier CPUTimes) CPUTimes {
	return CPUTimes{Manager: c.Manager - earlier.Manager, APIServer: c.APIServer - earlier.APIServer,
		Etcd: c.Etcd - earlier.Etcd, Benchmark: c.Benchmark - earlier.Benchmark}
}

// procStat reads a process's command name, parent and CPU time (utime +
// stime) from /proc/<pid>/stat.
func procStat(pid int) (comm string, ppid int, cpu time.Duration, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, 0, err
	}
	// The command name is in parentheses and may itself hold spaces and
	// parentheses: the fields after it start after the last ')'.
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	comm = s[open+1 : end]
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return "", 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return comm, ppid, time.Duration(utime+stime) * time.Second / clockTicks, nil
}
