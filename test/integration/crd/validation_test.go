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

// Package crd tests the OktaScopedToken CustomResourceDefinition as a user
// meets it: installed into a real kube-apiserver, fed good and bad objects,
// read back through kubectl.
package crd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) { env = e })
}

// validSpec is the smallest spec the API server accepts for each grant.
func validSpec(grant v1.GrantType) v1.OktaScopedTokenSpec {
	s := v1.OktaScopedTokenSpec{
		OktaDomain: "https://dev-123456.okta.com",
		ClientID:   "0oa1b2c3d4e5f6g7h8i9",
		GrantType:  grant,
		Scopes:     []string{"okta.logs.read"},
	}
	if grant == v1.GrantClientCredentials {
		s.PrivateKeyRef = &v1.PrivateKeyReference{SecretKeyReference: v1.SecretKeyReference{Name: "svc", Key: "privateKey"}}
	} else {
		s.ClientSecretRef = &v1.SecretKeyReference{Name: "web", Key: "clientSecret"}
	}
	return s
}

func TestInvalidResourcesAreRejectedWithAClearMessage(t *testing.T) {
	tests := map[string]struct {
		mutate func(*v1.OktaScopedTokenSpec)
		// field and message of the cause the API server reports.
		field, message string
	}{
		"oktaDomain is not a URL": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "dev-123456.okta.com" },
			field:   "spec.oktaDomain",
			message: `Invalid value: "dev-123456.okta.com": oktaDomain must be a URL such as https://dev-123456.okta.com`,
		},
		"oktaDomain with a lookalike letter": {
			mutate: func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "https://acme.oktaprevİew.com" },
			field:  "spec.oktaDomain",
			message: `Invalid value: "https://acme.oktaprevİew.com": oktaDomain must be written in ASCII: write an internationalized ` +
				"host name in its punycode form (xn--...), which is the name that is dialled and the one the operator's allowlist " +
				"compares; a lookalike letter such as İ is not an i",
		},
		"too many secretTemplate labels": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.SecretTemplate = &v1.SecretTemplate{Labels: map[string]string{}}
				for i := range 33 {
					s.SecretTemplate.Labels[fmt.Sprintf("team.example.com/l%02d", i)] = "x"
				}
			},
			field:   "spec.secretTemplate.labels",
			message: "Too many: 33: must have at most 32 items",
		},
		"a secretTemplate label value longer than Kubernetes allows": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.SecretTemplate = &v1.SecretTemplate{Labels: map[string]string{"team": strings.Repeat("x", 64)}}
			},
			field:   "spec.secretTemplate.labels",
			message: "Invalid value: secretTemplate.labels: a label key is at most 317 characters and a value at most 63, as Kubernetes allows",
		},
		"secretTemplate annotations over 16 KiB together": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.SecretTemplate = &v1.SecretTemplate{Annotations: map[string]string{
					"a": strings.Repeat("x", 9000), "b": strings.Repeat("y", 9000)}}
			},
			field:   "spec.secretTemplate.annotations",
			message: "Invalid value: secretTemplate.annotations: the annotations, keys and values together, are at most 16 KiB",
		},
		"secretTemplate data over 16 KiB together": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.SecretTemplate = &v1.SecretTemplate{Data: map[string]v1.TemplateString{
					"a": v1.TemplateString(strings.Repeat("x", 4096)), "b": v1.TemplateString(strings.Repeat("x", 4096)),
					"c": v1.TemplateString(strings.Repeat("x", 4096)), "d": v1.TemplateString(strings.Repeat("x", 4096)),
					"e": "x"}}
			},
			field:   "spec.secretTemplate.data",
			message: "Invalid value: secretTemplate.data: the templates are at most 16 KiB together",
		},
		"oktaDomain over plain http to a public host": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "http://dev-123456.okta.com" },
			field:   "spec.oktaDomain",
			message: `Invalid value: "http://dev-123456.okta.com": oktaDomain must use https://; http:// is allowed only for localhost, 127.0.0.1 or ::1`,
		},
		"oktaDomain with a path": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "https://dev-123456.okta.com/oauth2/default" },
			field:   "spec.oktaDomain",
			message: `Invalid value: "https://dev-123456.okta.com/oauth2/default": oktaDomain must be the org's base URL without a path, such as https://dev-123456.okta.com; use authorizationServerID for a custom authorization server`,
		},
		"oktaDomain with another scheme": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "ftp://dev-123456.okta.com" },
			field:   "spec.oktaDomain",
			message: `Invalid value: "ftp://dev-123456.okta.com": oktaDomain must be a URL such as https://dev-123456.okta.com`,
		},
		"no scopes": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.Scopes = []string{} },
			field:   "spec.scopes",
			message: `Invalid value: 0: spec.scopes in body should have at least 1 items`,
		},
		"a scope with a space": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.Scopes = []string{"okta.logs.read okta.users.read"} },
			field:   "spec.scopes[0]",
			message: `Invalid value: "okta.logs.read okta.users.read": spec.scopes[0] in body should match '^[\x21\x23-\x5B\x5D-\x7E]+$'`,
		},
		"a scope twice": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.Scopes = []string{"okta.logs.read", "okta.logs.read"} },
			field:   "spec.scopes[1]",
			message: `Duplicate value: "okta.logs.read"`,
		},
		"renewBefore and renewBeforePercentage together": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.RenewBefore = &metav1.Duration{Duration: 900e9}
				s.RenewBeforePercentage = ptr.To[int32](33)
			},
			field:   "spec",
			message: `Invalid value: set either renewBefore or renewBeforePercentage, not both`,
		},
		"renewBefore too short": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.RenewBefore = &metav1.Duration{Duration: 1e9} },
			field:   "spec.renewBefore",
			message: `Invalid value: "1s": renewBefore must be between 10s and 24h`,
		},
		"renewBeforePercentage out of range": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.RenewBeforePercentage = ptr.To[int32](100) },
			field:   "spec.renewBeforePercentage",
			message: `Invalid value: 100: spec.renewBeforePercentage in body should be less than or equal to 95`,
		},
		"AuthorizationCode without clientSecretRef": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.ClientSecretRef = nil },
			field:   "spec",
			message: `Invalid value: clientSecretRef is required when grantType is AuthorizationCode: name the Secret that holds the Okta web app's client secret`,
		},
		"ClientCredentials without privateKeyRef": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.GrantType = v1.GrantClientCredentials
				s.ClientSecretRef = nil
			},
			field:   "spec",
			message: `Invalid value: grantType ClientCredentials needs privateKeyRef: name the Secret that holds the Okta service app's private key (PEM)`,
		},
		"ClientCredentials with a client secret": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				s.GrantType = v1.GrantClientCredentials
				s.PrivateKeyRef = &v1.PrivateKeyReference{SecretKeyReference: v1.SecretKeyReference{Name: "svc", Key: "k"}}
			},
			field:   "spec",
			message: `Invalid value: clientSecretRef with grantType ClientCredentials works only with a custom authorization server (authorizationServerID): Okta's org authorization server requires private_key_jwt, so use privateKeyRef`,
		},
		"ClientCredentials with a .self scope": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				*s = validSpec(v1.GrantClientCredentials)
				s.Scopes = []string{"okta.logs.read", "okta.users.read.self"}
			},
			field:   "spec",
			message: `Invalid value: grantType ClientCredentials cannot request user scopes: remove openid, profile, email, offline_access and any *.self scope`,
		},
		"unknown grant type": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.GrantType = "Password" },
			field:   "spec.grantType",
			message: `Unsupported value: "Password": supported values: "AuthorizationCode", "ClientCredentials"`,
		},
		"secretName that is not a Secret name": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.SecretName = "Logs_Reader" },
			field:   "spec.secretName",
			message: `Invalid value: "Logs_Reader": spec.secretName in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'`,
		},
		"allowedSubjects with a star inside the local part": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.AllowedSubjects = []string{"admin@example.com", "a*@example.com"} },
			field:   "spec.allowedSubjects",
			message: `Invalid value: allowedSubjects: a wildcard is allowed only as the whole local part, *@example.com, or for subdomains, *@*.example.com`,
		},
		"allowedSubjects with a star for the domain": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.AllowedSubjects = []string{"*@*"} },
			field:   "spec.allowedSubjects",
			message: `Invalid value: allowedSubjects: a wildcard is allowed only as the whole local part, *@example.com, or for subdomains, *@*.example.com`,
		},
		"allowedSubjects with a star and no at sign": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.AllowedSubjects = []string{"*example.com"} },
			field:   "spec.allowedSubjects",
			message: `Invalid value: allowedSubjects: a wildcard is allowed only as the whole local part, *@example.com, or for subdomains, *@*.example.com`,
		},
		"allowedSubjects with a star before the domain's name": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.AllowedSubjects = []string{"*@*example.com"} },
			field:   "spec.allowedSubjects",
			message: `Invalid value: allowedSubjects: a wildcard is allowed only as the whole local part, *@example.com, or for subdomains, *@*.example.com`,
		},
		"allowedSubjects with a star for a top-level domain": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.AllowedSubjects = []string{"*@*.com"} },
			field:   "spec.allowedSubjects",
			message: `Invalid value: allowedSubjects: a wildcard is allowed only as the whole local part, *@example.com, or for subdomains, *@*.example.com`,
		},
		"allowedSubjects with an empty entry": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.AllowedSubjects = []string{""} },
			field:   "spec.allowedSubjects[0]",
			message: `Invalid value: "": spec.allowedSubjects[0] in body should be at least 1 chars long`,
		},
		"allowedSubjects with ClientCredentials": {
			mutate: func(s *v1.OktaScopedTokenSpec) {
				*s = validSpec(v1.GrantClientCredentials)
				s.AllowedSubjects = []string{"*@example.com"}
			},
			field:   "spec",
			message: `Invalid value: allowedSubjects applies to grantType AuthorizationCode: no person signs in for a ClientCredentials token`,
		},
		"clientID with a slash": {
			mutate:  func(s *v1.OktaScopedTokenSpec) { s.ClientID = "0oa/../admin" },
			field:   "spec.clientID",
			message: `Invalid value: "0oa/../admin": spec.clientID in body should match '^[A-Za-z0-9._~-]+$'`,
		},
	}
	i := 0
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			i++
			obj := &v1.OktaScopedToken{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("invalid-%d", i), Namespace: "default"},
				Spec:       validSpec(v1.GrantAuthorizationCode),
			}
			tc.mutate(&obj.Spec)
			err := env.Client.Create(context.Background(), obj)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "expected Invalid, got %v", err)
			var status *apierrors.StatusError
			g.Expect(errors.As(err, &status)).To(BeTrue())
			causes := make([]string, 0, len(status.ErrStatus.Details.Causes))
			for _, c := range status.ErrStatus.Details.Causes {
				causes = append(causes, c.Field+": "+c.Message)
			}
			g.Expect(causes).To(ContainElement(tc.field+": "+tc.message), "full error: %v", err)
		})
	}
}

