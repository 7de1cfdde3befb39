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
