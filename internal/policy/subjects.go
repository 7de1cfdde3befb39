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

package policy

import "strings"

// SubjectAllowed says whether a person may grant a token whose
// spec.allowedSubjects is allowed: anyone when it is empty; otherwise a
// person whose Okta user id (sub) is listed, whose login or email is listed
// (case-insensitively), or whose login or email is in a listed domain:
// "*@example.com" for that domain, "*@*.example.com" for its subdomains.
func SubjectAllowed(allowed []string, sub, email, login string) bool {
	if len(allowed) == 0 {
		return true
	}
	names := []string{strings.ToLower(email), strings.ToLower(login)}
	for _, a := range allowed {
		pattern := strings.ToLower(a)
		domain, wildcard := strings.CutPrefix(pattern, "*@")
		for _, n := range names {
			if n == "" {
				continue
			}
			if !wildcard {
				if n == pattern {
					return true
				}
				continue
			}
			at := strings.LastIndexByte(n, '@')
			if at <= 0 {
				continue
			}
			host := n[at+1:]
			if parent, sub := strings.CutPrefix(domain, "*."); sub {
				if strings.HasSuffix(host, "."+parent) && len(host) > len(parent)+1 {
					return true
				}
			} else if host == domain {
				return true
			}
		}
		if !wildcard && sub != "" && a == sub {
			return true
		}
	}
	return false
}
