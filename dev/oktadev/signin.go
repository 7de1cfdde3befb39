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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// SignIn plays the person at a browser with a plain HTTP client: it opens
// authURL, fills the first form on the page with username and password
// (keeping its hidden fields, such as the CSRF token), submits it, follows
// the redirects to the callback, and returns the final response's status and
// body. When cancel is true it presses the form's cancel button instead.
func SignIn(authURL, username, password string, cancel bool) (int, string, error) {
	return signIn(authURL, username, password, cancel, nil)
}

// Authorize signs in like SignIn but stops at Okta's redirect and returns
// the callback URL it points to (with code and state), without calling it.
func Authorize(authURL, username, password string) (*url.URL, error) {
	var callback *url.URL
	stop := errors.New("stopped at the redirect")
	_, body, err := signIn(authURL, username, password, false, func(u *url.URL) error {
		if u.Query().Get("code") != "" || u.Query().Get("error") != "" {
			callback = u
			return stop
		}
		return nil
	})
	if callback != nil {
		return callback, nil
	}
	if err == nil {
		err = fmt.Errorf("no redirect to the callback; the page said: %.300s", body)
	}
	return nil, err
}

func signIn(authURL, username, password string, cancel bool, onRedirect func(*url.URL) error) (int, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if onRedirect != nil {
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error { return onRedirect(req.URL) }
	}
	resp, err := c.Get(authURL)
	if err != nil {
		return 0, "", err
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(page), fmt.Errorf("sign-in page answered %d", resp.StatusCode)
	}
	action, fields, err := parseForm(string(page))
	if err != nil {
		return 0, string(page), err
	}
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		return 0, "", err
	}
	fields.Set("username", username)
	fields.Set("password", password)
	if cancel {
		fields.Set("action", "cancel")
	}
	resp, err = c.PostForm(target.String(), fields)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// parseForm returns the first form's action and its hidden inputs.
func parseForm(page string) (string, url.Values, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil, err
	}
	var action string
	found := false
	fields := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch {
			case n.Data == "form" && !found:
				found = true
				action = attrs["action"]
			case n.Data == "input" && found && attrs["type"] == "hidden" && attrs["name"] != "":
				fields.Set(attrs["name"], attrs["value"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !found {
		return "", nil, errors.New("no form on the sign-in page")
	}
	return action, fields, nil
}
