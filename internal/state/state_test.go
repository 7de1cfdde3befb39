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
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)
	tests := map[string]State{
		"empty": {},
		"a grant": {Grant: &Grant{Fingerprint: "fp", RefreshToken: "rt", AccessToken: "at", TokenType: "Bearer",
			IssuedAt: at, Expiry: at.Add(time.Hour), Scopes: []string{"openid", "okta.logs.read"}, Subject: "ada@example.com",
			Origin: OriginRefresh, KeyThumbprint: "kt"}},
		"a pending sign-in": {Pending: &PendingLogin{StateHash: "abc", Verifier: "v", ExpiresAt: at, RedirectURI: "https://x/callback",
			Fingerprint: "fp", AuthorizationURL: "https://okta/authorize?state=s"}},
		"both, with triggers handled": {
			Grant:   &Grant{AccessToken: "at", Expiry: at, Scopes: []string{"okta.logs.read"}, Origin: OriginMint},
			Pending: &PendingLogin{StateHash: "abc", ExpiresAt: at}, RenewHandled: "1", ReauthorizeHandled: "2", ReauthorizeWanted: true,
			GrantLost: "Okta no longer accepts the refresh token",
		},
		"every field": {
			Grant: &Grant{AccessToken: "at", RefreshToken: "rt", Expiry: at, Scopes: []string{"okta.logs.read"},
				Origin: OriginRefresh, Rotations: 12, CredentialsVersion: "4711", Issuer: "https://dev-1.okta.com",
				ClientID: "0oa1", RevocationEndpoint: "https://dev-1.okta.com/oauth2/v1/revoke", DPoPKey: `{"kty":"EC"}`},
			RevokeAttempts: 2, Claimed: at, ManualAt: at, SignInFailures: 3, SignInRetryAt: at,
		},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			s := NewSecret("ns", types.NamespacedName{Namespace: "a", Name: "b"}, "uid")
			Encode(want, s)
			// Whatever is written is written in this code's format.
			want.Format = Format
			if got := Decode(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if want.Pending != nil && s.Labels[LabelPendingState] != want.Pending.StateHash {
				t.Fatalf("pending-state label %q", s.Labels[LabelPendingState])
			}
			if want.Pending == nil {
				if _, ok := s.Labels[LabelPendingState]; ok {
					t.Fatal("a pending-state label without a pending sign-in")
				}
			}
		})
	}
}

