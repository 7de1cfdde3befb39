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

// The copies of a cluster token: one Secret per selected namespace, holding
// what the source's token Secret holds. They are written in parallel but
// bounded, compared from the cache first, so a rotation costs one write per
// namespace and an unchanged copy is never rewritten. A Secret of the copy's
// name that the operator did not write is never touched.

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// distribution is what became of the copies in a pass.
type distribution struct {
	targets   int
	haveToken bool
	// served are the namespaces whose copy holds the current token.
	served []string
	// written are those written in this pass.
	written   []string
	conflicts []string
	failed    map[string]string
	// retryAt is when failed copies are written again.
	retryAt time.Time
}

// targetNamespaces are the namespaces a cluster token selects, sorted: by
// namespaceSelector or by name, existing and not being deleted, watched
// (with --watch-namespaces), never the credentials namespace or the
// operator's.
func (run *clusterRun) targetNamespaces(ctx context.Context) ([]string, error) {
	c, r := run.obj, run.r
	selector := labels.Nothing()
	if c.Spec.NamespaceSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(c.Spec.NamespaceSelector)
		if err != nil {
			return nil, err
		}
		selector = s
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := r.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	var out []string
	for _, ns := range list.Items {
		if !ns.DeletionTimestamp.IsZero() || ns.Name == r.credentialsNamespace(c) || ns.Name == r.StateNamespace {
			continue
		}
		if len(r.WatchNamespaces) > 0 && !slices.Contains(r.WatchNamespaces, ns.Name) {
			continue
		}
		if selector.Matches(labels.Set(ns.Labels)) || slices.Contains(c.Spec.Namespaces, ns.Name) {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// distribute writes the copies into every target namespace and removes the
// ones no longer wanted.
func (run *clusterRun) distribute(ctx context.Context) (distribution, error) {
	targets, err := run.targetNamespaces(ctx)
	if err != nil {
		return distribution{}, err
	}
	d := distribution{targets: len(targets), failed: map[string]string{}}
	source, err := run.sourceSecret(ctx)
	if err != nil {
		return d, err
	}
	if err := run.deleteCopies(ctx, targets); err != nil {
		return d, err
	}
	if source == nil {
		return d, nil
	}
	d.haveToken = true
	type result struct {
		written, conflict bool
		err               error
	}
	results := make([]result, len(targets))
	workers := run.r.MaxConcurrentWrites
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, ns := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			written, conflict, err := run.writeCopy(ctx, ns, source)
			results[i] = result{written, conflict, err}
		}()
	}
	wg.Wait()
	for i, ns := range targets {
		switch res := results[i]; {
		case res.conflict:
			d.conflicts = append(d.conflicts, ns)
		case res.err != nil:
			d.failed[ns] = res.err.Error()
		default:
			d.served = append(d.served, ns)
			if res.written {
				d.written = append(d.written, ns)
			}
		}
	}
	if len(d.failed) > 0 {
		d.retryAt = run.now.Add(copyRetry)
	}
	return d, nil
}

// sourceSecret is the source's token Secret, nil while there is no token.
func (run *clusterRun) sourceSecret(ctx context.Context) (*corev1.Secret, error) {
	src := run.source
	if src == nil || src.Status.LastRotationTime == nil {
		return nil, nil
	}
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: src.Namespace, Name: src.TokenSecretName()}
	if err := run.r.Get(ctx, key, s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if _, trimmed := s.Annotations[state.AnnotationTrimmed]; trimmed {
		// Cached before its owner was: read it whole.
		if err := run.r.APIReader.Get(ctx, key, s); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
	}
	if !metav1.IsControlledBy(s, src) || len(s.Data[v1.TokenSecretAccessToken]) == 0 {
		return nil, nil
	}
	return s, nil
}

// desiredCopy is the copy of source for namespace ns.
func (run *clusterRun) desiredCopy(ns string, source *corev1.Secret) *corev1.Secret {
	c := run.obj
	lbls := map[string]string{v1.LabelManagedBy: v1.ManagedByValue, v1.LabelClusterToken: string(c.UID)}
	var annotations map[string]string
	if t := c.Spec.Token.SecretTemplate; t != nil {
		for k, v := range t.Labels {
			if _, own := lbls[k]; !own {
				lbls[k] = v
			}
		}
		annotations = maps.Clone(t.Annotations)
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: c.CopySecretName(), Labels: lbls, Annotations: annotations},
		Type:       source.Type,
		Data:       source.Data,
	}
	_ = controllerutil.SetControllerReference(c, s, run.r.Scheme())
	return s
}

