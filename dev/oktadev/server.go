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
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// What the binary registers by default. The secret is public knowledge: it
// only protects a development server.
const (
	DemoUser            = "demo@example.com"
	DemoPassword        = "Passw0rd!"
	DemoUserName        = "Demo User"
	DemoWebClientID     = "0oadevdemowebclient1"
	DemoWebClientSecret = "dev-only-demo-secret-do-not-use-in-production"
)

// The endpoints of an authorization server, after its base path: /oauth2
// for the org authorization server, /oauth2/{id} for a custom one.
const (
	endpointAuthorize     = "/v1/authorize"
	endpointToken         = "/v1/token"
	endpointRevoke        = "/v1/revoke"
	endpointIntrospect    = "/v1/introspect"
	endpointKeys          = "/v1/keys"
	endpointUserinfo      = "/v1/userinfo"
	endpointOIDCMetadata  = "/.well-known/openid-configuration"
	endpointOAuthMetadata = "/.well-known/oauth-authorization-server"
)

// Okta's org authorization server paths, and the server's other paths.
const (
	pathAuthorize  = "/oauth2" + endpointAuthorize
	pathToken      = "/oauth2" + endpointToken
	pathRevoke     = "/oauth2" + endpointRevoke
	pathIntrospect = "/oauth2" + endpointIntrospect
	pathKeys       = "/oauth2" + endpointKeys
	pathUserinfo   = "/oauth2" + endpointUserinfo
	// The org authorization server's metadata is at the root of the org.
	pathOIDCMetadata  = endpointOIDCMetadata
	pathOAuthMetadata = endpointOAuthMetadata
	pathLogs          = "/api/v1/logs"
	pathAdminFaults   = "/admin/faults"
)

// Okta's org authorization server defaults.
const (
	defaultRateLimit   = 600
	defaultAccessTTL   = time.Hour
	defaultRefreshTTL  = 90 * 24 * time.Hour
	defaultGracePeriod = 30 * time.Second
)

// Config configures a Server. The zero value is a server like Okta's org
// authorization server: one-hour access tokens, 90-day refresh tokens that
// rotate with a 30-second grace period, 600 requests a minute per endpoint
// (the token endpoints included), and Okta's DPoP nonce rotation and proof
// freshness.
type Config struct {
	// Issuer is the server's base URL. Empty means the URL of the listener
	// given to Start (or, when only Handler is used, of the first request's
	// Host).
	Issuer string
	// AccessTokenTTL is the access-token lifetime; default 1h.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the refresh-token lifetime; default 90 days.
	RefreshTokenTTL time.Duration
	// RefreshGracePeriod is how long a rotated refresh token still works;
	// default 30s, negative for none.
	RefreshGracePeriod time.Duration
	// RateLimitPerMinute is the number of requests each endpoint answers per
	// minute before it answers 429; default 600.
	RateLimitPerMinute int
	// TokenRateLimitPerMinute is the same for the token endpoints (one bucket
	// for the org authorization server's, one shared by every custom
	// authorization server's, as at Okta); default RateLimitPerMinute.
	TokenRateLimitPerMinute int
	// Clock drives the server's own decisions: the refresh grace period,
	// rate-limit windows, fault windows and token, code and assertion expiry.
	// Default clock.RealClock{}. fosite stamps expiry times from the wall
	// clock, so a fake clock must start at the real time (for example
	// clocktesting.NewFakeClock started at the wall time) and only move forward; fosite
	// also checks a client assertion's iat and nbf against the wall clock.
	Clock clock.Clock
	// Logger gets one line per request. It never receives a token, code,
	// secret, password, assertion or DPoP proof. Default: discard.
	Logger *slog.Logger

	// DPoPNonceRotation is how long each authorization server (and the
	// resource server) hands out the same DPoP nonce before it mints the next
	// one; default 24h, as Okta.
	DPoPNonceRotation time.Duration
	// DPoPNonceWindow is how long after it was minted a DPoP nonce is still
	// accepted; default 72h, as Okta. It must not be shorter than
	// DPoPNonceRotation.
	DPoPNonceWindow time.Duration
	// DPoPProofMaxAge is how far in the past a DPoP proof's iat may be;
	// default 5m. DPoPProofMaxFuture is how far in the future; default 1m.
	// dpop.go says why.
	DPoPProofMaxAge    time.Duration
	DPoPProofMaxFuture time.Duration
	// DisableResourceDPoPNonce stops the resource server (GET /api/v1/logs)
	// from demanding a nonce of its own in the DPoP proofs sent with
	// DPoP-bound tokens. By default it demands one, as Okta's resource
	// servers do; the authorization servers always do.
	DisableResourceDPoPNonce bool
}

