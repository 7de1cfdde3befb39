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

// DPoP, Demonstrating Proof of Possession (RFC 9449): a token bound to a key
// is useless without it, so every request that uses one carries a fresh
// proof signed with the key. go-jose signs the proof and embeds the public
// key; what is written here by hand is the claim set, the htu of a URL and
// the nonce an origin hands out, which no well-kept Go library does for a
// client (x/oauth2 has no DPoP).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The DPoP header, the nonce header an origin answers with, and the token
// type of a DPoP-bound token.
const (
	HeaderDPoP      = "DPoP"
	HeaderDPoPNonce = "DPoP-Nonce"
	TokenTypeDPoP   = "DPoP"
	// DPoPProofType is the proof's JOSE typ.
	DPoPProofType = "dpop+jwt"
)

// DPoPKey is a key tokens are bound to: EC P-256, signing ES256 proofs.
// The operator makes it itself, never from a Secret a user wrote.
type DPoPKey struct {
	private *ecdsa.PrivateKey
	// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key,
	// base64url: the cnf.jkt Okta binds a token to.
	Thumbprint string
}

// NewDPoPKey makes a fresh P-256 key.
func NewDPoPKey() (*DPoPKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a DPoP key: %w", err)
	}
	return dpopKey(k)
}

func dpopKey(k *ecdsa.PrivateKey) (*DPoPKey, error) {
	public := jose.JSONWebKey{Key: k.Public()}
	sum, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing the DPoP key's thumbprint: %w", err)
	}
	return &DPoPKey{private: k, Thumbprint: base64.RawURLEncoding.EncodeToString(sum)}, nil
}

// ParseDPoPKey reads a private JWK as PrivateJWK writes it. Its errors
// never quote the key.
func ParseDPoPKey(data []byte) (*DPoPKey, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(data, &jwk); err != nil {
		return nil, errors.New("the DPoP key is not a JSON Web Key")
	}
	k, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("the DPoP key is not a private EC P-256 JSON Web Key")
	}
	return dpopKey(k)
}

// PrivateJWK is the key as a private JWK (JSON), the form it is stored in
// and handed to a workload that signs its own proofs.
func (k *DPoPKey) PrivateJWK() ([]byte, error) {
	data, err := json.Marshal(jose.JSONWebKey{Key: k.private, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return nil, errors.New("encoding the DPoP key")
	}
	return data, nil
}

// dpopClaims are a proof's claims (RFC 9449 section 4.2).
type dpopClaims struct {
	ID        string           `json:"jti"`
	Method    string           `json:"htm"`
	Target    string           `json:"htu"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Nonce     string           `json:"nonce,omitempty"`
	TokenHash string           `json:"ath,omitempty"`
}

// Proof signs a proof for one request: method and target as they are sent
// (the target's query and fragment are left out of htu), iat, a fresh jti,
// the origin's nonce when it gave one, and, for a request that carries the
// access token (a resource server's), ath, the token's hash. A proof is for
// one request only: a retry needs a new one.
func (k *DPoPKey) Proof(method string, target *url.URL, iat time.Time, nonce, accessToken string) (string, error) {
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(DPoPProofType)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.private}, opts)
	if err != nil {
		return "", fmt.Errorf("preparing a DPoP proof: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("reading a random jti: %w", err)
	}
	claims := dpopClaims{
		ID: base64.RawURLEncoding.EncodeToString(jti), Method: strings.ToUpper(method), Target: HTU(target),
		IssuedAt: jwt.NewNumericDate(iat), Nonce: nonce,
	}
	if accessToken != "" {
		claims.TokenHash = AccessTokenHash(accessToken)
	}
	proof, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing a DPoP proof: %w", err)
	}
	return proof, nil
}

// AccessTokenHash is a proof's ath: the base64url SHA-256 of the token.
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HTU is the htu of a request's URL: scheme and host in lower case, the
// scheme's default port left out, the path as the server decodes it, no
// query or fragment (RFC 9449 section 4.2, compared after RFC 3986
// normalization).
func HTU(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "https" && p == "443") && !(scheme == "http" && p == "80") {
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// DPoPNonces remembers the last nonce each authorization server (or
// resource server) handed out, so that every later proof to it carries it
// up front: without it, each token request would cost two round trips, two
// slots of the org's budget and a failed entry in the org's System Log.
// Every resource of an org shares it. Until a scope's first answer is in,
// one request at a time goes there (Await): a fleet of resources starting
// together would otherwise each be asked for the nonce.
type DPoPNonces struct {
	mu     sync.Mutex
	nonces map[string]string
	// known are the scopes that have answered a proof at least once, with a
	// nonce or without; learning are those whose first answer is awaited.
	known    map[string]bool
	learning map[string]chan struct{}
}

// Await returns the nonce to send to scope. When no request to scope has
// been answered yet and one is on its way, it waits for that answer (or
// ctx); when none is, the caller's request is the one that finds out, and
// it must call Learned when its answer is in, whatever it was.
func (n *DPoPNonces) Await(ctx context.Context, scope string) (nonce string, first bool, err error) {
	for {
		n.mu.Lock()
		if n.known[scope] {
			nonce = n.nonces[scope]
			n.mu.Unlock()
			return nonce, false, nil
		}
		wait, ok := n.learning[scope]
		if !ok {
			if n.learning == nil {
				n.learning = map[string]chan struct{}{}
			}
			n.learning[scope] = make(chan struct{})
			n.mu.Unlock()
			return "", true, nil
		}
		n.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
}

// Learned ends the first request to scope: answered says whether an answer
// came (with nonce, "" when it had none); without one the next request
// finds out instead.
func (n *DPoPNonces) Learned(scope string, answered bool, nonce string) {
	if answered {
		n.Set(scope, nonce)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if answered {
		if n.known == nil {
			n.known = map[string]bool{}
		}
		n.known[scope] = true
	}
	if ch, ok := n.learning[scope]; ok {
		close(ch)
		delete(n.learning, scope)
	}
}

// NonceScope is what a nonce is remembered by: the endpoint's origin and
// its path up to the last segment, so that the org authorization server
// (/oauth2/v1/...), each custom one (/oauth2/{id}/v1/...) and the org's
// APIs (/api/v1/...) each keep their own.
func NonceScope(u *url.URL) string {
	path := u.Path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		path = path[:i]
	}
	if strings.HasPrefix(path, "/api/") {
		path = "/api"
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + path
}

// Get is the nonce to send to scope, "" when none is known.
func (n *DPoPNonces) Get(scope string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nonces[scope]
}

// Set remembers the nonce scope handed out.
func (n *DPoPNonces) Set(scope, nonce string) {
	if nonce == "" || len(nonce) > maxNonceLength {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nonces == nil {
		n.nonces = map[string]string{}
	}
	n.nonces[scope] = nonce
}

// ForgetOrg drops what is known of every scope of org (OrgKey): no
// resource uses it any more.
func (n *DPoPNonces) ForgetOrg(org string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for scope := range n.known {
		if OrgKey(scope) == org {
			delete(n.known, scope)
		}
	}
	for scope := range n.nonces {
		if OrgKey(scope) == org {
			delete(n.nonces, scope)
		}
	}
}

// Len is how many scopes are known.
func (n *DPoPNonces) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return max(len(n.nonces), len(n.known))
}

// maxNonceLength bounds what is remembered of a nonce: Okta's are a few
// dozen characters.
const maxNonceLength = 1024
