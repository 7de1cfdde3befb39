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

package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// readPublicKeys reads a service app's public keys from a file holding a
// JWKS ({"keys":[...]}), a single JWK, or PEM public keys or certificates.
// A PEM key gets its RFC 7638 thumbprint as kid, which is what a client
// should put in its assertion's header.
func readPublicKeys(path string) (jose.JSONWebKeySet, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	trimmed := bytes.TrimSpace(raw)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(trimmed, &set); err == nil && len(set.Keys) > 0 {
			return publicOnly(set)
		}
		var key jose.JSONWebKey
		if err := json.Unmarshal(trimmed, &key); err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("%s is neither a JWKS nor a JWK: %w", path, err)
		}
		return publicOnly(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key}})
	}

	var set jose.JSONWebKeySet
	for rest := trimmed; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var pub crypto.PublicKey
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		default:
			// A private key here is a mistake worth stopping for: it is the
			// client's, and must not be handed to the server.
			return jose.JSONWebKeySet{}, fmt.Errorf("%s: PEM block %q is not a public key or certificate", path, block.Type)
		}
		if err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("%s: %w", path, err)
		}
		key := jose.JSONWebKey{Key: pub, Use: "sig"}
		thumbprint, err := key.Thumbprint(crypto.SHA256)
		if err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("%s: %w", path, err)
		}
		key.KeyID = base64.RawURLEncoding.EncodeToString(thumbprint)
		set.Keys = append(set.Keys, key)
	}
	if len(set.Keys) == 0 {
		return jose.JSONWebKeySet{}, fmt.Errorf("%s holds no JWKS, JWK or PEM public key", path)
	}
	return set, nil
}

func publicOnly(set jose.JSONWebKeySet) (jose.JSONWebKeySet, error) {
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return jose.JSONWebKeySet{}, errors.New("the key file holds a private key; register the public key only")
		}
	}
	return set, nil
}

// readUsersFile reads "username:password" lines; blank lines and lines
// starting with # are skipped.
func readUsersFile(path string) ([]oktadev.User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var users []oktadev.User
	scanner := bufio.NewScanner(f)
	for n := 1; scanner.Scan(); n++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := parseUser(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		users = append(users, u)
	}
	return users, scanner.Err()
}

// parseUser reads "username:password"; the password may contain colons.
func parseUser(s string) (oktadev.User, error) {
	name, password, ok := strings.Cut(s, ":")
	if !ok || name == "" || password == "" {
		return oktadev.User{}, errors.New(`want "username:password"`)
	}
	return oktadev.User{Username: name, Password: password}, nil
}
