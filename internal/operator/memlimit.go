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

package operator

import (
	"os"
	"runtime/debug"
	"strconv"
)

// memoryReserve is what applyMemoryLimit leaves of the container's memory
// limit for the pages the Go runtime does not count but the container's
// limit does: the binary's own resident pages (26 MiB of the 55 MB manager
// at 10,000 tokens, make bench) and the kernel's for the process. With 90%
// of a 128 MiB limit for Go, the binary's pages did not fit in the 10% left
// (RSS settled at 134 MiB).
const memoryReserve = 32 << 20

// applyMemoryLimit lowers Go's soft memory limit when GOMEMLIMIT is a plain
// number of bytes, the form a Pod's resourceFieldRef on limits.memory
// gives (the chart and config/manager set it so): the runtime has already
// taken it as the limit, all of it. It leaves memoryReserve, and never less
// than a tenth of the limit nor more than half. A GOMEMLIMIT with a unit
// (128MiB) was written by hand and is left as it is. It returns the limit
// in force.
func applyMemoryLimit() int64 {
	bytes, err := strconv.ParseInt(os.Getenv("GOMEMLIMIT"), 10, 64)
	if err != nil || bytes <= 0 {
		return debug.SetMemoryLimit(-1)
	}
	limit := bytes - max(bytes/10, min(memoryReserve, bytes/2))
	debug.SetMemoryLimit(limit)
	return limit
}
