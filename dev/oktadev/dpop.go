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

package oktadev

import (
	"container/heap"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"k8s.io/utils/clock"
)

// DPoP (RFC 9449, Demonstrating Proof of Possession) binds tokens to a key
// the client holds: each request carries a proof, a JWT signed with that key
// for that one request (method, URL, time, a unique id), and a token issued
// against a proof is only accepted together with a fresh proof by the same
// key. Okta requires it by default of the API service apps created since
// 2024, so the operator has to speak it, and this server has to refuse what
// Okta refuses for the operator's tests to mean anything.
//
// go-jose parses a proof, reads its embedded public key (refusing a private
// one), verifies the signature and computes the key's RFC 7638 thumbprint,
// which the tokens are bound to (cnf.jkt). What this file adds is what RFC
// 9449 leaves to the server, decided the way Okta decides it:
//   - nonces: the authorization servers answer a proof without a nonce (or
//     with one they do not know) with use_dpop_nonce and a DPoP-Nonce header;
//     a nonce is current for Config.DPoPNonceRotation (24h) and accepted for
//     Config.DPoPNonceWindow (72h) after it was minted. Okta's resource
//     servers do the same with a nonce of their own (see
//     Config.DisableResourceDPoPNonce);
//   - freshness: iat at most Config.DPoPProofMaxAge (5m) in the past and
//     Config.DPoPProofMaxFuture (1m) in the future, by Config.Clock;
//   - replay: every accepted jti is remembered until a proof with its iat
//     would be too old anyway, and refused if it comes again;
//   - Okta's error codes and sentences.

// The DPoP defaults. Okta rotates its DPoP nonce about once a day and still
// accepts one for about three days. For iat, RFC 9449 leaves the window to
// the server ("seconds or minutes"): a proof is made for one request and sent
// at once, so the window only has to absorb clock skew and a slow network.
// Five minutes in the past is the skew Okta allows elsewhere (its libraries'
// default maxClockSkew, and the lifetime of its authorization codes); the
// future gets only a minute, because a proof dated ahead outlives its
// request, which is what the window is there to prevent, and a client whose
// clock runs more than a minute fast has a problem worth finding in a test.
// The replay cache holds a jti for at most the sum of the two (six minutes).
const (
	defaultDPoPNonceRotation  = 24 * time.Hour
	defaultDPoPNonceWindow    = 72 * time.Hour
	defaultDPoPProofMaxAge    = 5 * time.Minute
	defaultDPoPProofMaxFuture = time.Minute
)

// DPoP on the wire.
const (
	headerDPoP          = "DPoP"
	headerDPoPNonce     = "DPoP-Nonce"
	dpopProofType       = "dpop+jwt"
	schemeDPoP          = "DPoP"
	schemeBearer        = "Bearer"
	tokenTypeDPoP       = "DPoP"
	errInvalidDPoPProof = "invalid_dpop_proof"
	errUseDPoPNonce     = "use_dpop_nonce"
)

// dpopAlgs are the algorithms a proof may be signed with, as advertised in
// the metadata (dpop_signing_alg_values_supported) and in DPoP challenges.
var dpopAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Okta's words for refused proofs. The first three and the 'htu' sentence are
// Okta's own; the others follow them and Okta's client_assertion sentences.
const (
	descDPoPMissing             = "The DPoP proof JWT header is missing."
	descDPoPNonceAuthorization  = "Authorization server requires nonce in DPoP proof."
	descDPoPNonceResource       = "Resource server requires nonce in DPoP proof"
	descDPoPHTU                 = "'htu' claim in the DPoP proof JWT is invalid."
	descDPoPHTM                 = "'htm' claim in the DPoP proof JWT is invalid."
	descDPoPMultiple            = "The request must not have more than one DPoP proof JWT header."
	descDPoPMalformed           = "The DPoP proof JWT is malformed."
	descDPoPType                = "The DPoP proof JWT 'typ' header must be 'dpop+jwt'."
	descDPoPAlgorithm           = "The DPoP proof JWT must be signed with RS256 or ES256."
	descDPoPNoKey               = "The DPoP proof JWT header must have a 'jwk' with the public key that signed it."
	descDPoPBadKey              = "The DPoP proof JWT 'jwk' header must be a public RSA key of at least 2048 bits or a public P-256 EC key."
	descDPoPSignature           = "The DPoP proof JWT signature is invalid."
	descDPoPNoIAT               = "'iat' claim in the DPoP proof JWT is missing."
	descDPoPOld                 = "'iat' claim in the DPoP proof JWT is too old."
	descDPoPFuture              = "'iat' claim in the DPoP proof JWT is in the future."
	descDPoPNoJTI               = "'jti' claim in the DPoP proof JWT is missing."
	descDPoPReplayed            = "The DPoP proof JWT has already been used."
	descDPoPATH                 = "'ath' claim in the DPoP proof JWT is missing or does not match the access token."
	descDPoPRefreshKey          = "The DPoP proof JWT is not signed with the key the refresh token is bound to."
	descDPoPAccessKey           = "The DPoP proof JWT is not signed with the key the access token is bound to."
	descDPoPBoundTokenAsBearer  = "The access token is bound to a DPoP key and must be sent with the DPoP authorization scheme."
	descDPoPBearerTokenWithDPoP = "The access token is not bound to a DPoP key and must be sent with the Bearer authorization scheme."
)

