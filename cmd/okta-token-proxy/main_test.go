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

package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestFlagsRefuseWhatWouldLeakTheToken: the proxy listens only where the
// pod's own containers reach it, and sends the token only over https.
func TestFlagsRefuseWhatWouldLeakTheToken(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"no org":                     {args: nil, wantErr: "--okta-domain is required"},
		"every interface":            {args: []string{"--okta-domain=https://dev-1.okta.com", "--listen=:8181"}, wantErr: "must be a loopback address"},
		"the pod's IP":               {args: []string{"--okta-domain=https://dev-1.okta.com", "--listen=10.0.0.5:8181"}, wantErr: "must be a loopback address"},
		"plain http to the org":      {args: []string{"--okta-domain=http://dev-1.okta.com"}, wantErr: "not https"},
		"an org URL with a path":     {args: []string{"--okta-domain=https://dev-1.okta.com/api"}, wantErr: "base URL"},
		"an org URL with a userinfo": {args: []string{"--okta-domain=https://a:b@dev-1.okta.com"}, wantErr: "base URL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, append(tc.args, "--token-dir="+t.TempDir()), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}
