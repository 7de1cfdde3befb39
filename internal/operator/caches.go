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

package operator

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// newReferencedCache builds the cache of the Secrets resources may
// reference; the manager runs it.
func newReferencedCache(cfg *rest.Config, mgr manager.Manager, o *Options) (cache.Cache, error) {
	// The user's Secrets (client secret, private key) are watched through
	// a separate metadata-only cache: the manager's cache is limited to
	// managed Secrets, and of the others only their name and version are
	// kept — not their labels or annotations, which can be large and, in
	// kubectl's last-applied-configuration, hold the Secret's data.
	referencedOpts := cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultNamespaces: namespaces(o.WatchNamespaces),
		DefaultTransform:  keepOnlyIdentity,
	}
	// The operator's own Secrets are never credentials; with
	// --require-secret-label, only labelled Secrets can be.
	notManaged, _ := labels.NewRequirement(v1.LabelManagedBy, selection.NotEquals, []string{v1.ManagedByValue})
	referencedSelector := labels.NewSelector().Add(*notManaged)
	if o.RequireSecretLabel {
		allowed, _ := labels.NewRequirement(v1.LabelAllowReference, selection.Equals, []string{"true"})
		referencedSelector = referencedSelector.Add(*allowed)
	}
	referencedOpts.DefaultLabelSelector = referencedSelector
	referencedCache, err := cache.New(cfg, referencedOpts)
	if err != nil {
		return nil, fmt.Errorf("creating the referenced-Secret cache: %w", err)
	}
	return referencedCache, nil
}

// keepOnlyIdentity is the referenced-Secret cache's transform: what maps a
// Secret to the resources that reference it (namespace and name) and tells
// that it changed (resourceVersion), and nothing else.
func keepOnlyIdentity(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		},
	}, nil
}

// namespaces is a cache's namespace configuration: watched plus extra, or
// nil (every namespace) when watched is empty.
func namespaces(watched []string, extra ...string) map[string]cache.Config {
	if len(watched) == 0 {
		return nil
	}
	out := map[string]cache.Config{}
	for _, ns := range append(slices.Clone(watched), extra...) {
		out[ns] = cache.Config{}
	}
	return out
}

// shardSelector selects the OktaScopedTokens of a shard: those labelled
// with it, or, for the default shard, those without the label.
func shardSelector(shard string) (labels.Selector, error) {
	op := selection.DoesNotExist
	var values []string
	if shard != "" {
		op, values = selection.Equals, []string{shard}
	}
	req, err := labels.NewRequirement(v1.LabelShard, op, values)
	if err != nil {
		return nil, fmt.Errorf("--shard %q is not a valid label value: %w", shard, err)
	}
	return labels.NewSelector().Add(*req), nil
}

// What the manager's cache keeps of the objects a namespace user controls.
// Every replica caches every OktaScopedToken and the Secrets the operator
// manages, so what a tenant can make big must not reach it: the cache keeps
// only what the operator reads.

// tokenAnnotations and tokenLabels are the resource's annotations and
// labels the operator reads; the rest (kubectl's last-applied copy of the
// whole object, a tenant's own) is not cached.
var (
	tokenAnnotations = []string{v1.AnnotationRenewRequestedAt, v1.AnnotationReauthorizeRequestedAt}
	tokenLabels      = []string{v1.LabelShard}
	// secretLabels are the labels of a managed Secret the operator selects
	// or lists by.
	secretLabels = []string{v1.LabelManagedBy, v1.LabelToken, state.LabelRole, state.LabelPendingState}
)

// trimToken is the OktaScopedToken cache's transform: no managed fields,
// and only the annotations and labels the operator reads. The operator
// therefore never updates a resource from the cache, it patches what it
// changes (its finalizer, its status).
func trimToken(in any) (any, error) {
	obj, ok := in.(*v1.OktaScopedToken)
	if !ok {
		return in, nil
	}
	obj.ManagedFields = nil
	obj.Annotations = keep(obj.Annotations, tokenAnnotations)
	obj.Labels = keep(obj.Labels, tokenLabels)
	return obj, nil
}

