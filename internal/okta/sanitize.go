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

package okta

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes text that came from Okta — or from anything claiming to be
// Okta, or from a browser's query string — fit to be shown: control and
// formatting characters (newlines that would forge log lines, terminal
// escapes, bidirectional overrides that reorder what a person reads) become
// spaces, runs of spaces shrink to one, and it is cut at max runes.
func Sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	pendingSpace := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			pendingSpace = b.Len() > 0
			continue
		}
		need := 1
		if pendingSpace {
			need = 2
		}
		if n+need > max {
			// More text follows than fits: say it was cut.
			return b.String() + "…"
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
		n += need
	}
	return b.String()
}
