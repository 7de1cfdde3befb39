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

// Revoking a grant where it was made: on delete, when the spec moves the
// resource to another org or app, and when a state Secret left by an earlier
// resource of the same name is discarded. A revocation spends the org's
// budget like a token request.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// revokeGrant revokes a grant's refresh token where the grant was obtained,
// whatever the spec says now: a spec pointed at another domain must not
// make the operator send the refresh token (or the client secret) there.
// The issuer must still be one the operator may talk to.
func (r *OktaScopedTokenReconciler) revokeGrant(ctx context.Context, obj *v1.OktaScopedToken, g *state.Grant) (err error) {
	if g.Issuer != "" {
		// The grant's org may be one no resource uses any more (the spec
		// moved to another): once the revocation is done, nothing of it
		// is kept. A revocation still waiting for its slot keeps it.
		defer func() {
			if _, waiting := errors.AsType[*waitForBudget](err); !waiting && !r.mem.orgs.used(budget.Org(g.Issuer)) {
				r.forgetOrg(budget.Org(g.Issuer))
			}
		}()
	}
	if r.Budget != nil && g.Issuer != "" {
		// A revocation spends the org's budget like a token request.
		if at, ok := r.Budget.Take(budget.Org(g.Issuer), client.ObjectKeyFromObject(obj).String(), budget.Early); !ok {
			return &waitForBudget{at: at}
		}
	}
	if g.ClientID != "" && g.ClientID != obj.Spec.ClientID {
		// The spec's client secret is another app's: it must not be sent to
		// this grant's org, and would not be accepted there.
		return fmt.Errorf("the grant belongs to the app %s, which the spec no longer names, "+
			"so its secret is not at hand", g.ClientID)
	}
	c, err := creds.Load(ctx, r.APIReader, obj, r.SecretPolicy)
	if err != nil {
		return err
	}
	endpoint, clientID := g.RevocationEndpoint, g.ClientID
	if g.Issuer == "" {
		// A grant stored before grants were bound (state format 1): its
		// issuer is the spec's only while the spec still describes it.
		if g.Fingerprint != state.Fingerprint(obj.Spec) {
			return fmt.Errorf("the grant was made for another domain or client than the spec names now, " +
				"and where it was made was not recorded")
		}
		ep, err := r.Discovery.Discover(ctx, obj.Spec.OktaDomain, obj.Spec.AuthorizationServerID)
		if err != nil {
			return err
		}
		endpoint, clientID = ep.RevocationEndpoint, obj.Spec.ClientID
	}
	if err := r.Discovery.Domains.CheckURL(endpoint, r.Discovery.AllowInsecure); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	app := *c.App
	app.ID = clientID
	if g.DPoPKey != "" {
		// A DPoP-bound grant is revoked with a proof by its key.
		if key, err := okta.ParseDPoPKey([]byte(g.DPoPKey)); err == nil {
			ctx = okta.WithDPoPKey(ctx, key)
		}
	}
	return r.Okta.Revoke(ctx, okta.Endpoints{Issuer: g.Issuer, RevocationEndpoint: endpoint}, app,
		g.RefreshToken, "refresh_token")
}

// waitForBudget says a request must wait for its slot in the org's budget.
type waitForBudget struct{ at time.Time }

func (w *waitForBudget) Error() string {
	return "waiting for a share of the Okta org's rate limit until " + w.at.UTC().Format(time.RFC3339)
}
