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
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/okta-token-operator/okta-token-operator/dev/testenv"

	"golang.org/x/oauth2"
)

// TestLogsNeverContainSecrets runs every flow and then searches the server's
// log for everything secret that passed through it.
func TestLogsNeverContainSecrets(t *testing.T) {
	env := newTestEnv(t, Config{})
	secrets := map[string]string{
		"client secret": testWebSecret,
		"password":      DemoPassword,
	}

	conf := env.webConfig("openid", "offline_access", "okta.logs.read")
	verifier := oauth2.GenerateVerifier()
	q := callback(t, newBrowser(t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)), DemoUser, DemoPassword), testRedirectURI)
	secrets["code"] = q.Get("code")
	secrets["PKCE verifier"] = verifier
	tok, err := conf.Exchange(env.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
	testenv.Must(t, err)
	secrets["access token"] = tok.AccessToken
	secrets["refresh token"] = tok.RefreshToken
	secrets["ID token"], _ = tok.Extra("id_token").(string)

	refreshed, err := conf.TokenSource(env.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	testenv.Must(t, err)
	secrets["rotated refresh token"] = refreshed.RefreshToken
	secrets["refreshed access token"] = refreshed.AccessToken

	signed := env.rsaAssertion().sign(t)
	secrets["client assertion"] = signed
	cc, err := env.clientCredentials(signed, testServiceRSA, "okta.logs.read")
	testenv.Must(t, err)
	secrets["client-credentials token"] = cc.AccessToken
	// A replayed assertion and a wrong password fail; their failures are
	// logged too.
	_, _ = env.clientCredentials(signed, testServiceRSA, "okta.logs.read")
	newBrowser(t).signIn(conf.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)), DemoUser, "wrong-"+DemoPassword)
	secrets["wrong password"] = "wrong-" + DemoPassword

	env.getWithToken(env.url(pathLogs), cc.AccessToken)
	env.postForm(pathIntrospect, url.Values{"token": {refreshed.AccessToken}}, testWebClientID, testWebSecret)
	env.postForm(pathRevoke, url.Values{"token": {refreshed.RefreshToken}}, testWebClientID, testWebSecret)

	logged := env.logs.String()
	if !strings.Contains(logged, "path=/oauth2/v1/token status=200") || !strings.Contains(logged, "client_id="+testServiceRSA) {
		t.Fatalf("the log does not have the expected request lines:\n%s", logged)
	}
	if !strings.Contains(logged, "path=/oauth2/v1/token status=401") || !strings.Contains(logged, "error=invalid_client") {
		t.Errorf("the failed request is not logged with its error:\n%s", logged)
	}
	for name, secret := range secrets {
		if secret == "" {
			t.Errorf("the flow produced no %s", name)
			continue
		}
		if strings.Contains(logged, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
	// One line per request, none without a status.
	for line := range strings.SplitSeq(strings.TrimSpace(logged), "\n") {
		if !strings.Contains(line, "msg=request") || !strings.Contains(line, " status=") {
			t.Errorf("unexpected log line: %s", line)
		}
	}
	if env.srv.TokenRequests() == 0 {
		t.Error("TokenRequests did not count")
	}
}

// TestLogsNeverContainDPoPProofs runs the DPoP flows, refused ones included,
// and searches the server's log for every proof, token and nonce that passed
// through it. The refusals are logged by their error code.
func TestLogsNeverContainDPoPProofs(t *testing.T) {
	env := newDPoPEnv(t, Config{})
	key := newECDPoPKey(t)
	secrets := map[string]string{}
	tokenURL, logsURL := env.url(pathToken), env.url(pathLogs)
	send := func(name, method, rawURL string, form url.Values, authorization string, p proof) (int, map[string]any, http.Header) {
		signed := p.sign(t)
		secrets[name] = signed
		return env.dpopRequest(method, rawURL, form, authorization, signed)
	}

	_, _, header := send("challenged proof", http.MethodPost, tokenURL, env.dpopAssertionForm(), "", env.proof(key, http.MethodPost, tokenURL, ""))
	nonce := header.Get("DPoP-Nonce")
	secrets["authorization server nonce"] = nonce
	code, verifier := env.signInFor(env.url(pathAuthorize), testDPoPWebID, "openid", "offline_access", "okta.logs.read")
	_, body, _ := send("code exchange proof", http.MethodPost, tokenURL, codeForm(code, verifier), basic(testDPoPWebID, testWebSecret),
		env.proof(key, http.MethodPost, tokenURL, nonce))
	secrets["DPoP access token"], _ = body["access_token"].(string)
	secrets["DPoP refresh token"], _ = body["refresh_token"].(string)
	_, body, _ = send("refresh proof", http.MethodPost, tokenURL,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {secrets["DPoP refresh token"]}}, basic(testDPoPWebID, testWebSecret),
		env.proof(key, http.MethodPost, tokenURL, nonce))
	secrets["refreshed DPoP access token"], _ = body["access_token"].(string)
	secrets["rotated DPoP refresh token"], _ = body["refresh_token"].(string)
	// Refused: the other key at refresh, a replay.
	send("refresh proof by another key", http.MethodPost, tokenURL,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {secrets["rotated DPoP refresh token"]}}, basic(testDPoPWebID, testWebSecret),
		env.proof(rsaDPoPKey(), http.MethodPost, tokenURL, nonce))
	env.dpopRequest(http.MethodPost, tokenURL, env.dpopAssertionForm(), "", secrets["code exchange proof"])

	token := secrets["refreshed DPoP access token"]
	_, _, header = send("challenged resource proof", http.MethodGet, logsURL, nil, "DPoP "+token, env.proof(key, http.MethodGet, logsURL, "").forToken(token))
	secrets["resource server nonce"] = header.Get("DPoP-Nonce")
	status, _, _ := send("resource proof", http.MethodGet, logsURL, nil, "DPoP "+token,
		env.proof(key, http.MethodGet, logsURL, secrets["resource server nonce"]).forToken(token))
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/logs: %d", status)
	}
	env.getWithProofs(logsURL, "Bearer "+token)
	env.introspect(env.url(pathIntrospect), testDPoPWebID, testWebSecret, token)
	send("revocation proof", http.MethodPost, env.url(pathRevoke), url.Values{"token": {secrets["rotated DPoP refresh token"]}},
		basic(testDPoPWebID, testWebSecret), env.proof(key, http.MethodPost, env.url(pathRevoke), nonce))

	logged := env.logs.String()
	for _, want := range []string{"error=use_dpop_nonce", "error=invalid_dpop_proof", "error=invalid_token", "client_id=" + testDPoPWebID} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log lacks %s:\n%s", want, logged)
		}
	}
	for name, secret := range secrets {
		if secret == "" {
			t.Errorf("the flow produced no %s", name)
			continue
		}
		if strings.Contains(logged, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
	for line := range strings.SplitSeq(strings.TrimSpace(logged), "\n") {
		if !strings.Contains(line, "msg=request") || !strings.Contains(line, " status=") {
			t.Errorf("unexpected log line: %s", line)
		}
	}
}
