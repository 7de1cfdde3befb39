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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// PrivateKey is a service app's signing key.
type PrivateKey struct {
	Key       any
	Algorithm jose.SignatureAlgorithm
	KeyID     string
	// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key. It
	// names the key pair without revealing it, so the operator can tell that
	// a Secret now holds another key.
	Thumbprint string
}

// ParsePrivateKey reads a PEM private key: PKCS#1 or PKCS#8 RSA (RS256), or
// SEC 1 or PKCS#8 EC P-256 (ES256). Its errors never quote the key.
func ParsePrivateKey(data []byte, keyID string) (*PrivateKey, error) {
	block, rest := pem.Decode(data)
	// `openssl ecparam -genkey` writes the curve's parameters before the
	// key; they say nothing the key does not.
	for block != nil && block.Type == "EC PARAMETERS" {
		block, rest = pem.Decode(rest)
	}
	if block == nil {
		return nil, errors.New("no PEM block found; expected -----BEGIN PRIVATE KEY----- (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("the private key is encrypted with a passphrase, which the operator cannot enter; " +
			"store it unencrypted, for example: openssl pkey -in key.pem -out key-unencrypted.pem")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return nil, errors.New("the PEM block holds a public key; the Secret needs the private key, and Okta the public one")
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, errors.New("the PEM block does not hold a readable private key")
	}
	var pk *PrivateKey
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key has %d bits; Okta requires at least 2048", k.N.BitLen())
		}
		pk = &PrivateKey{Key: k, Algorithm: jose.RS256, KeyID: keyID}
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("EC key on curve %s; only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		pk = &PrivateKey{Key: k, Algorithm: jose.ES256, KeyID: keyID}
	default:
		return nil, fmt.Errorf("unsupported key type %T; use RSA or EC P-256", key)
	}
	public := jose.JSONWebKey{Key: key.(crypto.Signer).Public()}
	sum, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing the key's thumbprint: %w", err)
	}
	pk.Thumbprint = base64.RawURLEncoding.EncodeToString(sum)
	return pk, nil
}

// jsonField reads one string field of a JSON object, "" when absent.
func jsonField(body []byte, name string) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
