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

// What consumers of the token get: workloads restarted after a rotation,
// Secrets in the shape a consumer wants, and service apps on a custom
// authorization server authenticating with a client secret.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// workloadTemplate is a pod template a Deployment or StatefulSet can run,
// mounting the token Secrets named, one volume each.
func workloadTemplate(secrets ...string) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "log-shipper"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "shipper", Image: "log-shipper:1"}}},
	}
	for i, s := range secrets {
		name := fmt.Sprintf("token-%d", i)
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: name,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s}}})
		t.Spec.Containers[0].VolumeMounts = append(t.Spec.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: name, MountPath: "/var/run/okta/" + name, ReadOnly: true})
	}
	return t
}

// restartedAt reads obj again and returns its pod template's
// kubectl.kubernetes.io/restartedAt, what `kubectl rollout restart` sets.
func restartedAt(g Gomega, obj client.Object) string {
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
	case *appsv1.StatefulSet:
		return o.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
	}
	return ""
}

// stamp is a time as the restart annotations write it.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestRolloutRestartTargets: after each new token is in the Secret, the
// workloads that read it only at start are restarted the way `kubectl
// rollout restart` does, once per token and not more often than every five
// minutes; a workload that cannot be restarted is reported, and the token
// is unaffected.
func TestRolloutRestartTargets(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "log-shipper"}}
	// Both mount the token Secret, as workloads that read the token do.
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "log-shipper", Namespace: f.ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector, Template: workloadTemplate("logs-reader-token")}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "archiver", Namespace: f.ns},
		Spec: appsv1.StatefulSetSpec{Selector: selector, Template: workloadTemplate("logs-reader-token")}}
	g.Expect(env.Client.Create(ctx, deploy)).To(Succeed())
	g.Expect(env.Client.Create(ctx, sts)).To(Succeed())
	f.newWebToken(func(o *v1.OktaScopedToken) {
		o.Spec.RolloutRestartTargets = []v1.RolloutRestartTarget{
			{Kind: "Deployment", Name: "log-shipper"}, {Kind: "StatefulSet", Name: "archiver"},
		}
	})
	cur := f.signIn()

	first := restartedAt(g, deploy)
	g.Expect(first).NotTo(BeEmpty(), "restarted once the first token is in the Secret")
	g.Expect(restartedAt(g, sts)).To(Equal(first))
	g.Expect(condition(cur, v1.ConditionRolloutRestarted).Reason).To(Equal(v1.ReasonRestarted))
	g.Expect(condition(cur, v1.ConditionRolloutRestarted).Message).To(ContainSubstring("Deployment/log-shipper, StatefulSet/archiver"))
	generation := deploy.Generation

	// A pass without a new token restarts nothing.
	f.poke()
	g.Expect(restartedAt(g, deploy)).To(Equal(first))
	g.Expect(deploy.Generation).To(Equal(generation))

	// A new token within five minutes of the last restart waits for them.
	f.step(time.Minute)
	f.annotate(v1.AnnotationRenewRequestedAt, "now")
	g.Eventually(func(g Gomega) string { return condition(get(g, f.obj), v1.ConditionRolloutRestarted).Reason }).
		Should(Equal(v1.ReasonRestartPending))
	g.Expect(readyCondition(get(g, f.obj)).Status).To(Equal(metav1.ConditionTrue), "the token is fine meanwhile")
	g.Expect(restartedAt(g, deploy)).To(Equal(first))
	f.step(4 * time.Minute)
	g.Eventually(func(g Gomega) string { return restartedAt(g, deploy) }).ShouldNot(Equal(first))
	g.Eventually(func(g Gomega) string { return condition(get(g, f.obj), v1.ConditionRolloutRestarted).Reason }).
		Should(Equal(v1.ReasonRestarted))

	// A workload that is not there is reported, and the token stays fine.
	cur = get(g, f.obj)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.RolloutRestartTargets = append(cur.Spec.RolloutRestartTargets, v1.RolloutRestartTarget{Kind: "DaemonSet", Name: "missing"})
	g.Expect(env.Client.Patch(ctx, cur, patch)).To(Succeed())
	f.step(5 * time.Minute)
	f.annotate(v1.AnnotationRenewRequestedAt, "again")
	g.Eventually(func(g Gomega) {
		cur = get(g, f.obj)
		c := condition(cur, v1.ConditionRolloutRestarted)
		g.Expect(c.Reason).To(Equal(v1.ReasonRestartFailed))
		g.Expect(c.Message).To(ContainSubstring("DaemonSet/missing"))
		g.Expect(c.Message).To(ContainSubstring("restarted: Deployment/log-shipper, StatefulSet/archiver"))
	}).Should(Succeed())
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(cur.Status.Rotations).To(BeEquivalentTo(2))
}