// trimSecret is the Secret cache's transform. The cache selects Secrets by
// the managed-by label, which anyone may put on their own Secrets, so the
// label decides nothing here: a Secret is cached whole only when the
// operator wrote it — a state Secret in the state namespace, where no
// tenant writes, or the token Secret of an OktaScopedToken the cache holds,
// controlled by it (its UID) and named by its spec.secretName. Any other is
// kept as its name, owners and the operator's labels only, marked
// state.AnnotationTrimmed; the reconciler reads such a Secret from the API
// server when it needs more (an OktaScopedToken the cache had not seen
// yet when its Secret arrived).
//
// A ClusterOktaScopedToken's copy is kept whole on the same terms: controlled
// by the cluster token the cache holds (its UID), under its
// spec.secretName.
func trimSecret(stateNamespace string, tokenOf func(namespace, name string) *v1.OktaScopedToken,
	clusterTokenOf func(name string) *v1.ClusterOktaScopedToken) toolscache.TransformFunc {
	return func(in any) (any, error) {
		s, ok := in.(*corev1.Secret)
		if !ok {
			return in, nil
		}
		s.ManagedFields = nil
		if s.Namespace == stateNamespace && s.Labels[state.LabelRole] == state.RoleState {
			return s, nil
		}
		if ref := metav1.GetControllerOfNoCopy(s); ref != nil && ref.Kind == "OktaScopedToken" &&
			strings.HasPrefix(ref.APIVersion, v1.GroupVersion.Group+"/") {
			if obj := tokenOf(s.Namespace, ref.Name); obj != nil && obj.UID == ref.UID && obj.TokenSecretName() == s.Name {
				return s, nil
			}
		}
		if ref := metav1.GetControllerOfNoCopy(s); ref != nil && ref.Kind == "ClusterOktaScopedToken" &&
			strings.HasPrefix(ref.APIVersion, v1.GroupVersion.Group+"/") && clusterTokenOf != nil {
			if c := clusterTokenOf(ref.Name); c != nil && c.UID == ref.UID && c.CopySecretName() == s.Name {
				return s, nil
			}
		}
		return &corev1.Secret{
			TypeMeta: s.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{
				Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion,
				Generation: s.Generation, CreationTimestamp: s.CreationTimestamp, DeletionTimestamp: s.DeletionTimestamp,
				OwnerReferences: s.OwnerReferences, Labels: keep(s.Labels, secretLabels),
				Annotations: map[string]string{state.AnnotationTrimmed: "true"},
			},
			Type: s.Type,
		}, nil
	}
}

// keep is m with only the keys named.
func keep(m map[string]string, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// cachedTokens yields the resources the manager's cache holds, the cache's
// own objects, for the per-resource metric series of each scrape. They come
// from the informer's store when the informer has one (client-go's shared
// informer does): a List, even one that copies no object, copies every
// resource's struct into the list, 8 MB a scrape at 10,000 resources. Any
// other informer (the one over several watched namespaces) is read by a
// List.
func cachedTokens(c cache.Cache) iter.Seq[*v1.OktaScopedToken] {
	return func(yield func(*v1.OktaScopedToken) bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		inf, err := c.GetInformer(ctx, &v1.OktaScopedToken{}, cache.BlockUntilSynced(false))
		if err != nil {
			return
		}
		if s, ok := inf.(interface{ GetStore() toolscache.Store }); ok {
			for _, o := range s.GetStore().List() {
				if obj, ok := o.(*v1.OktaScopedToken); ok && !yield(obj) {
					return
				}
			}
			return
		}
		var list v1.OktaScopedTokenList
		if err := c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
			return
		}
		for i := range list.Items {
			if !yield(&list.Items[i]) {
				return
			}
		}
	}
}
