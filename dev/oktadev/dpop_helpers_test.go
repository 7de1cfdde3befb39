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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// The DPoP tests play the client: they build their proofs here with go-jose,
// from the RFC, sharing nothing with the server's code but the test
// environment, so that a server that misreads RFC 9449 cannot pass by
// agreeing with itself.

// Apps of the DPoP tests, besides newTestEnv's (which do not require DPoP).
const (
	testDPoPServiceID = "0oatestdpopservice01" // private_key_jwt, requires DPoP
	testDPoPSecretID  = "0oatestdpopsecret001" // client_secret_basic, requires DPoP
	testDPoPWebID     = "0oatestdpopwebapp001" // web app, requires DPoP
	testDPoPAuthzID   = DefaultAuthorizationServerID
)

// newDPoPEnv is newTestEnv with apps that require DPoP and the default
// custom authorization server (scope logs:read).
func newDPoPEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	env := newTestEnv(t, cfg)
	testenv.Must(t, env.srv.AddServiceClient(ServiceClient{
		ID: testDPoPServiceID, JWKS: publicJWKS(env.rsaKey.Public(), "rsa-1"),
		GrantedScopes: []string{"okta.logs.read"}, RequireDPoP: true,
	}))
	testenv.Must(t, env.srv.AddServiceClient(ServiceClient{ID: testDPoPSecretID, Secret: testServiceSecret, RequireDPoP: true}))
	testenv.Must(t, env.srv.AddWebClient(WebClient{
		ID: testDPoPWebID, Secret: testWebSecret, RedirectURIs: []string{testRedirectURI},
		GrantedScopes: []string{"okta.logs.read"}, RequireDPoP: true,
	}))
	env.addSecretServiceClients()
	env.addAuthorizationServer(testDPoPAuthzID, "logs:read")
	return env
}

// customURL is an endpoint of the default custom authorization server.
func (e *testEnv) customURL(endpoint string) string {
	return e.srv.AuthorizationServerIssuer(testDPoPAuthzID) + endpoint
}

// dpopKey is a client's DPoP key pair.
type dpopKey struct {
	private any
	alg     jose.SignatureAlgorithm
}

func newECDPoPKey(t *testing.T) dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{private: k, alg: jose.ES256}
}

func rsaDPoPKey() dpopKey { return dpopKey{private: testOtherRSAKey(), alg: jose.RS256} }

func (k dpopKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.(crypto.Signer).Public()}
}

// jkt is the key's RFC 7638 thumbprint, as cnf.jkt carries it.
func (k dpopKey) jkt(t *testing.T) string {
	t.Helper()
	pub := k.public()
	sum, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// proof is a DPoP proof; tests change what they want to break.
type proof struct {
	key dpopKey
	// typ is the typ header; "" leaves it out.
	typ string
	// jwk replaces the embedded public key when set; noJWK leaves it out.
	jwk   any
	noJWK bool
	htm   string
	htu   string
	iat   time.Time
	noIAT bool
	jti   string
	nonce string
	ath   string
}

func (e *testEnv) proof(key dpopKey, htm, htu, nonce string) proof {
	return proof{
		key: key, typ: "dpop+jwt", htm: htm, htu: htu, iat: e.clock.Now(),
		jti: randomAlphanumeric(24), nonce: nonce,
	}
}

// forToken makes p a resource request's proof for an access token.
func (p proof) forToken(token string) proof {
	sum := sha256.Sum256([]byte(token))
	p.ath = base64.RawURLEncoding.EncodeToString(sum[:])
	return p
}

func (p proof) sign(t testing.TB) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if p.typ != "" {
		opts = opts.WithType(jose.ContentType(p.typ))
	}
	switch {
	case p.noJWK:
	case p.jwk != nil:
		opts = opts.WithHeader("jwk", p.jwk)
	default:
		opts.EmbedJWK = true
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: p.key.alg, Key: p.key.private}, opts)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"htm": p.htm, "htu": p.htu}
	if !p.noIAT {
		claims["iat"] = p.iat.Unix()
	}
	for name, v := range map[string]string{"jti": p.jti, "nonce": p.nonce, "ath": p.ath} {
		if v != "" {
			claims[name] = v
		}
	}
	raw, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// dpopRequest sends a request with the given DPoP headers (none, one, or
