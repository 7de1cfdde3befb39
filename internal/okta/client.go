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
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"k8s.io/utils/clock"
)

// Token is what a token request returned.
type Token struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	// IssuedAt is the operator's clock when the response arrived; Expiry is
	// IssuedAt + expires_in, so both come from the same (injectable) clock.
	IssuedAt time.Time
	Expiry   time.Time
	// Scopes are the scopes Okta granted, from the response's `scope`.
	Scopes []string
	// IDToken is the raw ID token, when the response carried one. Who
	// signed in is known only once VerifyIDToken has checked it.
	IDToken string
}

// ClientSecret authenticates a web app: client_secret_basic, or
// client_secret_post when Post is set.
type ClientSecret struct {
	ID, Secret string
	Post       bool
}

// Client makes token requests. Its clock decides issue and expiry times and
// assertion lifetimes.
type Client struct {
	HTTP  *http.Client
	Clock clock.PassiveClock

	keys keySets
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.HTTP)
}

func webConfig(ep Endpoints, app ClientSecret, redirectURI string, scopes []string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if app.Post {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     app.ID,
		ClientSecret: app.Secret,
		RedirectURL:  redirectURI,
		Scopes:       scopes,
		Endpoint:     oauth2.Endpoint{AuthURL: ep.AuthorizationEndpoint, TokenURL: ep.TokenEndpoint, AuthStyle: style},
	}
}

// PendingLogin is one sign-in in progress. State and Verifier are secrets:
// only StateHash may be stored where it can be listed.
type PendingLogin struct {
	State     string
	StateHash string
	Verifier  string
	// Nonce binds the ID token Okta issues to this sign-in (OpenID
	// Connect Core 3.1.2.1): an ID token from another sign-in is refused.
	Nonce     string
	ExpiresAt time.Time
}

// NewPendingLogin makes a fresh 256-bit state, PKCE verifier and nonce.
func NewPendingLogin(now time.Time, ttl time.Duration) (PendingLogin, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return PendingLogin{}, fmt.Errorf("reading random state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b)
	n := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, n); err != nil {
		return PendingLogin{}, fmt.Errorf("reading random nonce: %w", err)
	}
	return PendingLogin{
		State:     state,
		StateHash: HashState(state),
		Verifier:  oauth2.GenerateVerifier(),
		Nonce:     base64.RawURLEncoding.EncodeToString(n),
		ExpiresAt: now.Add(ttl),
	}, nil
}

// HashState is how a state is stored and looked up: the first 160 bits of
// its SHA-256, hex-encoded, short enough for a label value.
func HashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:20])
}

// AuthCodeURL is the sign-in URL for a pending login.
func AuthCodeURL(ep Endpoints, clientID, redirectURI string, scopes []string, login PendingLogin) string {
	cfg := webConfig(ep, ClientSecret{ID: clientID}, redirectURI, scopes)
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(login.Verifier)}
	if login.Nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", login.Nonce))
	}
	return cfg.AuthCodeURL(login.State, opts...)
}

// ExchangeCode trades an authorization code for tokens.
func (c *Client) ExchangeCode(ctx context.Context, ep Endpoints, app ClientSecret, redirectURI, code, verifier string) (*Token, error) {
	cfg := webConfig(ep, app, redirectURI, nil)
	t, err := cfg.Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classify("exchanging the authorization code", err, c.Clock.Now())
	}
	return c.token(t), nil
}

// Refresh uses a refresh token. When Okta rotates refresh tokens the result
// carries the new one; otherwise it carries the one passed in.
func (c *Client) Refresh(ctx context.Context, ep Endpoints, app ClientSecret, refreshToken string) (*Token, error) {
	cfg := webConfig(ep, app, "", nil)
	t, err := cfg.TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, classify("refreshing the access token", err, c.Clock.Now())
	}
	return c.token(t), nil
}

