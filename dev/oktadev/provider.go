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

package oktadev

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"
	"github.com/ory/fosite/token/jwt"
	"k8s.io/utils/clock"
)

// authorizeCodeLifetime is how long an authorization code can be exchanged.
const authorizeCodeLifetime = 5 * time.Minute

// fositeConfig is fosite's configuration with the values that depend on the
// request or on an issuer that is only known once the server listens.
type fositeConfig struct {
	*fosite.Config
	as *authServer
}

// GetTokenURLs is the audience fosite demands of a client assertion: the
// endpoint the assertion was sent to, which is Okta's rule.
func (c *fositeConfig) GetTokenURLs(ctx context.Context) []string {
	if endpoint, ok := ctx.Value(invokedEndpointKey{}).(string); ok {
		return []string{endpoint}
	}
	return []string{c.as.url(endpointToken)}
}

func (c *fositeConfig) GetIDTokenIssuer(context.Context) string { return c.as.issuer() }

// clockedStrategy is fosite's opaque-token strategy with expiry judged by the
// injected clock. fosite stamps expiry times from the wall clock and checks
// them against it too; checking them here against Config.Clock as well lets
// tests expire tokens by stepping a fake clock, which must therefore start at
// (or after) the real time.
type clockedStrategy struct {
	oauth2.CoreStrategy
	clock clock.PassiveClock
}

func (s clockedStrategy) expired(r fosite.Requester, t fosite.TokenType) bool {
	deadline := r.GetSession().GetExpiresAt(t)
	return !deadline.IsZero() && !s.clock.Now().Before(deadline)
}

func (s clockedStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if s.expired(r, fosite.AccessToken) {
		return fosite.ErrTokenExpired.WithHint("Access token expired.")
	}
	return s.CoreStrategy.ValidateAccessToken(ctx, r, token)
}

func (s clockedStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	if s.expired(r, fosite.RefreshToken) {
		return fosite.ErrTokenExpired.WithHint("Refresh token expired.")
	}
	return s.CoreStrategy.ValidateRefreshToken(ctx, r, token)
}

func (s clockedStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	if s.expired(r, fosite.AuthorizeCode) {
		return fosite.ErrTokenExpired.WithHint("Authorization code expired.")
	}
	return s.CoreStrategy.ValidateAuthorizeCode(ctx, r, token)
}

// newAuthServer builds an authorization server (id "" for the org's) on its
// own fosite OAuth 2.0 provider: authorization code with PKCE and OpenID
// Connect, refresh tokens, client credentials, revocation and introspection.
// Nothing else (no implicit, hybrid or password grant), which is what an Okta
// web app and service app can use. Its HMAC secret, signing key (signingKey
// number keyIndex) and store are its own.
func (s *Server) newAuthServer(id string, keyIndex int) (*authServer, error) {
	key, err := signingKey(keyIndex)
	if err != nil {
		return nil, err
	}
	globalSecret := make([]byte, 32)
	if _, err := rand.Read(globalSecret); err != nil {
		return nil, fmt.Errorf("generating the token secret: %w", err)
	}
	as := &authServer{srv: s, id: id, signingKey: key}
	cfg := &fositeConfig{
		Config: &fosite.Config{
			AccessTokenLifespan:   s.cfg.AccessTokenTTL,
			RefreshTokenLifespan:  s.cfg.RefreshTokenTTL,
			AuthorizeCodeLifespan: authorizeCodeLifetime,
			IDTokenLifespan:       time.Hour,
			GlobalSecret:          globalSecret,
			// Scopes are matched exactly: granting okta.users.read does not
			// grant okta.users.read.self.
			ScopeStrategy:            fosite.ExactScopeStrategy,
			AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
			// No JWKSFetcherStrategy: no app here has a jwks_uri, so fosite
			// never fetches keys, and its default fetcher would start a cache
			// whose goroutines outlive the server.
			ClientSecretsHasher: clientSecrets,
			RefreshTokenScopes:  []string{scopeOfflineAccess},
			// Okta requires a state but not a minimum length; the same goes
			// for a nonce.
			MinParameterEntropy: 1,
			// PKCE is enforced per client by pkcePolicy (login.go); fosite
			// verifies it whenever a challenge was sent, and never allows plain.
			EnforcePKCE:                    false,
			EnablePKCEPlainChallengeMethod: false,
			AllowedPromptValues:            []string{"login", "none", "consent"},
			// Okta's code redirect carries code and state only.
			OmitRedirectScopeParam: true,
		},
		as: as,
	}
	cfg.ClientAuthenticationStrategy = as.authenticateClient
	as.config = cfg
	as.store = newStore(s.clock, max(s.cfg.RefreshGracePeriod, 0), s.clients, s.assertions, as.requestableScopes)

	as.nonces = newNonceSource(s.clock, s.cfg.DPoPNonceRotation, s.cfg.DPoPNonceWindow)

	keyGetter := func(context.Context) (any, error) { return as.signingKey, nil }
	as.tokens = clockedStrategy{
		CoreStrategy: oauth2.NewHMACSHAStrategyUnPrefixed(&hmac.HMACStrategy{Config: cfg}, cfg),
		clock:        s.clock,
	}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               as.tokens,
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, cfg),
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: keyGetter},
	}

	// The order matters: the PKCE handler must follow the authorization-code
	// handler, which issues the code it binds the challenge to.
	factories := []compose.Factory{
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	}
	for _, factory := range factories {
		handler := factory(cfg, as.store, strategy)
		if h, ok := handler.(fosite.AuthorizeEndpointHandler); ok {
			cfg.AuthorizeEndpointHandlers.Append(h)
		}
		if h, ok := handler.(fosite.TokenEndpointHandler); ok {
			cfg.TokenEndpointHandlers.Append(h)
		}
		if h, ok := handler.(fosite.TokenIntrospector); ok {
			cfg.TokenIntrospectionHandlers.Append(h)
		}
		if h, ok := handler.(fosite.RevocationHandler); ok {
			cfg.RevocationHandlers.Append(h)
		}
	}
	as.oauth = fosite.NewOAuth2Provider(as.store, cfg)
	return as, nil
}