func TestValidResourcesAreAcceptedAndDefaulted(t *testing.T) {
	tests := map[string]struct {
		mutate func(*v1.OktaScopedTokenSpec)
	}{
		"authorization code":           {mutate: func(*v1.OktaScopedTokenSpec) {}},
		"client credentials":           {mutate: func(s *v1.OktaScopedTokenSpec) { *s = validSpec(v1.GrantClientCredentials) }},
		"http on localhost for dev":    {mutate: func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "http://127.0.0.1:9090" }},
		"trailing slash on the domain": {mutate: func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "https://dev-123456.okta.com/" }},
		"custom authorization server":  {mutate: func(s *v1.OktaScopedTokenSpec) { s.AuthorizationServerID = "default" }},
		"renewBefore within bounds":    {mutate: func(s *v1.OktaScopedTokenSpec) { s.RenewBefore = &metav1.Duration{Duration: 15 * 60e9} }},
		"several scopes incl. openid": {mutate: func(s *v1.OktaScopedTokenSpec) {
			s.Scopes = []string{"openid", "okta.logs.read", "okta.users.read.self"}
		}},
		"allowedSubjects: a login, a user id and domains": {mutate: func(s *v1.OktaScopedTokenSpec) {
			s.AllowedSubjects = []string{"admin@example.com", "00u1a2b3c4d5e6f7g8h9", "*@example.com", "*@*.example.com", "*@eu.example.co.uk"}
		}},
		"grant type left to its default":   {mutate: func(s *v1.OktaScopedTokenSpec) { s.GrantType = "" }},
		"renewBeforePercentage at the top": {mutate: func(s *v1.OktaScopedTokenSpec) { s.RenewBeforePercentage = ptr.To[int32](95) }},
	}
	i := 0
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			i++
			obj := &v1.OktaScopedToken{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("valid-%d", i), Namespace: "default"},
				Spec:       validSpec(v1.GrantAuthorizationCode),
			}
			tc.mutate(&obj.Spec)
			g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
			g.Expect(obj.Spec.GrantType).NotTo(BeEmpty(), "grantType is defaulted")
			g.Expect(obj.Spec.RevokeOnDelete).To(Equal(new(true)), "revokeOnDelete defaults to true")
			if name == "grant type left to its default" {
				g.Expect(obj.Spec.GrantType).To(Equal(v1.GrantAuthorizationCode))
			}
		})
	}
}