// Server is an Okta-compatible development authorization server.
type Server struct {
	cfg    Config
	clock  clock.Clock
	logger *slog.Logger

	issuerMu sync.RWMutex
	issuer   string

	// clients are the org's apps, assertions the client assertions seen;
	// every authorization server shares them.
	clients    *clientRegistry
	assertions *assertionCache
	// org is the org authorization server; authServers are the custom ones,
	// by id.
	org           *authServer
	authServersMu sync.RWMutex
	authServers   map[string]*authServer
	// csrfKey binds login forms to the browser's cookie (login.go).
	csrfKey []byte

	usersMu sync.RWMutex
	users   map[string]User

	limiter       *rateLimiter
	faults        *faultInjector
	logEvents     []LogEvent
	tokenRequests atomic.Int64

	// dpop holds the proof checks' settings; dpopJTIs the ids of the proofs
	// seen, for every endpoint; resourceNonces the resource server's nonces
	// (nil when it demands none). Each authorization server has its own.
	dpop           dpopSettings
	dpopJTIs       *jtiCache
	resourceNonces *nonceSource

	handler http.Handler

	serveMu    sync.Mutex
	httpServer *http.Server
	serveDone  chan error
	// done is closed by Close; it ends hanging (faulted) requests.
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New returns a server with no clients and no users; add them with
// AddWebClient, AddServiceClient and AddUser.
func New(cfg Config) (*Server, error) {
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = defaultAccessTTL
	}
	if cfg.RefreshTokenTTL == 0 {
		cfg.RefreshTokenTTL = defaultRefreshTTL
	}
	if cfg.RefreshGracePeriod == 0 {
		cfg.RefreshGracePeriod = defaultGracePeriod
	}
	if cfg.RateLimitPerMinute == 0 {
		cfg.RateLimitPerMinute = defaultRateLimit
	}
	if cfg.TokenRateLimitPerMinute == 0 {
		cfg.TokenRateLimitPerMinute = cfg.RateLimitPerMinute
	}
	if cfg.AccessTokenTTL < 0 || cfg.RefreshTokenTTL < 0 || cfg.RateLimitPerMinute < 0 || cfg.TokenRateLimitPerMinute < 0 {
		return nil, errors.New("token lifetimes and rate limits must not be negative")
	}
	if cfg.DPoPNonceRotation == 0 {
		cfg.DPoPNonceRotation = defaultDPoPNonceRotation
	}
	if cfg.DPoPNonceWindow == 0 {
		cfg.DPoPNonceWindow = max(defaultDPoPNonceWindow, cfg.DPoPNonceRotation)
	}
	if cfg.DPoPProofMaxAge == 0 {
		cfg.DPoPProofMaxAge = defaultDPoPProofMaxAge
	}
	if cfg.DPoPProofMaxFuture == 0 {
		cfg.DPoPProofMaxFuture = defaultDPoPProofMaxFuture
	}
	switch {
	case cfg.DPoPNonceRotation < 0 || cfg.DPoPNonceWindow < 0 || cfg.DPoPProofMaxAge < 0 || cfg.DPoPProofMaxFuture < 0:
		return nil, errors.New("DPoP nonce and proof durations must not be negative")
	case cfg.DPoPNonceWindow < cfg.DPoPNonceRotation:
		// A nonce would stop being accepted while it is still the one
		// handed out.
		return nil, errors.New("DPoPNonceWindow must not be shorter than DPoPNonceRotation")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")

	csrfKey := make([]byte, 32)
	if _, err := rand.Read(csrfKey); err != nil {
		return nil, fmt.Errorf("generating the CSRF key: %w", err)
	}

	s := &Server{
		cfg:         cfg,
		clock:       cfg.Clock,
		logger:      cfg.Logger,
		issuer:      cfg.Issuer,
		csrfKey:     csrfKey,
		clients:     &clientRegistry{clients: map[string]*registeredClient{}},
		assertions:  &assertionCache{clock: cfg.Clock, used: map[string]time.Time{}},
		authServers: map[string]*authServer{},
		users:       map[string]User{},
		limiter: newRateLimiter(cfg.Clock, RateLimits{
			PerMinute: cfg.RateLimitPerMinute, TokenPerMinute: cfg.TokenRateLimitPerMinute,
		}),
		faults:   &faultInjector{clock: cfg.Clock},
		done:     make(chan struct{}),
		dpop:     dpopSettings{maxAge: cfg.DPoPProofMaxAge, maxFuture: cfg.DPoPProofMaxFuture},
		dpopJTIs: newJTICache(),
	}
	if !cfg.DisableResourceDPoPNonce {
		s.resourceNonces = newNonceSource(cfg.Clock, cfg.DPoPNonceRotation, cfg.DPoPNonceWindow)
	}
	org, err := s.newAuthServer("", 0)
	if err != nil {
		return nil, err
	}
	s.org = org
	s.logEvents = syntheticLogEvents(cfg.Clock.Now())
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	org := s.org

	// Okta does not rate-limit the metadata documents.
	mux.HandleFunc("GET "+pathOIDCMetadata, org.handleMetadata)
	mux.HandleFunc("GET "+pathOAuthMetadata, org.handleMetadata)
	mux.Handle(pathAuthorize, s.rateLimited(pathAuthorize, http.HandlerFunc(org.handleAuthorize)))
	mux.Handle(pathToken, s.countTokenRequests(s.tokenRateLimited(pathToken, s.injectFaults(pathToken, http.HandlerFunc(org.handleToken)))))
	mux.Handle(pathRevoke, s.rateLimited(pathRevoke, http.HandlerFunc(org.handleRevoke)))
	mux.Handle(pathIntrospect, s.rateLimited(pathIntrospect, http.HandlerFunc(org.handleIntrospect)))
	mux.Handle(pathKeys, s.rateLimited(pathKeys, http.HandlerFunc(org.handleKeys)))
	mux.Handle(pathUserinfo, s.rateLimited(pathUserinfo, http.HandlerFunc(org.handleUserinfo)))

	// Every custom authorization server shares each endpoint's rate-limit
	// bucket, as at Okta.
	custom := customAuthServerPath
	mux.Handle("GET "+custom(endpointOIDCMetadata), s.forCustomAuthServer((*authServer).handleMetadata))
	mux.Handle("GET "+custom(endpointOAuthMetadata), s.forCustomAuthServer((*authServer).handleMetadata))
	mux.Handle(custom(endpointAuthorize), s.rateLimited(custom(endpointAuthorize), s.forCustomAuthServer((*authServer).handleAuthorize)))
	mux.Handle(custom(endpointToken), s.countTokenRequests(s.tokenRateLimited(custom(endpointToken),
		s.injectFaults(custom(endpointToken), s.forCustomAuthServer((*authServer).handleToken)))))
	mux.Handle(custom(endpointRevoke), s.rateLimited(custom(endpointRevoke), s.forCustomAuthServer((*authServer).handleRevoke)))
	mux.Handle(custom(endpointIntrospect), s.rateLimited(custom(endpointIntrospect), s.forCustomAuthServer((*authServer).handleIntrospect)))
	mux.Handle(custom(endpointKeys), s.rateLimited(custom(endpointKeys), s.forCustomAuthServer((*authServer).handleKeys)))
	mux.Handle(custom(endpointUserinfo), s.rateLimited(custom(endpointUserinfo), s.forCustomAuthServer((*authServer).handleUserinfo)))

	mux.Handle(pathLogs, s.rateLimited(pathLogs, http.HandlerFunc(s.handleLogs)))
	mux.Handle("/api/v1/", s.rateLimited("/api/v1/", http.HandlerFunc(s.handleUnknownAPI)))
	mux.HandleFunc(pathAdminFaults, s.handleAdminFaults)
	return s.logRequests(s.learnIssuer(s.dated(mux)))
}

// dated sets the Date header from the server's clock, as every answer of
// Okta's carries it: a client compares X-Rate-Limit-Reset with it, so a
// server on a fake clock must date its answers by that clock too.
func (s *Server) dated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}

