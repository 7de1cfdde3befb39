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

// Package state reads and writes the state Secret: the one Secret per
// OktaScopedToken, in the operator's own namespace, that holds what no
// workload may see — the refresh token, the current access token (so a
// deleted token Secret can be restored without a new request), and the
// pending sign-in (hash of state, PKCE verifier, expiry).
//
// It lives in the operator's namespace, so it cannot carry an owner
// reference to the resource; annotations name the owner instead, and the
// resource's finalizer deletes it.
//
// The reconciler and the callback both change the state. Neither sets its
// fields: each change is a method of State (transitions.go) that returns the
// next state, so what a claim, a sign-in or a lost grant clears is decided in
// one place and table-tested there. The Secret's layout is codec.go's.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
)

// Labels and annotations of a state Secret.
const (
	// LabelRole tells state Secrets from token Secrets; both carry the
	// managed-by label the cache selects on.
	LabelRole = "oktatoken.dev/role"
	RoleState = "state"
	RoleToken = "token"
	// LabelPendingState is the hash of the pending login's state, so the
	// callback finds the Secret with one indexed list.
	LabelPendingState = "oktatoken.dev/pending-state"
	// AnnotationOwner is "namespace/name" of the OktaScopedToken.
	AnnotationOwner = "oktatoken.dev/owner"
	// AnnotationOwnerUID is the UID of the OktaScopedToken: a resource
	// created again under the same name is another resource, and must not
	// inherit the grant someone signed in for the one before.
	AnnotationOwnerUID = "oktatoken.dev/owner-uid"
	// AnnotationTrimmed marks a Secret the cache holds only the name and
	// owners of (never written to the API server): read it live when more
	// is needed.
	AnnotationTrimmed = "oktatoken.dev/cache-trimmed"
)

// ClaimTimeout bounds how long a claimed sign-in may take: the callback's
// code exchange is bounded well under it, so a claim older than this was
// abandoned (its process died) and a new link may be made.
const ClaimTimeout = time.Minute

// Origin says how the current token was obtained: a sign-in (announced
// with an Authorized Event) or not.
type Origin string

const (
	OriginLogin   Origin = "login"
	OriginRefresh Origin = "refresh"
	OriginMint    Origin = "client-credentials"
)

// Grant is the current token and what renews it.
type Grant struct {
	// Fingerprint identifies the spec the grant was made for.
	Fingerprint  string
	RefreshToken string
	AccessToken  string
	TokenType    string
	IssuedAt     time.Time
	Expiry       time.Time
	Scopes       []string
	Subject      string
	Origin       Origin
	// KeyThumbprint names the private key a client-credentials token was
	// minted with (its public key's RFC 7638 thumbprint), so a replaced
	// key is noticed.
	KeyThumbprint string
	// CredentialsVersion is the resourceVersion of the referenced
	// credentials Secret the token was obtained with: while the Secret's
	// version is unchanged, its content need not be read to know the key
	// is the same.
	CredentialsVersion string
	// Rotations counts the tokens issued since the last sign-in (status
	// mirrors it, so a status read from a lagging cache cannot count one
	// rotation twice).
	Rotations int64
	// Issuer, ClientID and RevocationEndpoint bind the grant to where it
	// was obtained: it is revoked there and nowhere else, whatever the
	// spec says by then.
	Issuer             string
	ClientID           string
	RevocationEndpoint string
	// DPoPKey is the private JWK of the key the grant's tokens are bound
	// to (spec.tokenBinding DPoP): a refresh must be proven with it.
	DPoPKey string
}

// BindTo records where the grant was obtained.
func (g *Grant) BindTo(ep okta.Endpoints, clientID string) {
	g.Issuer, g.ClientID, g.RevocationEndpoint = ep.Issuer, clientID, ep.RevocationEndpoint
}

// HasToken says whether there is an access token at all.
func (g *Grant) HasToken() bool { return g != nil && g.AccessToken != "" }

// PendingLogin is a sign-in waiting for its callback.
type PendingLogin struct {
	StateHash   string    `json:"stateHash"`
	Verifier    string    `json:"verifier"`
	ExpiresAt   time.Time `json:"expiresAt"`
	RedirectURI string    `json:"redirectURI"`
	Fingerprint string    `json:"fingerprint"`
	// AuthorizationURL is the sign-in link published in status; kept here
	// so that a stale status read from the cache never leads to a second,
	// competing link.
	AuthorizationURL string `json:"authorizationURL"`
	// Nonce is the sign-in's OpenID Connect nonce: the ID token Okta
	// issues must carry it.
	Nonce string `json:"nonce,omitempty"`
}

