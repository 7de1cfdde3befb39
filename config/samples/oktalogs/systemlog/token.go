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

import (
	"errors"

	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Keys of the operator's token Secret that a consumer reads (the Secret also
// holds expiry and scope). They match api/v1alpha1's TokenSecret* constants;
// a test keeps them in step without making this package, and the consumer's
// image, depend on the operator's API types.
const (
	KeyAccessToken = "access_token"
	KeyTokenType   = "token_type"
	KeyDPoPKey     = "dpop_key"
)

// defaultTokenType is used when the Secret has no token_type key.
const defaultTokenType = "Bearer"

// atomicWriterData is the symlink the kubelet swaps to publish a new version
// of a Secret volume: each key is a symlink to ..data/<key>, and ..data points
// at a timestamped directory holding one complete version.
const atomicWriterData = "..data"

// Token is an access token and its type, and for a DPoP-bound token the
// key it is bound to. It prints as its type only, so a Token passed to a
// logger or to fmt by mistake shows no secret. The zero Token is no token
// at all: requests go without Authorization (behind okta-token-proxy, which
// adds it).
type Token struct {
	Type  string
	Value string
	// Key is the private key a DPoP token is bound to (dpop_key).
	Key *jose.JSONWebKey
}

// tokenTypeDPoP is the type of a DPoP-bound token.
const tokenTypeDPoP = "DPoP"

// dpop says whether the token is DPoP-bound.
func (t Token) dpop() bool { return strings.EqualFold(t.Type, tokenTypeDPoP) }

// String redacts the token.
func (t Token) String() string { return t.Type + " <redacted>" }

// GoString redacts the token for %#v too.
func (t Token) GoString() string {
	return "systemlog.Token{Type: " + fmt.Sprintf("%q", t.Type) + ", Value: <redacted>}"
}

// authorization is the Authorization header value.
func (t Token) authorization() string { return t.Type + " " + t.Value }

// TokenSource gives the token to use for the next request. A Client calls
// Read before every request, so a source must be cheap and must return a
// rotated token as soon as it is available.
type TokenSource interface {
	Read() (Token, error)
}

// TokenFile reads the token from the operator's token Secret mounted as a
// volume. Path is either the volume's directory (the access_token and
// token_type keys are read from it) or the access-token file itself (a
// token_type file beside it is used if there is one).
type TokenFile struct {
	Path string
}

var _ TokenSource = TokenFile{}

// Read reads the token from disk, every time it is called.
func (f TokenFile) Read() (Token, error) {
	info, err := os.Stat(f.Path)
	if err != nil {
		return Token{}, fmt.Errorf("reading the access token: %w", err)
	}
	dir, tokenPath := filepath.Dir(f.Path), f.Path
	if info.IsDir() {
		dir = f.Path
		// Reading both keys through one resolution of ..data takes them from
		// the same version of the Secret even if the kubelet swaps versions
		// between the two reads.
		if resolved, err := filepath.EvalSymlinks(filepath.Join(f.Path, atomicWriterData)); err == nil {
			dir = resolved
		}
		tokenPath = filepath.Join(dir, KeyAccessToken)
	}
	value, err := readTrimmed(tokenPath)
	if err != nil {
		return Token{}, fmt.Errorf("reading the access token: %w", err)
	}
	if value == "" {
		return Token{}, fmt.Errorf("reading the access token: %s is empty", tokenPath)
	}
	tokenType, err := readTrimmed(filepath.Join(dir, KeyTokenType))
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && tokenType == ""):
		tokenType = defaultTokenType
	case err != nil:
		return Token{}, fmt.Errorf("reading the token type: %w", err)
	}
	switch {
	case strings.EqualFold(tokenType, defaultTokenType):
		return Token{Type: defaultTokenType, Value: value}, nil
	case strings.EqualFold(tokenType, tokenTypeDPoP):
		// A DPoP-bound token is useless without its key: every request
		// carries a proof signed with it.
		key, err := readDPoPKey(filepath.Join(dir, KeyDPoPKey))
		if err != nil {
			return Token{}, err
		}
		return Token{Type: tokenTypeDPoP, Value: value, Key: key}, nil
	}
	return Token{}, fmt.Errorf("token type %q in %s is not supported: only Bearer and DPoP tokens are", tokenType, dir)
}

// NoToken is the source of an application behind okta-token-proxy: it
// holds no token, and the proxy adds one to each request.
type NoToken struct{}

// Read returns the zero Token.
func (NoToken) Read() (Token, error) { return Token{}, nil }

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
