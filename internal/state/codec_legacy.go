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

// Formats 1 and 2 of the state Secret: one data key per field. This code
// reads them (a Secret written by v0.1 or v0.2) and writes format 3
// (codec.go) the next time it stores the state.

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Data keys of formats 1 and 2.
const (
	keyFingerprint     = "grant-fingerprint"
	keyRefreshToken    = "refresh_token"
	keyAccessToken     = "access_token"
	keyTokenType       = "token_type"
	keyIssuedAt        = "issued_at"
	keyExpiry          = "expiry"
	keyScope           = "scope"
	keySubject         = "subject"
	keyOrigin          = "origin"
	keyKeyThumbprint   = "key-thumbprint"
	keyPendingHash     = "pending-state-hash"
	keyPendingVerifier = "pending-verifier"
	keyPendingExpires  = "pending-expires-at"
	keyPendingRedirect = "pending-redirect-uri"
	keyPendingPrint    = "pending-fingerprint"
	keyPendingURL      = "pending-authorization-url"
	keyPendingNonce    = "pending-nonce"
	keyRenewHandled    = "renew-requested-at-handled"
	keyReauthHandled   = "reauthorize-requested-at-handled"
	keyReauthWanted    = "reauthorize-wanted"
	keyGrantLost       = "grant-lost-reason"
	keyRotations       = "rotations"
	keyCredentials     = "credentials-version"
	keyRevokeAttempts  = "revoke-attempts"
	keyFormat          = "format"
	keyClaimedAt       = "sign-in-claimed-at"
	keyManualAt        = "renew-requested-at-handled-at"
	keyIssuer          = "issuer"
	keyClientID        = "client-id"
	keyRevocation      = "revocation-endpoint"
)

// decodeKeys reads a state Secret of format 1 or 2.
func decodeKeys(s *corev1.Secret) State {
	var st State
	d := s.Data
	get := func(k string) string { return string(d[k]) }
	if get(keyAccessToken) != "" || get(keyRefreshToken) != "" {
		st.Grant = &Grant{
			Fingerprint:   get(keyFingerprint),
			RefreshToken:  get(keyRefreshToken),
			AccessToken:   get(keyAccessToken),
			TokenType:     get(keyTokenType),
			IssuedAt:      parseTime(get(keyIssuedAt)),
			Expiry:        parseTime(get(keyExpiry)),
			Scopes:        strings.Fields(get(keyScope)),
			Subject:       get(keySubject),
			Origin:        Origin(get(keyOrigin)),
			KeyThumbprint: get(keyKeyThumbprint),

			CredentialsVersion: get(keyCredentials),
			Rotations:          parseInt(get(keyRotations)),
			Issuer:             get(keyIssuer),
			ClientID:           get(keyClientID),
			RevocationEndpoint: get(keyRevocation),
		}
	}
	if get(keyPendingHash) != "" {
		st.Pending = &PendingLogin{
			StateHash:        get(keyPendingHash),
			Verifier:         get(keyPendingVerifier),
			ExpiresAt:        parseTime(get(keyPendingExpires)),
			RedirectURI:      get(keyPendingRedirect),
			Fingerprint:      get(keyPendingPrint),
			AuthorizationURL: get(keyPendingURL),
			Nonce:            get(keyPendingNonce),
		}
	}
	st.RenewHandled = get(keyRenewHandled)
	st.ReauthorizeHandled = get(keyReauthHandled)
	st.ReauthorizeWanted = get(keyReauthWanted) == "true"
	st.GrantLost = get(keyGrantLost)
	st.RevokeAttempts = int(parseInt(get(keyRevokeAttempts)))
	st.Claimed = parseTime(get(keyClaimedAt))
	st.ManualAt = parseTime(get(keyManualAt))
	st.Format = get(keyFormat)
	return st
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
