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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// TestSystemLogTokenSecretKeys keeps this package's key names in step with
// the Secret the operator writes.
func TestSystemLogTokenSecretKeys(t *testing.T) {
	if KeyAccessToken != v1.TokenSecretAccessToken || KeyTokenType != v1.TokenSecretTokenType || KeyDPoPKey != v1.TokenSecretDPoPKey {
		t.Errorf("keys %q, %q; the operator writes %q, %q",
			KeyAccessToken, KeyTokenType, v1.TokenSecretAccessToken, v1.TokenSecretTokenType)
	}
}

// plainDir is a directory holding files, as a Secret's keys.
func plainDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		testenv.Must(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

func TestSystemLogTokenFile(t *testing.T) {
	const secret = "eyJraWQiOiJ0ZXN0In0.secret-token-value"
	cases := map[string]struct {
		path    func(t *testing.T) string
		want    Token
		wantErr string
	}{
		"Secret volume (kubelet layout)": {
			path: func(t *testing.T) string { return newSecretVolume(t, tokenData(secret)).dir },
			want: Token{Type: "Bearer", Value: secret},
		},
		"plain directory, trailing newline": {
			path: func(t *testing.T) string {
				return plainDir(t, map[string]string{KeyAccessToken: secret + "\n", KeyTokenType: "bearer\n"})
			},
			want: Token{Type: "Bearer", Value: secret},
		},
		"no token_type: Bearer": {
			path: func(t *testing.T) string { return plainDir(t, map[string]string{KeyAccessToken: secret}) },
			want: Token{Type: "Bearer", Value: secret},
		},
		"the token file itself": {
			path: func(t *testing.T) string {
				return filepath.Join(plainDir(t, map[string]string{"token": secret}), "token")
			},
			want: Token{Type: "Bearer", Value: secret},
		},
		"the key file in a Secret volume": {
			path: func(t *testing.T) string {
				return filepath.Join(newSecretVolume(t, tokenData(secret)).dir, KeyAccessToken)
			},
			want: Token{Type: "Bearer", Value: secret},
		},
		"missing": {
			path:    func(t *testing.T) string { return filepath.Join(t.TempDir(), "nothing-here") },
			wantErr: "no such file",
		},
		"directory without access_token": {
			path:    func(t *testing.T) string { return plainDir(t, map[string]string{KeyTokenType: "Bearer"}) },
			wantErr: "no such file",
		},
		"empty token": {
			path:    func(t *testing.T) string { return plainDir(t, map[string]string{KeyAccessToken: " \n"}) },
			wantErr: "is empty",
		},
		"a DPoP token without its key": {
			path: func(t *testing.T) string {
				return plainDir(t, map[string]string{KeyAccessToken: secret, KeyTokenType: "DPoP"})
			},
			wantErr: "its key cannot be read",
		},
		"a DPoP token with a key that is not one": {
			path: func(t *testing.T) string {
				return plainDir(t, map[string]string{KeyAccessToken: secret, KeyTokenType: "DPoP", KeyDPoPKey: "not a key"})
			},
			wantErr: "is not a JSON Web Key",
		},
		"another token type": {
			path: func(t *testing.T) string {
				return plainDir(t, map[string]string{KeyAccessToken: secret, KeyTokenType: "MAC"})
			},
			wantErr: `token type "MAC"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := TokenFile{Path: tc.path(t)}.Read()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read() error %v, want one with %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Read() = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

// TestSystemLogDPoPTokenFile: a DPoP-bound token is read with its key.
func TestSystemLogDPoPTokenFile(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	testenv.Must(t, err)
	jwk, err := json.Marshal(jose.JSONWebKey{Key: key})
	testenv.Must(t, err)
	dir := plainDir(t, map[string]string{KeyAccessToken: "bound-token", KeyTokenType: "DPoP", KeyDPoPKey: string(jwk)})
	got, err := TokenFile{Path: dir}.Read()
	if err != nil || got.Type != "DPoP" || got.Value != "bound-token" || got.Key == nil || !got.Key.Valid() {
		t.Fatalf("Read() = %#v, %v", got, err)
	}
	if out := fmt.Sprintf("%v %#v", got, got); strings.Contains(out, "bound-token") || strings.Contains(out, `"d"`) {
		t.Fatalf("a DPoP token prints its secrets: %s", out)
	}
}

// TestSystemLogTokenNeverPrints: a Token that reaches fmt or a logger by
// mistake shows its type, not its value.
func TestSystemLogTokenNeverPrints(t *testing.T) {
	tok := Token{Type: "Bearer", Value: "secret-token-value"}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
		if out := fmt.Sprintf(verb, tok); strings.Contains(out, tok.Value) {
			t.Errorf("fmt %s prints the token: %s", verb, out)
		}
	}
}
