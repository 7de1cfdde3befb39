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
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
	"github.com/okta-token-operator/okta-token-operator/internal/testenv"
)

// TestNoSecretLeaks runs a sign-in (capturing the state, code, verifier and
// every token issued), a rotation and a replayed callback, then searches
// everything the operator wrote where people and tools look — every log
// line of every manager this package started, every Event, every
// OktaScopedToken's status, the metrics — for any of those values. It runs
// last in the package (file order), so the other tests' material is
// searched too.
func TestNoSecretLeaks(t *testing.T) {
	g := NewWithT(t)
	l, callbackURL := callbackListener(t)
	srv := devServer(t, oktadev.Config{}, callbackURL)
	startOperator(t, operatorOptions{listener: l, callbackURL: callbackURL})
	ns := newNamespace(t)
	obj := newToken(t, ns, srv)
	authURL := waitForAuthorizationURL(t, obj)

	pending := state.Decode(stateSecret(g, obj)).Pending
	g.Expect(pending).NotTo(BeNil())
	remember(pending.Verifier)
	callbackAt, err := testenv.Authorize(authURL, userName, userPassword)
	g.Expect(err).NotTo(HaveOccurred())
	remember(callbackAt.Query().Get("code"), callbackAt.Query().Get("state"))
	resp, err := http.Get(callbackAt.String())
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	waitForReady(t, obj)

	// A rotation on request, so a refreshed pair is issued too.
	cur := get(g, obj)
	cur.Annotations = map[string]string{v1.AnnotationRenewRequestedAt: "leak-test"}
	g.Expect(env.Client.Update(context.Background(), cur)).To(Succeed())
	g.Eventually(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).Should(BeNumerically(">=", 1))
	g.Eventually(func(g Gomega) {
		st := state.Decode(stateSecret(g, obj))
		remember(st.Grant.AccessToken, st.Grant.RefreshToken)
	}).Should(Succeed())
	// A replayed callback logs a refusal: it must not log the code.
	resp, err = http.Get(callbackAt.String())
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()

	var haystacks = map[string]string{"logs": logs.String(), "events": allEventNotes(g)}
	var list v1.OktaScopedTokenList
	g.Expect(env.Client.List(context.Background(), &list)).To(Succeed())
	statuses, _ := json.Marshal(list.Items)
	haystacks["resources"] = string(statuses)
	families, err := crmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var metrics strings.Builder
	for _, f := range families {
		_, _ = expfmt.MetricFamilyToText(&metrics, f)
	}
	haystacks["metrics"] = metrics.String()

	g.Expect(haystacks["logs"]).To(ContainSubstring("callback"), "the logs were captured")
	n := 0
	secretsSeen.Range(func(k, _ any) bool {
		n++
		secret := k.(string)
		for where, text := range haystacks {
			if strings.Contains(text, secret) {
				t.Errorf("a secret value (%d bytes, starting %q) appears in the %s", len(secret), secret[:4], where)
			}
		}
		return true
	})
	g.Expect(n).To(BeNumerically(">=", 8), "the test collected the state, code, verifier, tokens and secrets")
}
