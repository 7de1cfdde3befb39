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

package install

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
	"github.com/okta-token-operator/okta-token-operator/internal/okta"
	"github.com/okta-token-operator/okta-token-operator/internal/policy"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

// The Okta service app of the upgrade test.
const serviceClientID = "0oainstallservice"

// v01 writes objects exactly as operator v0.1 left them: its state Secrets
// (format 1: no "format" key and no owner UID), its token Secrets (data
// only, no annotations), its finalizer on every resource, its status.
type v01 struct {
	t *testing.T
	// stateNamespace is the operator's namespace; namespace the tenant's.
	stateNamespace, namespace string
}

// renewalHandled is the value of the last manual renewal v0.1 acted on; the
// resources still carry it.
const renewalHandled = "2026-01-02T03:04:05Z"

// resource creates an OktaScopedToken with v0.1's finalizer and the manual
// renewal v0.1 handled.
func (o v01) resource(name string, spec v1.OktaScopedTokenSpec) *v1.OktaScopedToken {
	o.t.Helper()
	obj := &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: o.namespace,
			Finalizers:  []string{v1.Finalizer},
			Annotations: map[string]string{v1.AnnotationRenewRequestedAt: renewalHandled},
		},
		Spec: spec,
	}
	if err := env.Client.Create(context.Background(), obj); err != nil {
		o.t.Fatal(err)
	}
	return obj
}

// v01Grant is a token as v0.1 stored it.
type v01Grant struct {
	refreshToken, accessToken, subject string
	origin                             state.Origin
	keyThumbprint                      string
	issuedAt, expiry                   time.Time
	scopes                             []string
	rotations                          int64
}

// secrets writes the grant's state Secret (format 1) and token Secret, and
// the status v0.1 reported for it.
func (o v01) secrets(obj *v1.OktaScopedToken, gr v01Grant) {
	o.t.Helper()
	ctx := context.Background()
	data := map[string]string{
		"grant-fingerprint":          state.Fingerprint(obj.Spec),
		"access_token":               gr.accessToken,
		"token_type":                 "Bearer",
		"issued_at":                  gr.issuedAt.UTC().Format(time.RFC3339Nano),
		"expiry":                     gr.expiry.UTC().Format(time.RFC3339Nano),
		"scope":                      strings.Join(gr.scopes, " "),
		"origin":                     string(gr.origin),
		"renew-requested-at-handled": renewalHandled,
	}
	for k, v := range map[string]string{"refresh_token": gr.refreshToken, "subject": gr.subject, "key-thumbprint": gr.keyThumbprint} {
		if v != "" {
			data[k] = v
		}
	}
	stateSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: state.SecretName(client.ObjectKeyFromObject(obj)), Namespace: o.stateNamespace,
			Labels:      map[string]string{v1.LabelManagedBy: v1.ManagedByValue, state.LabelRole: state.RoleState},
			Annotations: map[string]string{state.AnnotationOwner: client.ObjectKeyFromObject(obj).String()},
		},
		Type: corev1.SecretTypeOpaque,
		Data: bytesOf(data),
	}
	tokenSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: obj.TokenSecretName(), Namespace: obj.Namespace,
			Labels: map[string]string{v1.LabelManagedBy: v1.ManagedByValue, v1.LabelToken: obj.Name, state.LabelRole: state.RoleToken},
		},
		Type: corev1.SecretTypeOpaque,
		Data: bytesOf(map[string]string{
			v1.TokenSecretAccessToken: gr.accessToken,
			v1.TokenSecretTokenType:   "Bearer",
			v1.TokenSecretExpiry:      gr.expiry.UTC().Format(time.RFC3339),
			v1.TokenSecretScope:       strings.Join(gr.scopes, " "),
		}),
	}
	if err := controllerutil.SetControllerReference(obj, tokenSecret, env.Client.Scheme()); err != nil {
		o.t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{stateSecret, tokenSecret} {
		if err := env.Client.Create(ctx, s); err != nil {
			o.t.Fatal(err)
		}
	}
	now := metav1.Now()
	issued, expires := metav1.NewTime(gr.issuedAt.Truncate(time.Second)), metav1.NewTime(gr.expiry.Truncate(time.Second))
	renewal := metav1.NewTime(policy.RenewalTime(gr.issuedAt, gr.expiry, obj.Spec, obj.UID))
	obj.Status = v1.OktaScopedTokenStatus{
		ObservedGeneration: obj.Generation,
		Conditions: []metav1.Condition{{Type: v1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1.ReasonIssued,
			Message: "token issued", LastTransitionTime: now, ObservedGeneration: obj.Generation}},
		AuthorizedSubject: gr.subject,
		GrantedScopes:     gr.scopes,
		ExpiresAt:         &expires,
		RenewalTime:       &renewal,
		LastRotationTime:  &issued,
		Rotations:         gr.rotations,
	}
	if err := env.Client.Status().Update(ctx, obj); err != nil {
		o.t.Fatal(err)
	}
}

