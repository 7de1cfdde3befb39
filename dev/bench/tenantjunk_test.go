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

package bench

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/secrettemplate"
)

// TestBigTokenIsAtTheCaps: the big resource sits at each cap exactly, in
// names Kubernetes accepts, and its templates render in the operator to a
// token Secret that fits a Secret, whatever the access token's length.
func TestBigTokenIsAtTheCaps(t *testing.T) {
	for name, tokenLen := range map[string]int{"the dev server's 87-byte tokens": 87, "an Okta JWT of 1 KB": 1024} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &v1.OktaScopedToken{ObjectMeta: metav1.ObjectMeta{Name: "token-00000", Namespace: "tenant-org-0"}}
			bigToken(obj, 7, tokenLen)
			tmpl := obj.Spec.SecretTemplate

			g.Expect(apivalidation.ValidateAnnotations(obj.Annotations, field.NewPath("metadata", "annotations"))).To(BeEmpty())
			g.Expect(sizeOf(obj.Annotations)).To(BeNumerically(">", apivalidation.TotalAnnotationSizeLimitB-2048))
			g.Expect(tmpl.Labels).To(HaveLen(capTemplateLabels))
			for k, v := range tmpl.Labels {
				g.Expect(validation.IsQualifiedName(k)).To(BeEmpty(), k)
				g.Expect(validation.IsValidLabelValue(v)).To(BeEmpty(), v)
				g.Expect(len(k)).To(Equal(maxSubdomain + 1 + maxLabelName))
				g.Expect(v).To(HaveLen(maxLabelName))
			}
			g.Expect(tmpl.Annotations).To(HaveLen(capTemplateAnnotations))
			g.Expect(sizeOf(tmpl.Annotations)).To(Equal(capTemplateAnnotationBytes))
			g.Expect(tmpl.Data).To(HaveLen(capTemplateData))
			texts := map[string]string{}
			for k, text := range tmpl.Data {
				g.Expect(validation.IsConfigMapKey(k)).To(BeEmpty())
				g.Expect(k).To(HaveLen(maxSubdomain))
				texts[k] = string(text)
			}
			g.Expect(sizeOf(texts) - capTemplateData*maxSubdomain).To(Equal(capTemplateDataBytes))
			g.Expect(validation.IsDNS1123Subdomain(obj.Spec.SecretName)).To(BeEmpty())
			g.Expect(obj.Spec.SecretName).To(HaveLen(maxSubdomain))
			g.Expect(obj.Spec.RolloutRestartTargets).To(HaveLen(capRestartTargets))
			for _, r := range obj.Spec.RolloutRestartTargets {
				g.Expect(validation.IsDNS1123Subdomain(r.Name)).To(BeEmpty())
			}

			rendered, err := secrettemplate.Render(texts, secrettemplate.Values{AccessToken: strings.Repeat("a", tokenLen)})
			g.Expect(err).NotTo(HaveOccurred(), "every template renders in the operator")
			total := 0
			for k, v := range rendered {
				total += len(k) + len(v)
			}
			g.Expect(total).To(Equal(renderedDataBytes(obj, tokenLen)))
			g.Expect(total).To(BeNumerically("<", corev1.MaxSecretSize-8<<10), "room for the standard keys")
		})
	}
}

