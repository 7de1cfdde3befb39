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
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	josev3 "github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
)

// DefaultAuthorizationServerID is the id of the custom authorization server
// every Okta org with API Access Management starts with.
const DefaultAuthorizationServerID = "default"

// AuthorizationServer is an Okta custom authorization server: its own issuer
// ({issuer}/oauth2/{ID}), endpoints under {issuer}/oauth2/{ID}/v1/, signing
// key, tokens and scopes. It mints its own scopes and the OpenID Connect
// ones, never okta.* scopes, which only the org authorization server mints.
// Its access policy grants its scopes to every app of the org.
type AuthorizationServer struct {
	// ID is the path segment that names it: "default", or an id like Okta's
	// "aus1a2b3c4d5e6f7g8h9".
	ID string
	// Scopes are its custom scopes, for example "logs:read".
	Scopes []string
}

// authServerIDPattern is what may name an authorization server in a path.
var authServerIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (a AuthorizationServer) validate() error {
	if !authServerIDPattern.MatchString(a.ID) || a.ID == "v1" {
		return fmt.Errorf("authorization server id %q must be 1 to 64 letters, digits, '-' or '_', and not \"v1\"", a.ID)
	}
	for _, sc := range a.Scopes {
		switch {
		case sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\"):
			return fmt.Errorf("authorization server %s: scope %q must be a non-empty word without spaces or quotes", a.ID, sc)
		case isOktaScope(sc):
			return fmt.Errorf("authorization server %s: %s is an Okta API scope; only the org authorization server mints those", a.ID, sc)
		case slices.Contains(oidcScopes, sc):
			return fmt.Errorf("authorization server %s: %s is an OpenID Connect scope, which every authorization server has", a.ID, sc)
		}
	}
	return nil
}

// authServer is one authorization server of the org: the org authorization
// server (id "") or a custom one. Each has its own fosite provider, HMAC
// secret, signing key and token store, so that nothing one issues is
// accepted by another.
type authServer struct {
	srv *Server
	// id is "" for the org authorization server.
	id         string
	signingKey *josev3.JSONWebKey
	oauth      *fosite.Fosite
	config     *fositeConfig
	store      *store
	// tokens is the strategy that mints and checks its tokens; the store
	// knows tokens by the signatures it computes (DPoP bindings included).
	tokens oauth2.CoreStrategy
	// nonces are its DPoP nonces.
	nonces *nonceSource

	scopesMu sync.RWMutex
	scopes   []string
}

func (as *authServer) isOrg() bool { return as.id == "" }

// customScopes are a custom authorization server's own scopes.
func (as *authServer) customScopes() []string {
	as.scopesMu.RLock()
	defer as.scopesMu.RUnlock()
	return slices.Clone(as.scopes)
}

// base is the path every endpoint of the authorization server starts with.
func (as *authServer) base() string {
	if as.isOrg() {
		return "/oauth2"
	}
	return "/oauth2/" + as.id
}

// path is the path of one of its endpoints, e.g. endpointToken.
func (as *authServer) path(endpoint string) string { return as.base() + endpoint }

// issuer is the authorization server's issuer: the org's base URL for the
// org authorization server, {base}/oauth2/{id} for a custom one.
func (as *authServer) issuer() string {
	if as.isOrg() {
		return as.srv.Issuer()
	}
	return as.srv.Issuer() + as.base()
}

// url is the URL of one of its endpoints.
func (as *authServer) url(endpoint string) string { return as.srv.Issuer() + as.path(endpoint) }

// AddAuthorizationServer adds a custom authorization server, or replaces the
// scopes of an existing one (keeping its key and the tokens it issued), as
// editing it in the Admin Console would. It serves at once, on a running
// server too.
func (s *Server) AddAuthorizationServer(a AuthorizationServer) error {
	if err := a.validate(); err != nil {
		return err
	}
	s.authServersMu.Lock()
	defer s.authServersMu.Unlock()
	if as, ok := s.authServers[a.ID]; ok {
		as.scopesMu.Lock()
		as.scopes = slices.Clone(a.Scopes)
		as.scopesMu.Unlock()
		return nil
	}
	// Key 0 is the org authorization server's; each custom authorization
	// server of this server gets the next one, so no two share a key.
	as, err := s.newAuthServer(a.ID, len(s.authServers)+1)
	if err != nil {
		return fmt.Errorf("authorization server %s: %w", a.ID, err)
	}
	as.scopes = slices.Clone(a.Scopes)
	s.authServers[a.ID] = as
	return nil
}

// AuthorizationServerIssuer is the issuer of the custom authorization server
// id ({issuer}/oauth2/{id}), or of the org authorization server for "".
func (s *Server) AuthorizationServerIssuer(id string) string {
	if id == "" {
		return s.Issuer()
	}
	return s.Issuer() + "/oauth2/" + id
}

func (s *Server) customAuthServer(id string) (*authServer, bool) {
	s.authServersMu.RLock()
	defer s.authServersMu.RUnlock()
	as, ok := s.authServers[id]
	return as, ok
}

// allAuthServers is the org authorization server and every custom one.
func (s *Server) allAuthServers() []*authServer {
	s.authServersMu.RLock()
	defer s.authServersMu.RUnlock()
	all := make([]*authServer, 0, 1+len(s.authServers))
	all = append(all, s.org)
	for _, as := range s.authServers {
		all = append(all, as)
	}
	return all
}

// authServerIDParam is the path wildcard naming a custom authorization
// server in the mux patterns.
const authServerIDParam = "authorizationServerId"

// customAuthServerPath is the mux pattern (and rate-limit bucket) of an
// endpoint of every custom authorization server.
func customAuthServerPath(endpoint string) string {
	return "/oauth2/{" + authServerIDParam + "}" + endpoint
}

// forCustomAuthServer serves a request with the custom authorization server
// its path names, or answers 404 like Okta for an unknown one.
func (s *Server) forCustomAuthServer(handle func(*authServer, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue(authServerIDParam)
		as, ok := s.customAuthServer(id)
		if !ok {
			setLogError(r.Context(), "unknown_authorization_server")
			writeAPIError(w, http.StatusNotFound, errorResourceNotFound, summaryResourceMissing+": "+id+" (AuthorizationServer)")
			return
		}
		handle(as, w, r)
	})
}

// signingKeys hands out the RSA keys that sign ID tokens. Key n is the same
// for every server in the process: a development server gains nothing from
// keys of its own, and generating RSA keys is slow (very slow under -race),
// which would slow every test that starts a server.
var signingKeys struct {
	mu   sync.Mutex
	keys []*josev3.JSONWebKey
}

func signingKey(n int) (*josev3.JSONWebKey, error) {
	signingKeys.mu.Lock()
	defer signingKeys.mu.Unlock()
	for len(signingKeys.keys) <= n {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generating a signing key: %w", err)
		}
		key := &josev3.JSONWebKey{Key: priv, Algorithm: string(josev3.RS256), Use: keyUseSignature}
		public := key.Public()
		thumbprint, err := public.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("computing a signing key id: %w", err)
		}
		key.KeyID = base64.RawURLEncoding.EncodeToString(thumbprint)
		signingKeys.keys = append(signingKeys.keys, key)
	}
	return signingKeys.keys[n], nil
}