// writeCopy creates or updates the copy in ns; it reports whether it
// wrote, or whether a Secret of that name is someone else's.
func (run *clusterRun) writeCopy(ctx context.Context, ns string, source *corev1.Secret) (written, conflict bool, err error) {
	want := run.desiredCopy(ns, source)
	key := client.ObjectKeyFromObject(want)
	cur := &corev1.Secret{}
	err = run.r.Get(ctx, key, cur)
	if (err == nil || apierrors.IsNotFound(err)) && run.r.copies.stale(key, cur.ResourceVersion) {
		// Written by this process; its watch event brings the next pass.
		return false, false, nil
	}
	switch {
	case apierrors.IsNotFound(err):
		// The cache holds only Secrets labelled managed-by: one of that
		// name without the label is someone else's, and is not written to.
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := run.r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), meta); err == nil {
			return false, true, nil
		} else if !apierrors.IsNotFound(err) {
			return false, false, err
		}
		if err := run.r.Create(ctx, want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				// Someone's Secret the cache had not seen.
				return false, true, nil
			}
			return false, false, err
		}
		run.r.copies.wrote(key, "", want.ResourceVersion)
		return true, false, nil
	case err != nil:
		return false, false, err
	}
	if !metav1.IsControlledBy(cur, run.obj) {
		return false, true, nil
	}
	if _, trimmed := cur.Annotations[state.AnnotationTrimmed]; !trimmed && sameCopy(cur, want) {
		return false, false, nil
	}
	next := cur.DeepCopy()
	next.Labels, next.Annotations, next.Data, next.Type = want.Labels, want.Annotations, want.Data, want.Type
	next.OwnerReferences = want.OwnerReferences
	if err := run.r.Update(ctx, next); err != nil {
		return false, false, err
	}
	run.r.copies.wrote(key, cur.ResourceVersion, next.ResourceVersion)
	return true, false, nil
}

// sameCopy says whether the copy cur already is want.
func sameCopy(cur, want *corev1.Secret) bool {
	return maps.EqualFunc(cur.Data, want.Data, bytes.Equal) && maps.Equal(cur.Labels, want.Labels) &&
		maps.Equal(cur.Annotations, want.Annotations) && cur.Type == want.Type
}

// deleteCopies removes the copies this cluster token wrote outside keep
// (all of them when keep is nil), and any under a name it no longer uses.
func (run *clusterRun) deleteCopies(ctx context.Context, keep []string) error {
	c := run.obj
	var list corev1.SecretList
	if err := run.r.List(ctx, &list, client.MatchingLabels{v1.LabelClusterToken: string(c.UID)}); err != nil {
		return fmt.Errorf("listing the copies: %w", err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if !metav1.IsControlledBy(s, c) || (keep != nil && slices.Contains(keep, s.Namespace) && s.Name == c.CopySecretName()) {
			continue
		}
		if err := run.r.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil &&
			!apierrors.IsConflict(err) {
			return fmt.Errorf("deleting the copy %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	return nil
}

// restartWorkloads restarts spec.token.rolloutRestartTargets in each
// namespace that holds the current token, under the rules of the
// namespaced kind (restart.go): only workloads whose pod template uses the
// copy, at most once per workload per interval. It returns when to come
// back for a workload that waits.
func (run *clusterRun) restartWorkloads(ctx context.Context, served []string) time.Time {
	st := &run.obj.Status
	targets := run.obj.Spec.Token.RolloutRestartTargets
	if len(targets) == 0 || run.source == nil || run.source.Status.LastRotationTime == nil {
		removeCondition(st, v1.ConditionRolloutRestarted)
		return time.Time{}
	}
	issued := run.source.Status.LastRotationTime.Time
	restarters := make([]restarter, 0, len(served))
	for _, ns := range served {
		restarters = append(restarters, restarter{reader: run.r.APIReader, writer: run.r.Client, namespace: ns,
			secret: run.obj.CopySecretName(), now: run.now, qualified: true})
	}
	res, ran := restartForToken(ctx, restarters, targets, issued, &st.LastRolloutRestartTime)
	if !ran {
		return time.Time{}
	}
	if rep := res.report(run.obj.CopySecretName(), issued); rep != nil {
		run.setCondition(v1.ConditionRolloutRestarted, rep.status, rep.reason, okta.Sanitize(rep.message, 4096))
	}
	return res.next
}

func removeCondition(st *v1.ClusterOktaScopedTokenStatus, t string) {
	st.Conditions = slices.DeleteFunc(st.Conditions, func(c metav1.Condition) bool { return c.Type == t })
}
