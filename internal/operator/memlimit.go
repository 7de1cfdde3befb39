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

// memoryLimitShare is the share of the container's memory limit Go's soft
// limit is set to: the rest is memory the Go runtime does not count (the
// binary's pages, the kernel's for the process).
const memoryLimitShare = 0.9

// applyMemoryLimit lowers Go's soft memory limit to 90% of GOMEMLIMIT when
// GOMEMLIMIT is a plain number of bytes, the form a Pod's resourceFieldRef
// on limits.memory gives (the chart and config/manager set it so): the
// runtime has already taken it as the limit, all of it. A GOMEMLIMIT with a
// unit (128MiB) was written by hand and is left as it is. It returns the
// limit in force.
func applyMemoryLimit() int64 {
	bytes, err := strconv.ParseInt(os.Getenv("GOMEMLIMIT"), 10, 64)
	if err != nil || bytes <= 0 {
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(float64(bytes) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit
}
