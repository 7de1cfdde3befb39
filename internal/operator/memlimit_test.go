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
	"runtime/debug"
	"testing"
)

// TestApplyMemoryLimit: the bytes a Pod's resourceFieldRef gives become a
// soft limit 32 MiB below them (at least a tenth below, at most half); a
// limit written with a unit, or none, is left to the runtime.
func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	tests := map[string]struct {
		env  string
		want int64
	}{
		"from limits.memory, 128Mi":   {env: "134217728", want: 96 << 20},
		"1Gi: a tenth is more":        {env: "1073741824", want: 1073741824 - 107374182},
		"48Mi: at most half":          {env: "50331648", want: 24 << 20},
		"written by hand with a unit": {env: "128MiB", want: before},
		"not set":                     {env: "", want: before},
		"zero":                        {env: "0", want: before},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			debug.SetMemoryLimit(before)
			t.Setenv("GOMEMLIMIT", tc.env)
			if got := applyMemoryLimit(); got != tc.want {
				t.Errorf("limit %d, want %d", got, tc.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("the runtime's limit is %d, want %d", got, tc.want)
			}
		})
	}
}
