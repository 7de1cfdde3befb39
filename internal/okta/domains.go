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

package okta

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultDomains are Okta's own domains: the hosts the operator may send
// credentials to unless told otherwise (--okta-domains).
var DefaultDomains = []string{"*.okta.com", "*.oktapreview.com", "*.okta-emea.com"}

// Domains is the allowlist of hosts the operator may send credentials to.
// Anyone who may write an OktaScopedToken chooses its oktaDomain; without
// the allowlist, that person could make the operator send a Secret of their
// namespace — one they may not be able to read — to a server of their
// choosing.
type Domains struct {
	patterns []string
}

// ParseDomains reads host patterns: a host name (login.example.com, an
// Okta custom URL domain), or "*." and a host name, where the star stands
// for exactly one DNS label (dev-123456.okta.com matches *.okta.com,
// a.b.okta.com does not). IP addresses are allowed as they are, for local
// development.
func ParseDomains(patterns []string) (*Domains, error) {
	d := &Domains{}
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		host := strings.TrimPrefix(p, "*.")
		if net.ParseIP(host) == nil || host != p {
			if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
				return nil, fmt.Errorf("--okta-domains: %q is not a host name or *.host name pattern: %s", p, strings.Join(errs, "; "))
			}
		}
		d.patterns = append(d.patterns, p)
	}
	if len(d.patterns) == 0 {
		return nil, fmt.Errorf("--okta-domains is empty: the operator could not reach any Okta org")
	}
	return d, nil
}

// Allows says whether credentials may be sent to host (a host name or IP,
// without port).
func (d *Domains) Allows(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, p := range d.patterns {
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			label, parent, found := strings.Cut(host, ".")
			if found && label != "" && parent == rest {
				return true
			}
			continue
		}
		if host == p {
			return true
		}
	}
	return false
}

// String lists the patterns, comma-separated, as the flag takes them.
func (d *Domains) String() string { return strings.Join(d.patterns, ",") }

// DomainNotAllowedError says an issuer's host is not on the allowlist.
type DomainNotAllowedError struct {
	Host    string
	Allowed string
}

func (e *DomainNotAllowedError) Error() string {
	return fmt.Sprintf("%s is not one of the Okta domains this operator may send credentials to (%s); "+
		"if it is your Okta org (a custom URL domain, for example), an administrator adds it to the operator's "+
		"--okta-domains flag (Helm value oktaDomains)", e.Host, e.Allowed)
}

// CheckURL checks that credentials may be sent to the URL u: its host is
// allowed, and it is https, or http on a loopback address when insecure is
// set (local development).
func (d *Domains) CheckURL(u string, insecure bool) error {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", Sanitize(u, 200))
	}
	host := parsed.Hostname()
	switch parsed.Scheme {
	case "https":
	case "http":
		if !insecure {
			return &InsecureIssuerError{Issuer: Sanitize(u, 200)}
		}
		if !isLoopback(host) {
			return fmt.Errorf("%s is not https; http is accepted only on loopback addresses, "+
				"and only with --allow-insecure-issuers", Sanitize(u, 200))
		}
	default:
		return fmt.Errorf("%q is neither https nor http", Sanitize(u, 200))
	}
	if d != nil && !d.Allows(host) {
		return &DomainNotAllowedError{Host: Sanitize(host, 200), Allowed: d.String()}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