func TestSecretNameIsUniqueAndValid(t *testing.T) {
	long := strings.Repeat("n", 253)
	names := map[string]types.NamespacedName{}
	for _, key := range []types.NamespacedName{
		{Namespace: "a-b", Name: "c"}, {Namespace: "a", Name: "b-c"}, {Namespace: "a", Name: "b.c"},
		{Namespace: "team", Name: long}, {Namespace: "team", Name: long[:252] + "m"},
	} {
		n := SecretName(key)
		if len(n) > 253 {
			t.Fatalf("%v: name of %d characters", key, len(n))
		}
		if other, dup := names[n]; dup {
			t.Fatalf("%v and %v share the state Secret %s", key, other, n)
		}
		names[n] = key
		owner, ok := Owner(NewSecret("ns", key, "uid"))
		if !ok || owner != key {
			t.Fatalf("owner of %v read back as %v", key, owner)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := v1.OktaScopedTokenSpec{OktaDomain: "https://dev.okta.com", ClientID: "0oa1", GrantType: v1.GrantAuthorizationCode,
		Scopes: []string{"okta.logs.read", "okta.users.read"}}
	same := map[string]func(*v1.OktaScopedTokenSpec){
		"scopes reordered":      func(s *v1.OktaScopedTokenSpec) { s.Scopes = []string{"okta.users.read", "okta.logs.read"} },
		"trailing slash":        func(s *v1.OktaScopedTokenSpec) { s.OktaDomain += "/" },
		"secretName":            func(s *v1.OktaScopedTokenSpec) { s.SecretName = "other" },
		"renewBefore":           func(s *v1.OktaScopedTokenSpec) { s.RenewBefore = &metav1.Duration{Duration: time.Minute} },
		"clientSecretRef moved": func(s *v1.OktaScopedTokenSpec) { s.ClientSecretRef = &v1.SecretKeyReference{Name: "x", Key: "y"} },
		"Bearer said out loud":  func(s *v1.OktaScopedTokenSpec) { s.TokenBinding = v1.TokenBindingBearer },
	}
	differs := map[string]func(*v1.OktaScopedTokenSpec){
		"domain":       func(s *v1.OktaScopedTokenSpec) { s.OktaDomain = "https://other.okta.com" },
		"client":       func(s *v1.OktaScopedTokenSpec) { s.ClientID = "0oa2" },
		"scope added":  func(s *v1.OktaScopedTokenSpec) { s.Scopes = append(s.Scopes, "okta.groups.read") },
		"custom AS":    func(s *v1.OktaScopedTokenSpec) { s.AuthorizationServerID = "default" },
		"grant type":   func(s *v1.OktaScopedTokenSpec) { s.GrantType = v1.GrantClientCredentials },
		"scope joined": func(s *v1.OktaScopedTokenSpec) { s.Scopes = []string{"okta.logs.read okta.users.read"} },
		"DPoP":         func(s *v1.OktaScopedTokenSpec) { s.TokenBinding = v1.TokenBindingDPoP },
	}
	fp := Fingerprint(base)
	for name, mutate := range same {
		s := base
		s.Scopes = append([]string(nil), base.Scopes...)
		mutate(&s)
		if Fingerprint(s) != fp {
			t.Errorf("%s changed the grant fingerprint; it must not force a new sign-in", name)
		}
	}
	for name, mutate := range differs {
		s := base
		s.Scopes = append([]string(nil), base.Scopes...)
		mutate(&s)
		if Fingerprint(s) == fp {
			t.Errorf("%s kept the grant fingerprint; the old grant would be reused", name)
		}
	}
}

// TestDecodeFormat1: a state Secret written before the format was recorded
// (the layout of v0.1, written by hand here key by key) is read by this code.
func TestDecodeFormat1(t *testing.T) {
	s := NewSecret("ns", types.NamespacedName{Namespace: "a", Name: "b"}, "uid")
	s.Data = map[string][]byte{
		"grant-fingerprint": []byte("fp"), "refresh_token": []byte("rt"), "access_token": []byte("at"),
		"token_type": []byte("Bearer"), "issued_at": []byte("2026-11-29T12:00:00.123456789Z"),
		"expiry": []byte("2026-11-29T13:00:00.123456789Z"), "scope": []byte("openid okta.logs.read"),
		"subject": []byte("ada@example.com"), "origin": []byte("refresh"),
		"renew-requested-at-handled": []byte("r1"),
	}
	st := Decode(s)
	if st.Grant == nil || st.Grant.RefreshToken != "rt" || st.Grant.Subject != "ada@example.com" ||
		st.Grant.Rotations != 0 || st.RenewHandled != "r1" {
		t.Fatalf("format 1 read as %+v / %+v", st, st.Grant)
	}
	Encode(st, s)
	if got := Decode(s); got.Format != Format || got.Grant == nil || got.Grant.RefreshToken != "rt" {
		t.Fatalf("written back as format %q with %+v, want format %q with the same grant", got.Format, got.Grant, Format)
	}
	if len(s.Data) != 1 {
		t.Fatalf("format %s keeps one document, not the old keys: %d data keys", Format, len(s.Data))
	}
}

// TestDecodeFormat2: the layout of v0.2 (format 2: format 1's keys plus the
// grant's binding, counts and claims), written by hand key by key.
func TestDecodeFormat2(t *testing.T) {
	s := NewSecret("ns", types.NamespacedName{Namespace: "a", Name: "b"}, "uid")
	s.Data = map[string][]byte{
		"format": []byte("2"), "grant-fingerprint": []byte("fp"), "refresh_token": []byte("rt"),
		"access_token": []byte("at"), "expiry": []byte("2026-11-29T13:00:00Z"), "scope": []byte("okta.logs.read"),
		"origin": []byte("refresh"), "rotations": []byte("7"), "issuer": []byte("https://dev-1.okta.com"),
		"client-id": []byte("0oa1"), "revocation-endpoint": []byte("https://dev-1.okta.com/oauth2/v1/revoke"),
		"pending-state-hash": []byte("abc"), "pending-verifier": []byte("v"),
		"pending-expires-at": []byte("2026-11-29T13:00:00Z"), "pending-nonce": []byte("n"),
		"reauthorize-wanted": []byte("true"), "revoke-attempts": []byte("1"),
		"sign-in-claimed-at": []byte("2026-11-29T12:30:00Z"),
	}
	st := Decode(s)
	g := st.Grant
	if st.Format != "2" || g == nil || g.Rotations != 7 || g.Issuer != "https://dev-1.okta.com" || g.ClientID != "0oa1" ||
		st.Pending == nil || st.Pending.Nonce != "n" || !st.ReauthorizeWanted || st.RevokeAttempts != 1 || st.Claimed.IsZero() {
		t.Fatalf("format 2 read as %+v / %+v", st, g)
	}
}

// TestDecodeEditedDocument: a document that does not parse (edited by
// hand) is an empty state, not a crash; the next sign-in replaces it.
func TestDecodeEditedDocument(t *testing.T) {
	s := NewSecret("ns", types.NamespacedName{Namespace: "a", Name: "b"}, "uid")
	s.Data = map[string][]byte{"state": []byte(`{"version":"3","grant":`)}
	if st := Decode(s); st.Grant != nil || st.Pending != nil {
		t.Fatalf("a broken document read as %+v", st)
	}
}

func TestTokenSecretRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	g := &Grant{Fingerprint: "fp", AccessToken: "at", TokenType: "Bearer", IssuedAt: at, Expiry: at.Add(time.Hour),
		Scopes: []string{"okta.logs.read"}, Origin: OriginMint, KeyThumbprint: "kt", CredentialsVersion: "42", Rotations: 3}
	secret := func() *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Annotations: TokenSecretAnnotations(g, "r1", time.Time{})},
			Data:       TokenSecretData(g),
		}
	}
	got := DecodeTokenSecret(secret())
	if !reflect.DeepEqual(got, State{Grant: g, RenewHandled: "r1", Format: Format}) {
		t.Fatalf("round trip:\n got %+v %+v\nwant %+v", got, got.Grant, g)
	}
	edits := map[string]func(*corev1.Secret){
		"access token edited": func(s *corev1.Secret) { s.Data[v1.TokenSecretAccessToken] = []byte("pasted") },
		"expiry edited":       func(s *corev1.Secret) { s.Data[v1.TokenSecretExpiry] = []byte("2099-01-01T00:00:00Z") },
		"issue time edited":   func(s *corev1.Secret) { s.Annotations[AnnotationIssuedAt] = "2099-01-01T00:00:00Z" },
		"key edited":          func(s *corev1.Secret) { s.Annotations[AnnotationKeyThumbprint] = "other" },
		"no digest (an earlier version wrote it)": func(s *corev1.Secret) { delete(s.Annotations, AnnotationDigest) },
		"a DPoP key added":                        func(s *corev1.Secret) { s.Data[v1.TokenSecretDPoPKey] = []byte(`{"kty":"EC"}`) },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			s := secret()
			edit(s)
			if got := DecodeTokenSecret(s); got.Grant != nil {
				t.Fatalf("an edited token Secret is trusted: %+v", got.Grant)
			}
		})
	}
	t.Run("a DPoP-bound token and its key", func(t *testing.T) {
		bound := *g
		bound.TokenType, bound.DPoPKey = "DPoP", `{"kty":"EC","crv":"P-256","d":"..."}`
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: TokenSecretAnnotations(&bound, "", time.Time{})},
			Data: TokenSecretData(&bound)}
		if got := DecodeTokenSecret(s).Grant; got == nil || got.DPoPKey != bound.DPoPKey || got.TokenType != "DPoP" {
			t.Fatalf("read back as %+v", got)
		}
		s.Data[v1.TokenSecretDPoPKey] = []byte(`{"kty":"EC","crv":"P-256","d":"another"}`)
		if got := DecodeTokenSecret(s).Grant; got != nil {
			t.Fatal("a token Secret whose key was replaced is trusted")
		}
	})
	t.Run("other labels and annotations do not matter", func(t *testing.T) {
		s := secret()
		s.Annotations["team"] = "observability"
		if got := DecodeTokenSecret(s); got.Grant == nil {
			t.Fatal("a foreign annotation made the token untrusted")
		}
	})
}

func TestGrantFromTokenKeepsWholeSeconds(t *testing.T) {
	issued := time.Date(2026, 11, 29, 12, 0, 0, 987654321, time.UTC)
	tok := &okta.Token{AccessToken: "at", IssuedAt: issued, Expiry: issued.Add(time.Hour)}
	g := GrantFromToken(tok, v1.OktaScopedTokenSpec{Scopes: []string{"okta.logs.read"}}, OriginMint, &Grant{Rotations: 4})
	if !g.IssuedAt.Equal(issued.Truncate(time.Second)) || !g.Expiry.Equal(issued.Truncate(time.Second).Add(time.Hour)) {
		t.Fatalf("issued %s, expiry %s: want whole seconds, the lifetime kept", g.IssuedAt, g.Expiry)
	}
	if g.Rotations != 5 {
		t.Fatalf("rotations %d after a refresh of a grant with 4, want 5", g.Rotations)
	}
	if login := GrantFromToken(tok, v1.OktaScopedTokenSpec{}, OriginLogin, g); login.Rotations != 0 {
		t.Fatalf("a sign-in starts counting again; got %d", login.Rotations)
	}
}
