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

package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// serviceGroup creates n ClientCredentials tokens in namespace ns and waits
// for them to be ready.
func (r *rotationRun) serviceGroup(ctx context.Context, ns string, o *org, n int) ([]*v1.OktaScopedToken, error) {
	namespaces := []fleetNamespace{{name: ns, org: o, clientID: "0oabench" + strings.ReplaceAll(ns, "-", ""), tokens: n}}
	if err := prepareNamespaces(ctx, r.c, namespaces); err != nil {
		return nil, err
	}
	tokens := serviceTokens(namespaces)
	if _, err := createAll(ctx, r.wall, r.c, tokens); err != nil {
		return nil, err
	}
	return tokens, r.waitReady(ctx, tokens)
}

// signInGroup creates n AuthorizationCode tokens in namespace ns, signs
// each in through the dev server's form and waits for them to be ready.
func (r *rotationRun) signInGroup(ctx context.Context, ns string, o *org, n int, renewBefore *metav1.Duration) ([]*v1.OktaScopedToken, error) {
	if err := r.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	if err := r.c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: webSecretName, Namespace: ns},
		Data:       map[string][]byte{webSecretKey: []byte(webSecret)},
	}); err != nil {
		return nil, err
	}
	var tokens []*v1.OktaScopedToken
	for i := range n {
		tokens = append(tokens, &v1.OktaScopedToken{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("signed-in-%02d", i), Namespace: ns},
			Spec: v1.OktaScopedTokenSpec{
				OktaDomain:      o.issuer(),
				ClientID:        webClientID,
				GrantType:       v1.GrantAuthorizationCode,
				ClientSecretRef: &v1.SecretKeyReference{Name: webSecretName, Key: webSecretKey},
				Scopes:          []string{serviceScope},
				RenewBefore:     renewBefore,
			},
		})
	}
	if _, err := createAll(ctx, r.wall, r.c, tokens); err != nil {
		return nil, err
	}
	for _, t := range tokens {
		var authURL string
		if err := poll(ctx, r.wall, time.Minute, 200*time.Millisecond, func() (bool, error) {
			cur, err := r.get(ctx, t)
			authURL = cur.Status.AuthorizationURL
			return authURL != "", err
		}); err != nil {
			return nil, fmt.Errorf("waiting for the sign-in URL of %s/%s: %w", t.Namespace, t.Name, err)
		}
		status, page, err := oktadev.SignIn(authURL, signInUser, signInPassword, false)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("signing in %s/%s: status %d, %v: %.300s", t.Namespace, t.Name, status, err, page)
		}
	}
	return tokens, r.waitReady(ctx, tokens)
}

func (r *rotationRun) get(ctx context.Context, t *v1.OktaScopedToken) (*v1.OktaScopedToken, error) {
	cur := &v1.OktaScopedToken{}
	err := r.c.Get(ctx, client.ObjectKeyFromObject(t), cur)
	return cur, err
}

// statuses reads the tokens' current state.
func (r *rotationRun) statuses(ctx context.Context, tokens []*v1.OktaScopedToken) ([]*v1.OktaScopedToken, error) {
	var out []*v1.OktaScopedToken
	for _, t := range tokens {
		cur, err := r.get(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, cur)
	}
	return out, nil
}

// waitReady waits until every token is Ready=True. A Stalled one ends
// the wait at once: retrying cannot help it, and its message says why.
func (r *rotationRun) waitReady(ctx context.Context, tokens []*v1.OktaScopedToken) error {
	var notReady string
	err := poll(ctx, r.wall, 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		cur, err := r.statuses(ctx, tokens)
		if err != nil {
			return false, err
		}
		for _, t := range cur {
			if c := meta.FindStatusCondition(t.Status.Conditions, v1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
				return false, fmt.Errorf("%s/%s is stalled: %s: %s", t.Namespace, t.Name, c.Reason, c.Message)
			}
			if !meta.IsStatusConditionTrue(t.Status.Conditions, v1.ConditionReady) {
				notReady = fmt.Sprintf("%s/%s: %+v", t.Namespace, t.Name, meta.FindStatusCondition(t.Status.Conditions, v1.ConditionReady))
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for Ready (still not: %s): %w", notReady, err)
	}
	return nil
}