// dpopSettings are the Config values the proof checks use, defaults applied.
type dpopSettings struct {
	maxAge, maxFuture time.Duration
}

// dpopClaims are a proof's claims.
type dpopClaims struct {
	HTM   string               `json:"htm"`
	HTU   string               `json:"htu"`
	IAT   *josejwt.NumericDate `json:"iat"`
	JTI   string               `json:"jti"`
	Nonce string               `json:"nonce"`
	ATH   string               `json:"ath"`
}

// proofCheck is what a proof must match besides the request it came with.
type proofCheck struct {
	// accessToken is the token the request presents to a resource, whose
	// hash the proof's ath must be; "" at an authorization server.
	accessToken string
	// boundTo is the thumbprint of the key the access token is bound to;
	// the proof must be signed by that key. "" for none.
	boundTo string
	// nonces, when not nil, demand a nonce they minted.
	nonces *nonceSource
	// nonceOptional checks a nonce only when the proof has one (at
	// revocation, where Okta does not demand one).
	nonceOptional bool
	// nonceDescription is the sentence of a nonce challenge.
	nonceDescription string
}

// proofRefusal is why a proof was refused, in Okta's words.
type proofRefusal struct {
	code, description string
}

func refuseProof(description string) *proofRefusal {
	return &proofRefusal{code: errInvalidDPoPProof, description: description}
}

// hasDPoPProof reports whether the request carries a DPoP header at all.
func hasDPoPProof(r *http.Request) bool { return len(r.Header.Values(headerDPoP)) > 0 }

