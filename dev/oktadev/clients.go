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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	josev3 "github.com/go-jose/go-jose/v3"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
)

// WebClient is an Okta "Web" app integration: a confidential client that
// signs people in with the authorization-code flow and authenticates to the
// token endpoint with its client secret.
type WebClient struct {
	ID     string
	Secret string
	// RedirectURIs are the app's sign-in redirect URIs. /authorize only
	// accepts an exact match.
	RedirectURIs []string
	// GrantedScopes are the okta.* scopes granted to the app (its "Okta API
	// Scopes" tab). openid, profile, email and offline_access are always
	// allowed.
	GrantedScopes []string
	// RequirePKCE documents intent; PKCE (S256) is required unless
	// PKCEOptional is set, because the zero value must require it (Okta's
	// default for new web apps).
	RequirePKCE bool
	// PKCEOptional lets the app use the authorization-code flow without PKCE.
	// It has no effect when RequirePKCE is true.
	PKCEOptional bool
	// TokenEndpointAuthMethod is "client_secret_basic" (the default) or
	// "client_secret_post".
	TokenEndpointAuthMethod string
	// RequireDPoP is the app's "Require Demonstrating Proof of Possession
	// (DPoP) header in token requests": see ServiceClient.RequireDPoP.
	RequireDPoP bool
	// NoRefreshTokenGrant unchecks the app's "Refresh Token" grant type:
	// a sign-in then gets no refresh token, even with offline_access.
	NoRefreshTokenGrant bool
}

// Client authentication methods at the token, revoke and introspect
// endpoints: web apps use a secret, service apps a signed JWT.
const (
	authClientSecretBasic = "client_secret_basic"
	authClientSecretPost  = "client_secret_post"
	authPrivateKeyJWT     = "private_key_jwt"
)

// keyUseSignature is a JWK's "use" for a signing key.
const keyUseSignature = "sig"

// ServiceClient is an Okta "API Services" app integration: it uses the
// client-credentials grant. It authenticates with private_key_jwt, signed by
// one of the public keys in JWKS, or, at a custom authorization server only,
// with a client secret (Okta's org authorization server requires
// private_key_jwt for the client-credentials grant).
type ServiceClient struct {
	ID string
	// JWKS holds the public keys of a private_key_jwt app.
	JWKS jose.JSONWebKeySet
	// Secret is the client secret of a client_secret_basic or
	// client_secret_post app.
	Secret string
	// TokenEndpointAuthMethod is "private_key_jwt", "client_secret_basic" or
	// "client_secret_post". Empty means client_secret_basic for an app with
	// a Secret and no keys, else private_key_jwt.
	TokenEndpointAuthMethod string
	// GrantedScopes are the okta.* scopes granted to the app, for the org
	// authorization server. A custom authorization server grants its own
	// scopes to any app.
	GrantedScopes []string
	// RequireDPoP is the app's "Require Demonstrating Proof of Possession
	// (DPoP) header in token requests", on by default in Okta for API
	// service apps created since 2024 (off here, so that the zero value is
	// an app that works without DPoP). With it, every token request of the
	// app, at any authorization server, must carry a DPoP proof. Without
	// it, a token request that carries one anyway still gets DPoP-bound
	// tokens, as RFC 9449 has it.
	RequireDPoP bool
}

// User is a person who can sign in on the login page. Username is also the
// ID token's sub, preferred_username and email. As at Okta, the username is
// matched without regard to case at sign-in, and the claims carry it as
// registered.
type User struct {
	Username, Password, Name string
}

type clientKind int

const (
	webClientKind clientKind = iota
	serviceClientKind
)

// registeredClient is what fosite sees of a WebClient or a ServiceClient.
type registeredClient struct {
	id            string
	kind          clientKind
	hashedSecret  []byte
	redirectURIs  []string
	grantedScopes []string
	requirePKCE   bool
	requireDPoP   bool
	// noRefresh: a web app without the Refresh Token grant type.
	noRefresh  bool
	authMethod string
	jwks       *josev3.JSONWebKeySet
	// assertionAlg is the alg of the client assertion being verified, set per
	// request (see store.GetClient and clientauth.go).
	assertionAlg string
	// requestable is what the client may request at the authorization server
	// handling the request, set per request by store.GetClient.
	requestable []string
}

var (
	_ fosite.Client              = (*registeredClient)(nil)
	_ fosite.OpenIDConnectClient = (*registeredClient)(nil)
	_ fosite.ResponseModeClient  = (*registeredClient)(nil)
)

func (c *registeredClient) GetID() string           { return c.id }
func (c *registeredClient) GetHashedSecret() []byte { return c.hashedSecret }
func (c *registeredClient) GetRedirectURIs() []string {
	return c.redirectURIs
}
func (c *registeredClient) IsPublic() bool                { return false }
func (c *registeredClient) GetAudience() fosite.Arguments { return nil }
func (c *registeredClient) GetResponseTypes() fosite.Arguments {
	if c.kind == webClientKind {
		return fosite.Arguments{"code"}
	}
	return nil
}

