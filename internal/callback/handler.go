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

package callback

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/budget"
	"github.com/okta-token-operator/okta-token-operator/internal/creds"
	"github.com/okta-token-operator/okta-token-operator/internal/metrics"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// Bounds on what the callback accepts. Okta's states and codes are far
// shorter; anything longer is not from Okta.
const (
	maxQueryLength  = 8 << 10
	maxStateLength  = 512
	maxCodeLength   = 2048
	exchangeTimeout = 30 * time.Second
)

// outcome is one way a callback request ends: its HTTP status, the page and
// the metric/log result.
type outcome struct {
	status int
	result string
	page   page
}

func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	o, owner := s.handle(r)
	metrics.Callback(o.result)
	// The log line carries the result and the resource, never the query:
	// it holds the state and the code.
	kv := []any{"result", o.result, "status", o.status, "method", r.Method, "remote", r.RemoteAddr}
	if owner.Name != "" {
		kv = append(kv, "oktascopedtoken", owner.String())
	}
	s.Log.Info("callback", kv...)
	render(w, o.status, o.page)
}

func (s *Server) handle(r *http.Request) (outcome, types.NamespacedName) {
	var none types.NamespacedName
	if r.Method != http.MethodGet {
		return outcome{http.StatusMethodNotAllowed, "bad_request", page{
			Title: "Method not allowed", Message: "The sign-in callback only answers GET requests, the redirect Okta sends the browser.",
		}}, none
	}
	if len(r.URL.RawQuery) > maxQueryLength {
		return badRequest("The request is too long to be a sign-in redirect from Okta."), none
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("The request's query string cannot be read."), none
	}
	for _, p := range []string{"state", "code", "error", "error_description"} {
		if len(q[p]) > 1 {
			return badRequest(fmt.Sprintf("The parameter %q appears more than once; a redirect from Okta carries it once.", p)), none
		}
	}
	st := q.Get("state")
	if st == "" {
		return badRequest("The request has no state parameter, so it is not the answer to a sign-in the operator started. Open the sign-in link from the resource's status.authorizationURL."), none
	}
	if len(st) > maxStateLength || len(q.Get("code")) > maxCodeLength || len(q.Get("error_description")) > 1024 || len(q.Get("error")) > 128 {
		return badRequest("A parameter is too long to come from Okta."), none
	}
	pending, secret, o := s.claim(r.Context(), okta.HashState(st))
	if o != nil {
		return *o, none
	}
	owner, _ := state.Owner(secret)
	var out outcome
	switch code := q.Get("code"); {
	case q.Get("error") != "":
		out = oktaRefused(q.Get("error"), q.Get("error_description"), owner)
	case code == "":
		out = badRequest("The redirect has neither a code nor an error. Open the sign-in link from the resource's status.authorizationURL again; the operator has published a new one.")
	default:
		out = s.exchange(r.Context(), owner, state.OwnerUID(secret), pending, code)
	}
	if out.result != "success" && out.result != "subject_refused" {
		// The claim ends without a grant: the reconciler publishes a new
		// link for the next try, after a backoff when the exchange itself
		// failed, so that a loop of junk codes cannot spend the org's
		// budget.
		exchangeFailed := out.result == "code_rejected" || out.result == "okta_unavailable" || out.result == "id_token_invalid"
		s.release(r.Context(), owner, state.OwnerUID(secret), exchangeFailed)
	}
	return out, owner
}

// claim finds the pending sign-in for a state hash and removes it from the
// state Secret, so the state is accepted exactly once. The removal is an
// update guarded by resourceVersion: of two requests racing with the same
// state, one wins. Only the pending sign-in changes; a stored token is left
// as it was.
func (s *Server) claim(ctx context.Context, hash string) (*state.PendingLogin, *corev1.Secret, *outcome) {
	var list corev1.SecretList
	if err := s.Client.List(ctx, &list, client.InNamespace(s.StateNamespace),
		client.MatchingLabels{state.LabelPendingState: hash, state.LabelRole: state.RoleState}); err != nil {
		s.Log.Error(err, "listing pending sign-ins")
		o := unavailable("The operator cannot read its state right now. Try the sign-in link again in a minute.")
		return nil, nil, &o
	}
	if len(list.Items) != 1 {
		o := unknownState()
		return nil, nil, &o
	}
	// The cache may lag; the one-time check reads the API server.
	secret := &corev1.Secret{}
	if err := s.APIReader.Get(ctx, client.ObjectKeyFromObject(&list.Items[0]), secret); err != nil {
		s.Log.Error(err, "reading a pending sign-in")
		o := unknownState()
		if !apierrors.IsNotFound(err) {
			o = unavailable("The operator cannot read its state right now. Try the sign-in link again in a minute.")
		}
		return nil, nil, &o
	}
	next, p, claimErr := state.Decode(secret).Claim(hash, s.Clock.Now())
	if errors.Is(claimErr, state.ErrUnknownSignIn) {
		o := unknownState()
		return nil, nil, &o
	}
	updated := secret.DeepCopy()
	state.Encode(next, updated)
	if err := s.Client.Update(ctx, updated); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			o := unknownState()
			return nil, nil, &o
		}
		s.Log.Error(err, "recording the sign-in")
		o := unavailable("The operator cannot record the sign-in right now. Open the sign-in link from the resource's status.authorizationURL again in a minute.")
		return nil, nil, &o
	}
	if errors.Is(claimErr, state.ErrSignInExpired) {
		o := outcome{http.StatusBadRequest, "expired_state", page{
			Title:   "This sign-in link has expired",
			Message: "The link was valid for a limited time. The operator publishes a new one: run `kubectl oktatoken status` or read the resource's status.authorizationURL, and sign in again.",
		}}
		return nil, nil, &o
	}
	return p, updated, nil
}

