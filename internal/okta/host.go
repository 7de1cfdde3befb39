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

// The one form of a host the operator dials, compares and keys per-host
// and per-org state by.

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// InvalidHostError says a host has no form the operator would dial: IDNA
// refuses it, or it breaks the rules of DNS host names. Such a host is
// refused outright rather than compared as text: net/http, when IDNA
// refuses a host, dials the raw Unicode instead, and what that reaches
// depends on the resolver.
type InvalidHostError struct {
	// Host is the host as given, cleaned for display.
	Host string
	// Reason says what is wrong with it.
	Reason string
}

func (e *InvalidHostError) Error() string {
	return fmt.Sprintf("%s is not a host name the operator can send requests to: %s", e.Host, e.Reason)
}

// CanonicalHost returns the host the operator dials for rawURL, in the one
// form the allowlist matches and per-host state (such as HostLimiter's) is
// keyed by. rawURL is an absolute URL (https://dev-1.okta.com:8443/oauth2)
// or a bare host, with or without a port (dev-1.okta.com,
// dev-1.okta.com:8443, [::1]:8080, ::1).
//
// The form: a host name in ASCII — converted with idna.Lookup.ToASCII when
// it is not ASCII, exactly as net/http converts it before dialling — in
// lower case, without the root's trailing dot; or an IP address as
// net/netip writes it. The port and any userinfo are left out: the
// allowlist allows a host on every port, and https://evil.com@dev-1.okta.com
// dials dev-1.okta.com.
//
// It fails with *InvalidHostError for what cannot be dialled as a DNS name
// or an IP address: a host IDNA refuses, an empty label, a label over 63
// bytes or a name over 253, a character other than a letter, digit or
// hyphen (an underscore included: IDNA's STD3 rules refuse it in Unicode
// input, and no allowlist pattern can hold one), a label starting or
// ending in a hyphen, a last label that some resolvers read as an IPv4
// address in another notation (2130706433, 0x7f.1, 127.000.000.001), and
// an IPv6 zone (fe80::1%eth0: the operator has no business on a link-local
// network, and Go's dialer ignores a zone it does not know, so
// [::1%x.okta.com] would dial ::1).
func CanonicalHost(rawURL string) (string, error) {
	if strings.Contains(rawURL, "://") {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return "", &InvalidHostError{Host: Sanitize(rawURL, 200), Reason: "it is not an absolute URL with a host"}
		}
		return canonicalURLHost(u)
	}
	host, bracketed := rawURL, false
	if h, port, err := net.SplitHostPort(rawURL); err == nil {
		if !allDigits(port) {
			return "", &InvalidHostError{Host: Sanitize(rawURL, 200), Reason: "its port is not a number"}
		}
		host, bracketed = h, strings.HasPrefix(rawURL, "[")
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host, bracketed = host[1:len(host)-1], true
	}
	return canonicalHostname(host, bracketed)
}

// canonicalURLHost is CanonicalHost of a parsed URL: net/http dials
// u.Hostname(), already percent-decoded by url.Parse (so %C4%B0 is İ here).
func canonicalURLHost(u *url.URL) (string, error) {
	return canonicalHostname(u.Hostname(), strings.HasPrefix(u.Host, "["))
}

