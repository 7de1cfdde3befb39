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

package controllers

// The restart step on a fake client: which workloads count as using the
// token Secret, and what the step does with a workload another resource
// restarted. The restarts themselves, on a real API server, are tested in
// test/integration/controller (consumers_test.go).

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

func TestConsumesSecret(t *testing.T) {
	const name = "logs-reader-token"
	secretVolume := func(secret string) corev1.Volume {
		return corev1.Volume{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}
	}
	envRef := func(secret string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "access_token"}}}}
	}
	tests := map[string]struct {
		spec corev1.PodSpec
		want bool
	}{
		"a secret volume": {spec: corev1.PodSpec{Volumes: []corev1.Volume{secretVolume("other"), secretVolume(name)}}, want: true},
		"a projected volume's secret source": {spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "p", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: name}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: name}}},
			}}}}}}, want: true},
		"a container's env": {spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b", Env: envRef(name)}}}, want: true},
		"an init container's env": {spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i", Env: envRef(name)}},
			Containers: []corev1.Container{{Name: "a"}}}, want: true},
		"a container's envFrom": {spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", EnvFrom: []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}}}}, want: true},
		"another Secret everywhere": {spec: corev1.PodSpec{Volumes: []corev1.Volume{secretVolume("other")},
			Containers: []corev1.Container{{Name: "a", Env: envRef("other"), EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}}}}}},
		"a ConfigMap of the same name": {spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}},
			Containers: []corev1.Container{{Name: "a", EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}}}}},
		"nothing": {spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			if got := consumesSecret(&corev1.PodTemplateSpec{Spec: tc.spec}, name); got != tc.want {
				t.Errorf("consumesSecret = %v, want %v", got, tc.want)
			}
		})
	}
}

// restartFixture is a resource whose token (issued a minute ago) is in the
// Secret, naming the Deployment "shipper", and a fake API server holding
// the Deployment.
type restartFixture struct {
	run *reconcileRun
	c   client.Client
	// patches counts the patches sent to the Deployment.
	patches int
}

func newRestartFixture(t *testing.T, deploy *appsv1.Deployment, funcs interceptor.Funcs) *restartFixture {
	t.Helper()
	obj := testResource()
	obj.Spec.RolloutRestartTargets = []v1.RolloutRestartTarget{{Kind: "Deployment", Name: "shipper"}}
	issued := metav1.NewTime(now.Add(-time.Minute))
	obj.Status.LastRotationTime = &issued
	f := &restartFixture{}
	patch := funcs.Patch
	funcs.Patch = func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
		if _, ok := o.(*appsv1.Deployment); ok {
			f.patches++
		}
		if patch != nil {
			return patch(ctx, c, o, p, opts...)
		}
		return c.Patch(ctx, o, p, opts...)
	}
	f.c = fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(obj, deploy).
		WithStatusSubresource(&v1.OktaScopedToken{}).WithInterceptorFuncs(funcs).Build()
	r := &OktaScopedTokenReconciler{Client: f.c, APIReader: f.c, Clock: clocktesting.NewFakeClock(now)}
	f.run = &reconcileRun{r: r, obj: obj, key: client.ObjectKeyFromObject(obj), now: now, before: obj.Status.DeepCopy()}
	g := validGrant()
	g.IssuedAt = issued.Time
	f.run.state.Grant = g
	return f
}

// shipper is the Deployment "shipper", its pod template mounting secret.
func shipper(secret string, annotations map[string]string) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shipper", Namespace: "team-a", Annotations: annotations}}
	d.Spec.Template.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "shipper", Image: "shipper:1"}},
		Volumes: []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}}}
	return d
}