// more) and Authorization, and decodes a JSON object answer.
func (e *testEnv) dpopRequest(method, rawURL string, form url.Values, authorization string, proofs ...string) (int, map[string]any, http.Header) {
	e.t.Helper()
	var req *http.Request
	var err error
	if form != nil {
		req, err = http.NewRequest(method, rawURL, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, rawURL, nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return e.doJSON(req)
}

// basic is an Authorization header value for client_secret_basic.
func basic(clientID, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(clientID, secret)
	return req.Header.Get("Authorization")
}

// dpopAssertionForm is a client-credentials request of the DPoP service app
// at the org authorization server.
func (e *testEnv) dpopAssertionForm() url.Values {
	a := e.rsaAssertion()
	a.issuer, a.subject = testDPoPServiceID, testDPoPServiceID
	return url.Values{
		"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"},
		"client_assertion_type": {clientAssertionType}, "client_assertion": {a.sign(e.t)},
	}
}

// nonceOf asks a token endpoint for its DPoP nonce the way a client first
// learns it: with a proof that has none, which it answers with a challenge.
func (e *testEnv) nonceOf(tokenURL string, key dpopKey) string {
	e.t.Helper()
	status, body, header := e.dpopRequest(http.MethodPost, tokenURL, url.Values{"grant_type": {"client_credentials"}}, "",
		e.proof(key, http.MethodPost, tokenURL, "").sign(e.t))
	nonce := header.Get("DPoP-Nonce")
	if status != http.StatusBadRequest || body["error"] != "use_dpop_nonce" || nonce == "" {
		e.t.Fatalf("asking %s for a nonce: %d %v, DPoP-Nonce %q", tokenURL, status, body, nonce)
	}
	return nonce
}

// dpopClientCredentials gets a DPoP-bound token for the DPoP service app at
// the org authorization server, learning the nonce first.
func (e *testEnv) dpopClientCredentials(key dpopKey) string {
	e.t.Helper()
	tokenURL := e.url(pathToken)
	nonce := e.nonceOf(tokenURL, key)
	status, body, _ := e.dpopRequest(http.MethodPost, tokenURL, e.dpopAssertionForm(), "",
		e.proof(key, http.MethodPost, tokenURL, nonce).sign(e.t))
	token, _ := body["access_token"].(string)
	if status != http.StatusOK || body["token_type"] != "DPoP" || token == "" {
		e.t.Fatalf("DPoP client credentials: %d %v", status, body)
	}
	return token
}

// signInFor runs the authorization-code flow of a web app at an
// authorization server (its authorize URL) up to the code.
func (e *testEnv) signInFor(authorizeURL, clientID string, scopes ...string) (code, verifier string) {
	e.t.Helper()
	conf := e.webConfig(scopes...)
	conf.ClientID = clientID
	conf.Endpoint.AuthURL = authorizeURL
	verifier = oauth2.GenerateVerifier()
	q := callback(e.t, newBrowser(e.t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)), DemoUser, DemoPassword), testRedirectURI)
	if q.Get("code") == "" {
		e.t.Fatalf("no code in %v", q)
	}
	return q.Get("code"), verifier
}

// codeForm is the token request that exchanges a code.
func codeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirectURI}, "code_verifier": {verifier},
	}
}

// introspect asks an introspection endpoint about a token as an app that
// authenticates with a client secret.
func (e *testEnv) introspect(introspectURL, clientID, secret, token string) map[string]any {
	e.t.Helper()
	return e.introspectWith(introspectURL, url.Values{"token": {token}}, basic(clientID, secret))
}

// introspectAsDPoPService asks the org authorization server about a token
// as the DPoP service app, which authenticates with a client assertion.
func (e *testEnv) introspectAsDPoPService(token string) map[string]any {
	e.t.Helper()
	a := e.rsaAssertion()
	a.issuer, a.subject, a.audience = testDPoPServiceID, testDPoPServiceID, e.url(pathIntrospect)
	return e.introspectWith(e.url(pathIntrospect), url.Values{
		"token": {token}, "client_assertion_type": {clientAssertionType}, "client_assertion": {a.sign(e.t)},
	}, "")
}

func (e *testEnv) introspectWith(introspectURL string, form url.Values, authorization string) map[string]any {
	e.t.Helper()
	status, body, _ := e.dpopRequest(http.MethodPost, introspectURL, form, authorization)
	if status != http.StatusOK {
		e.t.Fatalf("introspect: %d %v", status, body)
	}
	return body
}

// cnfJKT is the cnf.jkt of an introspection answer, "" without one.
func cnfJKT(body map[string]any) string {
	cnf, _ := body["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// getWithProofs calls a resource with an Authorization header and DPoP
// proofs and returns the raw answer. It only reports errors (t.Errorf), so
// that goroutines may call it.
func (e *testEnv) getWithProofs(rawURL, authorization string, proofs ...string) (*http.Response, []byte) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		e.t.Errorf("GET %s: %v", rawURL, err)
		return &http.Response{Header: http.Header{}}, nil
	}
	req.Header.Set("Authorization", authorization)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Errorf("GET %s: %v", rawURL, err)
		return &http.Response{Header: http.Header{}}, nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Errorf("GET %s: %v", rawURL, err)
	}
	return resp, body
}

// apiErrorCode is the errorCode of Okta's API error body.
func apiErrorCode(t *testing.T, body []byte) string {
	t.Helper()
	var apiErr map[string]any
	if err := json.Unmarshal(body, &apiErr); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	code, _ := apiErr["errorCode"].(string)
	return code
}