// Start serves on l in the background until Close. When Config.Issuer is
// empty the issuer becomes the listener's URL.
func (s *Server) Start(l net.Listener) error { return s.StartBehind(l, nil) }

// StartBehind is Start with front in front of the server's handler (a
// recorder, or something that plays a proxy between the client and Okta);
// nil is none.
func (s *Server) StartBehind(l net.Listener, front func(http.Handler) http.Handler) error {
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	if s.httpServer != nil {
		return errors.New("server already started")
	}
	select {
	case <-s.done:
		return errors.New("server closed")
	default:
	}
	s.issuerMu.Lock()
	if s.issuer == "" {
		s.issuer = "http://" + listenerHost(l.Addr())
	}
	s.issuerMu.Unlock()
	h := s.handler
	if front != nil {
		h = front(h)
	}
	s.httpServer = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.serveDone = make(chan error, 1)
	go func() { s.serveDone <- s.httpServer.Serve(l) }()
	return nil
}

// listenerHost is the host:port clients should use for a listener: a
// wildcard address is reachable on the loopback address.
func listenerHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// Handler serves the server's endpoints, for use without Start.
func (s *Server) Handler() http.Handler { return s.handler }

// Issuer is the server's base URL, e.g. http://127.0.0.1:9090.
func (s *Server) Issuer() string {
	s.issuerMu.RLock()
	defer s.issuerMu.RUnlock()
	return s.issuer
}

