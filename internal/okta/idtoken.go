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

package okta

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Identity is who signed in, from a verified ID token.
type Identity struct {
	// Subject is the ID token's sub: Okta's user id.
	Subject string
	// Email and Username (preferred_username, the Okta login) when the
	// token carries them.
	Email, Username string
}

// Name is how a person is named to people: the login, else the email,
// else the user id.
func (id Identity) Name() string {
	for _, s := range []string{id.Username, id.Email, id.Subject} {
		if s != "" {
			return s
		}
	}
	return ""
}

// keySets caches one remote key set per JWKS URL; go-oidc refreshes a set
// when it meets a key id it does not know (a key rotation at Okta).
type keySets struct {
	mu   sync.Mutex
	sets map[string]*oidc.RemoteKeySet
}

// VerifyIDToken checks an ID token the way OpenID Connect Core 3.1.3.7
// says: its signature against the authorization server's published keys,
// its issuer, audience (the client id) and expiry — through go-oidc, not by
// hand — and its nonce against the one the sign-in sent. ep comes from
// discovery, so the keys are fetched from the issuer's own host.
func (c *Client) VerifyIDToken(ctx context.Context, ep Endpoints, clientID, raw, nonce string) (Identity, error) {
	if raw == "" {
		return Identity{}, errors.New("the token response carried no ID token to tell who signed in")
	}
	if ep.JWKSURI == "" {
		return Identity{}, errors.New("the authorization server publishes no keys (jwks_uri) to check its ID token with")
	}
	c.keys.mu.Lock()
	if c.keys.sets == nil {
		c.keys.sets = map[string]*oidc.RemoteKeySet{}
	}
	set, ok := c.keys.sets[ep.JWKSURI]
	if !ok {
		// The set keeps this context for its later fetches: a background
		// one, carrying the operator's HTTP client (no redirects).
		set = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), c.HTTP), ep.JWKSURI)
		c.keys.sets[ep.JWKSURI] = set
	}
	c.keys.mu.Unlock()
	verifier := oidc.NewVerifier(ep.Issuer, set, &oidc.Config{
		ClientID:             clientID,
		Now:                  c.Clock.Now,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.PS256},
	})
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("the ID token does not verify: %s", Sanitize(err.Error(), 300))
	}
	// A sign-in link made before links carried a nonce has none to check.
	if nonce != "" && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return Identity{}, errors.New("the ID token was issued for another sign-in (its nonce does not match)")
	}
	var claims struct {
		Email    string `json:"email"`
		Username string `json:"preferred_username"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	return Identity{Subject: Sanitize(tok.Subject, 256), Email: Sanitize(claims.Email, 256),
		Username: Sanitize(claims.Username, 256)}, nil
}

// ForgetOrg drops the key sets of org (OrgKey).
func (c *Client) ForgetOrg(org string) {
	c.keys.mu.Lock()
	defer c.keys.mu.Unlock()
	for jwksURL := range c.keys.sets {
		if OrgKey(jwksURL) == org {
			delete(c.keys.sets, jwksURL)
		}
	}
}