// TestJunkSecretsAreAsBigAsASecret: each junk Secret is as big as the API
// server lets a Secret be, labelled as the operator's, and every other one
// names a resource as its controller.
func TestJunkSecretsAreAsBigAsASecret(t *testing.T) {
	g := NewWithT(t)
	secrets, err := junkSecrets("tenant", 4, []string{"a", "b"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(secrets).To(HaveLen(4))
	for i, s := range secrets {
		size := 0
		for k, v := range s.Data {
			size += len(k) + len(v)
		}
		g.Expect(size).To(Equal(corev1.MaxSecretSize))
		g.Expect(s.Labels).To(HaveKeyWithValue(v1.LabelManagedBy, v1.ManagedByValue))
		if i%2 == 1 {
			g.Expect(metav1.GetControllerOf(s)).NotTo(BeNil())
			g.Expect(metav1.GetControllerOf(s).Name).To(Equal(s.Labels[v1.LabelToken]))
		} else {
			g.Expect(s.OwnerReferences).To(BeEmpty())
		}
	}
	g.Expect(secrets[0].Data[junkDataKey]).NotTo(Equal(secrets[1].Data[junkDataKey]), "random, so nothing compresses")
}

// TestManagerEnv: the manager gets the run's GOMEMLIMIT, never the
// benchmark's own.
func TestManagerEnv(t *testing.T) {
	environ := []string{"HOME=/root", "GOMEMLIMIT=1GiB", "PATH=/bin"}
	tests := map[string]struct {
		limit int64
		want  []string
	}{
		"128 MiB":  {limit: DefaultMemoryLimit, want: []string{"HOME=/root", "PATH=/bin", "GOMEMLIMIT=134217728"}},
		"none":     {limit: -1, want: []string{"HOME=/root", "PATH=/bin"}},
		"zero too": {limit: 0, want: []string{"HOME=/root", "PATH=/bin"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(managerEnv(environ, tc.limit)).To(Equal(tc.want))
		})
	}
}

func sizeOf(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// TestDPoPAndTenantJunkTable: the DPoP scenario's token requests are judged
// beside its nonce challenges, the challenges per org, and the tenant-junk
// readings against the manager's memory limit.
func TestDPoPAndTenantJunkTable(t *testing.T) {
	g := NewWithT(t)
	res := &Result{
		N: 40,
		DPoP: &StartupResult{Tokens: 40, DPoP: true, Settled: true, Reconciles: 40,
			TokenRequests:   map[string]TokenRequests{"org": {Total: 41, Failed: 1}},
			NonceChallenges: map[string]int{"org": 1}},
		TenantJunk: &TenantJunkResult{Tokens: 40, JunkSecrets: 40, BigTokens: 30, BigReady: 30, MemoryLimit: 128 << 20,
			JunkSecretBytes: 1 << 20, BigTokenBytes: 314 << 10, BigSecretDataBytes: 91 << 10,
			Phases: []JunkPhase{
				{Name: junkPhaseStarted, PeakRSS: 47 << 20, SettledRSS: 43 << 20, SettledAnon: 20 << 20, Ready: 40, Settled: true},
				{Name: junkPhaseServed, PeakRSS: 130 << 20, SettledRSS: 65 << 20, SettledAnon: 41 << 20, Ready: 39, Settled: true},
			}},
	}
	out := Table(res)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		g.Expect(strings.Count(l, "|")).To(Equal(6), "every row has five cells: %s", l)
	}
	g.Expect(out).To(ContainSubstring("| token requests per token | 1.025 (41: 1 answered with a nonce challenge, 40 beside them; " +
		"429s: 0, other failures: 0) | ≤ 1.01 beside the challenges | yes |"))
	g.Expect(out).To(ContainSubstring("| DPoP nonce challenges (use_dpop_nonce answers) | 1 | ≤ 1 per org | yes |"))
	g.Expect(out).To(ContainSubstring("| manager RSS, peak / settled (anonymous): " + junkPhaseStarted +
		" | 47 MiB / 43 MiB (20 MiB) | < 128 MiB (the limit) | yes |"))
	g.Expect(out).To(ContainSubstring("| manager RSS, peak / settled (anonymous): " + junkPhaseServed +
		" | 130 MiB / 65 MiB (41 MiB) | < 128 MiB (the limit) | **no** |"))
	g.Expect(out).To(ContainSubstring("| ordinary tokens Ready at each reading | 40 / 39 of 40 | all | **no** |"))
	g.Expect(res.TenantJunk.PeakRSS()).To(Equal(uint64(130 << 20)))

	checks := map[string]float64{}
	for _, c := range res.Checks() {
		checks[c.Name] = c.Got
		g.Expect(c.Met()).To(BeTrue(), c.Name)
	}
	g.Expect(checks).To(HaveKeyWithValue("token requests per token beside the nonce challenges, DPoP", 1.0))
	g.Expect(checks).To(HaveKeyWithValue("DPoP nonce challenges, org", 1.0))

	res.DPoP.TokenRequests["org"] = TokenRequests{Total: 43, Failed: 3}
	res.DPoP.NonceChallenges["org"] = 3
	var missed []string
	for _, c := range res.Checks() {
		if !c.Met() {
			missed = append(missed, c.Name)
		}
	}
	g.Expect(missed).To(Equal([]string{"DPoP nonce challenges, org"}), "a challenge per worker is what the org's shared nonce prevents")
}
