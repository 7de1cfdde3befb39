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

package proxy

// The token as the proxy reads it from the mounted token Secret, for every
// request: the kubelet writes a rotated Secret into a fresh directory and
// swaps the ..data symlink, so reading the keys through one resolution of
// it takes them from one version.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Token is what one request is sent with. It prints without its secrets.
type Token struct {
	// Type is Bearer or DPoP.
	Type  string
	Value string
	// Key is the DPoP key the token is bound to (DPoP only).
	Key *okta.DPoPKey
	// Expiry is when the token expires, zero when unknown.
	Expiry time.Time
}

// DPoP says whether the token is DPoP-bound.
func (t Token) DPoP() bool { return strings.EqualFold(t.Type, okta.TokenTypeDPoP) }

// String redacts the token.
func (t Token) String() string { return t.Type + " <redacted>" }

// GoString redacts the token for %#v too.
func (t Token) GoString() string {
	return fmt.Sprintf("proxy.Token{Type: %q, Value: <redacted>}", t.Type)
}

// TokenSource gives the token for the next request.
type TokenSource interface {
	Read() (Token, error)
}

// TokenDir reads the token from the directory the token Secret is mounted
// at.
type TokenDir string

// atomicWriterData is the symlink the kubelet swaps to publish a new
// version of a Secret volume.
const atomicWriterData = "..data"

// Read reads the token from disk, every time it is called.
func (d TokenDir) Read() (Token, error) {
	dir := string(d)
	if resolved, err := filepath.EvalSymlinks(filepath.Join(dir, atomicWriterData)); err == nil {
		dir = resolved
	}
	value, err := readKey(dir, v1.TokenSecretAccessToken)
	if err != nil || value == "" {
		return Token{}, fmt.Errorf("reading %s from %s: %w", v1.TokenSecretAccessToken, string(d), orEmpty(err))
	}
	tok := Token{Type: "Bearer", Value: value}
	if t, err := readKey(dir, v1.TokenSecretTokenType); err == nil && t != "" {
		tok.Type = t
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Token{}, fmt.Errorf("reading %s: %w", v1.TokenSecretTokenType, err)
	}
	if e, err := readKey(dir, v1.TokenSecretExpiry); err == nil {
		tok.Expiry, _ = time.Parse(time.RFC3339, e)
	}
	if !tok.DPoP() {
		if !strings.EqualFold(tok.Type, "Bearer") {
			return Token{}, fmt.Errorf("token type %q is neither Bearer nor DPoP", okta.Sanitize(tok.Type, 40))
		}
		tok.Type = "Bearer"
		return tok, nil
	}
	tok.Type = okta.TokenTypeDPoP
	jwk, err := os.ReadFile(filepath.Join(dir, v1.TokenSecretDPoPKey))
	if err != nil {
		return Token{}, fmt.Errorf("the token is DPoP-bound but its key cannot be read (%s): %w", v1.TokenSecretDPoPKey, err)
	}
	if tok.Key, err = okta.ParseDPoPKey(jwk); err != nil {
		return Token{}, err
	}
	return tok, nil
}

func readKey(dir, key string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func orEmpty(err error) error {
	if err == nil {
		return errors.New("it is empty")
	}
	return err
}
