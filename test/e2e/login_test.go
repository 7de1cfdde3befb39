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

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
)

// TestBrowserSignInIssuesTheToken is the first use of the sample: apply it,
// open the link from its status in a browser, sign in, read the callback
// page, and find the token where the sample says it will be.
func TestBrowserSignInIssuesTheToken(t *testing.T) {
	g := NewWithT(t)
	ctx := newBrowser(t)
	printLogsOnFailure(t)
	tok := applySample(t)

	authURL := waitForAuthorizationURL(t, tok)
	before := getOST(g, tok)
	g.Expect(before).To(HaveKeyWithValue("READY", "False"))
	g.Expect(before).To(HaveKeyWithValue("REASON", "AuthorizationRequired"))

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(authURL))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusOK))
	g.Expect(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("okta-signin-username")))).To(Succeed())
	// Before typing a password, a person checks which app asks for what.
	signIn, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(signIn).To(ContainSubstring("Sign In"))
	g.Expect(signIn).To(ContainSubstring(webClientID))
	g.Expect(signIn).To(ContainSubstring("okta.logs.read"))

	g.Expect(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("okta-signin-username"), userName),
		chromedp.SendKeys(chromedp.ID("okta-signin-password"), userPassword),
	)).To(Succeed())
	saveScreenshot(t, ctx, "signin-page.png")

	resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("okta-signin-submit")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.URL).To(HavePrefix(callbackURL + "?"))
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusOK))
	g.Expect(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("title")))).To(Succeed())
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("title")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(title).To(Equal("Signed in: token issued"))
	facts, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("facts")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(facts).To(ContainSubstring(tok.Namespace + "/" + tok.Name))
	g.Expect(facts).To(ContainSubstring(tok.Namespace + "/" + tok.SecretName))
	g.Expect(facts).To(ContainSubstring(userName))
	g.Expect(facts).To(ContainSubstring("okta.logs.read"))
	g.Expect(facts).To(ContainSubstring("Expires"))
	hint, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("hint")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hint).To(ContainSubstring("You can close this tab"))
	saveScreenshot(t, ctx, "callback-success.png")

	g.Eventually(func(g Gomega) {
		row := getOST(g, tok)
		g.Expect(row).To(HaveKeyWithValue("READY", "True"))
		g.Expect(row).To(HaveKeyWithValue("REASON", "Issued"))
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	out, err := kubectl("get", "ost", tok.Name, "-n", tok.Namespace)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("kubectl get ost:\n%s", out)

	secret, err := getSecret(tok.Namespace, tok.SecretName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(secret.Data).To(HaveKey("access_token"))
	g.Expect(secret.Data).To(HaveKeyWithValue("token_type", []byte("Bearer")))
	g.Expect(secret.Data).To(HaveKey("expiry"))
	g.Expect(secret.Data).To(HaveKey("scope"))
	g.Expect(secret.Data).NotTo(HaveKey("refresh_token"), "the refresh token stays with the operator")
	g.Expect(strings.Fields(string(secret.Data["scope"]))).To(ContainElement("okta.logs.read"))
	expiry, err := time.Parse(time.RFC3339, string(secret.Data["expiry"]))
	g.Expect(err).NotTo(HaveOccurred(), "expiry %q", secret.Data["expiry"])
	g.Expect(expiry).To(BeTemporally("~", time.Now().Add(accessTokenTTL), 2*time.Minute))
	for k, v := range tok.SecretLabels {
		g.Expect(secret.Labels).To(HaveKeyWithValue(k, v), "label from the sample's secretTemplate")
	}

	// What a workload does with the Secret: call Okta's API with it.
	logsURL := devServer.Issuer() + "/api/v1/logs"
	req, err := http.NewRequest(http.MethodGet, logsURL, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+string(secret.Data["access_token"]))
	apiResp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	_ = apiResp.Body.Close()
	g.Expect(apiResp.StatusCode).To(Equal(http.StatusOK), "GET %s with the token", logsURL)
	anonymous, err := http.Get(logsURL)
	g.Expect(err).NotTo(HaveOccurred())
	_ = anonymous.Body.Close()
	g.Expect(anonymous.StatusCode).To(Equal(http.StatusUnauthorized), "GET %s without a token", logsURL)
}

// TestBrowserWrongPasswordThenCancel is a person who mistypes the password,
// sees the sign-in page say so, and then gives up: nothing is stored, the
// callback page says the sign-in was cancelled, and the operator offers a new
// link.
func TestBrowserWrongPasswordThenCancel(t *testing.T) {
	g := NewWithT(t)
	ctx := newBrowser(t)
	printLogsOnFailure(t)
	tok := applySample(t)
	authURL := waitForAuthorizationURL(t, tok)

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(authURL))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusOK))
	g.Expect(chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("okta-signin-username")),
		chromedp.SendKeys(chromedp.ID("okta-signin-username"), userName),
		chromedp.SendKeys(chromedp.ID("okta-signin-password"), "not-"+userPassword),
	)).To(Succeed())
	resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("okta-signin-submit")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.URL).To(HavePrefix(devServer.Issuer() + "/oauth2/v1/authorize?"))
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusUnauthorized))
	g.Expect(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("okta-signin-error")))).To(Succeed())
	message, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("okta-signin-error")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(message).To(ContainSubstring("Unable to sign in"))
	typed, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("okta-signin-username")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(typed).To(Equal(userName), "the form keeps the username for a second try")
	saveScreenshot(t, ctx, "signin-wrong-password.png")

	// A wrong password never reaches the operator: the same link is still
	// the one to use, and no token exists.
	row := getOST(g, tok)
	g.Expect(row).To(HaveKeyWithValue("READY", "False"))
	g.Expect(row).To(HaveKeyWithValue("REASON", "AuthorizationRequired"))
	current, err := kubectl("get", "ost", tok.Name, "-n", tok.Namespace, "-o", "jsonpath={.status.authorizationURL}")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(current).To(Equal(authURL))
	_, err = getSecret(tok.Namespace, tok.SecretName)
	g.Expect(err).To(MatchError(ContainSubstring("NotFound")))

	resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("okta-signin-cancel")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.URL).To(HavePrefix(callbackURL + "?"))
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusForbidden))
	g.Expect(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("title")))).To(Succeed())
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("title")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(title).To(Equal("Sign-in cancelled"))
	message, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("message")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(message).To(ContainSubstring("access_denied"), "the page says what Okta answered")
	hint, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("hint")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hint).To(ContainSubstring("no token was stored"))
	g.Expect(hint).To(ContainSubstring(tok.Namespace + "/" + tok.Name))
	saveScreenshot(t, ctx, "callback-cancelled.png")

	// The page sends the person back to the resource's status for a new
	// link; it must be there, and still no token.
	g.Eventually(func(g Gomega) {
		row := getOST(g, tok)
		g.Expect(row).To(HaveKeyWithValue("READY", "False"))
		g.Expect(row).To(HaveKeyWithValue("REASON", "AuthorizationRequired"))
		next, err := kubectl("get", "ost", tok.Name, "-n", tok.Namespace, "-o", "jsonpath={.status.authorizationURL}")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(next).To(HavePrefix(devServer.Issuer() + "/oauth2/v1/authorize?"))
		g.Expect(next).NotTo(Equal(authURL), "a new sign-in link after the cancelled one")
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	_, err = getSecret(tok.Namespace, tok.SecretName)
	g.Expect(err).To(MatchError(ContainSubstring("NotFound")))
}
