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
//	kubectl oktatoken status [NAME ...] [-n NS | -A]                what each token is waiting for, with sign-in links
//	kubectl oktatoken login NAME [-n NS] [--force] [--timeout 10m]  print the sign-in link (a new one with --force) and wait for the token
//	kubectl oktatoken renew NAME [-n NS] [--timeout 2m]             rotate the token now and wait for the new one
//
// The standard kubectl flags work as with kubectl (--kubeconfig, --context,
// --cluster, --user, -s/--server, --token, --as, --as-group,
// --request-timeout, ...); `kubectl oktatoken --help` lists them all.
//
// Install it by putting the binary on PATH: go install ./cmd/kubectl-oktatoken
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/okta-token-operator/okta-token-operator/cmd/kubectl-oktatoken/plugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if err := plugin.Execute(ctx, os.Args[1:], streams); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
