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
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"k8s.io/utils/clock"
)

// sweepInterval is how often, by the injected clock, a store forgets what
// has expired. Forgetting on every request would cost a pass over every token
// per request; never forgetting would grow memory with every request.
const sweepInterval = time.Minute

// store keeps everything fosite persists for one authorization server, in
// memory. Each authorization server has a store of its own, so that no token
// of one is found, introspected or revoked at another; the apps and the
// assertion replay cache are the org's and shared.
//
// fosite decides what to store and when; the store only adds what fosite
// leaves to its storage layer: refresh-token rotation with a grace period
// (fosite's own memory store documents that "graceful token rotation can be
// implemented here"), expiry by the injected clock, forgetting what has
// expired, and the indexes that let a whole grant be revoked at once.
//
// A grant is fosite's request ID: it is minted at /authorize (or at the
// client-credentials token request) and carried unchanged into every access
// and refresh token derived from it, so revoking "the grant" means revoking
// every token with that request ID.
type store struct {
	clock clock.PassiveClock
	// refreshGrace is how long a rotated refresh token still works.
	refreshGrace time.Duration
	clients      *clientRegistry
	assertions   *assertionCache
	// requestable is what a client may ask this authorization server for.
	requestable func(*registeredClient) []string

	mu             sync.Mutex
	authorizeCodes map[string]*codeRecord
	pkceRequests   map[string]fosite.Requester
	oidcRequests   map[string]fosite.Requester
	accessTokens   map[string]*accessRecord
	refreshTokens  map[string]*refreshRecord
	nextSweep      time.Time
}

type codeRecord struct {
	request fosite.Requester
	active  bool
}

type accessRecord struct {
	request fosite.Requester
	// jkt is the thumbprint of the DPoP key the token is bound to; "" for a
	// bearer token.
	jkt string
}

type refreshRecord struct {
	request fosite.Requester
	// jkt is the thumbprint of the DPoP key the token's grant was bound to
	// when its code was exchanged; "" for none. A refresh must prove it.
	jkt string
	// active is false once the token's grant is revoked.
	active bool
	// rotatedAt is when the token was first exchanged for a new one; it keeps
	// working until rotatedAt+refreshGrace, after which using it counts as
	// reuse.
	rotatedAt time.Time
}

var (
	_ fosite.Storage                     = (*store)(nil)
	_ oauth2.CoreStorage                 = (*store)(nil)
	_ oauth2.TokenRevocationStorage      = (*store)(nil)
	_ pkce.PKCERequestStorage            = (*store)(nil)
	_ openid.OpenIDConnectRequestStorage = (*store)(nil)
)

func newStore(c clock.PassiveClock, refreshGrace time.Duration, clients *clientRegistry, assertions *assertionCache,
	requestable func(*registeredClient) []string) *store {
	return &store{
		clock:          c,
		refreshGrace:   refreshGrace,
		clients:        clients,
		assertions:     assertions,
		requestable:    requestable,
		authorizeCodes: map[string]*codeRecord{},
		pkceRequests:   map[string]fosite.Requester{},
		oidcRequests:   map[string]fosite.Requester{},
		accessTokens:   map[string]*accessRecord{},
		refreshTokens:  map[string]*refreshRecord{},
	}
}

// expired reports whether a deadline stamped on a session has passed by the
// injected clock. A zero deadline never expires.
func (s *store) expired(deadline time.Time) bool {
	return !deadline.IsZero() && !s.clock.Now().Before(deadline)
}

// sweep forgets, at most once per sweepInterval, what can no longer be used:
// expired codes (with their PKCE and OpenID Connect requests), access tokens
// and refresh tokens. Presenting any of them again fails as it would have
// anyway. The caller holds mu.
func (s *store) sweep() {
	now := s.clock.Now()
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepInterval)
	codeExpired := func(r fosite.Requester) bool { return s.expired(r.GetSession().GetExpiresAt(fosite.AuthorizeCode)) }
	for k, rec := range s.authorizeCodes {
		if codeExpired(rec.request) {
			delete(s.authorizeCodes, k)
		}
	}
	for k, r := range s.pkceRequests {
		if codeExpired(r) {
			delete(s.pkceRequests, k)
		}
	}
	for k, r := range s.oidcRequests {
		if codeExpired(r) {
			delete(s.oidcRequests, k)
		}
	}
	for k, rec := range s.accessTokens {
		if s.expired(rec.request.GetSession().GetExpiresAt(fosite.AccessToken)) {
			delete(s.accessTokens, k)
		}
	}
	for k, rec := range s.refreshTokens {
		if s.expired(rec.request.GetSession().GetExpiresAt(fosite.RefreshToken)) {
			delete(s.refreshTokens, k)
		}
	}
}

// size counts what the store holds, for tests of its growth.
func (s *store) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.authorizeCodes) + len(s.pkceRequests) + len(s.oidcRequests) + len(s.accessTokens) + len(s.refreshTokens)
}

// GetClient returns a copy, so that per-request adjustments never leak into
// another request: the assertion's signing algorithm (see clientauth.go) and
// the scopes the client may request at this authorization server.
func (s *store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, ok := s.clients.get(id)
	if !ok {
		return nil, fosite.ErrNotFound
	}
	cp := *c
	if alg, ok := ctx.Value(assertionAlgKey{}).(string); ok {
		cp.assertionAlg = alg
	}
	cp.requestable = s.requestable(c)
	return &cp, nil
}

func (s *store) ClientAssertionJWTValid(_ context.Context, jti string) error {
	return s.assertions.valid(jti)
}

func (s *store) SetClientAssertionJWT(_ context.Context, jti string, exp time.Time) error {
	return s.assertions.remember(jti, exp)
}