// TestRolloutRestartOncePerWorkloadInterval: two OktaScopedTokens, created
// a minute apart, name one Deployment that mounts both their token Secrets.
// Through twelve rotations over twenty minutes, the Deployment is restarted
// once every five minutes, not on each resource's own schedule: the
// interval is the workload's, whichever resource asks.
func TestRolloutRestartOncePerWorkloadInterval(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "log-shipper"}}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: f.ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector,
			Template: workloadTemplate("reader-a-token", "reader-b-token")}}
	g.Expect(env.Client.Create(ctx, deploy)).To(Succeed())
	named := func(name string) func(*v1.OktaScopedToken) {
		return func(o *v1.OktaScopedToken) {
			o.Name, o.Spec.SecretName = name, name+"-token"
			o.Spec.RolloutRestartTargets = []v1.RolloutRestartTarget{{Kind: "Deployment", Name: "shared"}}
		}
	}
	// restarts are the values restartedAt took, in order.
	var restarts []string
	observe := func() {
		if v := restartedAt(g, deploy); v != "" && (len(restarts) == 0 || restarts[len(restarts)-1] != v) {
			restarts = append(restarts, v)
		}
	}

	t0 := f.clock.Now()
	a := f.newWebToken(named("reader-a"))
	f.signIn()
	observe()
	g.Expect(restarts).To(Equal([]string{stamp(t0)}), "restarted for the first resource's first token")

	f.step(time.Minute)
	b := f.newWebToken(named("reader-b"))
	cur := f.signIn()
	c := condition(cur, v1.ConditionRolloutRestarted)
	g.Expect(c.Reason).To(Equal(v1.ReasonRestartPending), "the second resource's token waits for the workload's interval: %s", c.Message)
	g.Expect(c.Message).To(ContainSubstring("Deployment/shared was restarted at %s and is restarted again at %s",
		stamp(t0), stamp(t0.Add(5*time.Minute))))
	g.Expect(c.Message).To(ContainSubstring("a workload is restarted at most once every 5m0s, whichever OktaScopedToken names it"))
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "the token is fine meanwhile")
	observe()
	g.Expect(restarts).To(HaveLen(1))

	// A rotation every minute, the two resources in turn, until minute 13;
	// then the clock moves on to minute 20 with no new token.
	for m := 2; m <= 20; m++ {
		f.step(time.Minute)
		if m <= 13 {
			obj := a
			if m%2 == 1 {
				obj = b
			}
			f.obj = obj
			f.annotate(v1.AnnotationRenewRequestedAt, fmt.Sprint(m))
			g.Eventually(func(g Gomega) time.Time { return get(g, obj).Status.LastRotationTime.Time }).
				Should(BeTemporally("==", f.clock.Now()), "minute %d: a new token for %s", m, obj.Name)
			f.settle()
		}
		observe()
		if m == 7 {
			// Renewed at minute 6, after the restart at minute 5.
			c := condition(get(g, a), v1.ConditionRolloutRestarted)
			g.Expect(c.Reason).To(Equal(v1.ReasonRestartPending), "restarts %v: %s", restarts, c.Message)
			g.Expect(c.Message).To(ContainSubstring("is restarted again at " + stamp(t0.Add(10*time.Minute))))
		}
	}
	g.Expect(restarts).To(Equal([]string{stamp(t0), stamp(t0.Add(5 * time.Minute)), stamp(t0.Add(10 * time.Minute)),
		stamp(t0.Add(15 * time.Minute))}), "restarted once per five minutes, for 14 tokens of two resources")
	g.Expect(deploy.Generation).To(BeEquivalentTo(1+len(restarts)), "each restart, and nothing else, changed the pod template")
	g.Expect(deploy.Annotations).To(HaveKeyWithValue("oktatoken.dev/restarted-at", stamp(t0.Add(15*time.Minute))),
		"the restart is recorded on the workload")
	for _, obj := range []*v1.OktaScopedToken{a, b} {
		cur := get(g, obj)
		c := condition(cur, v1.ConditionRolloutRestarted)
		g.Expect(c.Reason).To(Equal(v1.ReasonRestarted), "%s: %s", obj.Name, c.Message)
		g.Expect(c.Message).To(HavePrefix("restarted Deployment/shared at %s for the token issued at", stamp(t0.Add(15*time.Minute))))
		g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue))
	}
}

