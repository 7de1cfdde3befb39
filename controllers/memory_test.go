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

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// TestWrittenStatusIsKeptUntilTheCacheHasIt: the status a pass patched is
// kept for a pass that reads the resource from a cache behind the patch,
// and dropped once the cache has it, whether the patch's own watch event
// arrives after the patch's answer or before it (the case that kept it for
// most resources: 5 MB at 10,000).
func TestWrittenStatusIsKeptUntilTheCacheHasIt(t *testing.T) {
	for _, eventFirst := range []bool{false, true} {
		name := map[bool]string{false: "event after the answer", true: "event before the answer"}[eventFirst]
		t.Run(name, func(t *testing.T) {
			obj := testResource()
			var r *OktaScopedTokenReconciler
			c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(obj).
				WithStatusSubresource(&v1.OktaScopedToken{}).
				WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string,
					o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
					err := c.SubResource(sub).Patch(ctx, o, p, opts...)
					if err == nil && eventFirst {
						r.mem.cacheCaughtUp(o.DeepCopyObject().(client.Object))
					}
					return err
				}}).Build()
			r = &OktaScopedTokenReconciler{Client: c, APIReader: c, Clock: clocktesting.NewFakeClock(now)}
			key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
			if err := c.Get(context.Background(), key, obj); err != nil {
				t.Fatal(err)
			}
			behind := obj.DeepCopy()
			run := &reconcileRun{r: r, obj: obj, key: key, now: now, before: obj.Status.DeepCopy()}
			run.obj.Status.Rotations = 1
			if err := run.patchStatus(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, kept := r.mem.statusWritten.load(key)
			if eventFirst {
				if kept {
					t.Fatal("the cache already had the patch, yet its status is still kept")
				}
				return
			}
			if !kept {
				t.Fatal("the status written is not kept for a pass that reads from a cache behind it")
			}
			r.mem.freshStatus(behind)
			if behind.Status.Rotations != 1 {
				t.Fatalf("a pass reading the version before the patch works from rotations %d, want the 1 written", behind.Status.Rotations)
			}
			r.mem.cacheCaughtUp(obj)
			if _, kept := r.mem.statusWritten.load(key); kept {
				t.Fatal("the cache caught up, yet the status written is still kept")
			}
		})
	}
}
