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

package systemlog

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrForeignLink is returned when Okta's next link leads off the Okta
// domain; the reader stops rather than send the token there.
var ErrForeignLink = errors.New("the next link leaves the Okta domain")

// nextLink returns the target of the rel="next" link in an answer's Link
// headers (RFC 8288), or "" when there is none. Okta sends one Link header
// per relation, but a header may also list several links separated by
// commas.
func nextLink(h http.Header) string {
	for _, value := range h.Values("Link") {
		for rest := value; ; {
			start := strings.IndexByte(rest, '<')
			if start < 0 {
				break
			}
			end := strings.IndexByte(rest[start:], '>')
			if end < 0 {
				break
			}
			target := rest[start+1 : start+end]
			rest = rest[start+end+1:]
			// The link's parameters run to the next link, which starts at
			// the next '<' (a URL inside <> has its own '<' escaped).
			params := rest
			if i := strings.IndexByte(rest, '<'); i >= 0 {
				params = rest[:i]
			}
			if hasRelation(params, "next") {
				return target
			}
		}
	}
	return ""
}

// hasRelation reports whether a link's parameters (`; rel="next"`) include
// the relation; rel may be quoted and may list several relations.
func hasRelation(params, relation string) bool {
	for param := range strings.SplitSeq(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(param), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		value = strings.Trim(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), ",")), `"`)
		for r := range strings.FieldsSeq(value) {
			if strings.EqualFold(r, relation) {
				return true
			}
		}
	}
	return false
}

// resolveNext turns a next link into the URL of the next request. The link
// must stay on the Okta domain the reader was configured with: the next
// request carries the access token, and a link elsewhere would hand it over.
func resolveNext(domain, current *url.URL, link string) (*url.URL, error) {
	ref, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("the next link is not a URL: %w", err)
	}
	next := current.ResolveReference(ref)
	if next.Scheme != domain.Scheme || next.Host != domain.Host {
		return nil, fmt.Errorf("%w: it leads to %s://%s, not to %s://%s; not sending the token there",
			ErrForeignLink, next.Scheme, next.Host, domain.Scheme, domain.Host)
	}
	return next, nil
}