// ClientCredentials mints a token for a service app, authenticating with a
// private_key_jwt assertion signed by key. A new assertion, with a fresh jti,
// is made for every call, so a retry is never a replay.
func (c *Client) ClientCredentials(ctx context.Context, ep Endpoints, clientID string, key *PrivateKey, scopes []string) (*Token, error) {
	assertion, err := c.Assertion(clientID, ep.TokenEndpoint, key)
	if err != nil {
		return nil, err
	}
	cfg := &clientcredentials.Config{
		ClientID: clientID,
		TokenURL: ep.TokenEndpoint,
		Scopes:   scopes,
		EndpointParams: url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	t, err := cfg.Token(c.ctx(ctx))
	if err != nil {
		return nil, classify("requesting a client-credentials token", err, c.Clock.Now())
	}
	return c.token(t), nil
}

// ClientCredentialsWithSecret mints a token for a service app that
// authenticates with a client secret (client_secret_basic). Okta accepts
// this only at a custom authorization server; its org authorization server
// requires private_key_jwt.
func (c *Client) ClientCredentialsWithSecret(ctx context.Context, ep Endpoints, app ClientSecret, scopes []string) (*Token, error) {
	style := oauth2.AuthStyleInHeader
	if app.Post {
		style = oauth2.AuthStyleInParams
	}
	cfg := &clientcredentials.Config{
		ClientID: app.ID, ClientSecret: app.Secret, TokenURL: ep.TokenEndpoint, Scopes: scopes, AuthStyle: style,
	}
	t, err := cfg.Token(c.ctx(ctx))
	if err != nil {
		return nil, classify("requesting a client-credentials token", err, c.Clock.Now())
	}
	return c.token(t), nil
}

// AssertionLifetime is how long a client assertion is valid: well under
// Okta's one-hour maximum, long enough to absorb some clock skew.
const AssertionLifetime = 5 * time.Minute

// Assertion signs a private_key_jwt client assertion: iss = sub = client id,
// aud = the token endpoint, a random jti, exp a few minutes ahead.
func (c *Client) Assertion(clientID, tokenEndpoint string, key *PrivateKey) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if key.KeyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), key.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Algorithm, Key: key.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("preparing the client assertion: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, jti); err != nil {
		return "", fmt.Errorf("reading random jti: %w", err)
	}
	// Backdate iat a little: Okta rejects assertions "issued in the future"
	// when the operator's clock runs slightly ahead.
	now := c.Clock.Now()
	claims := jwt.Claims{
		Issuer:    clientID,
		Subject:   clientID,
		Audience:  jwt.Audience{tokenEndpoint},
		ID:        hex.EncodeToString(jti),
		IssuedAt:  jwt.NewNumericDate(now.Add(-30 * time.Second)),
		NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
		Expiry:    jwt.NewNumericDate(now.Add(AssertionLifetime)),
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return s, nil
}

// Revoke revokes a token (RFC 7009) with the web app's credentials.
func (c *Client) Revoke(ctx context.Context, ep Endpoints, app ClientSecret, token, hint string) error {
	if ep.RevocationEndpoint == "" {
		return &Error{Class: Permanent, Op: "revoking", Description: "the authorization server publishes no revocation endpoint"}
	}
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	if app.Post {
		form.Set("client_id", app.ID)
		form.Set("client_secret", app.Secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return &Error{Class: Permanent, Op: "revoking", cause: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !app.Post {
		req.SetBasicAuth(url.QueryEscape(app.ID), url.QueryEscape(app.Secret))
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return classify("revoking the refresh token", err, c.Clock.Now())
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return classify("revoking the refresh token", &oauth2.RetrieveError{Response: resp, Body: body,
		ErrorCode: jsonField(body, "error"), ErrorDescription: jsonField(body, "error_description")}, c.Clock.Now())
}

func (c *Client) token(t *oauth2.Token) *Token {
	now := c.Clock.Now()
	lifetime := expiresIn(t)
	out := &Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.Type(),
		RefreshToken: t.RefreshToken,
		IssuedAt:     now,
		Expiry:       now.Add(time.Duration(lifetime) * time.Second),
	}
	if lifetime == 0 {
		// No expires_in: Okta always sends one; assume its org default.
		out.Expiry = now.Add(time.Hour)
	}
	if s, ok := t.Extra("scope").(string); ok {
		out.Scopes = strings.Fields(s)
	}
	if idt, ok := t.Extra("id_token").(string); ok {
		out.IDToken = idt
	}
	return out
}

// expiresIn is the response's expires_in, in seconds. x/oauth2's
// clientcredentials package does not copy it into the Token, so it is read
// from the raw response there.
func expiresIn(t *oauth2.Token) int64 {
	if t.ExpiresIn > 0 {
		return t.ExpiresIn
	}
	switch v := t.Extra("expires_in").(type) {
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}
