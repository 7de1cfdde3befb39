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
	"fmt"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	eventsv1 "k8s.io/api/events/v1"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// TestSecretMaterialIsCollected makes sure the leak scan has something to
// look for even when it runs alone: a sign-in (capturing the state, code
// and verifier and every token issued), a rotation, and a replayed
// callback, whose refusal is logged and must not log the code.
func TestSecretMaterialIsCollected(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	obj := f.newWebToken()
	authURL := waitForAuthorizationURL(t, obj)

	pending := state.Decode(stateSecret(g, obj)).Pending
	g.Expect(pending).NotTo(BeNil())
	remember(pending.Verifier)
	callbackAt, err := oktadev.Authorize(authURL, userName, userPassword)
	g.Expect(err).NotTo(HaveOccurred())
	remember(callbackAt.Query().Get("code"), callbackAt.Query().Get("state"))
	resp, err := http.Get(callbackAt.String())
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	waitForReady(t, obj)

	f.annotate(v1.AnnotationRenewRequestedAt, "leak-test")
	g.Eventually(func(g Gomega) int64 { return get(g, obj).Status.Rotations }).Should(BeNumerically(">=", 1))
	g.Eventually(func(g Gomega) {
		st := state.Decode(stateSecret(g, obj))
		remember(st.Grant.AccessToken, st.Grant.RefreshToken)
	}).Should(Succeed())
	resp, err = http.Get(callbackAt.String())
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
	g.Expect(logs.String()).To(ContainSubstring("callback"), "the logs are captured for the scan")
}

// scanForLeaks searches everything the operators in this package wrote where
// people and tools look — every log line of every manager, every Event,
// every OktaScopedToken's and ClusterOktaScopedToken's status, the metrics — for any token, code, verifier,
// key or secret the tests handled. TestMain runs it after all tests.
func scanForLeaks() []string {
	ctx := context.Background()
	haystacks := map[string]string{"logs": logs.String()}
	var events eventsv1.EventList
	if err := env.Client.List(ctx, &events); err != nil {
		return []string{"listing Events: " + err.Error()}
	}
	var notes strings.Builder
	for _, e := range events.Items {
		notes.WriteString(e.Note + "\n")
	}
	haystacks["events"] = notes.String()
	var list v1.OktaScopedTokenList
	if err := env.Client.List(ctx, &list); err != nil {
		return []string{"listing OktaScopedTokens: " + err.Error()}
	}
	var clusterTokens v1.ClusterOktaScopedTokenList
	if err := env.Client.List(ctx, &clusterTokens); err != nil {
		return []string{"listing ClusterOktaScopedTokens: " + err.Error()}
	}
	statuses, _ := json.Marshal(list.Items)
	clusterStatuses, _ := json.Marshal(clusterTokens.Items)
	haystacks["resources"] = string(statuses) + string(clusterStatuses)
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return []string{"gathering metrics: " + err.Error()}
	}
	var metrics strings.Builder
	for _, f := range families {
		_, _ = expfmt.MetricFamilyToText(&metrics, f)
	}
	haystacks["metrics"] = metrics.String()

	var leaks []string
	n := 0
	secretsSeen.Range(func(k, _ any) bool {
		n++
		secret := k.(string)
		for where, text := range haystacks {
			if strings.Contains(text, secret) {
				leaks = append(leaks, fmt.Sprintf("a secret value (%d bytes, starting %q) appears in the %s", len(secret), secret[:4], where))
			}
		}
		return true
	})
	fmt.Printf("leak scan: %d secret values searched for in %d bytes of logs, %d Events, %d resources and the metrics\n",
		n, len(haystacks["logs"]), len(events.Items), len(list.Items))
	return leaks
}
