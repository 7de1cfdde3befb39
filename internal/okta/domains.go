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

// The allowlist of hosts the operator may send credentials to
// (--okta-domains), and the one canonical form of a host that the allowlist
// matches, that per-host state is keyed by, and that errors show.
//
// Whoever may write an OktaScopedToken chooses spec.oktaDomain, so the host
// is hostile input. What matters is the host net/http will dial, not the
// text of the URL: net/http converts a non-ASCII host with
// idna.Lookup.ToASCII (UTS #46 mapping: case folding, width folding,
// compatibility forms) and dials the result, so the allowlist must compare
// exactly that result. Lower-casing the Unicode text instead is a bypass:
// strings.ToLower maps İ (U+0130) to an ASCII "i", so acme.oktaprevİew.com
// looked like it was under oktapreview.com, while net/http dials
// acme.xn--oktapreview-dmg.com, a different, registrable domain.

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
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
	// patterns are in canonical form (see CanonicalHost): a host name or
	// "*." and a host name, in ASCII and lower case, or an IP address.
	patterns []string
}

// ParseDomains reads host patterns: a host name (login.example.com, an
// Okta custom URL domain), or "*." and a host name, where the star stands
// for exactly one DNS label (dev-123456.okta.com matches *.okta.com,
// a.b.okta.com does not). IP addresses are allowed as they are, for local
// development. A pattern is kept in the form hosts are compared in: a name
// given in Unicode is converted to the ASCII form net/http dials
// (*.bücher.example becomes *.xn--bcher-kva.example), so the allowlist and
// the dialler agree on what it names; a pattern IDNA refuses is refused.
func ParseDomains(patterns []string) (*Domains, error) {
	d := &Domains{}
	for _, raw := range patterns {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		p, err := canonicalPattern(raw)
		if err != nil {
			return nil, fmt.Errorf("--okta-domains: %q is not a host name or *.host name pattern: %s",
				Sanitize(asciiLower(raw), 300), err)
		}
		d.patterns = append(d.patterns, p)
	}
	if len(d.patterns) == 0 {
		return nil, fmt.Errorf("--okta-domains is empty: the operator could not reach any Okta org")
	}
	return d, nil
}

// canonicalPattern turns one --okta-domains pattern into canonical form.
// Unlike a host in a URL, a pattern may not end in a dot, carry a port or
// be a URL: it is written by an administrator, and anything but a plain
// name is more likely a mistake than a meaning.
func canonicalPattern(p string) (string, error) {
	rest, wildcard := strings.CutPrefix(p, "*.")
	if !wildcard {
		if a, err := netip.ParseAddr(p); err == nil {
			return canonicalIP(a)
		}
	}
	name, err := dialForm(rest)
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(name, ".") {
		return "", fmt.Errorf("it ends in a dot")
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	if wildcard {
		return "*." + name, nil
	}
	return name, nil
}

// Allows says whether credentials may be sent to host: a host name or IP,
// with or without port, or a URL — anything CanonicalHost takes. A host
// CanonicalHost refuses is not allowed.
func (d *Domains) Allows(host string) bool {
	canonical, err := CanonicalHost(host)
	return err == nil && d.allows(canonical)
}

// allows matches a host already in canonical form. An IP address matches
// only itself: a wildcard is for DNS labels.
func (d *Domains) allows(host string) bool {
	_, ipErr := netip.ParseAddr(host)
	for _, p := range d.patterns {
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			label, parent, found := strings.Cut(host, ".")
			if ipErr != nil && found && label != "" && parent == rest {
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

// String lists the patterns, comma-separated, as the flag takes them, in
// canonical form.
func (d *Domains) String() string { return strings.Join(d.patterns, ",") }

// DomainNotAllowedError says an issuer's host is not on the allowlist.
type DomainNotAllowedError struct {
	// Host is the host in canonical form, the one dialled and compared
	// (see CanonicalHost); empty when it has none (Invalid says why).
	Host string
	// Given is the host as the URL names it, cleaned for display, when
	// that is not ASCII or not a valid host: a person reading
	// acme.oktaprevİew.com would not guess that acme.xn--oktapreview-dmg.com
	// is what was compared. Empty otherwise.
	Given string
	// Allowed lists the allowlist's patterns.
	Allowed string
	// Invalid says why the host has no canonical form; nil when it has one.
	Invalid *InvalidHostError
}

func (e *DomainNotAllowedError) Error() string {
	if e.Invalid != nil {
		return fmt.Sprintf("%s is not one of the Okta domains this operator may send credentials to (%s): %s",
			e.Invalid.Host, e.Allowed, e.Invalid.Reason)
	}
	host := e.Host
	if e.Given != "" {
		host = e.Given + " is dialled as " + e.Host + ", which"
	}
	return fmt.Sprintf("%s is not one of the Okta domains this operator may send credentials to (%s); "+
		"if it is your Okta org (a custom URL domain, for example), an administrator adds it to the operator's "+
		"--okta-domains flag (Helm value oktaDomains)", host, e.Allowed)
}

// Unwrap returns the InvalidHostError, if any, so that errors.As finds it.
func (e *DomainNotAllowedError) Unwrap() error {
	if e.Invalid == nil {
		return nil
	}
	return e.Invalid
}

// CheckURL checks that credentials may be sent to the URL u: its host is
// allowed, and it is https, or http on a loopback address when insecure is
// set (local development). A host with no canonical form (CanonicalHost)
// is refused even with no allowlist (d nil).
func (d *Domains) CheckURL(u string, insecure bool) error {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", Sanitize(u, 200))
	}
	host, hostErr := canonicalURLHost(parsed)
	switch parsed.Scheme {
	case "https":
	case "http":
		if !insecure {
			return &InsecureIssuerError{Issuer: Sanitize(u, 200)}
		}
		if hostErr != nil || !isLoopback(host) {
			return fmt.Errorf("%s is not https; http is accepted only on loopback addresses, "+
				"and only with --allow-insecure-issuers", Sanitize(u, 200))
		}
	default:
		return fmt.Errorf("%q is neither https nor http", Sanitize(u, 200))
	}
	if hostErr != nil {
		invalid, _ := hostErr.(*InvalidHostError)
		if d == nil || invalid == nil {
			return hostErr
		}
		return &DomainNotAllowedError{Given: invalid.Host, Allowed: d.String(), Invalid: invalid}
	}
	if d != nil && !d.allows(host) {
		e := &DomainNotAllowedError{Host: host, Allowed: d.String()}
		if given := parsed.Hostname(); !isASCII(given) {
			e.Given = Sanitize(given, 200)
		}
		return e
	}
	return nil
}

// isLoopback says whether a canonical host is a loopback address or
// localhost, which resolves to one.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