// State is the decoded state Secret.
type State struct {
	Grant   *Grant
	Pending *PendingLogin
	// RenewHandled and ReauthorizeHandled are the last manual-trigger
	// annotation values acted on, so each distinct value acts once.
	RenewHandled       string
	ReauthorizeHandled string
	// ReauthorizeWanted keeps a requested re-authorization going, link
	// after link, until a sign-in completes.
	ReauthorizeWanted bool
	// GrantLost says why the last grant stopped working (Okta refused the
	// refresh token, or the spec changed), until a sign-in replaces it; the
	// Ready message keeps saying so on every pass.
	GrantLost string
	// RevokeAttempts counts failed revocations while the resource is
	// being deleted, so the bound on them survives a restart.
	RevokeAttempts int
	// Format is the layout the Secret was read in: "" for format 1.
	Format string
	// ManualAt is when the last token asked for with renew-requested-at
	// was obtained, so repeated requests can be spaced out.
	ManualAt time.Time
	// Claimed is when a callback claimed the pending sign-in and began
	// exchanging its code. Until it stores the grant or gives up (or
	// ClaimTimeout passes), no new link is made: the person is done.
	Claimed time.Time
	// SignInFailures counts the sign-ins in a row whose code exchange
	// failed, and SignInRetryAt is when the next link may be made: a
	// resource whose sign-ins keep failing backs off instead of spending
	// its org's budget on a new link at every pass.
	SignInFailures int
	SignInRetryAt  time.Time
}

// SecretName is the state Secret's name for a resource: "ost.<ns>.<name>".
// Namespaces cannot contain dots, so the name is unique; a too-long one is
// shortened with a hash.
func SecretName(key types.NamespacedName) string {
	name := "ost." + key.Namespace + "." + key.Name
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(key.String()))
	return name[:253-17] + "." + hex.EncodeToString(sum[:8])
}

// Owner reads the owning resource from a state Secret's annotation.
func Owner(s *corev1.Secret) (types.NamespacedName, bool) {
	ns, name, ok := strings.Cut(s.Annotations[AnnotationOwner], "/")
	if !ok || ns == "" || name == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: ns, Name: name}, true
}

// OwnerUID reads the owning resource's UID, "" for a Secret written before
// it was recorded (format 1).
func OwnerUID(s *corev1.Secret) types.UID { return types.UID(s.Annotations[AnnotationOwnerUID]) }

// SetOwnerUID records the owning resource's UID.
func SetOwnerUID(s *corev1.Secret, uid types.UID) {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationOwnerUID] = string(uid)
}

// NewSecret is an empty state Secret for a resource.
func NewSecret(stateNamespace string, owner types.NamespacedName, uid types.UID) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      SecretName(owner),
			Namespace: stateNamespace,
			Labels: map[string]string{
				v1.LabelManagedBy: v1.ManagedByValue,
				LabelRole:         RoleState,
			},
			Annotations: map[string]string{AnnotationOwner: owner.String(), AnnotationOwnerUID: string(uid)},
		},
		Type: corev1.SecretTypeOpaque,
	}
}

// GrantFromToken is the grant a token response makes, for spec. What the
// response leaves out is kept from previous (a refresh carries no ID token,
// so no subject), else taken from the spec: a server that answers without
// `scope` has granted what was asked (RFC 6749 section 5.1). Who signed in
// is set by the caller from the verified ID token. A sign-in
// starts the rotation count again; a refresh or a new client-credentials
// token adds one.
func GrantFromToken(tok *okta.Token, spec v1.OktaScopedTokenSpec, origin Origin, previous *Grant) *Grant {
	// Times are kept to the second, as status, the token Secret's expiry and
	// its annotations write them: a grant read back from any of them is then
	// the grant that was written, and a pass after a restart computes the
	// same renewal time instead of patching status by a fraction of a second.
	// Issue time is rounded down and expiry with it, which errs early.
	issued := tok.IssuedAt.Truncate(time.Second)
	g := &Grant{
		Fingerprint:  Fingerprint(spec),
		RefreshToken: tok.RefreshToken,
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		IssuedAt:     issued,
		Expiry:       tok.Expiry.Add(issued.Sub(tok.IssuedAt)).Truncate(time.Second),
		Scopes:       tok.Scopes,
		Origin:       origin,
	}
	if previous != nil {
		if g.Subject == "" {
			g.Subject = previous.Subject
		}
		if len(g.Scopes) == 0 {
			g.Scopes = previous.Scopes
		}
		if origin != OriginLogin {
			g.Rotations = previous.Rotations + 1
		}
	}
	if len(g.Scopes) == 0 {
		g.Scopes = slices.Clone(spec.Scopes)
	}
	return g
}

// Fingerprint identifies what a grant was made for: a change of domain,
// authorization server, client, grant type, scopes or token binding means
// the stored grant no longer answers the spec and a new one is needed. A
// Bearer binding adds nothing, so grants made before bindings existed keep
// their fingerprint.
func Fingerprint(spec v1.OktaScopedTokenSpec) string {
	scopes := slices.Clone(spec.Scopes)
	slices.Sort(scopes)
	h := sha256.New()
	parts := []string{strings.TrimRight(spec.OktaDomain, "/"), spec.AuthorizationServerID, spec.ClientID, string(spec.GrantType)}
	if spec.TokenBinding == v1.TokenBindingDPoP {
		// Not a valid scope, so it cannot collide with one.
		parts = append(parts, "binding DPoP")
	}
	// Every part ends with a NUL, which no part may contain, so that no two
	// different specs hash the same bytes.
	for _, part := range append(parts, scopes...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
