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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Endpoints are an authorization server's endpoints, from its metadata.
type Endpoints struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// IssuerURL is the issuer the operator expects for an org (asID empty) or
// a custom authorization server.
func IssuerURL(domain, asID string) string {
	base := strings.TrimRight(domain, "/")
	if asID == "" {
		return base
	}
	return base + "/oauth2/" + asID
}

// InsecureIssuerError says an http:// issuer was refused.
type InsecureIssuerError struct{ Issuer string }

func (e *InsecureIssuerError) Error() string {
	return fmt.Sprintf("issuer %s is not https; start the operator with --allow-insecure-issuers for local development only", e.Issuer)
}

// Discoverer fetches and caches authorization-server metadata (RFC 8414).
// It is written by hand: the metadata document is one GET and a JSON decode,
// and the OIDC libraries only read /.well-known/openid-configuration, while
// Okta's org authorization server is described best by
// /.well-known/oauth-authorization-server.
//
// What it returns is safe to send credentials to: the issuer is on the
// allowlist and every endpoint is on the issuer's own scheme and host, so a
// document cannot point the operator's requests anywhere else.
type Discoverer struct {
	HTTP  *http.Client
	Clock clock.PassiveClock
	TTL   time.Duration
	// AllowInsecure accepts http:// issuers on loopback addresses.
	AllowInsecure bool
	// Domains is the allowlist of issuer hosts; nil allows any host.
	Domains *Domains
	// FailureTTL is how long a failed discovery is remembered, so that
	// many resources naming one broken issuer ask it once; default 30s.
	FailureTTL time.Duration
	// Timeout bounds one discovery, shorter than a token request's;
	// default 10s.
	Timeout time.Duration

	mu       sync.Mutex
	cache    map[string]cachedEndpoints
	failures map[string]cachedFailure
}

type cachedEndpoints struct {
	ep      Endpoints
	fetched time.Time
}

type cachedFailure struct {
	err   error
	until time.Time
}

// Discover returns the endpoints of the org or custom authorization server.
func (d *Discoverer) Discover(ctx context.Context, domain, asID string) (Endpoints, error) {
	issuer := IssuerURL(domain, asID)
	if err := d.Domains.CheckURL(issuer, d.AllowInsecure); err != nil {
		return Endpoints{}, err
	}
	now := d.Clock.Now()
	d.mu.Lock()
	c, ok := d.cache[issuer]
	f, failed := d.failures[issuer]
	d.mu.Unlock()
	if ok && now.Sub(c.fetched) < d.TTL {
		return c.ep, nil
	}
	if failed && now.Before(f.until) {
		return Endpoints{}, f.err
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, durationOr(d.Timeout, 10*time.Second))
	defer cancel()
	var errs []error
	for _, doc := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		ep, err := d.fetch(ctx, issuer, issuer+doc)
		if err == nil {
			d.mu.Lock()
			if d.cache == nil {
				d.cache = map[string]cachedEndpoints{}
			}
			d.cache[issuer] = cachedEndpoints{ep: ep, fetched: now}
			delete(d.failures, issuer)
			d.mu.Unlock()
			return ep, nil
		}
		if IsHostBusy(err) {
			// Not the issuer's fault: nothing to remember.
			return Endpoints{}, &Error{Class: Busy, Op: "discovering " + issuer, cause: err}
		}
		errs = append(errs, err)
	}
	err := &Error{Class: Transient, Op: "discovering " + issuer, cause: errors.Join(errs...)}
	if caller.Err() != nil {
		// The caller gave up (a browser closed, the operator stopping):
		// that says nothing of the issuer.
		return Endpoints{}, err
	}
	d.mu.Lock()
	if d.failures == nil {
		d.failures = map[string]cachedFailure{}
	}
	d.failures[issuer] = cachedFailure{err: err, until: now.Add(durationOr(d.FailureTTL, 30*time.Second))}
	d.mu.Unlock()
	return Endpoints{}, err
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (d *Discoverer) fetch(ctx context.Context, issuer, docURL string) (Endpoints, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return Endpoints{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.HTTP.Do(req)
	if err != nil {
		return Endpoints{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Endpoints{}, fmt.Errorf("GET %s: HTTP %d", docURL, resp.StatusCode)
	}
	var ep Endpoints
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ep); err != nil {
		return Endpoints{}, fmt.Errorf("GET %s: the answer is not a metadata document", docURL)
	}
	// The issuer must be the one asked for (RFC 8414 section 3.3), or a
	// spoofed document could send tokens elsewhere.
	if strings.TrimRight(ep.Issuer, "/") != strings.TrimRight(issuer, "/") {
		return Endpoints{}, fmt.Errorf("GET %s: issuer %q does not match %q", docURL, Sanitize(ep.Issuer, 200), issuer)
	}
	if ep.AuthorizationEndpoint == "" || ep.TokenEndpoint == "" {
		return Endpoints{}, fmt.Errorf("GET %s: no authorization or token endpoint", docURL)
	}
	base, _ := url.Parse(issuer)
	for name, e := range map[string]string{
		"authorization_endpoint": ep.AuthorizationEndpoint, "token_endpoint": ep.TokenEndpoint,
		"revocation_endpoint": ep.RevocationEndpoint, "jwks_uri": ep.JWKSURI,
	} {
		if e == "" {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil {
			return Endpoints{}, fmt.Errorf("GET %s: %s %q is not on the issuer's own host %s",
				docURL, name, Sanitize(e, 200), base.Host)
		}
	}
	return ep, nil
}

// ForgetOrg drops what is cached of every issuer of org (OrgKey): no
// resource uses it any more.
func (d *Discoverer) ForgetOrg(org string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for issuer := range d.cache {
		if OrgKey(issuer) == org {
			delete(d.cache, issuer)
		}
	}
	for issuer := range d.failures {
		if OrgKey(issuer) == org {
			delete(d.failures, issuer)
		}
	}
}

// Orgs are the orgs the discoverer holds anything of.
func (d *Discoverer) Orgs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := map[string]bool{}
	for issuer := range d.cache {
		seen[OrgKey(issuer)] = true
	}
	for issuer := range d.failures {
		seen[OrgKey(issuer)] = true
	}
	return slices.Sorted(maps.Keys(seen))
}
