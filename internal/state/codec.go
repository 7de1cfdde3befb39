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

// The state Secret's layout, format 3: one versioned JSON document under one
// data key, instead of a key per field (formats 1 and 2, codec_legacy.go,
// still read). A document is read and written whole, so a field added later
// is one struct field here, and the pending sign-in's state hash is also a
// label, so the callback can find the Secret with one indexed list.

import (
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Format is the version of the layout this code writes. A Secret of an
// older format is read as it is (Format "" is format 1, "2" format 2) and
// written in this one the next time the state changes.
const Format = "3"

// keyDocument is the data key of the format 3 document.
const keyDocument = "state"

// document is format 3. Its JSON names are the layout's contract with the
// state Secrets already stored: rename none, only add.
type document struct {
	Version            string        `json:"version"`
	Grant              *grantDoc     `json:"grant,omitempty"`
	Pending            *PendingLogin `json:"pending,omitempty"`
	RenewHandled       string        `json:"renewHandled,omitempty"`
	ReauthorizeHandled string        `json:"reauthorizeHandled,omitempty"`
	ReauthorizeWanted  bool          `json:"reauthorizeWanted,omitempty"`
	GrantLost          string        `json:"grantLost,omitempty"`
	RevokeAttempts     int           `json:"revokeAttempts,omitempty"`
	ManualAt           time.Time     `json:"manualAt,omitzero"`
	Claimed            time.Time     `json:"claimed,omitzero"`
	SignInFailures     int           `json:"signInFailures,omitempty"`
	SignInRetryAt      time.Time     `json:"signInRetryAt,omitzero"`
}

// grantDoc is a Grant as format 3 stores it.
type grantDoc struct {
	Fingerprint        string    `json:"fingerprint,omitempty"`
	RefreshToken       string    `json:"refreshToken,omitempty"`
	AccessToken        string    `json:"accessToken,omitempty"`
	TokenType          string    `json:"tokenType,omitempty"`
	IssuedAt           time.Time `json:"issuedAt,omitzero"`
	Expiry             time.Time `json:"expiry,omitzero"`
	Scopes             []string  `json:"scopes,omitempty"`
	Subject            string    `json:"subject,omitempty"`
	Origin             Origin    `json:"origin,omitempty"`
	KeyThumbprint      string    `json:"keyThumbprint,omitempty"`
	CredentialsVersion string    `json:"credentialsVersion,omitempty"`
	Rotations          int64     `json:"rotations,omitempty"`
	Issuer             string    `json:"issuer,omitempty"`
	ClientID           string    `json:"clientID,omitempty"`
	RevocationEndpoint string    `json:"revocationEndpoint,omitempty"`
	DPoPKey            string    `json:"dpopKey,omitempty"`
}

// Decode reads a state Secret, in any format. A nil Secret is an empty
// state; so is a document that does not parse (the Secret was edited by
// hand), which the next sign-in replaces.
func Decode(s *corev1.Secret) State {
	if s == nil {
		return State{}
	}
	raw, ok := s.Data[keyDocument]
	if !ok {
		return decodeKeys(s)
	}
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return State{Format: Format}
	}
	st := State{
		Pending: d.Pending, RenewHandled: d.RenewHandled, ReauthorizeHandled: d.ReauthorizeHandled,
		ReauthorizeWanted: d.ReauthorizeWanted, GrantLost: d.GrantLost, RevokeAttempts: d.RevokeAttempts,
		ManualAt: d.ManualAt, Claimed: d.Claimed, SignInFailures: d.SignInFailures, SignInRetryAt: d.SignInRetryAt,
		Format: d.Version,
	}
	if g := d.Grant; g != nil {
		st.Grant = &Grant{
			Fingerprint: g.Fingerprint, RefreshToken: g.RefreshToken, AccessToken: g.AccessToken, TokenType: g.TokenType,
			IssuedAt: g.IssuedAt, Expiry: g.Expiry, Scopes: g.Scopes, Subject: g.Subject, Origin: g.Origin,
			KeyThumbprint: g.KeyThumbprint, CredentialsVersion: g.CredentialsVersion, Rotations: g.Rotations,
			Issuer: g.Issuer, ClientID: g.ClientID, RevocationEndpoint: g.RevocationEndpoint, DPoPKey: g.DPoPKey,
		}
	}
	return st
}

// Encode writes st into s in format 3 (data and the pending-state label),
// keeping s's other metadata.
func Encode(st State, s *corev1.Secret) {
	d := document{
		Version: Format, Pending: st.Pending, RenewHandled: st.RenewHandled,
		ReauthorizeHandled: st.ReauthorizeHandled, ReauthorizeWanted: st.ReauthorizeWanted, GrantLost: st.GrantLost,
		RevokeAttempts: st.RevokeAttempts, ManualAt: st.ManualAt.UTC(), Claimed: st.Claimed.UTC(),
		SignInFailures: st.SignInFailures, SignInRetryAt: st.SignInRetryAt.UTC(),
	}
	if g := st.Grant; g != nil {
		d.Grant = &grantDoc{
			Fingerprint: g.Fingerprint, RefreshToken: g.RefreshToken, AccessToken: g.AccessToken, TokenType: g.TokenType,
			IssuedAt: g.IssuedAt.UTC(), Expiry: g.Expiry.UTC(), Scopes: g.Scopes, Subject: g.Subject, Origin: g.Origin,
			KeyThumbprint: g.KeyThumbprint, CredentialsVersion: g.CredentialsVersion, Rotations: g.Rotations,
			Issuer: g.Issuer, ClientID: g.ClientID, RevocationEndpoint: g.RevocationEndpoint, DPoPKey: g.DPoPKey,
		}
	}
	// Strings, times, numbers and booleans only: marshalling cannot fail.
	raw, _ := json.Marshal(d)
	s.Data = map[string][]byte{keyDocument: raw}
	s.StringData = nil
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if st.Pending != nil {
		s.Labels[LabelPendingState] = st.Pending.StateHash
	} else {
		delete(s.Labels, LabelPendingState)
	}
}
