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

// clientRegistry holds the org's apps. Every authorization server of the org
// sees the same apps, as at Okta.
type clientRegistry struct {
	mu      sync.RWMutex
	clients map[string]*registeredClient
}

func (r *clientRegistry) put(c *registeredClient) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients[c.id] = c
}

func (r *clientRegistry) get(id string) (*registeredClient, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.clients[id]
	return c, ok
}

// assertionCache remembers the jti of every client assertion used, until the
// assertion expires, so that none is accepted twice. It is shared by the
// org's authorization servers: an assertion's aud already binds it to one
// token endpoint.
type assertionCache struct {
	clock clock.PassiveClock

	mu        sync.Mutex
	used      map[string]time.Time // jti -> assertion expiry
	nextSweep time.Time
}

func (a *assertionCache) valid(jti string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if exp, ok := a.used[jti]; ok && a.clock.Now().Before(exp) {
		return fosite.ErrJTIKnown
	}
	return nil
}

func (a *assertionCache) remember(jti string, exp time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if !now.Before(a.nextSweep) {
		// An expired assertion can no longer be replayed, so its jti need not
		// be remembered.
		for k, e := range a.used {
			if !now.Before(e) {
				delete(a.used, k)
			}
		}
		a.nextSweep = now.Add(sweepInterval)
	}
	if e, ok := a.used[jti]; ok && now.Before(e) {
		return fosite.ErrJTIKnown
	}
	a.used[jti] = exp
	return nil
}

func (a *assertionCache) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.used)
}

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
}

type refreshRecord struct {
	request fosite.Requester
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

func (s *store) CreateAuthorizeCodeSession(_ context.Context, signature string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.authorizeCodes[signature] = &codeRecord{request: req, active: true}
	return nil
}

func (s *store) GetAuthorizeCodeSession(_ context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.authorizeCodes[signature]
	if !ok || s.expired(rec.request.GetSession().GetExpiresAt(fosite.AuthorizeCode)) {
		return nil, fosite.ErrNotFound
	}
	if !rec.active {
		// fosite revokes the tokens issued for a code that is presented twice;
		// it needs the request to find them.
		return rec.request, fosite.ErrInvalidatedAuthorizeCode
	}
	return rec.request, nil
}

func (s *store) InvalidateAuthorizeCodeSession(_ context.Context, signature string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.authorizeCodes[signature]; ok {
		rec.active = false
	}
	return nil
}

func (s *store) CreatePKCERequestSession(_ context.Context, signature string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkceRequests[signature] = req
	return nil
}

func (s *store) GetPKCERequestSession(_ context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.pkceRequests[signature]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return req, nil
}

func (s *store) DeletePKCERequestSession(_ context.Context, signature string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pkceRequests, signature)
	return nil
}

func (s *store) CreateOpenIDConnectSession(_ context.Context, authorizeCode string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oidcRequests[authorizeCode] = req
	return nil
}

func (s *store) GetOpenIDConnectSession(_ context.Context, authorizeCode string, _ fosite.Requester) (fosite.Requester, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.oidcRequests[authorizeCode]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return req, nil
}

func (s *store) DeleteOpenIDConnectSession(_ context.Context, authorizeCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.oidcRequests, authorizeCode)
	return nil
}

func (s *store) CreateAccessTokenSession(_ context.Context, signature string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.accessTokens[signature] = &accessRecord{request: req}
	return nil
}

func (s *store) GetAccessTokenSession(_ context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.accessTokens[signature]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return rec.request, nil
}

func (s *store) DeleteAccessTokenSession(_ context.Context, signature string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accessTokens, signature)
	return nil
}

func (s *store) CreateRefreshTokenSession(_ context.Context, signature, _ string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.refreshTokens[signature] = &refreshRecord{request: req, active: true}
	return nil
}

// GetRefreshTokenSession answers fosite.ErrInactiveToken, together with the
// request, for a token whose grant was revoked or whose grace period after
// rotation has run out. fosite treats that as reuse of a refresh token and
// revokes the whole grant (RFC 6819 section 5.2.2.3), which is what Okta does.
func (s *store) GetRefreshTokenSession(_ context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.refreshTokens[signature]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	if !s.refreshUsable(rec) {
		return rec.request, fosite.ErrInactiveToken
	}
	return rec.request, nil
}

func (s *store) refreshUsable(rec *refreshRecord) bool {
	if !rec.active {
		return false
	}
	if rec.rotatedAt.IsZero() {
		return true
	}
	return s.refreshGrace > 0 && s.clock.Now().Before(rec.rotatedAt.Add(s.refreshGrace))
}

func (s *store) DeleteRefreshTokenSession(_ context.Context, signature string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refreshTokens, signature)
	return nil
}

// RotateRefreshToken is called by fosite when a refresh token is exchanged
// for a new one. The old token keeps working for the grace period, counted
// from its first use, so a client that lost the response can retry. Access
// tokens issued earlier stay valid until they expire, as at Okta.
func (s *store) RotateRefreshToken(_ context.Context, _ string, signature string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.refreshTokens[signature]
	if !ok {
		return fosite.ErrNotFound
	}
	if rec.rotatedAt.IsZero() {
		rec.rotatedAt = s.clock.Now()
	}
	if s.refreshGrace <= 0 {
		rec.active = false
	}
	return nil
}

// RevokeRefreshToken revokes every refresh token of the grant. Revoked tokens
// are kept (inactive) so that presenting one again is recognised as reuse.
func (s *store) RevokeRefreshToken(_ context.Context, requestID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range s.refreshTokens {
		if rec.request.GetID() == requestID {
			rec.active = false
		}
	}
	return nil
}

// RevokeAccessToken revokes every access token of the grant.
func (s *store) RevokeAccessToken(_ context.Context, requestID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sig, rec := range s.accessTokens {
		if rec.request.GetID() == requestID {
			delete(s.accessTokens, sig)
		}
	}
	return nil
}

// revokeClient revokes every grant of a client.
func (s *store) revokeClient(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sig, rec := range s.accessTokens {
		if rec.request.GetClient().GetID() == clientID {
			delete(s.accessTokens, sig)
		}
	}
	for _, rec := range s.refreshTokens {
		if rec.request.GetClient().GetID() == clientID {
			rec.active = false
		}
	}
}

// activeRefreshTokens counts the refresh tokens of a client that would be
// accepted now.
func (s *store) activeRefreshTokens(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range s.refreshTokens {
		if rec.request.GetClient().GetID() == clientID && s.refreshUsable(rec) &&
			!s.expired(rec.request.GetSession().GetExpiresAt(fosite.RefreshToken)) {
			n++
		}
	}
	return n
}

// activeAccessTokens counts the unexpired, unrevoked access tokens of a
// client.
func (s *store) activeAccessTokens(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range s.accessTokens {
		if rec.request.GetClient().GetID() == clientID &&
			!s.expired(rec.request.GetSession().GetExpiresAt(fosite.AccessToken)) {
			n++
		}
	}
	return n
}
