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

// Command okta-dev-server runs an Okta-compatible development authorization
// server (package dev/oktadev): Okta's org authorization server
// endpoints, custom authorization servers, a sign-in page, GET /api/v1/logs,
// DPoP, rate limits and fault injection. With no flags it registers a demo web app
// and a demo user and prints how to use them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

type options struct {
	addr, issuer                 string
	accessTTL, refreshTTL, grace time.Duration
	rateLimit, tokenRateLimit    int
	clientID, clientSecret       string
	authMethod                   string
	redirectURIs, users          listFlag
	scopes, serviceScopes        string
	usersFile                    string
	demoUser                     bool
	serviceClients, faults       listFlag
	secretServiceClients         listFlag
	authorizationServers         listFlag
	requireDPoP                  listFlag
	resourceDPoPNonce            bool
	logFormat                    string
}

var defaultRedirectURIs = []string{"http://127.0.0.1:8082/callback", "http://localhost:8082/callback"}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "okta-dev-server:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("okta-dev-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `Usage: okta-dev-server [flags]

An Okta-compatible development authorization server. Never use it for anything
real. It serves:
  - Okta's org authorization server: /oauth2/v1/authorize, token, revoke,
    introspect, keys, userinfo, and /.well-known metadata; it mints okta.*
    scopes, and service apps must use private_key_jwt with it;
  - custom authorization servers (--authorization-server): the same endpoints
    under /oauth2/{id}/v1/ with issuer /oauth2/{id}; they mint their own scopes
    and accept client secrets from service apps;
  - GET /api/v1/logs, the System Log, for org access tokens with okta.logs.read;
  - DPoP (RFC 9449) as Okta does it: a token request with a DPoP proof gets a
    DPoP-bound token (token_type DPoP); the first proof is answered with
    use_dpop_nonce and a DPoP-Nonce header; --require-dpop makes an app's
    token requests need a proof, like Okta's "Require DPoP header" checkbox;
    /api/v1/logs wants "Authorization: DPoP" and a proof with its own nonce;
  - per-minute rate limits with X-Rate-Limit-* headers, and, for loopback
    clients only, /admin/faults.

Flags:
`)
		fs.PrintDefaults()
		_, _ = fmt.Fprint(stderr, `
Examples:
  okta-dev-server --addr 127.0.0.1:9090 --access-token-ttl 2m
  okta-dev-server --service-client 0oaservice00000000001=service-public.pem --fault 503:3
  okta-dev-server --authorization-server default=logs:read --service-client-secret 0oaservice00000000002=s3cret
  okta-dev-server --rate-limit 600 --token-rate-limit 6000
  okta-dev-server --service-client 0oaservice00000000001=service-public.pem --require-dpop 0oaservice00000000001
  curl -X POST http://127.0.0.1:9090/admin/faults -d '{"status":429,"count":2,"resetAfter":"30s"}'
`)
	}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9090", "Address to listen on.")
	fs.StringVar(&o.issuer, "issuer", "", "Issuer URL, if clients reach the server at another URL than http://ADDR.")
	fs.DurationVar(&o.accessTTL, "access-token-ttl", time.Hour, "Access-token lifetime.")
	fs.DurationVar(&o.refreshTTL, "refresh-token-ttl", 90*24*time.Hour, "Refresh-token lifetime.")
	fs.DurationVar(&o.grace, "refresh-grace-period", 30*time.Second,
		"How long a rotated refresh token still works; negative for none. Reuse after it revokes the whole grant.")
	fs.IntVar(&o.rateLimit, "rate-limit", 600, "Requests per minute each endpoint answers before it answers 429.")
	fs.IntVar(&o.tokenRateLimit, "token-rate-limit", 0,
		"Requests per minute the token endpoints answer before they answer 429 (the org authorization server's, and "+
			"one bucket shared by every custom authorization server's, as at Okta). Default: --rate-limit.")
	fs.StringVar(&o.clientID, "client-id", oktadev.DemoWebClientID, "Client ID of the demo web app.")
	fs.StringVar(&o.clientSecret, "client-secret", oktadev.DemoWebClientSecret, "Client secret of the demo web app.")
	fs.StringVar(&o.authMethod, "client-auth-method", "client_secret_basic",
		"How the demo web app authenticates: client_secret_basic or client_secret_post.")
	fs.Var(&o.redirectURIs, "redirect-uri",
		"Sign-in redirect URI of the demo web app; repeatable. Default: "+strings.Join(defaultRedirectURIs, " and ")+".")
	fs.StringVar(&o.scopes, "scopes", "okta.logs.read,okta.users.read",
		"okta.* scopes granted to the demo web app, comma-separated.")
	fs.StringVar(&o.serviceScopes, "service-scopes", "",
		"okta.* scopes granted to service apps, comma-separated. Default: --scopes.")
	fs.Var(&o.users, "user", `Extra user "username:password"; repeatable.`)
	fs.StringVar(&o.usersFile, "users-file", "", `File of extra users, one "username:password" per line.`)
	fs.BoolVar(&o.demoUser, "demo-user", true, "Register the demo user "+oktadev.DemoUser+".")
	fs.Var(&o.serviceClients, "service-client",
		"Service app CLIENT_ID=PATH (private_key_jwt); PATH holds its public keys as a JWKS, a JWK or PEM. Repeatable.")
	fs.Var(&o.secretServiceClients, "service-client-secret",
		"Service app CLIENT_ID=SECRET (client_secret_basic); custom authorization servers only, as at Okta. Repeatable.")
	fs.Var(&o.authorizationServers, "authorization-server",
		"Custom authorization server ID=SCOPE[,SCOPE...] (e.g. default=logs:read), served under /oauth2/ID. Repeatable.")
	fs.Var(&o.faults, "fault",
		`Fault for the next token requests: STATUS[:N|:DURATION] or hang=DURATION[:N|:DURATION], `+
			`e.g. 503:3 (three 503s), 429 (one), 500:2m (for two minutes), hang=30s:1. Repeatable.`)
	fs.Var(&o.requireDPoP, "require-dpop",
		"Apps whose token requests must carry a DPoP proof, CLIENT_ID[,CLIENT_ID...]: the demo web app (--client-id) "+
			"or a --service-client or --service-client-secret app, as Okta's \"Require Demonstrating Proof of Possession "+
			"(DPoP) header in token requests\". Other apps get DPoP-bound tokens only when they send a proof. Repeatable.")
	fs.BoolVar(&o.resourceDPoPNonce, "resource-dpop-nonce", true,
		"Make /api/v1/logs demand a DPoP nonce of its own in the proofs that come with DPoP-bound tokens, as Okta's resource servers do.")
	fs.StringVar(&o.logFormat, "log-format", "text", "Request log format on stderr: text or json.")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(o.redirectURIs) == 0 {
		o.redirectURIs = defaultRedirectURIs
	}
	if o.serviceScopes == "" {
		o.serviceScopes = o.scopes
	}
	if o.tokenRateLimit == 0 {
		o.tokenRateLimit = o.rateLimit
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var handler slog.Handler
	switch o.logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	default:
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}

	srv, err := oktadev.New(serverConfig(o, slog.New(handler)))
	if err != nil {
		return err
	}
	setup, err := register(srv, o)
	if err != nil {
		return err
	}

	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if err := srv.Start(l); err != nil {
		return err
	}
	printBanner(stdout, srv, o, setup)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_, _ = fmt.Fprintln(stdout, "Shutting down.")
	return srv.Close()
}

