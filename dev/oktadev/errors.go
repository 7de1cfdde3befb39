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
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"
)

// oauthError is an OAuth 2.0 error worded the way Okta words it. fosite
// decides that a request fails and why; this type carries Okta's name and
// sentence for that failure to the client.
type oauthError struct {
	Code        string
	Description string
	Status      int
}

func newOAuthError(code, description string, status int) *oauthError {
	return &oauthError{Code: code, Description: description, Status: status}
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

// rfc6749 lets fosite write the error, for example as an authorization error
// redirect. Only error and error_description reach the client.
func (e *oauthError) rfc6749() *fosite.RFC6749Error {
	return &fosite.RFC6749Error{ErrorField: e.Code, DescriptionField: e.Description, CodeField: e.Status}
}

// writeOAuthError writes Okta's error body for /token, /revoke and
// /introspect: {"error":"...","error_description":"..."}.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Code, "error_description": e.Description})
}

// fositeDescription is the most specific sentence fosite has for an error:
// its hint when there is one.
func fositeDescription(rfc *fosite.RFC6749Error) string {
	if rfc.HintField != "" {
		return rfc.HintField
	}
	return rfc.DescriptionField
}

// fositeUnknownError is the error field fosite gives an error it cannot map
// to an RFC 6749 error (its unexported errUnknownErrorName).
const fositeUnknownError = "error"

// tokenEndpointError words a failed token request like Okta. Errors already
// in Okta's words (client authentication, scope policy) pass through.
func tokenEndpointError(grantType string, client fosite.Client, err error) *oauthError {
	if oe, ok := errors.AsType[*oauthError](err); ok {
		return oe
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	hint := rfc.HintField
	switch rfc.ErrorField {
	case "invalid_grant":
		switch {
		case strings.Contains(hint, "PKCE"):
			return newOAuthError("invalid_grant", "PKCE verification failed.", http.StatusBadRequest)
		case grantType == grantRefreshToken:
			return newOAuthError("invalid_grant", "The refresh token is invalid or expired.", http.StatusBadRequest)
		case strings.Contains(hint, "redirect_uri"):
			return newOAuthError("invalid_grant", "The 'redirect_uri' does not match the redirection URI used in the authorization request.", http.StatusBadRequest)
		default:
			return newOAuthError("invalid_grant", "The authorization code is invalid or has expired.", http.StatusBadRequest)
		}
	case "invalid_request":
		if strings.Contains(hint, "PKCE") || strings.Contains(hint, "code_challenge") {
			return newOAuthError("invalid_grant", "PKCE verification failed.", http.StatusBadRequest)
		}
		return newOAuthError("invalid_request", fositeDescription(rfc), http.StatusBadRequest)
	case "unauthorized_client":
		desc := "The client is not authorized to use the provided grant type."
		if c, ok := client.(*registeredClient); ok && c != nil {
			desc += " Configured grant types: " + c.grantTypesString() + "."
		}
		return newOAuthError("unauthorized_client", desc, http.StatusBadRequest)
	case "invalid_client":
		return newOAuthError("invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.", http.StatusUnauthorized)
	case "server_error", fositeUnknownError:
		return newOAuthError("server_error", "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.", http.StatusInternalServerError)
	}
	status := rfc.CodeField
	if status == 0 {
		status = http.StatusBadRequest
	}
	return newOAuthError(rfc.ErrorField, fositeDescription(rfc), status)
}

// authorizeEndpointError words a refused authorization request like Okta.
// The caller has already checked client_id and redirect_uri, so the error
// goes back to the client's redirect URI.
func (as *authServer) authorizeEndpointError(client *registeredClient, requestedScopes []string, err error) *oauthError {
	if oe, ok := errors.AsType[*oauthError](err); ok {
		return oe
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	switch rfc.ErrorField {
	case "invalid_scope":
		return as.authorizeScopeError(client, requestedScopes)
	case "invalid_state":
		return newOAuthError("invalid_request", "The authorization request is missing the 'state' parameter.", http.StatusBadRequest)
	case "unsupported_response_type":
		return newOAuthError("unsupported_response_type", "The response type is not supported by the authorization server. Configured response types: [code].", http.StatusBadRequest)
	case "server_error", fositeUnknownError:
		return newOAuthError("server_error", "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.", http.StatusInternalServerError)
	}
	status := rfc.CodeField
	if status == 0 {
		status = http.StatusBadRequest
	}
	return newOAuthError(rfc.ErrorField, fositeDescription(rfc), status)
}

// Okta's API error codes used by the resource endpoints and rate limits.
const (
	errorInvalidToken      = "E0000011"
	errorForbidden         = "E0000006"
	errorRateLimited       = "E0000047"
	errorValidation        = "E0000001"
	errorResourceNotFound  = "E0000007"
	summaryInvalidToken    = "Invalid token provided"
	summaryForbidden       = "You do not have permission to perform the requested action"
	summaryRateLimited     = "API call exceeded rate limit due to too many requests."
	summaryResourceMissing = "Not found: Resource not found"
)

// apiError is Okta's error body for its management API
// (https://developer.okta.com/docs/reference/error-codes/).
type apiError struct {
	ErrorCode    string          `json:"errorCode"`
	ErrorSummary string          `json:"errorSummary"`
	ErrorLink    string          `json:"errorLink"`
	ErrorID      string          `json:"errorId"`
	ErrorCauses  []apiErrorCause `json:"errorCauses"`
}

type apiErrorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

func writeAPIError(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	body := apiError{
		ErrorCode:    code,
		ErrorSummary: summary,
		ErrorLink:    code,
		ErrorID:      newErrorID(),
		ErrorCauses:  []apiErrorCause{},
	}
	for _, c := range causes {
		body.ErrorCauses = append(body.ErrorCauses, apiErrorCause{ErrorSummary: c})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// newErrorID makes an id shaped like Okta's errorId ("oae" and 19 letters or
// digits), which support uses to find the request.
func newErrorID() string {
	return "oae" + randomAlphanumeric(19)
}

func randomAlphanumeric(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
