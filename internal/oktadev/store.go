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

// store keeps everything fosite persists, in memory. fosite decides what to
// store and when; the store only adds what fosite leaves to its storage
// layer: refresh-token rotation with a grace period (fosite's own memory
// store documents that "graceful token rotation can be implemented here"),
// expiry by the injected clock, and the indexes that let a whole grant be
// revoked at once.
//
// A grant is fosite's request ID: it is minted at /authorize (or at the
// client-credentials token request) and carried unchanged into every access
// and refresh token derived from it, so revoking "the grant" means revoking
// every token with that request ID.
type store struct {
	clock clock.PassiveClock
	// refreshGrace is how long a rotated refresh token still works.
	refreshGrace time.Duration

	mu             sync.Mutex
	clients        map[string]*registeredClient
	usedAssertions map[string]time.Time // jti -> assertion expiry
	authorizeCodes map[string]*codeRecord
	pkceRequests   map[string]fosite.Requester
	oidcRequests   map[string]fosite.Requester
	accessTokens   map[string]*accessRecord
	refreshTokens  map[string]*refreshRecord
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

func newStore(c clock.PassiveClock, refreshGrace time.Duration) *store {
	return &store{
		clock:          c,
		refreshGrace:   refreshGrace,
		clients:        map[string]*registeredClient{},
		usedAssertions: map[string]time.Time{},
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

func (s *store) putClient(c *registeredClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.id] = c
}

func (s *store) client(id string) (*registeredClient, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	return c, ok
}

// GetClient returns a copy, so that per-request adjustments (the assertion's
// signing algorithm, see clientauth.go) never leak into another request.
func (s *store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, ok := s.client(id)
	if !ok {
		return nil, fosite.ErrNotFound
	}
	cp := *c
	if alg, ok := ctx.Value(assertionAlgKey{}).(string); ok {
		cp.assertionAlg = alg
	}
	return &cp, nil
}

func (s *store) ClientAssertionJWTValid(_ context.Context, jti string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.usedAssertions[jti]; ok && s.clock.Now().Before(exp) {
		return fosite.ErrJTIKnown
	}
	return nil
}

func (s *store) SetClientAssertionJWT(_ context.Context, jti string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	// An expired assertion can no longer be replayed, so its jti need not be
	// remembered.
	for k, e := range s.usedAssertions {
		if !now.Before(e) {
			delete(s.usedAssertions, k)
		}
	}
	if e, ok := s.usedAssertions[jti]; ok && now.Before(e) {
		return fosite.ErrJTIKnown
	}
	s.usedAssertions[jti] = exp
	return nil
}

func (s *store) CreateAuthorizeCodeSession(_ context.Context, signature string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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