// TestRolloutRestartOnlyWorkloadsUsingTheSecret: a target whose pod
// template does not use the token Secret is never written, and the
// condition says why; StatefulSets that read it through envFrom or a
// projected volume are restarted, at each token.
func TestRolloutRestartOnlyWorkloadsUsingTheSecret(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "log-shipper"}}
	// unrelated mounts some other Secret, not this resource's.
	unrelated := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: f.ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector, Template: workloadTemplate("another-token")}}
	envTemplate := workloadTemplate()
	envTemplate.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "logs-reader-token"}}}}
	envReader := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "env-reader", Namespace: f.ns},
		Spec: appsv1.StatefulSetSpec{Selector: selector, Template: envTemplate}}
	projectedTemplate := workloadTemplate()
	projectedTemplate.Spec.Volumes = []corev1.Volume{{Name: "okta", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "logs-reader-token"},
				Items: []corev1.KeyToPath{{Key: v1.TokenSecretAccessToken, Path: "token"}}}},
		}}}}}
	projectedReader := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "projected-reader", Namespace: f.ns},
		Spec: appsv1.StatefulSetSpec{Selector: selector, Template: projectedTemplate}}
	for _, o := range []client.Object{unrelated, envReader, projectedReader} {
		g.Expect(env.Client.Create(ctx, o)).To(Succeed())
	}
	unrelatedPath := "/apis/apps/v1/namespaces/" + f.ns + "/deployments/unrelated"
	rv, generation := unrelated.ResourceVersion, unrelated.Generation
	untouched := func(g Gomega) {
		cur := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(unrelated), cur)).To(Succeed())
		g.Expect(cur.ResourceVersion).To(Equal(rv), "Deployment/unrelated was never written")
		g.Expect(cur.Generation).To(Equal(generation))
		g.Expect(cur.Annotations).NotTo(HaveKey("oktatoken.dev/restarted-at"))
		g.Expect(cur.Spec.Template.Annotations).NotTo(HaveKey("kubectl.kubernetes.io/restartedAt"))
		for _, w := range f.api.since(0) {
			g.Expect(w.Path).NotTo(Equal(unrelatedPath), "the operator sent %s %s", w.Method, w.Path)
		}
	}
	refusal := "Deployment/unrelated does not mount or reference Secret logs-reader-token, so the operator will not restart it"

	t0 := f.clock.Now()
	f.newWebToken(func(o *v1.OktaScopedToken) {
		o.Spec.RolloutRestartTargets = []v1.RolloutRestartTarget{{Kind: "Deployment", Name: "unrelated"},
			{Kind: "StatefulSet", Name: "env-reader"}, {Kind: "StatefulSet", Name: "projected-reader"}}
	})
	cur := f.signIn()
	c := condition(cur, v1.ConditionRolloutRestarted)
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Reason).To(Equal(v1.ReasonRestartFailed))
	g.Expect(c.Message).To(ContainSubstring(refusal))
	g.Expect(c.Message).To(ContainSubstring("restarted: StatefulSet/env-reader, StatefulSet/projected-reader"))
	g.Expect(readyCondition(cur).Status).To(Equal(metav1.ConditionTrue), "the token is unaffected")
	g.Expect(restartedAt(g, envReader)).To(Equal(stamp(t0)), "envFrom counts")
	g.Expect(restartedAt(g, projectedReader)).To(Equal(stamp(t0)), "a projected volume counts")
	untouched(g)

	// The next token: the StatefulSets are restarted again, the Deployment
	// still is not.
	f.step(5 * time.Minute)
	f.annotate(v1.AnnotationRenewRequestedAt, "now")
	g.Eventually(func(g Gomega) string { return restartedAt(g, envReader) }).Should(Equal(stamp(t0.Add(5 * time.Minute))))
	g.Eventually(func(g Gomega) string { return restartedAt(g, projectedReader) }).Should(Equal(stamp(t0.Add(5 * time.Minute))))
	f.poke()
	untouched(g)
	cur = get(g, f.obj)
	g.Expect(cur.Status.Rotations).To(BeEquivalentTo(1))
	g.Expect(condition(cur, v1.ConditionRolloutRestarted).Message).To(ContainSubstring(refusal))
	g.Expect(envReader.Generation).To(BeEquivalentTo(3), "created, then restarted twice")
}

