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
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/gomega"
)

// Generating RSA keys is slow under the race detector; the tests share them.
var (
	testRSAKey      = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	testOtherRSAKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	testECKey       = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(curve elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func pemBlock(blockType string, der []byte, headers ...string) []byte {
	b := &pem.Block{Type: blockType, Bytes: der}
	for i := 0; i+1 < len(headers); i += 2 {
		if b.Headers == nil {
			b.Headers = map[string]string{}
		}
		b.Headers[headers[i]] = headers[i+1]
	}
	return pem.EncodeToMemory(b)
}

func pkcs8(key any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func sec1(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pemBlock("EC PRIVATE KEY", der)
}

func pkix(pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

// pemBodyLines are the base64 lines of a PEM document: what an error
// message must never repeat.
func pemBodyLines(data []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && !strings.Contains(line, ":") {
			out = append(out, line)
		}
	}
	return out
}

func TestParsePrivateKey(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecWithParams := append(pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}), sec1(testECKey())...)

	tests := []struct {
		name string
		pem  []byte
		// wantAlg is set when the key must be accepted.
		wantAlg jose.SignatureAlgorithm
		// wantErr is a part of the error a person reads.
		wantErr string
	}{
		{name: "PKCS#1 RSA", pem: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey())), wantAlg: jose.RS256},
		{name: "PKCS#8 RSA", pem: pkcs8(testRSAKey()), wantAlg: jose.RS256},
		{name: "SEC 1 EC P-256", pem: sec1(testECKey()), wantAlg: jose.ES256},
		{name: "PKCS#8 EC P-256", pem: pkcs8(testECKey()), wantAlg: jose.ES256},
		// `openssl ecparam -genkey` writes the curve's parameters first.
		{name: "SEC 1 EC P-256 after EC PARAMETERS", pem: ecWithParams, wantAlg: jose.ES256},
		{name: "PKCS#1 RSA with text around it", pem: append(append([]byte("Bag Attributes\n"), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey()))...), '\n'), wantAlg: jose.RS256},

		{name: "RSA 1024 bits", pem: pkcs8(mustRSA(1024)), wantErr: "RSA key has 1024 bits; Okta requires at least 2048"},
		{name: "EC P-384", pem: sec1(mustEC(elliptic.P384())), wantErr: "EC key on curve P-384; only P-256 (ES256) is supported"},
		{name: "PKCS#8 EC P-384", pem: pkcs8(mustEC(elliptic.P384())), wantErr: "EC key on curve P-384; only P-256 (ES256) is supported"},
		{name: "Ed25519", pem: pkcs8(edKey), wantErr: "use RSA or EC P-256"},
		{name: "garbage", pem: []byte("this is not a key at all, just some text pasted by mistake"), wantErr: "no PEM block found"},
		{name: "empty", pem: nil, wantErr: "no PEM block found"},
		{name: "a public key", pem: pkix(testRSAKey().Public()), wantErr: "public key"},
		{name: "a certificate", pem: pemBlock("CERTIFICATE", []byte("not really a certificate, but the type says so")), wantErr: `PEM block "CERTIFICATE" is not a private key`},
		{
			name: "legacy encrypted PKCS#1 RSA",
			pem: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey()),
				"Proc-Type", "4,ENCRYPTED", "DEK-Info", "AES-256-CBC,00112233445566778899AABBCCDDEEFF"),
			wantErr: "encrypted",
		},
		{name: "encrypted PKCS#8", pem: pemBlock("ENCRYPTED PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey())), wantErr: "encrypted"},
		{name: "corrupted PKCS#1 RSA", pem: pemBlock("RSA PRIVATE KEY", []byte("corrupted key material here")), wantErr: "does not hold a readable private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			key, err := ParsePrivateKey(tc.pem, "kid-1")
			if tc.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(key.Algorithm).To(Equal(tc.wantAlg))
				g.Expect(key.KeyID).To(Equal("kid-1"))
				g.Expect(key.Thumbprint).NotTo(BeEmpty())
				return
			}
			g.Expect(err).To(HaveOccurred())
			g.Expect(key).To(BeNil())
			msg := err.Error()
			g.Expect(msg).To(ContainSubstring(tc.wantErr))
			for _, line := range pemBodyLines(tc.pem) {
				g.Expect(msg).NotTo(ContainSubstring(line), "the error quotes the key")
			}
			if len(tc.pem) > 0 {
				g.Expect(msg).NotTo(ContainSubstring(string(tc.pem)))
			}
		})
	}
}

// TestThumbprintIdentifiesTheKeyPair: the same key in another encoding has
// the same thumbprint; another key has another one. The operator relies on
// this to notice a replaced key without comparing PEM bytes.
func TestThumbprintIdentifiesTheKeyPair(t *testing.T) {
	g := NewWithT(t)
	parse := func(data []byte) string {
		k, err := ParsePrivateKey(data, "")
		g.Expect(err).NotTo(HaveOccurred())
		return k.Thumbprint
	}
	g.Expect(parse(pkcs8(testRSAKey()))).To(Equal(parse(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey())))))
	g.Expect(parse(pkcs8(testECKey()))).To(Equal(parse(sec1(testECKey()))))
	g.Expect(parse(pkcs8(testRSAKey()))).NotTo(Equal(parse(pkcs8(testOtherRSAKey()))))
	g.Expect(parse(pkcs8(testRSAKey()))).NotTo(ContainSubstring(pemBodyLines(pkcs8(testRSAKey()))[0]))
}
