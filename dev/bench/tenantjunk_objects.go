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

// What a tenant can make big, built at the limits the API server enforces:
// Secrets of the largest size a Secret may have, labelled as the
// operator's, and OktaScopedTokens at every cap of the CRD (api/v1alpha1's
// CEL rules, test/integration/crd/validation_test.go) and of the API
// server (256 KiB of annotations on any object). Every size here is the
// limit itself, so the API server refusing one of them is a change of a
// limit the scenario should hear about.

import (
	"crypto/rand"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// The CRD's caps on spec.secretTemplate, and the longest names Kubernetes
// allows.
const (
	capTemplateLabels      = 32
	capTemplateAnnotations = 32
	// capTemplateAnnotationBytes is the annotations' keys and values
	// together; capTemplateDataBytes the data templates together.
	capTemplateAnnotationBytes = 16 << 10
	capTemplateData            = 16
	capTemplateDataBytes       = 16 << 10
	capRestartTargets          = 16
	maxSubdomain               = 253 // a DNS-1123 subdomain: a name's or a key prefix's most
	maxLabelName               = 63  // a label's name part and its value
	// maxRenderedTotal stays under what the operator renders for all the
	// templates together (64 KiB, internal/secrettemplate), so they render.
	maxRenderedTotal = 60 << 10
)

// accessTokenAction is the template action the big resources repeat.
const accessTokenAction = "{{.accessToken}}"

// junkDataKey is the one data key of a junk Secret.
const junkDataKey = "junk"

// junkSecrets are n Secrets in namespace of corev1.MaxSecretSize bytes each
// (key and value, the API server's measure), of random data, labelled as
// the operator labels its token Secrets. Every other one names a resource
// of owners as its controller, by name, with a UID of its own making: a
// tenant can write that too.
func junkSecrets(namespace string, n int, owners []string) ([]*corev1.Secret, error) {
	out := make([]*corev1.Secret, 0, n)
	for i := range n {
		data := make([]byte, corev1.MaxSecretSize-len(junkDataKey))
		if _, err := rand.Read(data); err != nil {
			return nil, err
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("junk-%02d", i), Namespace: namespace,
				Labels: map[string]string{v1.LabelManagedBy: v1.ManagedByValue}},
			Data: map[string][]byte{junkDataKey: data},
		}
		if len(owners) > 0 {
			owner := owners[i%len(owners)]
			s.Labels[v1.LabelToken] = owner
			if i%2 == 1 {
				s.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "OktaScopedToken",
					Name: owner, UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), Controller: new(true)}}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// bigToken makes t, a ClientCredentials resource, as big as the API server
// accepts: 256 KiB of annotations and 64 labels on the resource itself;
// secretTemplate at each of its caps (32 labels with the longest keys and
// values, 32 annotations of 16 KiB together, 16 data templates of 16 KiB
// together under the longest keys); 16 rollout-restart targets and a
// secretName of the longest names. The data templates name the access
// token as often as they can (accessTokenLen bytes long, as the org issues
// them) while each key still renders and the token Secret still fits a
// Secret's 1 MiB: the operator writes that Secret, and keeps it.
func bigToken(t *v1.OktaScopedToken, i, accessTokenLen int) {
	tag := fmt.Sprintf("%02d", i)
	t.Annotations = map[string]string{}
	const blobs = 4
	for b := range blobs {
		key := fmt.Sprintf("tenant.example.com/blob-%d", b)
		// A little under the limit: the operator's renew annotations
		// still fit.
		t.Annotations[key] = filler(tag, (apivalidation.TotalAnnotationSizeLimitB-1024)/blobs-len(key))
	}
	t.Labels = map[string]string{}
	for l := range 64 {
		t.Labels[fmt.Sprintf("tenant.example.com/l%02d", l)] = filler(tag, maxLabelName)
	}

	tmpl := &v1.SecretTemplate{Labels: map[string]string{}, Annotations: map[string]string{},
		Data: map[string]v1.TemplateString{}}
	for l := range capTemplateLabels {
		prefix := subdomain(fmt.Sprintf("l%02d-%s", l, tag), maxSubdomain)
		tmpl.Labels[prefix+"/"+filler(fmt.Sprintf("n%02d", l), maxLabelName)] = filler(tag, maxLabelName)
	}
	for a := range capTemplateAnnotations {
		key := fmt.Sprintf("team.example.com/note-%02d", a)
		tmpl.Annotations[key] = filler(tag, capTemplateAnnotationBytes/capTemplateAnnotations-len(key))
	}
	perTemplate := capTemplateDataBytes / capTemplateData
	// Each key renders its copies of the token and the filler that pads
	// its template to perTemplate; all keys together within
	// maxRenderedTotal.
	copies := perTemplate / len(accessTokenAction)
	if grow := accessTokenLen - len(accessTokenAction); grow > 0 {
		copies = min(copies, max(maxRenderedTotal/capTemplateData-perTemplate, 0)/grow)
	}
	for d := range capTemplateData {
		key := filler(fmt.Sprintf("k%02d-", d), maxSubdomain)
		text := strings.Repeat(accessTokenAction, copies)
		tmpl.Data[key] = v1.TemplateString(text + filler(tag, perTemplate-len(text)))
	}
	t.Spec.SecretTemplate = tmpl
	t.Spec.SecretName = subdomain("big-"+tag, maxSubdomain)
	for r := range capRestartTargets {
		t.Spec.RolloutRestartTargets = append(t.Spec.RolloutRestartTargets,
			v1.RolloutRestartTarget{Kind: "Deployment", Name: subdomain(fmt.Sprintf("app-%02d-%s", r, tag), maxSubdomain)})
	}
}

// filler is prefix padded with 'x' to n characters: a name, label value or
// text that is valid wherever those are.
func filler(prefix string, n int) string {
	if len(prefix) >= n {
		return prefix[:n]
	}
	return prefix + strings.Repeat("x", n-len(prefix))
}

// subdomain is a DNS-1123 subdomain of n characters that starts with
// prefix: labels of at most 63 characters joined by dots.
func subdomain(prefix string, n int) string {
	var parts []string
	left := n
	first := min(maxLabelName, left)
	parts = append(parts, filler(prefix, first))
	left -= first
	for left > 1 {
		part := min(maxLabelName, left-1)
		parts = append(parts, strings.Repeat("x", part))
		left -= part + 1
	}
	return strings.Join(parts, ".")
}

// renderedDataBytes is what the token Secret of a bigToken holds in its
// templated keys, keys included, for an access token of accessTokenLen
// bytes.
func renderedDataBytes(t *v1.OktaScopedToken, accessTokenLen int) int {
	total := 0
	for k, text := range t.Spec.SecretTemplate.Data {
		n := strings.Count(string(text), accessTokenAction)
		total += len(k) + len(text) - n*len(accessTokenAction) + n*accessTokenLen
	}
	return total
}
