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
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

//go:embed templates/login.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/login.html"))

const (
	csrfCookie = "okta_dev_csrf"
	// Okta's sign-in widget says this for any wrong username or password,
	// so as not to reveal which accounts exist.
	msgSignInFailed = "Unable to sign in"
)

// handleAuthorize is /oauth2/v1/authorize (or a custom authorization
// server's): fosite validates the authorization request and issues the code;
// this handler adds the sign-in page and Okta's checks that come before it.
//
// The page posts back to the same URL, so the authorization request travels
// in the query string both times and is validated both times; nothing about
// it is kept on the server between the two.
func (as *authServer) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s := as.srv
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		s.renderError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed", "The authorization endpoint accepts GET and POST.")
		return
	}
	ctx := r.Context()
	query := r.URL.Query()
	setLogClientID(ctx, query.Get("client_id"))

	// A request that cannot be trusted to name its own redirect URI gets an
	// error page: redirecting an error to an unregistered URI would make this
	// server an open redirector.
	client, ok := s.clients.get(query.Get("client_id"))
	if !ok || client.kind != webClientKind {
		setLogError(ctx, "invalid_client")
		s.renderError(w, http.StatusBadRequest, "400 Bad Request", "Your request resulted in an error. Invalid value for 'client_id' parameter.")
		return
	}
	if !slices.Contains(client.redirectURIs, query.Get("redirect_uri")) {
		setLogError(ctx, "invalid_redirect_uri")
		s.renderError(w, http.StatusBadRequest, "400 Bad Request", "Your request resulted in an error. The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.")
		return
	}

	ar, err := as.oauth.NewAuthorizeRequest(ctx, authorizationRequestOnly(r))
	if err != nil {
		as.redirectError(w, r, ar, as.authorizeEndpointError(client, fosite.RemoveEmpty(strings.Split(query.Get("scope"), " ")), err))
		return
	}
	if oe := pkcePolicy(client, ar); oe != nil {
		as.redirectError(w, r, ar, oe)
		return
	}
	// This server keeps no sign-in session, so nobody is ever signed in
	// already.
	if slices.Contains(strings.Fields(ar.GetRequestForm().Get("prompt")), "none") {
		as.redirectError(w, r, ar, newOAuthError("login_required", "The client specified not to prompt, but the user is not logged in.", http.StatusBadRequest))
		return
	}

	if r.Method == http.MethodGet {
		as.renderLogin(w, r, ar, "", "", http.StatusOK)
		return
	}
	if err := r.ParseForm(); err != nil || !s.validCSRF(r) {
		setLogError(ctx, "csrf")
		s.renderError(w, http.StatusForbidden, "Sign-in expired", "This sign-in form is no longer valid. Go back to the application and sign in again.")
		return
	}
	if r.PostForm.Get("action") == "cancel" {
		as.redirectError(w, r, ar, newOAuthError("access_denied", "The resource owner or authorization server denied the request.", http.StatusForbidden))
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	user, ok := s.authenticateUser(username, r.PostForm.Get("password"))
	if !ok {
		setLogError(ctx, "sign_in_failed")
		as.renderLogin(w, r, ar, username, msgSignInFailed, http.StatusUnauthorized)
		return
	}

	// No consent screen here: what the app asked for and passed the checks
	// above is granted.
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	resp, err := as.oauth.NewAuthorizeResponse(ctx, ar, userSession(user, s.clock.Now(), ar.GetRequestedScopes()))
	if err != nil {
		as.redirectError(w, r, ar, as.authorizeEndpointError(client, ar.GetRequestedScopes(), err))
		return
	}
	as.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// authorizationRequestOnly is the request as fosite should see it: the
// authorization request from the query string, without the sign-in form, so
// that the password never enters fosite's request (which it stores with the
// code).
func authorizationRequestOnly(r *http.Request) *http.Request {
	clean := r.Clone(r.Context())
	clean.Method = http.MethodGet
	clean.Body = http.NoBody
	clean.ContentLength = 0
	clean.Header.Del("Content-Type")
	clean.Form, clean.PostForm, clean.MultipartForm = nil, nil, nil
	return clean
}

// pkcePolicy requires PKCE of clients configured to require it, and only
// S256. fosite checks S256 too, but only once the code is issued; Okta
// refuses such a request before anyone signs in.
func pkcePolicy(c *registeredClient, ar fosite.AuthorizeRequester) *oauthError {
	form := ar.GetRequestForm()
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case challenge == "" && method == "" && c.requirePKCE:
		return newOAuthError("invalid_request", "PKCE code challenge is required by the client app settings.", http.StatusBadRequest)
	case (challenge != "" || method != "") && method != "S256":
		return newOAuthError("invalid_request", "PKCE code challenge method is not supported. Use 'S256'.", http.StatusBadRequest)
	case method != "" && challenge == "":
		return newOAuthError("invalid_request", "The 'code_challenge' parameter is required with 'code_challenge_method'.", http.StatusBadRequest)
	}
	return nil
}

