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

package controller

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/okta-token-operator/okta-token-operator/cmd/kubectl-oktatoken/plugin"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// TestKubectlPlugin drives `kubectl oktatoken status|login|renew` the way a
// person would: status shows the sign-in link, login waits while someone
// signs in, renew rotates on demand.
func TestKubectlPlugin(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	ns := f.ns
	obj := f.newWebToken()
	authURL := waitForAuthorizationURL(t, obj)
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kubectl := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := plugin.Run(ctx, append(args, "--kubeconfig", kubeconfig, "-n", ns), &out)
		return out.String(), err
	}

	out, err := kubectl("status")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`NAMESPACE\s+NAME\s+READY\s+REASON`))
	g.Expect(out).To(MatchRegexp(ns + `\s+logs-reader\s+False\s+AuthorizationRequired`))
	g.Expect(out).To(ContainSubstring(ns + "/logs-reader: sign in at " + authURL))

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := kubectl("login", "logs-reader")
		done <- result{out, err}
	}()
	status, page, err := oktadev.SignIn(authURL, userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), page)
	var r result
	g.Eventually(done).WithTimeout(30 * time.Second).Should(Receive(&r))
	g.Expect(r.err).NotTo(HaveOccurred())
	g.Expect(r.out).To(ContainSubstring("Open this link and sign in"))
	g.Expect(r.out).To(ContainSubstring("Signed in as " + userName))

	out, err = kubectl("renew", "logs-reader")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`Renewed ` + regexp.QuoteMeta(ns) + `/logs-reader: new token expires \S+, next renewal \S+\.`))
	g.Expect(get(g, obj).Status.Rotations).To(BeNumerically(">=", 1))

	out, err = kubectl("status", "logs-reader")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(ns + `\s+logs-reader\s+True\s+Issued`))

	// The standard kubectl flags: --context picks a kubeconfig context, and a
	// missing one is an error; --as impersonates, and a refusal is an error.
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Contexts).To(HaveLen(1))
	var contextName string
	for name := range cfg.Contexts {
		contextName = name
	}
	out, err = kubectl("status", "logs-reader", "--context", contextName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(ns + `\s+logs-reader\s+True\s+Issued`))
	out, err = kubectl("status", "--context", "no-such-context")
	g.Expect(err).To(MatchError(ContainSubstring(`context "no-such-context" does not exist`)))
	g.Expect(out).To(BeEmpty())

	out, err = kubectl("status", "--as", "nobody")
	g.Expect(err).To(HaveOccurred())
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err).To(MatchError(ContainSubstring(`User "nobody" cannot list resource "oktascopedtokens"`)))
	g.Expect(out).To(BeEmpty())
	_, err = kubectl("renew", "logs-reader", "--as", "nobody")
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err).To(MatchError(ContainSubstring(`User "nobody" cannot get resource "oktascopedtokens"`)))

	_, err = kubectl("frobnicate")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown command "frobnicate"`)))
}
