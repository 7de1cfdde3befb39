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
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/okta-token-operator/okta-token-operator/dev/logbuffer"
)

const (
	testWebClientID   = "0oatestwebclient0001"
	testWebSecret     = "test-web-client-secret-0123456789"
	testPostClientID  = "0oatestpostclient001"
	testServiceRSA    = "0oatestservicersa001"
	testServiceEC     = "0oatestserviceec0001"
	testRedirectURI   = "http://127.0.0.1:8082/callback"
	testOtherRedirect = "http://127.0.0.1:8083/callback"
)

// testEnv is a server on a loopback listener with a web app, a
// client_secret_post web app, two service apps (RSA and EC keys) and the
// demo user.
type testEnv struct {
	t      *testing.T
	srv    *Server
	clock  *clocktesting.FakeClock
	logs   *logbuffer.Buffer
	issuer string
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
}

// Generating RSA keys is slow under the race detector; the tests share one.
var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

var testOtherRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newTestEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	fake := clocktesting.NewFakeClock(time.Now())
	logs := &logbuffer.Buffer{}
	cfg.Clock = fake
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, srv: srv, clock: fake, logs: logs, rsaKey: testRSAKey(), ecKey: ecKey}

	testenv.Must(t, srv.AddWebClient(WebClient{
		ID: testWebClientID, Secret: testWebSecret,
		RedirectURIs:  []string{testRedirectURI, testOtherRedirect},
		GrantedScopes: []string{"okta.logs.read", "okta.users.read"},
	}))
	testenv.Must(t, srv.AddWebClient(WebClient{
		ID: testPostClientID, Secret: testWebSecret,
		RedirectURIs:            []string{testRedirectURI},
		GrantedScopes:           []string{"okta.logs.read"},
		TokenEndpointAuthMethod: "client_secret_post",
	}))
	testenv.Must(t, srv.AddServiceClient(ServiceClient{
		ID: testServiceRSA, JWKS: publicJWKS(env.rsaKey.Public(), "rsa-1"),
		GrantedScopes: []string{"okta.logs.read", "okta.users.read"},
	}))
	testenv.Must(t, srv.AddServiceClient(ServiceClient{
		ID: testServiceEC, JWKS: publicJWKS(ecKey.Public(), "ec-1"),
		GrantedScopes: []string{"okta.logs.read"},
	}))
	testenv.Must(t, srv.AddUser(User{Username: DemoUser, Password: DemoPassword, Name: DemoUserName}))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Must(t, srv.Start(l))
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	env.issuer = srv.Issuer()
	return env
}

func publicJWKS(pub crypto.PublicKey, kid string) jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Use: "sig"}}}
}

func (e *testEnv) url(path string) string { return e.issuer + path }

// webConfig is the oauth2 configuration of the test web app.
func (e *testEnv) webConfig(scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testWebClientID,
		ClientSecret: testWebSecret,
		RedirectURL:  testRedirectURI,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.url(pathAuthorize),
			TokenURL:  e.url(pathToken),
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// ctx is a context whose oauth2 requests use a plain client (no cookie jar,
// no redirects followed).
func (e *testEnv) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
}

// browser is a plain HTTP client with a cookie jar, which stops at redirects
// so that the test sees where the server sends the browser.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// submit posts the sign-in form found on p back to rawURL, as a browser
// does when a button is pressed.
func (b *browser) submit(rawURL string, p page, fields url.Values) page {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no sign-in form in page (status %d):\n%s", p.status, p.body)
	}
	form := url.Values{"csrf_token": {m[1]}}
	maps.Copy(form, fields)
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn opens an authorization URL, signs in and returns the redirect.
func (b *browser) signIn(authURL, username, password string) page {
	b.t.Helper()
	login := b.get(authURL)
	if login.status != http.StatusOK {
		b.t.Fatalf("GET authorize: status %d, Location %q, body:\n%s", login.status, login.location, login.body)
	}
	return b.submit(authURL, login, url.Values{"username": {username}, "password": {password}, "action": {"signin"}})
}

// callback returns the query of the redirect p points to, checking that it
// goes to the expected redirect URI.
func callback(t *testing.T, p page, redirectURI string) url.Values {
	t.Helper()
	if p.status != http.StatusSeeOther && p.status != http.StatusFound {
		t.Fatalf("want a redirect to the client, got status %d, body:\n%s", p.status, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != redirectURI {
		t.Fatalf("redirected to %q, want %q", got, redirectURI)
	}
	return u.Query()
}

// authorize runs the authorization-code flow with PKCE for the demo user and
// returns the token response.
func (e *testEnv) authorize(scopes ...string) (*oauth2.Token, *oauth2.Config) {
	e.t.Helper()
	conf := e.webConfig(scopes...)
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier))
	q := callback(e.t, newBrowser(e.t).signIn(authURL, DemoUser, DemoPassword), testRedirectURI)
	if q.Get("state") != "state-1234" || q.Get("code") == "" {
		e.t.Fatalf("callback query %v, want a code and state-1234", q)
	}
	tok, err := conf.Exchange(e.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("Exchange: %v", err)
	}
	return tok, conf
}