// serverConfig is the server's configuration from the flags.
func serverConfig(o options, logger *slog.Logger) oktadev.Config {
	return oktadev.Config{
		Issuer:                   o.issuer,
		AccessTokenTTL:           o.accessTTL,
		RefreshTokenTTL:          o.refreshTTL,
		RefreshGracePeriod:       o.grace,
		RateLimitPerMinute:       o.rateLimit,
		TokenRateLimitPerMinute:  o.tokenRateLimit,
		DisableResourceDPoPNonce: !o.resourceDPoPNonce,
		Logger:                   logger,
	}
}

// registered is what register set up, for the banner.
type registered struct {
	users                []string
	serviceClients       []string
	secretServiceClients []string
	authorizationServers []oktadev.AuthorizationServer
	// requireDPoP are the apps that require DPoP, in the order registered.
	requireDPoP []string
	faults      []string
}

func register(srv *oktadev.Server, o options) (registered, error) {
	var r registered
	// needsDPoP reports whether --require-dpop names an app, and notes that
	// the name matched one, so that a name matching none (a typo would
	// otherwise leave an app without DPoP, silently) is refused at the end.
	wantDPoP, matched := map[string]bool{}, map[string]bool{}
	for _, spec := range o.requireDPoP {
		ids := splitList(spec)
		if len(ids) == 0 {
			return r, errors.New("--require-dpop: want CLIENT_ID[,CLIENT_ID...]")
		}
		for _, id := range ids {
			wantDPoP[id] = true
		}
	}
	needsDPoP := func(id string) bool {
		if wantDPoP[id] && !matched[id] {
			matched[id] = true
			r.requireDPoP = append(r.requireDPoP, id)
		}
		return wantDPoP[id]
	}

	if err := srv.AddWebClient(oktadev.WebClient{
		ID:                      o.clientID,
		Secret:                  o.clientSecret,
		RedirectURIs:            o.redirectURIs,
		GrantedScopes:           splitList(o.scopes),
		RequirePKCE:             true,
		TokenEndpointAuthMethod: o.authMethod,
		RequireDPoP:             needsDPoP(o.clientID),
	}); err != nil {
		return r, err
	}

	var users []oktadev.User
	if o.demoUser {
		users = append(users, oktadev.User{
			Username: oktadev.DemoUser, Password: oktadev.DemoPassword, Name: oktadev.DemoUserName,
		})
	}
	for _, spec := range o.users {
		u, err := parseUser(spec)
		if err != nil {
			return r, fmt.Errorf("--user: %w", err)
		}
		users = append(users, u)
	}
	if o.usersFile != "" {
		fromFile, err := readUsersFile(o.usersFile)
		if err != nil {
			return r, err
		}
		users = append(users, fromFile...)
	}
	for _, u := range users {
		if err := srv.AddUser(u); err != nil {
			return r, err
		}
		r.users = append(r.users, u.Username)
	}

	for _, spec := range o.serviceClients {
		id, path, ok := strings.Cut(spec, "=")
		if !ok || id == "" || path == "" {
			return r, fmt.Errorf("--service-client %q: want CLIENT_ID=PATH", spec)
		}
		keys, err := readPublicKeys(path)
		if err != nil {
			return r, fmt.Errorf("--service-client %s: %w", id, err)
		}
		client := oktadev.ServiceClient{ID: id, JWKS: keys, GrantedScopes: splitList(o.serviceScopes), RequireDPoP: needsDPoP(id)}
		if err := srv.AddServiceClient(client); err != nil {
			return r, err
		}
		kids := make([]string, 0, len(keys.Keys))
		for _, k := range keys.Keys {
			kids = append(kids, k.KeyID)
		}
		r.serviceClients = append(r.serviceClients, fmt.Sprintf("%s (kid %s)", id, strings.Join(kids, ", ")))
	}

	for _, spec := range o.secretServiceClients {
		id, secret, ok := strings.Cut(spec, "=")
		if !ok || id == "" || secret == "" {
			// Never echo the value: it may be the secret itself.
			return r, errors.New("--service-client-secret: want CLIENT_ID=SECRET")
		}
		if err := srv.AddServiceClient(oktadev.ServiceClient{ID: id, Secret: secret, RequireDPoP: needsDPoP(id)}); err != nil {
			return r, err
		}
		r.secretServiceClients = append(r.secretServiceClients, id)
	}
	if len(matched) < len(wantDPoP) {
		var unknown []string
		for _, id := range slices.Sorted(maps.Keys(wantDPoP)) {
			if !matched[id] {
				unknown = append(unknown, id)
			}
		}
		return r, fmt.Errorf("--require-dpop: no app %s is registered (name the demo web app or a service app)",
			strings.Join(unknown, ", "))
	}

	for _, spec := range o.authorizationServers {
		id, scopes, _ := strings.Cut(spec, "=")
		as := oktadev.AuthorizationServer{ID: id, Scopes: splitList(scopes)}
		if err := srv.AddAuthorizationServer(as); err != nil {
			return r, fmt.Errorf("--authorization-server: %w", err)
		}
		r.authorizationServers = append(r.authorizationServers, as)
	}

	for _, spec := range o.faults {
		f, err := oktadev.ParseFault(spec, time.Now())
		if err != nil {
			return r, fmt.Errorf("--fault: %w", err)
		}
		srv.InjectFault(f)
		r.faults = append(r.faults, spec)
	}
	return r, nil
}