// verifyProof checks the request's DPoP proof and returns the thumbprint of
// the key that signed it. The proof must have been made for this request:
// its htm the request's method, its htu the server's URL for the path the
// request was sent to (scheme and host of the issuer, the path as the server
// decoded it; query and fragment are ignored, as RFC 9449 says).
//
// The checks run in RFC 9449's order (section 4.3), the nonce last: a proof
// is challenged for a nonce only when nothing else is wrong with it, so that
// the client hears about a real mistake first. Its jti is used up before the
// nonce is checked: the retry that answers a challenge is a new proof, with a
// new jti, as Okta asks.
func (s *Server) verifyProof(r *http.Request, c proofCheck) (string, *proofRefusal) {
	values := r.Header.Values(headerDPoP)
	switch {
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		return "", refuseProof(descDPoPMissing)
	case len(values) > 1:
		return "", refuseProof(descDPoPMultiple)
	}
	tok, err := josejwt.ParseSigned(strings.TrimSpace(values[0]), dpopAlgs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return "", refuseProof(descDPoPAlgorithm)
		}
		// go-jose refuses an embedded jwk that is private or not a key at
		// all while parsing, and says so only in words; the refusal is the
		// same either way, only the sentence depends on it.
		if strings.Contains(strings.ToLower(err.Error()), "jwk") {
			return "", refuseProof(descDPoPBadKey)
		}
		return "", refuseProof(descDPoPMalformed)
	}
	header := tok.Headers[0]
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, dpopProofType) {
		return "", refuseProof(descDPoPType)
	}
	key := header.JSONWebKey
	if key == nil {
		return "", refuseProof(descDPoPNoKey)
	}
	if !acceptableProofKey(key) {
		return "", refuseProof(descDPoPBadKey)
	}
	var claims dpopClaims
	if err := tok.Claims(key, &claims); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return "", refuseProof(descDPoPMalformed)
		}
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return "", refuseProof(descDPoPMalformed)
		}
		return "", refuseProof(descDPoPSignature)
	}
	if claims.HTM != r.Method {
		return "", refuseProof(descDPoPHTM)
	}
	if !sameHTU(claims.HTU, s.Issuer()+r.URL.Path) {
		return "", refuseProof(descDPoPHTU)
	}
	if claims.IAT == nil {
		return "", refuseProof(descDPoPNoIAT)
	}
	// iat counts whole seconds, so a proof made now can look up to a second
	// old: the window is judged on the clock's second too.
	now, iat := s.clock.Now(), claims.IAT.Time()
	second := now.Truncate(time.Second)
	if iat.Before(second.Add(-s.dpop.maxAge)) {
		return "", refuseProof(descDPoPOld)
	}
	if iat.After(second.Add(s.dpop.maxFuture)) {
		return "", refuseProof(descDPoPFuture)
	}
	if claims.JTI == "" {
		return "", refuseProof(descDPoPNoJTI)
	}
	if c.accessToken != "" && claims.ATH != accessTokenHash(c.accessToken) {
		return "", refuseProof(descDPoPATH)
	}
	jkt, err := thumbprint(key)
	if err != nil {
		return "", refuseProof(descDPoPBadKey)
	}
	if c.boundTo != "" && jkt != c.boundTo {
		return "", refuseProof(descDPoPAccessKey)
	}
	// A proof is refused once it is older than maxAge (on the clock's
	// second), so its jti need not be remembered any longer than that.
	if !s.dpopJTIs.use(claims.JTI, iat.Add(s.dpop.maxAge+time.Second), now) {
		return "", refuseProof(descDPoPReplayed)
	}
	if c.nonces != nil && (claims.Nonce != "" || !c.nonceOptional) && !c.nonces.accepted(claims.Nonce) {
		c.nonces.challenges.Add(1)
		return "", &proofRefusal{code: errUseDPoPNonce, description: c.nonceDescription}
	}
	return jkt, nil
}

// acceptableProofKey reports whether a proof's key is one Okta accepts: the
// same kinds it accepts for client assertions.
func acceptableProofKey(k *jose.JSONWebKey) bool {
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return pub.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		return pub.Curve == elliptic.P256()
	}
	return false
}

// thumbprint is a key's RFC 7638 SHA-256 thumbprint, base64url: the jkt a
// token is bound to.
func thumbprint(k *jose.JSONWebKey) (string, error) {
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// accessTokenHash is a proof's ath for an access token: base64url SHA-256.
func accessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameHTU compares a proof's htu with the URL the request was sent to, after
// the normalisation RFC 9449 asks for (RFC 3986 section 6.2.2 and 6.2.3):
// scheme and host without regard to case, a default port the same as none, an
// empty path the same as "/", percent-encoding decoded (the server compares
// with the path as it decoded it, as Okta does). Query and fragment do not
// count.
func sameHTU(htu, want string) bool {
	got, err := url.Parse(htu)
	if err != nil || !got.IsAbs() || got.Opaque != "" || got.User != nil {
		return false
	}
	expected, err := url.Parse(want)
	if err != nil {
		return false
	}
	return strings.EqualFold(got.Scheme, expected.Scheme) &&
		normalizedHost(got) == normalizedHost(expected) &&
		normalizedPath(got) == normalizedPath(expected)
}

func normalizedHost(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}

func normalizedPath(u *url.URL) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// nonceSource mints the DPoP nonces of one server (an authorization server,
// or the resource server) and knows which it still accepts. A nonce is
// minted when one is asked for and the newest is older than the rotation
// period, so a server nobody calls mints none; each nonce is accepted until
// the window has passed since it was minted. At most window/rotation + 1
// nonces are kept.
type nonceSource struct {
	clock            clock.PassiveClock
	rotation, window time.Duration
	// challenges counts the use_dpop_nonce answers given with this source's
	// nonces.
	challenges atomic.Int64

	mu     sync.Mutex
	minted []mintedNonce // oldest first
}

type mintedNonce struct {
	value string
	at    time.Time
}

func newNonceSource(c clock.PassiveClock, rotation, window time.Duration) *nonceSource {
	return &nonceSource{clock: c, rotation: rotation, window: window}
}

// current is the nonce to hand out now.
func (n *nonceSource) current() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock.Now()
	n.forget(now)
	if len(n.minted) == 0 || !now.Before(n.minted[len(n.minted)-1].at.Add(n.rotation)) {
		n.mint(now)
	}
	return n.minted[len(n.minted)-1].value
}