// The claims that describe the user in the ID token and at /userinfo.
const (
	claimName              = "name"
	claimPreferredUsername = "preferred_username"
	claimEmail             = "email"
)

// userSession is what fosite stores with the code and puts in the ID token.
// Okta's sub is a user id; here it is the username, so that every claim a
// test or an operator status shows names the person. signedInAt becomes
// auth_time; it is also the request time, which is what fosite checks a
// prompt=login request against.
func userSession(u User, signedInAt time.Time, scopes []string) *openid.DefaultSession {
	signedInAt = signedInAt.UTC().Truncate(time.Second)
	// As at Okta, the ID token names the person by login and email only
	// when the profile and email scopes were asked for; sub always.
	extra := map[string]any{}
	if slices.Contains(scopes, "profile") {
		extra[claimPreferredUsername] = u.Username
		extra[claimName] = u.Name
	}
	if slices.Contains(scopes, "email") {
		extra[claimEmail] = u.Username
	}
	return &openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			Subject:     userID(u),
			AuthTime:    signedInAt,
			RequestedAt: signedInAt,
			Extra:       extra,
		},
		Headers:  &jwt.Headers{},
		Subject:  userID(u),
		Username: u.Username,
	}
}

func userID(u User) string { return UserID(u.Username) }

// UserID is the id the server gives a user, as Okta's sub carries it: 00u and
// 17 more characters, the same for the same login whatever its case.
func UserID(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	return "00u" + hex.EncodeToString(sum[:])[:17]
}

// redirectError sends an authorization error to the client's redirect URI
// with error, error_description and state, as fosite writes it.
func (as *authServer) redirectError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, oe *oauthError) {
	setLogError(r.Context(), oe.Code)
	as.oauth.WriteAuthorizeError(r.Context(), w, ar, oe.rfc6749())
}

type loginPage struct {
	Title, Issuer, ClientID string
	Scopes                  []string
	Username, Error         string
	CSRFToken               string
}

func (as *authServer) renderLogin(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, username, message string, status int) {
	page := loginPage{
		Title:     "Sign In",
		Issuer:    as.issuer(),
		ClientID:  ar.GetClient().GetID(),
		Scopes:    ar.GetRequestedScopes(),
		Username:  username,
		Error:     message,
		CSRFToken: as.srv.csrfToken(w, r, as.path(endpointAuthorize)),
	}
	as.srv.render(w, status, "login", page)
}

type errorPage struct {
	Title, Issuer, Message string
}

func (s *Server) renderError(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "error", errorPage{Title: title, Issuer: s.Issuer(), Message: message})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The page runs no script and loads nothing; it must not be framed
	// (clickjacking a sign-in form) and must not leak the authorization
	// request, with its state, in a Referer header.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.logger.Error("rendering page", "page", name, "error", err.Error())
	}
}

// The sign-in form carries a token derived from a random value in a cookie
// (a signed double-submit cookie). Another site can make a browser post the
// form, but cannot read the cookie to compute the token. The cookie is scoped
// to the authorization endpoint the form posts back to (cookiePath).
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request, cookiePath string) string {
	nonce := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		nonce = c.Value
	} else {
		nonce = randomAlphanumeric(43)
		http.SetCookie(w, &http.Cookie{
			Name:     csrfCookie,
			Value:    nonce,
			Path:     cookiePath,
			HttpOnly: true,
			Secure:   strings.HasPrefix(s.Issuer(), "https://"),
			SameSite: http.SameSiteLaxMode,
		})
	}
	return s.csrfMAC(nonce)
}

func (s *Server) validCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return hmac.Equal([]byte(s.csrfMAC(c.Value)), []byte(r.PostForm.Get("csrf_token")))
}

func (s *Server) csrfMAC(nonce string) string {
	mac := hmac.New(sha256.New, s.csrfKey)
	mac.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
