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
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestDPoPProof: a proof says what RFC 9449 asks, verifies with the key it
// embeds (public only), and is never the same twice.
func TestDPoPProof(t *testing.T) {
	key, err := NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	iat := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	target, _ := url.Parse("https://Dev-1.OKTA.com:443/oauth2/v1/token?x=1#f")
	tests := map[string]struct {
		nonce, token string
	}{
		"a token request":                      {},
		"a token request with a nonce":         {nonce: "n-1"},
		"a request to a resource server (ath)": {nonce: "rs-1", token: "the-access-token"},
	}
	seen := map[string]bool{}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			raw, err := key.Proof("post", target, iat, tc.nonce, tc.token)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			h := jws.Signatures[0].Protected
			if h.ExtraHeaders[jose.HeaderType] != DPoPProofType || h.Algorithm != string(jose.ES256) {
				t.Fatalf("header typ %v alg %s", h.ExtraHeaders[jose.HeaderType], h.Algorithm)
			}
			if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
				t.Fatal("the proof must embed the public key, and only the public key")
			}
			sum, _ := h.JSONWebKey.Thumbprint(crypto.SHA256)
			if base64.RawURLEncoding.EncodeToString(sum) != key.Thumbprint {
				t.Fatal("the embedded key is not the key's")
			}
			payload, err := jws.Verify(h.JSONWebKey)
			if err != nil {
				t.Fatalf("the proof does not verify with its own key: %v", err)
			}
			var c struct {
				JTI   string           `json:"jti"`
				HTM   string           `json:"htm"`
				HTU   string           `json:"htu"`
				IAT   *jwt.NumericDate `json:"iat"`
				Nonce string           `json:"nonce"`
				ATH   string           `json:"ath"`
			}
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatal(err)
			}
			if c.HTM != "POST" || c.HTU != "https://dev-1.okta.com/oauth2/v1/token" || !c.IAT.Time().Equal(iat) ||
				c.Nonce != tc.nonce || c.JTI == "" {
				t.Fatalf("claims %+v", c)
			}
			if (tc.token == "") != (c.ATH == "") || (tc.token != "" && c.ATH != AccessTokenHash(tc.token)) {
				t.Fatalf("ath %q for token %q", c.ATH, tc.token)
			}
			if seen[c.JTI] {
				t.Fatal("a jti was used twice")
			}
			seen[c.JTI] = true
		})
	}
}

func TestHTU(t *testing.T) {
	for raw, want := range map[string]string{
		"https://dev-1.okta.com/oauth2/v1/token":                    "https://dev-1.okta.com/oauth2/v1/token",
		"HTTPS://Dev-1.Okta.COM:443/oauth2/v1/token?x=1":            "https://dev-1.okta.com/oauth2/v1/token",
		"http://127.0.0.1:8080/api/v1/logs?since=x#top":             "http://127.0.0.1:8080/api/v1/logs",
		"http://127.0.0.1:80/api/v1/logs":                           "http://127.0.0.1/api/v1/logs",
		"http://[::1]:9090/oauth2/v1/token":                         "http://[::1]:9090/oauth2/v1/token",
		"http://[::1]/x":                                            "http://[::1]/x",
		"https://dev-1.okta.com":                                    "https://dev-1.okta.com/",
		"https://dev-1.okta.com/api/v1/users/a%40example.com/roles": "https://dev-1.okta.com/api/v1/users/a@example.com/roles",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := HTU(u); got != want {
			t.Errorf("HTU(%s) = %s, want %s", raw, got, want)
		}
	}
}

func TestNonceScope(t *testing.T) {
	for raw, want := range map[string]string{
		"https://dev-1.okta.com/oauth2/v1/token":           "https://dev-1.okta.com/oauth2/v1",
		"https://dev-1.okta.com/oauth2/v1/revoke":          "https://dev-1.okta.com/oauth2/v1",
		"https://dev-1.okta.com/oauth2/default/v1/token":   "https://dev-1.okta.com/oauth2/default/v1",
		"https://dev-1.okta.com/api/v1/logs":               "https://dev-1.okta.com/api",
		"https://dev-1.okta.com/api/v1/users/00u1/factors": "https://dev-1.okta.com/api",
	} {
		u, _ := url.Parse(raw)
		if got := NonceScope(u); got != want {
			t.Errorf("NonceScope(%s) = %s, want %s", raw, got, want)
		}
	}
	n := &DPoPNonces{}
	n.Set("https://dev-1.okta.com/oauth2/v1", "a")
	n.Set("https://dev-1.okta.com/api", "b")
	n.Set("https://dev-2.okta.com/oauth2/v1", "c")
	n.Set("https://dev-2.okta.com/oauth2/v1", strings.Repeat("x", maxNonceLength+1))
	if n.Get("https://dev-2.okta.com/oauth2/v1") != "c" {
		t.Fatal("an overlong nonce replaced a good one")
	}
	n.ForgetOrg("dev-1.okta.com")
	if n.Len() != 1 || n.Get("https://dev-2.okta.com/oauth2/v1") != "c" {
		t.Fatalf("after forgetting dev-1: %d scopes", n.Len())
	}
}

// TestDPoPKeyRoundTrip: a key survives being stored as a private JWK; what
// is not a private P-256 key is refused, and the error quotes nothing.
func TestDPoPKeyRoundTrip(t *testing.T) {
	key, err := NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := key.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseDPoPKey(jwk)
	if err != nil || back.Thumbprint != key.Thumbprint {
		t.Fatalf("read back: %v, thumbprint %s want %s", err, back.Thumbprint, key.Thumbprint)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	public, _ := json.Marshal(jose.JSONWebKey{Key: &key.private.PublicKey})
	for name, data := range map[string][]byte{
		"not JSON":            []byte("secret-looking-garbage"),
		"an RSA key":          mustJSON(t, jose.JSONWebKey{Key: rsaKey}),
		"a P-384 key":         mustJSON(t, jose.JSONWebKey{Key: p384}),
		"a public key only":   public,
		"an empty JSON value": []byte("{}"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseDPoPKey(data)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "garbage") || strings.Contains(err.Error(), `"d"`) {
				t.Fatalf("the error quotes the input: %v", err)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