// exchange trades the code for tokens and stores them in the state Secret;
// the reconciler publishes the token Secret from there.
func (s *Server) exchange(ctx context.Context, owner types.NamespacedName, ownerUID types.UID, p *state.PendingLogin, code string) outcome {
	obj := &v1.OktaScopedToken{}
	if err := s.APIReader.Get(ctx, owner, obj); err != nil || (ownerUID != "" && obj.UID != ownerUID) {
		return outcome{http.StatusNotFound, "resource_gone", page{
			Title: "The token resource is gone",
			Message: fmt.Sprintf("The OktaScopedToken %s this link was made for no longer exists "+
				"(it may have been deleted and created again), so no token was stored.", owner),
		}}
	}
	if p.Fingerprint != state.Fingerprint(obj.Spec) {
		return badRequest(fmt.Sprintf("The OktaScopedToken %s changed (domain, client or scopes) after this link was made. Sign in again with the new link in its status.authorizationURL.", owner))
	}
	c, err := creds.Load(ctx, s.APIReader, obj, s.SecretPolicy)
	if err != nil || c.App == nil {
		s.Log.Info("reading the app's client secret", "oktascopedtoken", owner.String(), "error", safeErr(err))
		return unavailable(fmt.Sprintf("The operator cannot read the app's client secret for %s: %v", owner, safeErr(err)))
	}
	ep, err := s.Discovery.Discover(ctx, obj.Spec.OktaDomain, obj.Spec.AuthorizationServerID)
	if err != nil {
		return badGateway(fmt.Sprintf("Okta's metadata could not be read: %v. Sign in again with the new link in the status of %s.", err, owner))
	}
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	if s.Budget != nil {
		// Inside the org's budget, before every other request.
		ctx = budget.WithTenant(ctx, owner.Namespace)
		if err := s.Budget.Wait(ctx, budget.Org(ep.Issuer), owner.Namespace, budget.Person); err != nil {
			return unavailable(fmt.Sprintf("The operator's share of Okta's rate limit for this org is spent right now. "+
				"Sign in again in a minute with the new link in the status of %s.", owner))
		}
	}
	// A DPoP-bound grant gets a key of its own, made here: every refresh
	// must be proven with it, so it is stored with the grant.
	var key *okta.DPoPKey
	if obj.Spec.TokenBinding == v1.TokenBindingDPoP {
		if key, err = okta.NewDPoPKey(); err != nil {
			return unavailable(fmt.Sprintf("The operator could not make a DPoP key for %s. Sign in again with the new link in its status.authorizationURL.", owner))
		}
	}
	tok, err := s.Okta.ExchangeCode(okta.WithDPoPKey(ctx, key), ep, *c.App, p.RedirectURI, code, p.Verifier)
	if err != nil {
		var oe *okta.Error
		if errors.As(err, &oe) && oe.Class == okta.DPoPRefused && obj.Spec.TokenBinding != v1.TokenBindingDPoP {
			return outcome{http.StatusBadRequest, "code_rejected", page{
				Title:   "Okta requires DPoP for this app",
				Message: fmt.Sprintf("%v. No token was stored for %s: the Okta app requires a DPoP proof (\"Require Demonstrating Proof of Possession (DPoP) header in token requests\").", err, owner),
				Hint:    "Set spec.tokenBinding: DPoP on " + owner.String() + ", then sign in with the new link in its status.authorizationURL.",
			}}
		}
		if errors.As(err, &oe) && oe.Class != okta.Transient && oe.Class != okta.RateLimited {
			return outcome{http.StatusBadRequest, "code_rejected", page{
				Title:   "Okta did not accept the sign-in",
				Message: fmt.Sprintf("%v. No token was stored for %s. Sign in again with the new link in its status.authorizationURL.", err, owner),
			}}
		}
		return badGateway(fmt.Sprintf("Okta could not be reached to finish the sign-in (%v). No token was stored for %s. Sign in again with the new link in its status.authorizationURL.", err, owner))
	}
	// Who signed in is taken from the ID token once it verifies, never
	// from an unchecked claim: it decides who may grant the token.
	id, err := s.Okta.VerifyIDToken(ctx, ep, obj.Spec.ClientID, tok.IDToken, p.Nonce)
	if err != nil {
		s.revokeIssued(okta.WithDPoPKey(ctx, key), ep, *c.App, tok, owner)
		return outcome{http.StatusBadGateway, "id_token_invalid", page{
			Title: "Okta's answer could not be verified",
			Message: fmt.Sprintf("The ID token Okta returned did not verify (%v), so the operator cannot tell who signed in. "+
				"No token was stored for %s, and the tokens issued were revoked.", err, owner),
			Hint: "Sign in again with the new link in its status.authorizationURL. If it happens again, check that the " +
				"operator's clock is right and that nothing between the operator and Okta changes Okta's answers.",
		}}
	}
	if allowed := obj.Spec.AllowedSubjects; !policy.SubjectAllowed(allowed, id.Subject, id.Email, id.Username) {
		// The tokens this person's sign-in earned are revoked, and the
		// link stays usable by the right person until it expires.
		s.revokeIssued(okta.WithDPoPKey(ctx, key), ep, *c.App, tok, owner)
		s.reopen(ctx, owner, p)
		s.eventf(obj, corev1.EventTypeWarning, v1.ReasonSubjectNotAllowed,
			"%s signed in, but this token must be granted by one of %s; nothing was stored and the sign-in link stays valid",
			id.Name(), strings.Join(allowed, ", "))
		return outcome{http.StatusForbidden, "subject_refused", page{
			Title: "You may not grant this token",
			Message: fmt.Sprintf("You signed in as %s; the token %s must be granted by one of: %s. Nothing was stored.",
				orDash(id.Name()), owner, strings.Join(allowed, ", ")),
			Hint: "Sign out of Okta, then open the same link again and sign in as one of them; it stays valid until it expires.",
		}}
	}
	// The spec's fingerprint is the pending sign-in's: checked above.
	grant := state.GrantFromToken(tok, obj.Spec, state.OriginLogin, nil)
	grant.BindTo(ep, obj.Spec.ClientID)
	grant.Subject = id.Name()
	if key != nil {
		jwk, err := key.PrivateJWK()
		if err != nil {
			return unavailable(fmt.Sprintf("The operator could not store the DPoP key for %s. Sign in again with the new link in its status.authorizationURL.", owner))
		}
		grant.DPoPKey = string(jwk)
	}
	if err := s.store(ctx, owner, obj.UID, grant); err != nil {
		s.Log.Error(err, "storing the token after sign-in", "oktascopedtoken", owner.String())
		return unavailable(fmt.Sprintf("Okta issued a token but the operator could not store it for %s. Sign in again with the new link in its status.authorizationURL.", owner))
	}
	if tok.RefreshToken == "" {
		s.Log.Info("Okta issued no refresh token; the token cannot be renewed without a new sign-in (is the Refresh Token grant enabled on the app?)",
			"oktascopedtoken", owner.String())
	}
	return outcome{http.StatusOK, "success", page{
		Title:   "Signed in: token issued",
		Success: true,
		Message: fmt.Sprintf("The operator now holds a token for %s.", owner),
		Facts: []fact{
			{"Token", fmt.Sprintf("%s/%s", owner.Namespace, owner.Name)},
			{"Secret", fmt.Sprintf("%s/%s", owner.Namespace, obj.TokenSecretName())},
			{"Signed in as", orDash(id.Name())},
			{"Scopes granted", joinOrDash(grant.Scopes)},
			{"Expires", tok.Expiry.UTC().Format(time.RFC1123)},
		},
		Hint: "The operator renews the token before it expires. You can close this tab.",
	}}
}