func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func printBanner(w io.Writer, srv *oktadev.Server, o options, r registered) {
	issuer := srv.Issuer()
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format+"\n", args...) }
	p("okta-dev-server: an Okta-compatible development authorization server. Not Okta; never use it for anything real.")
	p("")
	p("Issuer:          %s", issuer)
	p("Metadata:        %s/.well-known/openid-configuration", issuer)
	p("                 %s/.well-known/oauth-authorization-server", issuer)
	p("Token endpoint:  %s/oauth2/v1/token", issuer)
	p("System Log API:  %s/api/v1/logs (needs an okta.logs.read access token)", issuer)
	p("Access tokens:   %s; refresh tokens: %s, rotating, grace period %s", o.accessTTL, o.refreshTTL, o.grace)
	p("Rate limits:     %d requests per minute per endpoint, %d per token endpoint", o.rateLimit, o.tokenRateLimit)
	p("")
	p("Web app (authorization code + PKCE S256, %s):", o.authMethod)
	p("  client_id:     %s", o.clientID)
	p("  client_secret: %s", o.clientSecret)
	for i, uri := range o.redirectURIs {
		label := "redirect URIs:"
		if i > 0 {
			label = ""
		}
		p("  %-14s %s", label, uri)
	}
	p("  granted scopes: %s (plus openid, profile, email, offline_access)", strings.Join(splitList(o.scopes), " "))
	p("")
	if len(r.users) > 0 {
		p("Users:")
		for _, u := range r.users {
			if u == oktadev.DemoUser && o.demoUser {
				p("  %s / %s", u, oktadev.DemoPassword)
			} else {
				p("  %s", u)
			}
		}
	} else {
		p("Users: none (add --user name:password or --users-file)")
	}
	p("")
	if len(r.serviceClients) > 0 {
		p("Service apps (client credentials, private_key_jwt, RS256 or ES256), granted %s:",
			strings.Join(splitList(o.serviceScopes), " "))
		for _, c := range r.serviceClients {
			p("  %s", c)
		}
	} else {
		p("Service apps: none. Register one with its public key:")
		p("  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out service.key")
		p("  openssl pkey -in service.key -pubout -out service.pub")
		p("  okta-dev-server --service-client 0oaservice00000000001=service.pub")
		p("  (a JWKS or JWK file works too; the assertion's aud must be %s/oauth2/v1/token)", issuer)
	}
	p("")
	if len(r.secretServiceClients) > 0 {
		p("Service apps with a client secret (client_secret_basic, custom authorization servers only): %s",
			strings.Join(r.secretServiceClients, ", "))
		p("")
	}
	if len(r.authorizationServers) > 0 {
		p("Custom authorization servers (their own scopes and the OpenID Connect ones, never okta.*):")
		for _, as := range r.authorizationServers {
			p("  %s  scopes: %s", srv.AuthorizationServerIssuer(as.ID), strings.Join(as.Scopes, " "))
		}
		p("")
	}
	if len(r.requireDPoP) > 0 {
		p("DPoP required (token requests need a DPoP proof; tokens are DPoP-bound, token_type DPoP): %s",
			strings.Join(r.requireDPoP, ", "))
	} else {
		p("DPoP required: no app (add --require-dpop CLIENT_ID); any app that sends a DPoP proof gets a DPoP-bound token")
	}
	resourceNonce := "demands a DPoP nonce of its own"
	if !o.resourceDPoPNonce {
		resourceNonce = "demands no DPoP nonce (--resource-dpop-nonce=false)"
	}
	p("DPoP nonces:     answered with use_dpop_nonce and DPoP-Nonce, rotated every 24h, accepted for 72h; /api/v1/logs %s",
		resourceNonce)
	p("")
	if len(r.faults) > 0 {
		p("Faults on the token endpoint: %s", strings.Join(r.faults, ", "))
	}
	p("Faults at run time (loopback only): POST/GET/DELETE %s/admin/faults", issuer)
	p(`  e.g. curl -X POST %s/admin/faults -d '{"status":503,"count":3}'`, issuer)
	p("")
	p("Requests are logged to stderr. Ctrl-C stops the server.")
}
