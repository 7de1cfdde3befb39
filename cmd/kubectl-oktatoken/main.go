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

// Command kubectl-oktatoken is a kubectl plugin for OktaScopedTokens:
//
//	kubectl oktatoken status [NAME] [-n NS | -A]   what each token is waiting for, with sign-in links
//	kubectl oktatoken login NAME [--force]        print the sign-in link (a new one with --force) and wait for the token
//	kubectl oktatoken renew NAME                  rotate the token now and wait for the new one
//
// Install it by putting the binary on PATH: go install ./cmd/kubectl-oktatoken
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/okta-token-operator/okta-token-operator/cmd/kubectl-oktatoken/plugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := plugin.Run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