func (c *registeredClient) GetGrantTypes() fosite.Arguments {
	if c.kind == webClientKind {
		if c.noRefresh {
			return fosite.Arguments{grantAuthorizationCode}
		}
		return fosite.Arguments{grantAuthorizationCode, grantRefreshToken}
	}
	return fosite.Arguments{grantClientCredentials}
}

// GetScopes is what fosite lets the client request at the authorization
// server at hand (see authServer.requestableScopes).
func (c *registeredClient) GetScopes() fosite.Arguments { return c.requestable }

func (c *registeredClient) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery, fosite.ResponseModeFragment, fosite.ResponseModeFormPost}
}

func (c *registeredClient) GetRequestURIs() []string { return nil }

// GetJSONWebKeys is nil for web apps, which also makes fosite refuse signed
// request objects from them.
func (c *registeredClient) GetJSONWebKeys() *josev3.JSONWebKeySet { return c.jwks }
func (c *registeredClient) GetJSONWebKeysURI() string             { return "" }
func (c *registeredClient) GetRequestObjectSigningAlgorithm() string {
	return ""
}
func (c *registeredClient) GetTokenEndpointAuthMethod() string { return c.authMethod }

// GetTokenEndpointAuthSigningAlgorithm returns the algorithm of the assertion
// under verification. fosite pins one algorithm per client, while Okta accepts
// any supported algorithm that matches the registered key; clientauth.go has
// already checked that the algorithm is one Okta supports.
func (c *registeredClient) GetTokenEndpointAuthSigningAlgorithm() string {
	return c.assertionAlg
}

func (c *registeredClient) grantTypesString() string {
	return "[" + strings.Join(c.GetGrantTypes(), ", ") + "]"
}

// AddWebClient registers (or replaces) a web app.
func (s *Server) AddWebClient(c WebClient) error {
	if c.ID == "" || c.Secret == "" {
		return errors.New("web client needs an ID and a secret")
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("web client %s needs at least one redirect URI", c.ID)
	}
	for _, raw := range c.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return fmt.Errorf("web client %s: redirect URI %q must be an absolute URL without a fragment", c.ID, raw)
		}
	}
	if err := checkGrantableScopes(c.GrantedScopes); err != nil {
		return fmt.Errorf("web client %s: %w", c.ID, err)
	}
	method := c.TokenEndpointAuthMethod
	switch method {
	case "":
		method = authClientSecretBasic
	case authClientSecretBasic, authClientSecretPost:
	default:
		return fmt.Errorf("web client %s: token endpoint auth method %q is not supported (use client_secret_basic or client_secret_post)", c.ID, method)
	}
	hashed, err := clientSecrets.Hash(context.Background(), []byte(c.Secret))
	if err != nil {
		return fmt.Errorf("hashing the secret of web client %s: %w", c.ID, err)
	}
	s.clients.put(&registeredClient{
		id:            c.ID,
		kind:          webClientKind,
		hashedSecret:  hashed,
		redirectURIs:  slices.Clone(c.RedirectURIs),
		grantedScopes: slices.Clone(c.GrantedScopes),
		requirePKCE:   c.RequirePKCE || !c.PKCEOptional,
		requireDPoP:   c.RequireDPoP,
		noRefresh:     c.NoRefreshTokenGrant,
		authMethod:    method,
	})
	return nil
}

// AddServiceClient registers (or replaces) an API Services app.
func (s *Server) AddServiceClient(c ServiceClient) error {
	if c.ID == "" {
		return errors.New("service client needs an ID")
	}
	if err := checkGrantableScopes(c.GrantedScopes); err != nil {
		return fmt.Errorf("service client %s: %w", c.ID, err)
	}
	for _, sc := range c.GrantedScopes {
		if strings.HasSuffix(sc, ".self") {
			return fmt.Errorf("service client %s: %s cannot be granted to a service app", c.ID, sc)
		}
	}
	client := &registeredClient{
		id:            c.ID,
		kind:          serviceClientKind,
		grantedScopes: slices.Clone(c.GrantedScopes),
		requireDPoP:   c.RequireDPoP,
		authMethod:    c.TokenEndpointAuthMethod,
	}
	if client.authMethod == "" {
		client.authMethod = authPrivateKeyJWT
		if len(c.JWKS.Keys) == 0 && c.Secret != "" {
			client.authMethod = authClientSecretBasic
		}
	}
	switch client.authMethod {
	case authPrivateKeyJWT:
		if c.Secret != "" {
			return fmt.Errorf("service client %s: a private_key_jwt app has no client secret", c.ID)
		}
		keys, err := publicKeySet(c.JWKS)
		if err != nil {
			return fmt.Errorf("service client %s: %w", c.ID, err)
		}
		client.jwks = keys
	case authClientSecretBasic, authClientSecretPost:
		if c.Secret == "" {
			return fmt.Errorf("service client %s: %s needs a client secret", c.ID, client.authMethod)
		}
		if len(c.JWKS.Keys) > 0 {
			return fmt.Errorf("service client %s: a %s app has no public keys", c.ID, client.authMethod)
		}
		hashed, err := clientSecrets.Hash(context.Background(), []byte(c.Secret))
		if err != nil {
			return fmt.Errorf("hashing the secret of service client %s: %w", c.ID, err)
		}
		client.hashedSecret = hashed
	default:
		return fmt.Errorf("service client %s: token endpoint auth method %q is not supported (use private_key_jwt, client_secret_basic or client_secret_post)", c.ID, client.authMethod)
	}
	s.clients.put(client)
	return nil
}