// TestSecretTemplateData: the token Secret carries the keys a consumer
// asked for, rendered from the token, and follows each rotation.
func TestSecretTemplateData(t *testing.T) {
	g := NewWithT(t)
	f, _ := signedIn(t, fixtureOptions{}, func(o *v1.OktaScopedToken) {
		o.Spec.SecretTemplate = &v1.SecretTemplate{Data: map[string]v1.TemplateString{
			"authorization": "Bearer {{ .accessToken }}",
			"shipper.yaml":  "okta:\n  token: {{.accessToken}}\n  expires: {{ .expiry }}\n  scopes: \"{{ .scope }}\"\n",
		}}
	})
	check := func(g Gomega) string {
		s := tokenSecret(g, f.ns, f.obj.TokenSecretName())
		access := string(s.Data[v1.TokenSecretAccessToken])
		g.Expect(string(s.Data["authorization"])).To(Equal("Bearer " + access))
		g.Expect(string(s.Data["shipper.yaml"])).To(Equal("okta:\n  token: " + access + "\n  expires: " +
			string(s.Data[v1.TokenSecretExpiry]) + "\n  scopes: \"" + string(s.Data[v1.TokenSecretScope]) + "\"\n"))
		return access
	}
	first := check(g)
	remember(first)
	f.annotate(v1.AnnotationRenewRequestedAt, "now")
	g.Eventually(func(g Gomega) string { return check(g) }).ShouldNot(Equal(first))

	// A key dropped from the template leaves the Secret.
	cur := get(g, f.obj)
	patch := client.MergeFrom(cur.DeepCopy())
	delete(cur.Spec.SecretTemplate.Data, "shipper.yaml")
	g.Expect(env.Client.Patch(context.Background(), cur, patch)).To(Succeed())
	g.Eventually(func(g Gomega) map[string][]byte { return tokenSecret(g, f.ns, f.obj.TokenSecretName()).Data }).
		ShouldNot(HaveKey("shipper.yaml"))
}

// TestClientCredentialsWithAClientSecret: a service app on a custom
// authorization server authenticates with its client secret
// (client_secret_basic) and gets a token for the server's custom scopes.
func TestClientCredentialsWithAClientSecret(t *testing.T) {
	g := NewWithT(t)
	f := serviceFixture(t, time.Minute, oktadev.Config{})
	const clientID, secret = "0oaservicesecret", "service-app-client-secret-value"
	f.customServerApp(f.ns, "default", clientID, secret, "logs:read")
	obj := f.create(&v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: f.ns},
		Spec: v1.OktaScopedTokenSpec{
			OktaDomain: f.srv.Issuer(), AuthorizationServerID: "default", ClientID: clientID,
			GrantType:       v1.GrantClientCredentials,
			ClientSecretRef: &v1.SecretKeyReference{Name: "okta-service-app", Key: "clientSecret"},
			Scopes:          []string{"logs:read"}, SecretName: "logs-reader-token",
		},
	}, nil)
	cur := waitForReady(t, obj)
	g.Expect(cur.Status.GrantedScopes).To(Equal([]string{"logs:read"}))
	sent := f.requests.from("")
	g.Expect(sent).To(HaveLen(1))
	g.Expect(sent[0].Get("grant_type")).To(Equal("client_credentials"))
	g.Expect(sent[0]).NotTo(HaveKey("client_secret"), "the secret goes in the Authorization header (client_secret_basic)")
	g.Expect(sent[0]).NotTo(HaveKey("client_assertion"))
	access := f.accessToken(g)
	remember(access)
	// The token is one the custom authorization server honours.
	req, _ := http.NewRequest(http.MethodPost, f.srv.AuthorizationServerIssuer("default")+"/v1/introspect",
		strings.NewReader("token="+access))
	req.SetBasicAuth(clientID, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	g.Expect(body.String()).To(ContainSubstring(`"active":true`))
}
