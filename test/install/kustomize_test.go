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

package install

import (
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/okta-token-operator/okta-token-operator/charts"
)

// reorderManager rewrites config/manager/manager.yaml the way a later edit
// might: a sidecar container before the manager, and the manager's
// arguments and variables in reverse order.
func reorderManager(t *testing.T, mem filesys.FileSystem) {
	t.Helper()
	const path = "/config/manager/manager.yaml"
	data, err := mem.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := charts.DecodeObjects(data)
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]string, 0, len(objs))
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
				t.Fatal(err)
			}
			manager := d.Spec.Template.Spec.Containers[0]
			slices.Reverse(manager.Args)
			slices.Reverse(manager.Env)
			sidecar := corev1.Container{Name: "sidecar", Image: "sidecar:1", Args: []string{"--verbose"},
				Env: []corev1.EnvVar{{Name: "SIDECAR_MODE", Value: "on"}}}
			d.Spec.Template.Spec.Containers = []corev1.Container{sidecar, manager}
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&d)
			if err != nil {
				t.Fatal(err)
			}
			o = &unstructured.Unstructured{Object: m}
		}
		out, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(out))
	}
	if err := mem.WriteFile(path, []byte(strings.Join(docs, "---\n"))); err != nil {
		t.Fatal(err)
	}
}

// enableMetricsCertificate uncomments the two patches of
// [METRICS-WITH-CERTS] in config/default/kustomization.yaml.
func enableMetricsCertificate(t *testing.T, mem filesys.FileSystem) {
	t.Helper()
	const path = "/config/default/kustomization.yaml"
	for _, line := range []string{
		"#- path: cert_metrics_manager_patch.yaml\n",
		"#- path: cert_metrics_manager_args_patch.yaml\n",
		"#  target:\n",
		"#    kind: Deployment\n",
		"#    name: controller-manager\n",
	} {
		replaceInFile(t, mem, path, line, strings.TrimPrefix(line, "#"))
	}
}

func containerNamed(d *appsv1.Deployment, name string) *corev1.Container {
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == name {
			return &d.Spec.Template.Spec.Containers[i]
		}
	}
	return nil
}

func renderedDeployment(t *testing.T, r rendered) *appsv1.Deployment {
	t.Helper()
	ds := charts.OfKind(r.objects, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(ds))
	}
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(ds[0].Object, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestKustomizePatchesFindTheirTargetsByName: the callback URL and the
// Ingress patches of config/default land where they should whatever order
// the base lists containers, arguments and variables in, and so does the
// optional metrics certificate.
func TestKustomizePatchesFindTheirTargetsByName(t *testing.T) {
	const url = "https://tokens.example.org/callback"
	tests := map[string]struct {
		reorder, metricsCertificate bool
	}{
		"as shipped":                     {},
		"reordered":                      {reorder: true},
		"metrics certificate":            {metricsCertificate: true},
		"metrics certificate, reordered": {reorder: true, metricsCertificate: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			mem := configFS(t)
			replaceInFile(t, mem, "/config/default/callback_url_patch.yaml", exampleCallbackURL, url)
			if tc.reorder {
				reorderManager(t, mem)
			}
			if tc.metricsCertificate {
				enableMetricsCertificate(t, mem)
			}
			objs, err := kustomizeBuild(mem, "/config/default")
			g.Expect(err).NotTo(HaveOccurred())
			r := rendered{source: "kustomize", objects: objs}
			d := renderedDeployment(t, r)

			manager := containerNamed(d, "manager")
			g.Expect(manager).NotTo(BeNil())
			g.Expect(manager.Env).To(ContainElement(corev1.EnvVar{Name: "CALLBACK_URL", Value: url}))
			g.Expect(slices.IndexFunc(manager.Env, func(e corev1.EnvVar) bool { return e.Name == "CALLBACK_URL" })).
				To(Equal(slices.IndexFunc(manager.Env, func(e corev1.EnvVar) bool { return e.Value == url })), "one CALLBACK_URL")
			g.Expect(manager.Args).NotTo(ContainElement(HavePrefix("--callback-url")), "the URL is an environment variable, not a positional argument")
			g.Expect(manager.Args).To(ContainElement("--metrics-bind-address=:8443"))
			if tc.metricsCertificate {
				g.Expect(manager.Args).To(ContainElement("--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs"))
				g.Expect(manager.VolumeMounts).To(ContainElement(HaveField("Name", "metrics-certs")))
			}
			if tc.reorder {
				sidecar := containerNamed(d, "sidecar")
				g.Expect(sidecar).NotTo(BeNil())
				g.Expect(sidecar.Env).To(Equal([]corev1.EnvVar{{Name: "SIDECAR_MODE", Value: "on"}}), "the sidecar is left alone")
				g.Expect(sidecar.Args).To(Equal([]string{"--verbose"}))
			}

			ingObj := charts.Find(r.objects, "Ingress", "okta-token-operator-callback")
			g.Expect(ingObj).NotTo(BeNil())
			var ing networkingv1.Ingress
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(ingObj.Object, &ing)).To(Succeed())
			g.Expect(ing.Spec.Rules).To(HaveLen(1))
			g.Expect(ing.Spec.Rules[0].Host).To(Equal("okta-token-operator.example.com"))
			g.Expect(ing.Spec.Rules[0].HTTP.Paths).To(HaveLen(1))
			g.Expect(ing.Spec.Rules[0].HTTP.Paths[0].Path).To(Equal("/callback"))
			g.Expect(ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name).To(Equal("okta-token-operator-callback"),
				"the backend is the prefixed callback Service")
			g.Expect(charts.Find(r.objects, "Service", "okta-token-operator-callback")).NotTo(BeNil())
			g.Expect(ing.Spec.TLS).To(ConsistOf(networkingv1.IngressTLS{
				Hosts: []string{"okta-token-operator.example.com"}, SecretName: "okta-token-operator-callback-tls"}))
			g.Expect(ing.Spec.IngressClassName).To(HaveValue(Equal("nginx")))
		})
	}
}
