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

package budget

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestRenewalPriority(t *testing.T) {
	// An hour-long token issued at t0, due for renewal at two thirds.
	expiry := t0.Add(time.Hour)
	renewal := t0.Add(40 * time.Minute)
	tests := map[string]struct {
		haveToken       bool
		renewal, expiry time.Time
		now             time.Time
		want            Priority
	}{
		"no token yet":                 {now: t0, want: Expiring},
		"just due":                     {haveToken: true, renewal: renewal, expiry: expiry, now: renewal, want: Early},
		"nine minutes after due":       {haveToken: true, renewal: renewal, expiry: expiry, now: renewal.Add(9 * time.Minute), want: Early},
		"half the renewal window left": {haveToken: true, renewal: renewal, expiry: expiry, now: renewal.Add(10 * time.Minute), want: Expiring},
		"expired":                      {haveToken: true, renewal: renewal, expiry: expiry, now: expiry, want: Expiring},
		"no expiry known":              {haveToken: true, renewal: renewal, now: renewal, want: Expiring},
		"renewal time after expiry":    {haveToken: true, renewal: expiry.Add(time.Minute), expiry: expiry, now: renewal, want: Expiring},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(RenewalPriority(tc.haveToken, tc.renewal, tc.expiry, tc.now)).To(Equal(tc.want))
		})
	}
}
