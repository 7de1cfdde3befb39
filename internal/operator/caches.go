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
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
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