// canonicalHostname is CanonicalHost of a host without port; bracketed
// says it came in [brackets], which only an IPv6 address may.
func canonicalHostname(host string, bracketed bool) (string, error) {
	invalid := func(format string, args ...any) error {
		return &InvalidHostError{Host: Sanitize(host, 200), Reason: fmt.Sprintf(format, args...)}
	}
	if host == "" {
		return "", invalid("there is no host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if bracketed && !a.Is6() {
			return "", invalid("only an IPv6 address goes in brackets")
		}
		ip, err := canonicalIP(a)
		if err != nil {
			return "", invalid("%s", err)
		}
		return ip, nil
	}
	if bracketed {
		return "", invalid("what is in brackets is not an IPv6 address")
	}
	name, err := dialForm(host)
	if err != nil {
		return "", invalid("%s", err)
	}
	// IDNA may map Unicode to an IP address (１２７.０.０.１, fullwidth
	// digits, is dialled as 127.0.0.1): it is then one. Checked before
	// the trailing dot goes: 127.0.0.1. is a DNS name, looked up as one.
	if a, err := netip.ParseAddr(name); err == nil {
		ip, err := canonicalIP(a)
		if err != nil {
			return "", invalid("%s", err)
		}
		return ip, nil
	}
	// dev-1.okta.com. and dev-1.okta.com are one host to DNS, TLS and
	// the allowlist; keying them apart would split a host's state.
	name = strings.TrimSuffix(name, ".")
	if err := checkName(name); err != nil {
		return "", invalid("%s", err)
	}
	return name, nil
}

// dialForm is the name net/http dials for host: host itself when it is
// ASCII (net/http then converts nothing), idna.Lookup.ToASCII of it
// otherwise (net/http's idnaASCII, in transport.go's canonicalAddr), in
// lower case. ToASCII folds case and width itself, so the result is what
// is dialled; strings.ToLower on the Unicode text is not (see the file's
// opening).
func dialForm(host string) (string, error) {
	if isASCII(host) {
		return asciiLower(host), nil
	}
	// idna replaces bytes that are not UTF-8 and converts the rest, so
	// net/http dials something; no one meant that name.
	if !utf8.ValidString(host) {
		return "", fmt.Errorf("it is not valid UTF-8")
	}
	name, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", fmt.Errorf("IDNA, which converts it to the name that is dialled, refuses it (%s)", Sanitize(err.Error(), 200))
	}
	return asciiLower(name), nil
}

// canonicalIP is the canonical form of an IP address. A zone is refused:
// it names a network interface, the operator has no business on a
// link-local network, and Go's dialer treats a zone it does not know as no
// zone at all.
func canonicalIP(a netip.Addr) (string, error) {
	if a.Zone() != "" {
		return "", fmt.Errorf("an IPv6 zone (%%%s) is not allowed", Sanitize(a.Zone(), 50))
	}
	return a.String(), nil
}

// checkName checks an ASCII, lower-case DNS name without trailing dot
// against the rules of host names (RFC 1123) and DNS's length limits.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("there is no host")
	}
	if len(name) > 253 {
		return fmt.Errorf("it is %d bytes long, more than DNS's 253", len(name))
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		switch {
		case label == "":
			return fmt.Errorf("it has an empty label")
		case len(label) > 63:
			return fmt.Errorf("its label %q is %d bytes long, more than DNS's 63", label, len(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("its label %q starts or ends in a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%q is not a letter, digit or hyphen", rune(c))
			}
		}
	}
	// A URL parser (WHATWG's) and the C library's resolver (inet_aton)
	// read a name ending in a number as an IPv4 address: 0x7f.1 and
	// 2130706433 are 127.0.0.1 to them. No top-level domain is numeric.
	if last := labels[len(labels)-1]; allDigits(last) || strings.HasPrefix(last, "0x") {
		return fmt.Errorf("it ends in a number, which may be read as an IPv4 address in another notation")
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// OrgKey is what per-org state is keyed by (the rate-limit budget and its
// metrics, the discovery caches, the key sets, the DPoP nonces): the host of
// an issuer or endpoint URL as it is dialled (CanonicalHost), with the
// scheme's default port left out and another port kept (development
// servers on one address). Every authorization server of an org has the
// org's host, so they share it.
func OrgKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return strings.ToLower(rawURL)
	}
	host, err := CanonicalHost(u.Hostname())
	if err != nil {
		host = strings.ToLower(u.Hostname())
	}
	port := u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return host
	}
	return net.JoinHostPort(host, port)
}
