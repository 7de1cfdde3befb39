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

	"github.com/ory/fosite"
)

// tokenBinding is what the tokens a token request issues are bound to: the
// thumbprint of the DPoP key of the access token (that of the request's
// proof) and of the refresh token (that of the grant). The token endpoint
// hands it to the store in the context of fosite's calls, since fosite knows
// nothing of DPoP and stores only its own request.
type tokenBinding struct {
	access, refresh string
}

type tokenBindingKey struct{}

func withTokenBinding(ctx context.Context, b tokenBinding) context.Context {
	return context.WithValue(ctx, tokenBindingKey{}, b)
}

func bindingOf(ctx context.Context) tokenBinding {
	b, _ := ctx.Value(tokenBindingKey{}).(tokenBinding)
	return b
}

func (s *store) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.accessTokens[signature] = &accessRecord{request: req, jkt: bindingOf(ctx).access}
	return nil
}

// accessTokenBinding is the DPoP thumbprint an access token is bound to (""
// for a bearer token), and whether the store has the token.
func (s *store) accessTokenBinding(signature string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.accessTokens[signature]
	if !ok {
		return "", false
	}
	return rec.jkt, true
}

// refreshTokenBinding is accessTokenBinding for a refresh token.
func (s *store) refreshTokenBinding(signature string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.refreshTokens[signature]
	if !ok {
		return "", false
	}
	return rec.jkt, true
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

func (s *store) CreateRefreshTokenSession(ctx context.Context, signature, _ string, req fosite.Requester) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.refreshTokens[signature] = &refreshRecord{request: req, active: true, jkt: bindingOf(ctx).refresh}
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