func TestSamplesAreAccepted(t *testing.T) {
	g := NewWithT(t)
	samples, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "oktatoken_*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(samples).NotTo(BeEmpty())
	for _, path := range samples {
		data, err := os.ReadFile(path)
		g.Expect(err).NotTo(HaveOccurred())
		var obj client.Object = &v1.OktaScopedToken{}
		if strings.Contains(string(data), "\nkind: ClusterOktaScopedToken\n") {
			obj = &v1.ClusterOktaScopedToken{}
		} else {
			obj.SetNamespace("default")
		}
		g.Expect(yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096).Decode(obj)).To(Succeed())
		if obj.GetNamespace() != "" {
			obj.SetNamespace("default")
		}
		obj.SetName("sample-" + obj.GetName())
		g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed(), "sample %s", path)
	}
}

// TestKubectl applies the CRD and a sample the way the README tells a user to,
// and checks that `kubectl explain` shows the field documentation.
func TestKubectl(t *testing.T) {
	g := NewWithT(t)
	run := kubectl(t, g)
	g.Expect(run("apply", "-f", "config/crd/bases/")).To(ContainSubstring("oktascopedtokens.oktatoken.dev"))
	g.Expect(run("create", "namespace", "kubectl-test")).To(ContainSubstring("created"))
	// The sample names its namespace (monitoring, which
	// TestEverySampleApplies uses); here it goes into a namespace of its own.
	sample, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "oktatoken_v1alpha1_oktascopedtoken.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(sample)).To(ContainSubstring("\n  namespace: monitoring\n"))
	moved := filepath.Join(t.TempDir(), "sample.yaml")
	g.Expect(os.WriteFile(moved, []byte(strings.Replace(string(sample), "\n  namespace: monitoring\n", "\n  namespace: kubectl-test\n", 1)), 0o600)).To(Succeed())
	g.Expect(run("apply", "-f", moved)).
		To(ContainSubstring("oktascopedtoken.oktatoken.dev/logs-reader created"))
	g.Expect(run("get", "ost", "-n", "kubectl-test")).To(MatchRegexp(`NAME\s+READY\s+REASON\s+EXPIRES\s+RENEWAL\s+AGE`))
	g.Expect(run("get", "ost", "-n", "kubectl-test", "-o", "wide")).
		To(MatchRegexp(`NAME\s+READY\s+REASON\s+EXPIRES\s+RENEWAL\s+AGE\s+SECRET\s+GRANT\s+SUBJECT\s+ROTATIONS\n` +
			`logs-reader\s+.*logs-reader-token\s+AuthorizationCode`))
	explain := run("explain", "ost.spec")
	g.Expect(explain).To(ContainSubstring("oktaDomain is the base URL of the Okta org"))
	g.Expect(explain).To(ContainSubstring("renewBeforePercentage"))
}

// kubectl runs the kubectl built beside the control plane against it, from
// the checkout's top folder, as an admin; a failure fails the test.
func kubectl(t *testing.T, g Gomega) func(args ...string) string {
	t.Helper()
	path, err := testenv.Kubectl()
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	return func(args ...string) string {
		cmd := exec.Command(path, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Dir = testenv.RepoRoot()
		out, err := cmd.CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
}
