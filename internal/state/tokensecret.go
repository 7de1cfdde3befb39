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

package state

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// The token Secret describes the token it holds in annotations. For a
// ClientCredentials resource it is the only record of the grant: such a
// token has no refresh token to protect and nothing to revoke, so it has no
// state Secret, and a new token is one request away. For an
// AuthorizationCode resource the state Secret stays the record and the
// annotations only mirror it.
const (
	AnnotationIssuedAt           = "oktatoken.dev/issued-at"
	AnnotationGrant              = "oktatoken.dev/grant"
	AnnotationKeyThumbprint      = "oktatoken.dev/key-thumbprint"
	AnnotationCredentialsVersion = "oktatoken.dev/credentials-version"
	AnnotationRenewHandled       = "oktatoken.dev/renew-requested-at-handled"
	AnnotationRotations          = "oktatoken.dev/rotations"
	AnnotationManualAt           = "oktatoken.dev/renew-requested-at-handled-at"
	// AnnotationDigest is a SHA-256 over the token's data and the
	// annotations above: a Secret whose digest does not match was edited,
	// and its token is not trusted.
	AnnotationDigest = "oktatoken.dev/digest"
)

// tokenAnnotations are the annotations the operator owns on a token Secret.
var tokenAnnotations = []string{
	AnnotationIssuedAt, AnnotationGrant, AnnotationKeyThumbprint, AnnotationCredentialsVersion,
	AnnotationRenewHandled, AnnotationRotations, AnnotationManualAt, AnnotationDigest,
}

// IsTokenAnnotation says whether the operator owns an annotation key of
// token Secrets (spec.secretTemplate may not set it).
func IsTokenAnnotation(key string) bool {
	return slices.Contains(tokenAnnotations, key)
}

// TokenSecretData is what pods read: the access token, its type, expiry
// (RFC 3339) and the scopes granted; for a DPoP-bound token also the key it
// is bound to (a private JWK), without which it is useless.
func TokenSecretData(g *Grant) map[string][]byte {
	tokenType := g.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	d := map[string][]byte{
		v1.TokenSecretAccessToken: []byte(g.AccessToken),
		v1.TokenSecretTokenType:   []byte(tokenType),
		v1.TokenSecretExpiry:      []byte(g.Expiry.UTC().Format(time.RFC3339)),
		v1.TokenSecretScope:       []byte(strings.Join(g.Scopes, " ")),
	}
	if g.DPoPKey != "" {
		d[v1.TokenSecretDPoPKey] = []byte(g.DPoPKey)
	}
	return d
}

// TokenSecretAnnotations describe g and the last manual renewal handled.
func TokenSecretAnnotations(g *Grant, renewHandled string, manualAt time.Time) map[string]string {
	a := map[string]string{
		AnnotationIssuedAt:  g.IssuedAt.UTC().Format(time.RFC3339),
		AnnotationGrant:     g.Fingerprint,
		AnnotationRotations: strconv.FormatInt(g.Rotations, 10),
	}
	if g.KeyThumbprint != "" {
		a[AnnotationKeyThumbprint] = g.KeyThumbprint
	}
	if g.CredentialsVersion != "" {
		a[AnnotationCredentialsVersion] = g.CredentialsVersion
	}
	if renewHandled != "" {
		a[AnnotationRenewHandled] = renewHandled
	}
	if !manualAt.IsZero() {
		a[AnnotationManualAt] = manualAt.UTC().Format(time.RFC3339)
	}
	a[AnnotationDigest] = digest(TokenSecretData(g), a)
	return a
}

// DecodeTokenSecret reads the grant a token Secret holds. A Secret that is
// missing, was written before it carried annotations, or whose content no
// longer matches its digest holds no usable grant.
func DecodeTokenSecret(s *corev1.Secret) State {
	if s == nil || s.Annotations[AnnotationDigest] == "" {
		return State{}
	}
	a := s.Annotations
	if digest(s.Data, a) != a[AnnotationDigest] {
		return State{}
	}
	d := s.Data
	g := &Grant{
		Fingerprint:        a[AnnotationGrant],
		AccessToken:        string(d[v1.TokenSecretAccessToken]),
		TokenType:          string(d[v1.TokenSecretTokenType]),
		IssuedAt:           parseTime(a[AnnotationIssuedAt]),
		Expiry:             parseTime(string(d[v1.TokenSecretExpiry])),
		Scopes:             strings.Fields(string(d[v1.TokenSecretScope])),
		Origin:             OriginMint,
		KeyThumbprint:      a[AnnotationKeyThumbprint],
		CredentialsVersion: a[AnnotationCredentialsVersion],
		Rotations:          parseInt(a[AnnotationRotations]),
		DPoPKey:            string(d[v1.TokenSecretDPoPKey]),
	}
	if g.AccessToken == "" {
		return State{}
	}
	return State{Grant: g, RenewHandled: a[AnnotationRenewHandled], ManualAt: parseTime(a[AnnotationManualAt]), Format: Format}
}

// digest hashes the token data and the describing annotations, each part
// ended by a NUL, which none may contain.
func digest(data map[string][]byte, a map[string]string) string {
	h := sha256.New()
	for _, k := range []string{v1.TokenSecretAccessToken, v1.TokenSecretTokenType, v1.TokenSecretExpiry, v1.TokenSecretScope} {
		h.Write(data[k])
		h.Write([]byte{0})
	}
	if key, ok := data[v1.TokenSecretDPoPKey]; ok {
		// Only where there is a key, so that the digests of Bearer tokens
		// written before keys existed still match.
		h.Write([]byte(v1.TokenSecretDPoPKey))
		h.Write([]byte{0})
		h.Write(key)
		h.Write([]byte{0})
	}
	for _, k := range tokenAnnotations {
		if k == AnnotationDigest {
			continue
		}
		h.Write([]byte(a[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
