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

// What a pass needs before it asks Okta for anything: the app's credentials
// (a live read of the user's Secret) and the authorization server's
// endpoints (discovery), each obtained at most once per pass; and the
// version of the credentials Secret, from the metadata cache, which says
// whether they changed without reading them.

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// credentials reads the client secret or private key, once per pass. It is
// a live read: the cache does not hold the user's Secrets' data.
func (run *reconcileRun) credentials(ctx context.Context) (*creds.Credentials, outcome, error) {
	if run.creds != nil {
		return run.creds, outcome{}, nil
	}
	c, err := creds.Load(ctx, run.r.APIReader, run.obj, run.r.SecretPolicy)
	if ce, ok := errors.AsType[*creds.Error](err); ok {
		return nil, stallOutcome(ce.Reason, ce.Message), nil
	}
	if err != nil {
		return nil, outcome{}, err
	}
	run.creds = &c
	return run.creds, outcome{}, nil
}

// credentialsVersion is the resourceVersion of the referenced credentials
// Secret, from the metadata cache: "" when it is missing there.
func (run *reconcileRun) credentialsVersion(ctx context.Context) string {
	ref := credentialsRef(run.obj)
	if ref == "" || run.r.ReferencedSecrets == nil {
		return ""
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := types.NamespacedName{Namespace: run.obj.Namespace, Name: ref}
	if err := run.r.ReferencedSecrets.Get(ctx, key, m); err != nil {
		return ""
	}
	return m.ResourceVersion
}

// credentialsRef is the name of the Secret the grant type's credentials
// come from.
func credentialsRef(obj *v1.OktaScopedToken) string {
	if r := obj.Spec.ClientSecretRef; r != nil {
		return r.Name
	}
	if r := obj.Spec.PrivateKeyRef; r != nil && obj.Spec.GrantType == v1.GrantClientCredentials {
		return r.Name
	}
	return ""
}

// discover finds the authorization server's endpoints, once per pass.
func (run *reconcileRun) discover(ctx context.Context) (*okta.Endpoints, outcome) {
	if run.endpoints != nil {
		return run.endpoints, outcome{}
	}
	ep, err := run.r.Discovery.Discover(ctx, run.obj.Spec.OktaDomain, run.obj.Spec.AuthorizationServerID)
	if o := refusedDomain(err); o.reports() {
		return nil, o
	}
	if okta.ClassOf(err) == okta.Busy {
		return nil, busyOutcome(run.now)
	}
	if err != nil {
		// A discovery failure is a failed attempt like any other: it
		// counts in the backoff, so a broken domain is not asked again on
		// every pass.
		return nil, run.failed(ctx, failure{reason: v1.ReasonDiscoveryFailed, message: fmt.Sprintf(
			"cannot read the authorization server's metadata "+
				"(check spec.oktaDomain and authorizationServerID): %v", err)})
	}
	run.endpoints = &ep
	return run.endpoints, outcome{}
}

// allowedDomain checks spec.oktaDomain against the allowlist, with no
// request: nothing is kept for a host the operator may not talk to (no
// slot in a budget, no metric series), so the check comes first.
func (run *reconcileRun) allowedDomain() outcome {
	d := run.r.Discovery
	return refusedDomain(d.Domains.CheckURL(okta.IssuerURL(run.obj.Spec.OktaDomain, run.obj.Spec.AuthorizationServerID),
		d.AllowInsecure))
}

// refusedDomain is what an issuer the allowlist refuses ends a pass in.
func refusedDomain(err error) outcome {
	if insecure, ok := errors.AsType[*okta.InsecureIssuerError](err); ok {
		return stallOutcome(v1.ReasonInsecureIssuer, insecure.Error())
	}
	if notAllowed, ok := errors.AsType[*okta.DomainNotAllowedError](err); ok {
		return stallOutcome(v1.ReasonDomainNotAllowed, "spec.oktaDomain: "+notAllowed.Error())
	}
	return outcome{}
}
