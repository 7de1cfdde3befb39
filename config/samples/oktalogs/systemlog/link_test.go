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
	"net/http"
	"net/url"
	"testing"
)

func TestSystemLogNextLink(t *testing.T) {
	cases := map[string]struct {
		links []string
		want  string
	}{
		"Okta's two headers": {
			links: []string{`<https://o.okta.com/api/v1/logs?limit=2>; rel="self"`, `<https://o.okta.com/api/v1/logs?limit=2&after=abc>; rel="next"`},
			want:  "https://o.okta.com/api/v1/logs?limit=2&after=abc",
		},
		"one header, comma-separated": {
			links: []string{`<https://o.okta.com/a?x=1>; rel="self", <https://o.okta.com/a?after=b>; rel="next"`},
			want:  "https://o.okta.com/a?after=b",
		},
		"unquoted, other case": {links: []string{`<https://o.okta.com/n>; REL=next`}, want: "https://o.okta.com/n"},
		"one of several relations": {
			links: []string{`<https://o.okta.com/n>; title="x"; rel="prefetch next"`},
			want:  "https://o.okta.com/n",
		},
		"self only: the end":  {links: []string{`<https://o.okta.com/api/v1/logs>; rel="self"`}, want: ""},
		"no Link header":      {links: nil, want: ""},
		"nextish is not next": {links: []string{`<https://o.okta.com/n>; rel="next-archive"`}, want: ""},
		"broken header":       {links: []string{`<https://o.okta.com/n; rel="next"`}, want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			for _, l := range tc.links {
				h.Add("Link", l)
			}
			if got := nextLink(h); got != tc.want {
				t.Errorf("nextLink = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSystemLogNextLinkStaysOnTheOktaDomain: the next request carries the
// token, so a next link may not lead anywhere else.
func TestSystemLogNextLinkStaysOnTheOktaDomain(t *testing.T) {
	domain, _ := url.Parse("https://dev-123456.okta.com")
	current, _ := url.Parse("https://dev-123456.okta.com/api/v1/logs?limit=10")
	cases := map[string]struct {
		link    string
		want    string
		foreign bool
	}{
		"absolute, same domain": {link: "https://dev-123456.okta.com/api/v1/logs?after=x", want: "https://dev-123456.okta.com/api/v1/logs?after=x"},
		"relative":              {link: "/api/v1/logs?after=x", want: "https://dev-123456.okta.com/api/v1/logs?after=x"},
		"another host":          {link: "https://attacker.example/api/v1/logs?after=x", foreign: true},
		"another port":          {link: "https://dev-123456.okta.com:8443/api/v1/logs", foreign: true},
		"plain http":            {link: "http://dev-123456.okta.com/api/v1/logs", foreign: true},
		"scheme-relative":       {link: "//attacker.example/api/v1/logs", foreign: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := resolveNext(domain, current, tc.link)
			if tc.foreign {
				if !errors.Is(err, ErrForeignLink) {
					t.Fatalf("resolveNext(%q) = %v, %v; want ErrForeignLink", tc.link, got, err)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("resolveNext(%q) = %v, %v; want %s", tc.link, got, err, tc.want)
			}
		})
	}
}
