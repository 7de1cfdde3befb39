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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// PrivateKey is a service app's signing key.
type PrivateKey struct {
	Key       any
	Algorithm jose.SignatureAlgorithm
	KeyID     string
}

// ParsePrivateKey reads a PEM private key: PKCS#1 or PKCS#8 RSA (RS256), or
// SEC 1 or PKCS#8 EC P-256 (ES256). Its errors never quote the key.
func ParsePrivateKey(data []byte, keyID string) (*PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found; expected -----BEGIN PRIVATE KEY----- (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY")
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
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, errors.New("the PEM block does not hold a readable private key")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key has %d bits; Okta requires at least 2048", k.N.BitLen())
		}
		return &PrivateKey{Key: k, Algorithm: jose.RS256, KeyID: keyID}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("EC key on curve %s; only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return &PrivateKey{Key: k, Algorithm: jose.ES256, KeyID: keyID}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T; use RSA or EC P-256", key)
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