// revokeIssued revokes the tokens a refused sign-in earned, best effort.
func (s *Server) revokeIssued(ctx context.Context, ep okta.Endpoints, app okta.ClientSecret, tok *okta.Token, owner types.NamespacedName) {
	for hint, t := range map[string]string{"refresh_token": tok.RefreshToken, "access_token": tok.AccessToken} {
		if t == "" {
			continue
		}
		if err := s.Okta.Revoke(ctx, ep, app, t, hint); err != nil {
			s.Log.Info("revoking a token of a refused sign-in failed", "oktascopedtoken", owner.String(),
				"tokenType", hint, "error", err.Error())
		}
	}
}

// reopen puts a refused sign-in back, so its link works for the next
// person until it expires.
func (s *Server) reopen(ctx context.Context, owner types.NamespacedName, p *state.PendingLogin) {
	key := types.NamespacedName{Namespace: s.StateNamespace, Name: state.SecretName(owner)}
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		secret := &corev1.Secret{}
		if err := s.APIReader.Get(ctx, key, secret); err != nil {
			return err
		}
		next, reopened := state.Decode(secret).Reopen(p)
		if !reopened {
			// A newer link was made meanwhile; it wins.
			return nil
		}
		state.Encode(next, secret)
		return s.Client.Update(ctx, secret)
	})
	if err != nil {
		s.Log.Error(err, "reopening a refused sign-in; a new link follows when the claim expires", "oktascopedtoken", owner.String())
	}
}

