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