// accepted reports whether v is a nonce minted here and still in its window.
func (n *nonceSource) accepted(v string) bool {
	if v == "" {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.forget(n.clock.Now())
	for _, m := range n.minted {
		if m.value == v {
			return true
		}
	}
	return false
}

// rotate mints a new nonce now; the previous ones stay accepted for the rest
// of their window.
func (n *nonceSource) rotate() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.forget(n.clock.Now())
	n.mint(n.clock.Now())
}

// mint and forget are called with mu held.
func (n *nonceSource) mint(now time.Time) {
	n.minted = append(n.minted, mintedNonce{value: rand.Text(), at: now})
}

func (n *nonceSource) forget(now time.Time) {
	kept := n.minted[:0]
	for _, m := range n.minted {
		if now.Before(m.at.Add(n.window)) {
			kept = append(kept, m)
		}
	}
	n.minted = kept
}

// jtiCache remembers the jti of every accepted DPoP proof until the proof
// would be refused as too old anyway, so that no proof is accepted twice. It
// forgets on every use, in order of expiry (a heap), rather than in a
// periodic sweep: what it holds is then exactly the proofs still inside their
// iat window, however many requests arrive. It keeps a SHA-256 of each jti,
// so a client's choice of jti length costs it nothing.
type jtiCache struct {
	mu       sync.Mutex
	seen     map[[sha256.Size]byte]struct{}
	byExpiry jtiHeap
}

type jtiEntry struct {
	key [sha256.Size]byte
	exp time.Time
}

// jtiHeap is a min-heap of entries by expiry (container/heap).
type jtiHeap []jtiEntry

func (h jtiHeap) Len() int           { return len(h) }
func (h jtiHeap) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h jtiHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jtiHeap) Push(x any)        { *h = append(*h, x.(jtiEntry)) }
func (h *jtiHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newJTICache() *jtiCache {
	return &jtiCache{seen: map[[sha256.Size]byte]struct{}{}}
}

// use records jti until exp and reports whether it was new.
func (c *jtiCache) use(jti string, exp, now time.Time) bool {
	key := sha256.Sum256([]byte(jti))
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.byExpiry.Len() > 0 && c.byExpiry[0].exp.Before(now) {
		delete(c.seen, heap.Pop(&c.byExpiry).(jtiEntry).key)
	}
	if _, ok := c.seen[key]; ok {
		return false
	}
	c.seen[key] = struct{}{}
	heap.Push(&c.byExpiry, jtiEntry{key: key, exp: exp})
	return true
}

func (c *jtiCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// DPoPNonceChallenges counts the use_dpop_nonce answers of the authorization
// servers (their token and revocation endpoints), the org's and the custom
// ones together.
func (s *Server) DPoPNonceChallenges() int {
	n := 0
	for _, as := range s.allAuthServers() {
		n += int(as.nonces.challenges.Load())
	}
	return n
}

// ResourceDPoPNonceChallenges counts the use_dpop_nonce answers of the
// resource server (GET /api/v1/logs); always 0 with
// Config.DisableResourceDPoPNonce.
func (s *Server) ResourceDPoPNonceChallenges() int {
	if s.resourceNonces == nil {
		return 0
	}
	return int(s.resourceNonces.challenges.Load())
}

// RotateDPoPNonces makes every authorization server and the resource server
// mint a new DPoP nonce now, as the passing of Config.DPoPNonceRotation on
// Config.Clock would; the nonces handed out before stay accepted until
// Config.DPoPNonceWindow has passed since each was minted.
func (s *Server) RotateDPoPNonces() {
	for _, as := range s.allAuthServers() {
		as.nonces.rotate()
	}
	if s.resourceNonces != nil {
		s.resourceNonces.rotate()
	}
}

// DPoPReplayCacheSize is how many DPoP proof ids the server remembers to
// refuse their replay: the proofs accepted that are still inside their iat
// window.
func (s *Server) DPoPReplayCacheSize() int { return s.dpopJTIs.size() }