func (f *restartFixture) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := f.c.Get(context.Background(), types.NamespacedName{Namespace: "team-a", Name: "shipper"}, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRestartWorkloads(t *testing.T) {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	issued := now.Add(-time.Minute)
	tests := map[string]struct {
		deploy *appsv1.Deployment
		funcs  interceptor.Funcs
		// reason and messageHas of RolloutRestarted; at is the requeue.
		reason     string
		messageHas []string
		at         time.Time
		// restartedAt is the Deployment's restart annotations after the
		// pass ("": none); patched says whether a patch was sent.
		restartedAt string
		patched     bool
		// done: the resource is done for this token.
		done bool
	}{
		"a workload that uses the token Secret is restarted": {
			deploy: shipper("logs-reader-token", nil), reason: v1.ReasonRestarted,
			messageHas: []string{"restarted Deployment/shipper at " + stamp(now)}, restartedAt: stamp(now), patched: true, done: true,
		},
		"a workload that does not is never written": {
			deploy: shipper("someone-elses", nil), reason: v1.ReasonRestartFailed,
			messageHas: []string{"Deployment/shipper does not mount or reference Secret logs-reader-token, so the operator will not restart it",
				"restarted: none"},
			done: true,
		},
		"restarted by another resource less than five minutes ago: it waits for the interval": {
			deploy: shipper("logs-reader-token", map[string]string{annotationWorkloadRestartedAt: stamp(issued.Add(-3 * time.Minute))}),
			reason: v1.ReasonRestartPending, at: issued.Add(2 * time.Minute),
			messageHas: []string{"Deployment/shipper was restarted at " + stamp(issued.Add(-3*time.Minute)) +
				" and is restarted again at " + stamp(issued.Add(2*time.Minute)), "at most once every 5m0s, whichever OktaScopedToken names it"},
			restartedAt: stamp(issued.Add(-3 * time.Minute)),
		},
		"restarted by another resource since the token was issued: it already runs it": {
			deploy: shipper("logs-reader-token", map[string]string{annotationWorkloadRestartedAt: stamp(issued)}),
			reason: v1.ReasonRestarted, messageHas: []string{"restarted Deployment/shipper at " + stamp(issued)},
			restartedAt: stamp(issued), done: true,
		},
		"restarted more than five minutes ago: restarted": {
			deploy: shipper("logs-reader-token", map[string]string{annotationWorkloadRestartedAt: stamp(now.Add(-5 * time.Minute))}),
			reason: v1.ReasonRestarted, restartedAt: stamp(now), patched: true, done: true,
		},
		"a time far ahead holds it back one interval from now, no longer": {
			deploy: shipper("logs-reader-token", map[string]string{annotationWorkloadRestartedAt: "2999-01-01T00:00:00Z"}),
			reason: v1.ReasonRestartPending, at: now.Add(5 * time.Minute), restartedAt: "2999-01-01T00:00:00Z",
		},
		"another resource restarts it between the read and the patch: the patch conflicts and it is read again": {
			deploy: shipper("logs-reader-token", nil),
			funcs: interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
				other := &appsv1.Deployment{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(o), other); err != nil {
					return err
				}
				other.Annotations = map[string]string{annotationWorkloadRestartedAt: "by-the-other"}
				if err := c.Update(ctx, other); err != nil {
					return err
				}
				return c.Patch(ctx, o, p, opts...)
			}},
			reason: v1.ReasonRestartPending, at: now.Add(restartConflictRetry),
			messageHas:  []string{"Deployment/shipper changed while it was being restarted and is read again at " + stamp(now.Add(restartConflictRetry))},
			restartedAt: "by-the-other", patched: true,
		},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			f := newRestartFixture(t, tc.deploy, tc.funcs)
			rvBefore := f.deployment(t).ResourceVersion
			o, err := f.run.restartWorkloads(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if o.reports() || o.rollout == nil {
				t.Fatalf("outcome %+v: want proceed with a RolloutRestarted report", o)
			}
			if o.rollout.reason != tc.reason {
				t.Errorf("reason %s (%s), want %s", o.rollout.reason, o.rollout.message, tc.reason)
			}
			for _, s := range tc.messageHas {
				if !strings.Contains(o.rollout.message, s) {
					t.Errorf("message %q does not say %q", o.rollout.message, s)
				}
			}
			if !o.at.Equal(tc.at) {
				t.Errorf("requeue at %s, want %s", o.at, tc.at)
			}
			d := f.deployment(t)
			if got := d.Annotations[annotationWorkloadRestartedAt]; got != tc.restartedAt {
				t.Errorf("%s = %q, want %q", annotationWorkloadRestartedAt, got, tc.restartedAt)
			}
			if tc.patched != (f.patches > 0) {
				t.Errorf("%d patches sent, want some: %v", f.patches, tc.patched)
			}
			wantTemplate := ""
			if tc.patched && tc.reason == v1.ReasonRestarted {
				wantTemplate = tc.restartedAt
			}
			if got := d.Spec.Template.Annotations[annotationRestartedAt]; got != wantTemplate {
				t.Errorf("the pod template's %s = %q, want %q", annotationRestartedAt, got, wantTemplate)
			}
			if !tc.patched && d.ResourceVersion != rvBefore {
				t.Errorf("the Deployment changed (resourceVersion %s, was %s)", d.ResourceVersion, rvBefore)
			}
			if done := f.run.obj.Status.LastRolloutRestartTime != nil; done != tc.done {
				t.Errorf("lastRolloutRestartTime %v, want it set: %v", f.run.obj.Status.LastRolloutRestartTime, tc.done)
			}
		})
	}
}