// assertion is a client assertion for a service app; tests change what they
// want to break.
type assertion struct {
	key      any
	kid      string
	alg      jose.SignatureAlgorithm
	issuer   string
	subject  string
	audience string
	expiry   time.Time
	jti      string
}

func (e *testEnv) rsaAssertion() assertion {
	return assertion{
		key: e.rsaKey, kid: "rsa-1", alg: jose.RS256,
		issuer: testServiceRSA, subject: testServiceRSA,
		audience: e.url(pathToken), expiry: e.clock.Now().Add(5 * time.Minute),
		jti: randomAlphanumeric(24),
	}
}

func (e *testEnv) ecAssertion() assertion {
	return assertion{
		key: e.ecKey, kid: "ec-1", alg: jose.ES256,
		issuer: testServiceEC, subject: testServiceEC,
		audience: e.url(pathToken), expiry: e.clock.Now().Add(5 * time.Minute),
		jti: randomAlphanumeric(24),
	}
}

func (a assertion) sign(t testing.TB) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if a.kid != "" {
		opts = opts.WithHeader("kid", a.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: a.alg, Key: a.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	claims := josejwt.Claims{
		Issuer: a.issuer, Subject: a.subject, Audience: josejwt.Audience{a.audience},
		Expiry: josejwt.NewNumericDate(a.expiry), ID: a.jti,
	}
	raw, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// clientCredentials requests a token for the assertion's app with the
// client-credentials grant, as golang.org/x/oauth2 does.
func (e *testEnv) clientCredentials(signed, clientID string, scopes ...string) (*oauth2.Token, error) {
	return e.clientCredentialsAt(e.url(pathToken), signed, clientID, scopes...)
}

// clientCredentialsAt is clientCredentials at another token endpoint.
func (e *testEnv) clientCredentialsAt(tokenURL, signed, clientID string, scopes ...string) (*oauth2.Token, error) {
	conf := clientcredentials.Config{
		ClientID: clientID,
		TokenURL: tokenURL,
		Scopes:   scopes,
		EndpointParams: url.Values{
			"client_assertion_type": {clientAssertionType},
			"client_assertion":      {signed},
		},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	return conf.Token(e.ctx())
}

// secretClientCredentials requests a token with the client-credentials grant
// for an app that authenticates with a client secret, in the header (basic)
// or in the body (post).
func (e *testEnv) secretClientCredentials(tokenURL, clientID, secret string, style oauth2.AuthStyle, scopes ...string) (*oauth2.Token, error) {
	conf := clientcredentials.Config{
		ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL, Scopes: scopes, AuthStyle: style,
	}
	return conf.Token(e.ctx())
}

// addAuthorizationServer registers a custom authorization server on the
// running server and returns its issuer.
func (e *testEnv) addAuthorizationServer(id string, scopes ...string) string {
	e.t.Helper()
	testenv.Must(e.t, e.srv.AddAuthorizationServer(AuthorizationServer{ID: id, Scopes: scopes}))
	return e.srv.AuthorizationServerIssuer(id)
}

// jwks fetches a key set from a keys endpoint.
func (e *testEnv) jwks(keysURL string) jose.JSONWebKeySet {
	e.t.Helper()
	resp, body := e.getWithToken(keysURL, "")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d", keysURL, resp.StatusCode)
	}
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal(body, &keys); err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// postForm sends a form to the server and decodes a JSON answer.
func (e *testEnv) postForm(path string, form url.Values, basicUser, basicPassword string) (int, map[string]any, http.Header) {
	e.t.Helper()
	return e.postFormTo(e.url(path), form, basicUser, basicPassword)
}

// postFormTo is postForm to a full URL.
func (e *testEnv) postFormTo(rawURL string, form url.Values, basicUser, basicPassword string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPassword)
	}
	return e.doJSON(req)
}

func (e *testEnv) doJSON(req *http.Request) (int, map[string]any, http.Header) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(body)) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &out); err != nil {
			e.t.Fatalf("decoding %s: %v", body, err)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// getWithToken calls a resource with a bearer token and returns the raw
// answer.
func (e *testEnv) getWithToken(rawURL, token string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, body
}

// retrieveError extracts Okta's error from a failed golang.org/x/oauth2 call.
func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	if err == nil {
		t.Fatal("want an error from the token endpoint, got a token")
	}
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("want *oauth2.RetrieveError, got %T: %v", err, err)
	}
	return re
}

// oktaErrorBody decodes {"error":...,"error_description":...} exactly: no
// other field may be present.
func oktaErrorBody(t *testing.T, body []byte) (code, description string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %q is not Okta's error JSON: %v", body, err)
	}
	if len(m) != 2 {
		t.Errorf("error body %s: want exactly error and error_description", body)
	}
	return m["error"], m["error_description"]
}