func (s *Server) eventf(obj *v1.OktaScopedToken, eventType, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.Log.Info(msg, "reason", reason, "type", eventType, "oktascopedtoken", client.ObjectKeyFromObject(obj).String())
	if s.Recorder != nil {
		s.Recorder.Event(obj, eventType, reason, msg)
	}
}

// store writes the new grant into the state Secret, retrying on conflict
// with the reconciler's own writes.
func (s *Server) store(ctx context.Context, owner types.NamespacedName, uid types.UID, grant *state.Grant) error {
	key := types.NamespacedName{Namespace: s.StateNamespace, Name: state.SecretName(owner)}
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		secret := &corev1.Secret{}
		if err := s.APIReader.Get(ctx, key, secret); err != nil {
			return err
		}
		if owned := state.OwnerUID(secret); owned != "" && owned != uid {
			return fmt.Errorf("the state Secret now belongs to another OktaScopedToken of this name")
		}
		state.Encode(state.Decode(secret).SignedIn(grant), secret)
		return s.Client.Update(ctx, secret)
	})
}

// release ends a claim that stored no grant. It is best effort: a claim
// left behind expires after state.ClaimTimeout.
func (s *Server) release(ctx context.Context, owner types.NamespacedName, uid types.UID, failed bool) {
	key := types.NamespacedName{Namespace: s.StateNamespace, Name: state.SecretName(owner)}
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		secret := &corev1.Secret{}
		if err := s.APIReader.Get(ctx, key, secret); err != nil {
			return err
		}
		st := state.Decode(secret)
		retryAt := s.Clock.Now().Add(policy.Backoff(int32(st.SignInFailures+1), uid))
		next, released := st.Release(failed, retryAt)
		if !released {
			return nil
		}
		state.Encode(next, secret)
		return s.Client.Update(ctx, secret)
	})
	if client.IgnoreNotFound(err) != nil {
		s.Log.Error(err, "releasing a sign-in that stored no token; a new link follows when the claim expires",
			"oktascopedtoken", owner.String())
	}
}

func safeErr(err error) string {
	if err == nil {
		return "no client secret configured"
	}
	return err.Error()
}

func badRequest(msg string) outcome {
	return outcome{http.StatusBadRequest, "bad_request", page{Title: "This is not a valid sign-in redirect", Message: msg}}
}

func unknownState() outcome {
	return outcome{http.StatusBadRequest, "unknown_state", page{
		Title:   "This sign-in link is unknown or was already used",
		Message: "Each sign-in link works once. If you just signed in, the token is already stored: check `kubectl get ost`. Otherwise open the current link from the resource's status.authorizationURL.",
	}}
}

func unavailable(msg string) outcome {
	return outcome{http.StatusServiceUnavailable, "unavailable", page{Title: "The operator could not finish the sign-in", Message: msg}}
}

func badGateway(msg string) outcome {
	return outcome{http.StatusBadGateway, "okta_unavailable", page{Title: "Okta could not be reached", Message: msg}}
}

func oktaRefused(code, description string, owner types.NamespacedName) outcome {
	// Both come from the browser's query string: anyone can send anything.
	code, description = okta.Sanitize(code, 64), okta.Sanitize(description, 400)
	msg := fmt.Sprintf("Okta answered %q", code)
	if description != "" {
		msg += ": " + description
	}
	hint := "No token was stored. The operator has published a new sign-in link in the status of " + owner.String() + "."
	title := "Okta did not grant the token"
	status := http.StatusBadRequest
	switch code {
	case "invalid_scope", "consent_required":
		// Only an administrator can fix this, and signing in again
		// without the fix fails the same way.
		hint = "No token was stored. Grant the scopes in spec.scopes of " + owner.String() +
			" to the app in the Okta Admin Console, Okta API Scopes tab, then sign in with the new link in its status."
	case "access_denied":
		title = "Sign-in cancelled"
		status = http.StatusForbidden
		hint = "The sign-in was cancelled or refused, so no token was stored. To try again, open the new link in the status of " + owner.String() + "."
	}
	return outcome{status, "okta_error", page{Title: title, Message: strings.TrimSuffix(msg, ".") + ".", Hint: hint}}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func joinOrDash(s []string) string {
	return orDash(strings.Join(s, ", "))
}
