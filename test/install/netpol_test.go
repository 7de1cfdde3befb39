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
	"maps"
	"net"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/okta-token-operator/okta-token-operator/charts"
)

// The test control plane has no network plugin, so these tests evaluate the
// rendered NetworkPolicies the way the API documents them: a pod selected
// by a policy of a direction accepts only what some rule of those policies
// allows.

// endpoint is one side of a connection.
type endpoint struct {
	namespace       string
	namespaceLabels map[string]string
	podLabels       map[string]string
	ip              string
}

func namespaceEndpoint(ns string, extra map[string]string, podLabels map[string]string) endpoint {
	l := map[string]string{"kubernetes.io/metadata.name": ns}
	maps.Copy(l, extra)
	return endpoint{namespace: ns, namespaceLabels: l, podLabels: podLabels}
}

// connection is a TCP or UDP connection to a port.
type connection struct {
	port     corev1.ContainerPort // name and number; only the number for egress
	protocol corev1.Protocol
}

func policies(t *testing.T, r rendered) []networkingv1.NetworkPolicy {
	t.Helper()
	objs := charts.OfKind(r.objects, "NetworkPolicy")
	out := make([]networkingv1.NetworkPolicy, 0, len(objs))
	for _, o := range objs {
		var p networkingv1.NetworkPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func selects(p networkingv1.NetworkPolicy, pod endpoint, direction networkingv1.PolicyType) bool {
	if p.Namespace != pod.namespace || !slices.Contains(p.Spec.PolicyTypes, direction) {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	return err == nil && sel.Matches(labels.Set(pod.podLabels))
}

func peerMatches(policyNS string, peer networkingv1.NetworkPolicyPeer, other endpoint) bool {
	if peer.IPBlock != nil {
		_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
		ip := net.ParseIP(other.ip)
		if err != nil || ip == nil || !cidr.Contains(ip) {
			return false
		}
		for _, except := range peer.IPBlock.Except {
			if _, ex, err := net.ParseCIDR(except); err == nil && ex.Contains(ip) {
				return false
			}
		}
		return true
	}
	if other.ip != "" && other.podLabels == nil {
		return false // an address outside the cluster is no pod
	}
	if peer.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil || !sel.Matches(labels.Set(other.namespaceLabels)) {
			return false
		}
	} else if other.namespace != policyNS {
		return false
	}
	if peer.PodSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if err != nil || !sel.Matches(labels.Set(other.podLabels)) {
			return false
		}
	}
	return true
}

func portMatches(ports []networkingv1.NetworkPolicyPort, c connection) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		protocol := corev1.ProtocolTCP
		if p.Protocol != nil {
			protocol = *p.Protocol
		}
		if protocol != c.protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String && c.port.Name != "" && p.Port.StrVal == c.port.Name:
			return true
		case p.Port.Type == intstr.Int && p.Port.IntVal == c.port.ContainerPort:
			return true
		case p.Port.Type == intstr.Int && p.EndPort != nil && c.port.ContainerPort >= p.Port.IntVal && c.port.ContainerPort <= *p.EndPort:
			return true
		}
	}
	return false
}

// admitsIngress tells whether a connection from source to pod gets in, and
// whether any policy restricts the pod's ingress at all.
func admitsIngress(ps []networkingv1.NetworkPolicy, pod, source endpoint, c connection) (admitted, restricted bool) {
	for _, p := range ps {
		if !selects(p, pod, networkingv1.PolicyTypeIngress) {
			continue
		}
		restricted = true
		for _, rule := range p.Spec.Ingress {
			if !portMatches(rule.Ports, c) {
				continue
			}
			if len(rule.From) == 0 {
				return true, true
			}
			for _, peer := range rule.From {
				if peerMatches(p.Namespace, peer, source) {
					return true, true
				}
			}
		}
	}
	return !restricted, restricted
}

// allowsEgress tells whether a connection from pod to destination gets out,
// and whether any policy restricts the pod's egress at all.
func allowsEgress(ps []networkingv1.NetworkPolicy, pod, destination endpoint, c connection) (allowed, restricted bool) {
	for _, p := range ps {
		if !selects(p, pod, networkingv1.PolicyTypeEgress) {
			continue
		}
		restricted = true
		for _, rule := range p.Spec.Egress {
			if !portMatches(rule.Ports, c) {
				continue
			}
			if len(rule.To) == 0 {
				return true, true
			}
			for _, peer := range rule.To {
				if peerMatches(p.Namespace, peer, destination) {
					return true, true
				}
			}
		}
	}
	return !restricted, restricted
}