// learnIssuer fixes the issuer from the first request when neither
// Config.Issuer nor Start set it.
func (s *Server) learnIssuer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Issuer() == "" {
			s.issuerMu.Lock()
			if s.issuer == "" {
				scheme := "http"
				if r.TLS != nil {
					scheme = "https"
				}
				s.issuer = scheme + "://" + r.Host
			}
			s.issuerMu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// Close stops serving, ending requests held by a hang fault, and waits up to
// five seconds for the others to finish.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.serveMu.Lock()
		defer s.serveMu.Unlock()
		if s.httpServer == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.httpServer.Shutdown(ctx); err != nil {
			// Connections a client opened and never used count as busy
			// for their first five seconds (net/http), so a graceful
			// shutdown can outlast its deadline with nothing in flight:
			// close what is left.
			if !errors.Is(err, context.DeadlineExceeded) {
				s.closeErr = err
			}
			s.closeErr = errors.Join(s.closeErr, s.httpServer.Close())
		}
		if err := <-s.serveDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = errors.Join(s.closeErr, err)
		}
	})
	return s.closeErr
}

// RevokeGrantsFor revokes every access and refresh token issued to a client
// by any of the org's authorization servers, as when an administrator revokes
// its tokens in the Admin Console; its next refresh fails with invalid_grant.
func (s *Server) RevokeGrantsFor(clientID string) {
	for _, as := range s.allAuthServers() {
		as.store.revokeClient(clientID)
	}
}

// TokenRequests counts the requests that reached a token endpoint
// (/oauth2/v1/token or a custom authorization server's), whatever their
// outcome, rate-limited ones included.
func (s *Server) TokenRequests() int { return int(s.tokenRequests.Load()) }

// ActiveRefreshTokens counts the refresh tokens of a client that the server's
// authorization servers would accept now (including rotated ones still in
// their grace period).
func (s *Server) ActiveRefreshTokens(clientID string) int {
	n := 0
	for _, as := range s.allAuthServers() {
		n += as.store.activeRefreshTokens(clientID)
	}
	return n
}

// ActiveAccessTokens counts the unexpired, unrevoked access tokens of a
// client, from every authorization server.
func (s *Server) ActiveAccessTokens(clientID string) int {
	n := 0
	for _, as := range s.allAuthServers() {
		n += as.store.activeAccessTokens(clientID)
	}
	return n
}

func (s *Server) countTokenRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.tokenRequests.Add(1)
		next.ServeHTTP(w, r)
	})
}

// handleUnknownAPI answers management-API paths this server does not
// implement the way Okta answers an unknown resource.
func (s *Server) handleUnknownAPI(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotFound, errorResourceNotFound, summaryResourceMissing+": "+r.URL.Path)
}
