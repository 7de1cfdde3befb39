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

package policy

import "testing"

func TestSubjectAllowed(t *testing.T) {
	// Who signed in, as a verified ID token names them: Okta's user id,
	// the email and the login (preferred_username).
	type person struct{ sub, email, login string }
	alice := person{sub: "00u1alice", email: "alice@example.com", login: "alice@example.com"}
	tests := map[string]struct {
		allowed []string
		who     person
		want    bool
	}{
		"no list: anyone who can sign in":   {allowed: nil, who: alice, want: true},
		"an empty list: anyone":             {allowed: []string{}, who: alice, want: true},
		"the login":                         {allowed: []string{"alice@example.com"}, who: alice, want: true},
		"the login in other case":           {allowed: []string{"Alice@Example.COM"}, who: alice, want: true},
		"a login in other case than listed": {allowed: []string{"alice@example.com"}, who: person{login: "ALICE@EXAMPLE.COM"}, want: true},
		"the email when the login differs": {allowed: []string{"alice@mail.example.com"},
			who: person{sub: "00u1alice", email: "alice@mail.example.com", login: "alice"}, want: true},
		"the login when there is no email": {allowed: []string{"alice"}, who: person{login: "alice"}, want: true},
		"someone else":                     {allowed: []string{"bob@example.com"}, who: alice, want: false},
		"a longer name ending the same":    {allowed: []string{"alice@example.com"}, who: person{login: "malice@example.com"}, want: false},
		"a prefix of the name":             {allowed: []string{"alice@example.com"}, who: person{login: "alice@example.co"}, want: false},
		"one of several":                   {allowed: []string{"bob@example.com", "alice@example.com"}, who: alice, want: true},

		"the user id":                    {allowed: []string{"00u1alice"}, who: alice, want: true},
		"the user id in other case":      {allowed: []string{"00U1ALICE"}, who: alice, want: false},
		"another user id":                {allowed: []string{"00u1bob"}, who: alice, want: false},
		"a user id is not a login":       {allowed: []string{"00u1alice"}, who: person{login: "00u1alice@example.com"}, want: false},
		"a login listed, only a user id": {allowed: []string{"alice@example.com"}, who: person{sub: "00u1alice"}, want: false},

		"a domain":                            {allowed: []string{"*@example.com"}, who: alice, want: true},
		"a domain in other case":              {allowed: []string{"*@EXAMPLE.com"}, who: person{email: "Alice@Example.Com"}, want: true},
		"a domain, by email only":             {allowed: []string{"*@example.com"}, who: person{email: "alice@example.com", login: "alice"}, want: true},
		"a domain, not its subdomain":         {allowed: []string{"*@example.com"}, who: person{login: "alice@eu.example.com"}, want: false},
		"a domain, not its parent":            {allowed: []string{"*@eu.example.com"}, who: alice, want: false},
		"a domain under another domain":       {allowed: []string{"*@example.com"}, who: person{login: "eve@example.com.evil.test"}, want: false},
		"a look-alike with a hyphen":          {allowed: []string{"*@example.com"}, who: person{login: "eve@evil-example.com"}, want: false},
		"a look-alike without a dot":          {allowed: []string{"*@example.com"}, who: person{login: "eve@evilexample.com"}, want: false},
		"an address with two at signs":        {allowed: []string{"*@example.com"}, who: person{login: "eve@example.com@evil.test"}, want: false},
		"the domain's name in the local part": {allowed: []string{"*@example.com"}, who: person{login: "example.com@evil.test"}, want: false},
		"no local part":                       {allowed: []string{"*@example.com"}, who: person{login: "@example.com"}, want: false},
		"no at sign":                          {allowed: []string{"*@example.com"}, who: person{login: "example.com"}, want: false},
		"only a user id against a domain":     {allowed: []string{"*@example.com"}, who: person{sub: "00u1alice"}, want: false},

		"subdomains":                             {allowed: []string{"*@*.example.com"}, who: person{login: "alice@eu.example.com"}, want: true},
		"subdomains, several levels":             {allowed: []string{"*@*.example.com"}, who: person{login: "alice@a.b.example.com"}, want: true},
		"subdomains, not the domain itself":      {allowed: []string{"*@*.example.com"}, who: alice, want: false},
		"subdomains, not an empty label":         {allowed: []string{"*@*.example.com"}, who: person{login: "eve@.example.com"}, want: false},
		"subdomains, not a look-alike":           {allowed: []string{"*@*.example.com"}, who: person{login: "eve@evil-example.com"}, want: false},
		"subdomains, not under another domain":   {allowed: []string{"*@*.example.com"}, who: person{login: "eve@eu.example.com.evil.test"}, want: false},
		"subdomains, not a suffix without a dot": {allowed: []string{"*@*.example.com"}, who: person{login: "eve@evilexample.com"}, want: false},
		"the domain and its subdomains":          {allowed: []string{"*@example.com", "*@*.example.com"}, who: person{login: "alice@eu.example.com"}, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := SubjectAllowed(tc.allowed, tc.who.sub, tc.who.email, tc.who.login); got != tc.want {
				t.Fatalf("SubjectAllowed(%q, sub %q, email %q, login %q) = %v, want %v",
					tc.allowed, tc.who.sub, tc.who.email, tc.who.login, got, tc.want)
			}
		})
	}
}