// TestNetworkPoliciesLetSignInsThrough: with the NetworkPolicies on, a
// browser's callback still reaches the operator through the ingress
// controller, scrapes reach the metrics port, and nothing else gets in;
// going out, only DNS, the API server and HTTPS are allowed.
func TestNetworkPoliciesLetSignInsThrough(t *testing.T) {
	installs := map[string]rendered{
		"chart": renderChart(t, charts.Release{Name: "okta-token-operator", Namespace: "okta-token-operator",
			Values: map[string]any{
				"callback":      map[string]any{"host": "okta-token-operator.example.test"},
				"networkPolicy": map[string]any{"enabled": true, "egress": map[string]any{"enabled": true}},
			}}),
		"kustomize": renderKustomize(t, kustomizeOptions{networkPolicies: true}),
	}
	tcp := func(name string, port int32) connection {
		return connection{port: corev1.ContainerPort{Name: name, ContainerPort: port}, protocol: corev1.ProtocolTCP}
	}
	for source, r := range installs {
		t.Run(source, func(t *testing.T) {
			ps := policies(t, r)
			deployments := charts.OfKind(r.objects, "Deployment")
			if len(deployments) != 1 {
				t.Fatalf("%d Deployments rendered, want 1", len(deployments))
			}
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployments[0].Object, &d); err != nil {
				t.Fatal(err)
			}
			pod := namespaceEndpoint(d.Namespace, nil, d.Spec.Template.Labels)
			ports := map[string]corev1.ContainerPort{}
			for _, c := range d.Spec.Template.Spec.Containers {
				if c.Name != "manager" {
					continue
				}
				for _, p := range c.Ports {
					ports[p.Name] = p
				}
			}
			callback, metricsPort := ports["callback"], ports["metrics"]
			if callback.ContainerPort == 0 || metricsPort.ContainerPort == 0 {
				t.Fatalf("the manager container names no callback or metrics port: %+v", ports)
			}
			ingressController := namespaceEndpoint("ingress-nginx", nil, map[string]string{"app.kubernetes.io/name": "ingress-nginx"})
			prometheus := namespaceEndpoint("monitoring", map[string]string{"metrics": "enabled"}, map[string]string{"app": "prometheus"})
			stranger := namespaceEndpoint("t-other", nil, map[string]string{"app": "curious"})

			ingress := []struct {
				name   string
				from   endpoint
				conn   connection
				wanted bool
			}{
				{"the callback from the ingress controller", ingressController, tcp("callback", callback.ContainerPort), true},
				{"metrics from a namespace labelled metrics=enabled", prometheus, tcp("metrics", metricsPort.ContainerPort), true},
				{"the callback from another namespace", stranger, tcp("callback", callback.ContainerPort), false},
				{"metrics from another namespace", stranger, tcp("metrics", metricsPort.ContainerPort), false},
				{"another port from the ingress controller", ingressController, tcp("", 9999), false},
			}
			for _, tc := range ingress {
				admitted, restricted := admitsIngress(ps, pod, tc.from, tc.conn)
				if !restricted {
					t.Fatalf("no NetworkPolicy restricts the operator's ingress")
				}
				if admitted != tc.wanted {
					t.Errorf("ingress: %s: admitted %v, want %v", tc.name, admitted, tc.wanted)
				}
			}

			kubeDNS := namespaceEndpoint("kube-system", nil, map[string]string{"k8s-app": "kube-dns"})
			okta := endpoint{ip: "203.0.113.10"}
			apiServer := endpoint{ip: "10.0.0.1"}
			egress := []struct {
				name   string
				to     endpoint
				conn   connection
				wanted bool
			}{
				{"DNS over UDP to kube-dns", kubeDNS, connection{port: corev1.ContainerPort{ContainerPort: 53}, protocol: corev1.ProtocolUDP}, true},
				{"DNS over TCP to kube-dns", kubeDNS, tcp("", 53), true},
				{"HTTPS to Okta", okta, tcp("", 443), true},
				{"the API server's own port", apiServer, tcp("", 6443), true},
				{"plain HTTP out", okta, tcp("", 80), false},
				{"DNS to some other server", endpoint{ip: "198.51.100.53"}, connection{port: corev1.ContainerPort{ContainerPort: 53}, protocol: corev1.ProtocolUDP}, false},
				{"a database in another namespace", namespaceEndpoint("db", nil, map[string]string{"app": "postgres"}), tcp("", 5432), false},
			}
			for _, tc := range egress {
				allowed, restricted := allowsEgress(ps, pod, tc.to, tc.conn)
				if !restricted {
					t.Fatalf("no NetworkPolicy restricts the operator's egress")
				}
				if allowed != tc.wanted {
					t.Errorf("egress: %s: allowed %v, want %v", tc.name, allowed, tc.wanted)
				}
			}
		})
	}
}