// SetServiceClientKeys replaces the public keys of a private_key_jwt service
// client, as when its keys are rotated in the Admin Console.
func (s *Server) SetServiceClientKeys(id string, jwks jose.JSONWebKeySet) error {
	keys, err := publicKeySet(jwks)
	if err != nil {
		return fmt.Errorf("service client %s: %w", id, err)
	}
	s.clients.mu.Lock()
	defer s.clients.mu.Unlock()
	c, ok := s.clients.clients[id]
	if !ok || c.kind != serviceClientKind || c.authMethod != authPrivateKeyJWT {
		return fmt.Errorf("no private_key_jwt service client %q", id)
	}
	// Replace rather than mutate: a request may hold a copy of the old client.
	cp := *c
	cp.jwks = keys
	s.clients.clients[id] = &cp
	return nil
}

// AddUser registers (or replaces) a person who can sign in.
func (s *Server) AddUser(u User) error {
	if u.Username == "" || u.Password == "" {
		return errors.New("user needs a username and a password")
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	s.users[strings.ToLower(u.Username)] = u
	return nil
}

// clientSecrets hashes and compares client secrets for fosite. It is salted
// SHA-256, not bcrypt: a slow hash protects a stolen password database, and
// this server has none (the secrets live in the process, which holds them
// anyway), while bcrypt would cost every token request a millisecond of CPU
// that a benchmark of the operator would then measure instead of the
// operator.
var clientSecrets fosite.Hasher = saltedSHA256{}

type saltedSHA256 struct{}

const secretSaltLen = 16

func (saltedSHA256) Hash(_ context.Context, secret []byte) ([]byte, error) {
	salt := make([]byte, secretSaltLen, secretSaltLen+sha256.Size)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("generating a salt: %w", err)
	}
	sum := sha256.Sum256(append(slices.Clone(salt), secret...))
	return append(salt, sum[:]...), nil
}

func (saltedSHA256) Compare(_ context.Context, hash, secret []byte) error {
	if len(hash) != secretSaltLen+sha256.Size {
		return errors.New("malformed secret hash")
	}
	salt := hash[:secretSaltLen]
	sum := sha256.Sum256(append(slices.Clone(salt), secret...))
	if subtle.ConstantTimeCompare(sum[:], hash[secretSaltLen:]) != 1 {
		return errors.New("client secret mismatch")
	}
	return nil
}

// authenticateUser checks a username and password. It compares digests in
// constant time so that the time taken does not reveal how much of a password
// was right.
func (s *Server) authenticateUser(username, password string) (User, bool) {
	s.usersMu.RLock()
	u, ok := s.users[strings.ToLower(username)]
	s.usersMu.RUnlock()
	want := sha256.Sum256([]byte(u.Password))
	got := sha256.Sum256([]byte(password))
	match := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	return u, ok && match
}

// publicKeySet converts keys from go-jose v4 (the API's type) to v3 (fosite's)
// and checks that they are public signing keys of a kind Okta accepts.
func publicKeySet(in jose.JSONWebKeySet) (*josev3.JSONWebKeySet, error) {
	if len(in.Keys) == 0 {
		return nil, errors.New("at least one public key is needed")
	}
	out := &josev3.JSONWebKeySet{}
	for i, k := range in.Keys {
		if !k.Valid() {
			return nil, fmt.Errorf("key %d (kid %q) is not a valid JWK", i, k.KeyID)
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key %d (kid %q): RSA keys must have at least 2048 bits", i, k.KeyID)
			}
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("key %d (kid %q): only P-256 EC keys (ES256) are supported", i, k.KeyID)
			}
		default:
			return nil, fmt.Errorf("key %d (kid %q) is %T; a public RSA or EC key is needed", i, k.KeyID, k.Key)
		}
		if k.Use != "" && k.Use != keyUseSignature {
			return nil, fmt.Errorf("key %d (kid %q) has use %q; a signing key is needed", i, k.KeyID, k.Use)
		}
		raw, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		var v3 josev3.JSONWebKey
		if err := json.Unmarshal(raw, &v3); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		// fosite only considers keys marked for signatures; Okta treats a key
		// without "use" as one.
		v3.Use = keyUseSignature
		out.Keys = append(out.Keys, v3)
	}
	return out, nil
}
