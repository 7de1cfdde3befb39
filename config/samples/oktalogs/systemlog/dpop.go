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

package systemlog

// DPoP proofs for requests with a DPoP-bound token (RFC 9449 section 7):
// what a workload that holds the token and its key does for each request.
// go-jose signs the proof and embeds the public key; the claims are a few
// lines. Nothing here depends on the operator's code, so a workload of
// yours can do the same.

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// readDPoPKey reads the private JWK the operator keeps beside a DPoP-bound
// token (dpop_key). Its errors never quote the key.
func readDPoPKey(path string) (*jose.JSONWebKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the token is DPoP-bound but its key cannot be read: %w", err)
	}
	var key jose.JSONWebKey
	if err := json.Unmarshal(data, &key); err != nil {
		return nil, fmt.Errorf("%s is not a JSON Web Key", path)
	}
	if _, ok := key.Key.(*ecdsa.PrivateKey); !ok {
		return nil, fmt.Errorf("%s is not a private EC key", path)
	}
	return &key, nil
}

// proof signs a DPoP proof for one request with the token: htm, htu (the
// URL without query or fragment), iat, a fresh jti, ath (the token's hash)
// and the resource server's nonce once it has given one. A retry needs a
// new proof.
func (t Token) proof(method string, u *url.URL, now time.Time, nonce string) (string, error) {
	if t.Key == nil {
		return "", errors.New("a DPoP token without its key")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: t.Key.Key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return "", fmt.Errorf("preparing a DPoP proof: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(t.Value))
	htu := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path}
	claims := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"htm": method,
		"htu": htu.String(),
		"iat": jwt.NewNumericDate(now),
		"ath": base64.RawURLEncoding.EncodeToString(sum[:]),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