func bytesOf(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// signInDirectly signs the person in at the dev server as v0.1 did (PKCE,
// openid and offline_access added), and returns the token response.
func signInDirectly(t *testing.T, srv *oktadev.Server, redirectURI string) *oauth2.Token {
	t.Helper()
	conf := &oauth2.Config{
		ClientID: webClientID, ClientSecret: webSecret, RedirectURL: redirectURI,
		Scopes: []string{"openid", "offline_access", "okta.logs.read"},
		Endpoint: oauth2.Endpoint{AuthURL: srv.Issuer() + "/oauth2/v1/authorize", TokenURL: srv.Issuer() + "/oauth2/v1/token",
			AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	callback, err := oktadev.Authorize(conf.AuthCodeURL(oauth2.GenerateVerifier(), oauth2.S256ChallengeOption(verifier)), userName, userPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conf.Exchange(context.Background(), callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("the dev server issued no refresh token")
	}
	return tok
}

// serviceApp registers a service app with a new RSA key at srv and returns
// the key as PEM.
func serviceApp(t *testing.T, srv *oktadev.Server) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "install-test", Algorithm: string(jose.RS256), Use: "sig"}
	if err := srv.AddServiceClient(oktadev.ServiceClient{ID: serviceClientID, JWKS: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}},
		GrantedScopes: []string{"okta.logs.read"}}); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// TestV01ResourcesSurviveTheUpgrade installs this version with
// config/default over what operator v0.1 left behind, as docs/upgrade.md
// describes, and starts it as its ServiceAccount:
//   - an AuthorizationCode token keeps its grant: the new operator rotates it
//     with the refresh token v0.1 stored (no new sign-in), rewrites its
//     state Secret in today's format, bound to the resource's UID, and
//     revokes the grant when the resource is deleted;
//   - a ClientCredentials token keeps its token (no new token request), and
//     loses the finalizer and state Secret this version no longer needs.
func TestV01ResourcesSurviveTheUpgrade(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	listener, callbackURL := callbackListener(t)
	// One dev server per grant type, so each counts one token's requests.
	webOkta := devServer(t, callbackURL)
	serviceOkta := devServer(t, callbackURL)
	keyPEM := serviceApp(t, serviceOkta)
	in := apply(t, renderKustomize(t, kustomizeOptions{callbackURL: callbackURL, oktaDomains: devServerDomain}))
	old := v01{t: t, stateNamespace: in.namespace, namespace: newNamespace(t)}

	// The apps' credentials, as the user created them for v0.1.
	for name, data := range map[string]map[string]string{
		"okta-web-app":     {"clientSecret": webSecret},
		"okta-service-app": {"privateKey": string(keyPEM)},
	} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: old.namespace},
			Data: bytesOf(data)})).To(Succeed())
	}
	// The AuthorizationCode token, signed in and rotated three times
	// under v0.1.
	webToken := old.resource("logs-reader", v1.OktaScopedTokenSpec{
		OktaDomain: webOkta.Issuer(), ClientID: webClientID, GrantType: v1.GrantAuthorizationCode,
		ClientSecretRef: &v1.SecretKeyReference{Name: "okta-web-app", Key: "clientSecret"},
		Scopes:          []string{"okta.logs.read"}, SecretName: "logs-reader-token",
	})
	signedIn := signInDirectly(t, webOkta, callbackURL)
	webGrant := v01Grant{
		refreshToken: signedIn.RefreshToken, accessToken: signedIn.AccessToken, subject: userName,
		// v0.1's last rotation, a while before the upgrade.
		origin: state.OriginRefresh, issuedAt: time.Now().Add(-10 * time.Minute), expiry: signedIn.Expiry,
		scopes: strings.Fields(fmt.Sprint(signedIn.Extra("scope"))), rotations: 3,
	}
	old.secrets(webToken, webGrant)

	// The ClientCredentials token, minted under v0.1.
	serviceToken := old.resource("logs-shipper", v1.OktaScopedTokenSpec{
		OktaDomain: serviceOkta.Issuer(), ClientID: serviceClientID, GrantType: v1.GrantClientCredentials,
		PrivateKeyRef: &v1.PrivateKeyReference{SecretKeyReference: v1.SecretKeyReference{Name: "okta-service-app", Key: "privateKey"}},
		Scopes:        []string{"okta.logs.read"}, SecretName: "logs-shipper-token",
	})
	key, err := okta.ParsePrivateKey(keyPEM, "")
	g.Expect(err).NotTo(HaveOccurred())
	minted, err := (&okta.Client{HTTP: http.DefaultClient, Clock: clock.RealClock{}}).ClientCredentials(ctx,
		okta.Endpoints{Issuer: serviceOkta.Issuer(), TokenEndpoint: serviceOkta.Issuer() + "/oauth2/v1/token"},
		serviceClientID, key, serviceToken.Spec.Scopes)
	g.Expect(err).NotTo(HaveOccurred())
	serviceGrant := v01Grant{accessToken: minted.AccessToken, origin: state.OriginMint, keyThumbprint: key.Thumbprint,
		issuedAt: minted.IssuedAt, expiry: minted.Expiry, scopes: minted.Scopes, rotations: 2}
	old.secrets(serviceToken, serviceGrant)

	webRequests, serviceRequests := webOkta.TokenRequests(), serviceOkta.TokenRequests()
	op := in.start(t, listener, false)
	web := &lifecycle{operator: op, srv: webOkta, namespace: old.namespace, timeout: stepTimeout, obj: webToken}
	service := &lifecycle{operator: op, srv: serviceOkta, namespace: old.namespace, timeout: stepTimeout, obj: serviceToken}

	// The first pass over each: the grant read from v0.1's state Secret is
	// published as it is, described by the token Secret's annotations.
	for _, l := range []*lifecycle{web, service} {
		g.Eventually(func(g Gomega) {
			sec := l.tokenSecret(g)
			g.Expect(sec.Annotations).To(HaveKey(state.AnnotationDigest), "the token Secret of %s describes its token", l.obj.Name)
			g.Expect(state.DecodeTokenSecret(sec).Grant).NotTo(BeNil(), "the token Secret of %s holds a usable grant", l.obj.Name)
			cur := l.current(g)
			ready := meta.FindStatusCondition(cur.Status.Conditions, v1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "Ready of %s: %+v", l.obj.Name, ready)
			g.Expect(cur.Status.AuthorizationURL).To(BeEmpty(), "no sign-in for %s", l.obj.Name)
		}).WithTimeout(stepTimeout).Should(Succeed())
	}
	g.Expect(string(web.tokenSecret(g).Data[v1.TokenSecretAccessToken])).To(Equal(webGrant.accessToken))
	g.Expect(webOkta.TokenRequests()).To(Equal(webRequests), "the renewal v0.1 handled is not handled again")

	// The ClientCredentials token: the same token, now recorded in its
	// token Secret; v0.1's state Secret and finalizer retired.
	g.Eventually(func(g Gomega) {
		g.Expect(service.current(g).Finalizers).NotTo(ContainElement(v1.Finalizer))
		err := env.Client.Get(ctx, service.stateSecretKey(), &corev1.Secret{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "v0.1's state Secret of the ClientCredentials token is deleted (err %v)", err)
	}).WithTimeout(stepTimeout).Should(Succeed())
	kept := state.DecodeTokenSecret(service.tokenSecret(g)).Grant
	g.Expect(kept.AccessToken).To(Equal(serviceGrant.accessToken), "the ClientCredentials token is kept")
	g.Expect(kept.Expiry).To(BeTemporally("==", serviceGrant.expiry.Truncate(time.Second)))
	g.Expect(kept.KeyThumbprint).To(Equal(key.Thumbprint))
	g.Expect(serviceOkta.TokenRequests()).To(Equal(serviceRequests), "no new client-credentials token was requested")
	g.Expect(service.current(g).Status.ExpiresAt.Time).To(BeTemporally("==", serviceGrant.expiry.Truncate(time.Second)))
	g.Expect(service.current(g).Status.Rotations).To(Equal(serviceGrant.rotations), "v0.1's rotation count carries over")

	// The AuthorizationCode token rotates with v0.1's refresh token, once.
	g.Eventually(func(g Gomega) {
		cur := web.current(g)
		cur.Annotations[v1.AnnotationRenewRequestedAt] = time.Now().UTC().Format(time.RFC3339Nano)
		g.Expect(env.Client.Update(ctx, cur)).To(Succeed())
	}).WithTimeout(stepTimeout).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(string(web.tokenSecret(g).Data[v1.TokenSecretAccessToken])).NotTo(Equal(webGrant.accessToken))
		g.Expect(web.current(g).Status.LastRotationTime.Time).To(BeTemporally(">", webGrant.issuedAt))
	}).WithTimeout(stepTimeout).Should(Succeed(), "the token rotates on request")
	g.Expect(webOkta.TokenRequests()).To(Equal(webRequests+1), "one refresh, with the refresh token v0.1 stored")
	cur := web.current(g)
	g.Expect(cur.Status.AuthorizationURL).To(BeEmpty(), "no new sign-in")
	g.Expect(cur.Status.AuthorizedSubject).To(Equal(userName), "who signed in under v0.1 is still known")
	g.Expect(cur.Status.Rotations).To(Equal(webGrant.rotations+1), "v0.1's rotation count goes on")
	stateSecret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, web.stateSecretKey(), stateSecret)).To(Succeed())
	stored := state.Decode(stateSecret)
	g.Expect(stored.Format).To(Equal(state.Format), "the state Secret is rewritten in today's format")
	g.Expect(stateSecret.Annotations).To(HaveKeyWithValue(state.AnnotationOwnerUID, string(webToken.UID)),
		"and bound to the resource's UID")
	g.Expect(stored.Grant).NotTo(BeNil())
	g.Expect(stored.Grant.RefreshToken).NotTo(BeEmpty())
	g.Expect(stored.Grant.RefreshToken).NotTo(Equal(webGrant.refreshToken), "Okta's rotated refresh token is stored")

	// Deleting it revokes the grant v0.1 obtained.
	web.deleteAndRevoke(g)
}
