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

// Command oktalogs reads the Okta System Log (GET /api/v1/logs) with the
// scoped access token that an OktaScopedToken keeps in a Secret, and prints
// one line per event. With --follow it polls for new events for as long as
// it runs, and picks up each rotated token from the mounted Secret without a
// restart. config/samples/oktalogs_deployment.yaml runs it in a cluster;
// docs/consumers.md explains the choices.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/utils/clock"

	"github.com/okta-token-operator/okta-token-operator/config/samples/oktalogs/systemlog"
)

// defaultTokenPath is where the sample Deployment mounts the token Secret.
const defaultTokenPath = "/var/run/secrets/okta"

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

type options struct {
	oktaDomain   string
	tokenPath    string
	since, until string
	limit        int
	filter       string
	follow       bool
	pollInterval time.Duration
	output       string
	maxEvents    int
	allowHTTP    bool
	viaProxy     bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, clock.RealClock{})
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "oktalogs:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("oktalogs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `Usage: oktalogs --okta-domain URL [flags]

Reads the Okta System Log (GET /api/v1/logs) with the access token in a
mounted OktaScopedToken Secret, following Okta's pages, and prints each event:
  published eventType actor.alternateId outcome.result displayMessage
or, with --output json, the event as Okta sent it, one JSON object a line.

The token file is read again before every request, so a rotated token is
used as soon as the kubelet updates the volume. Mount the Secret as a volume,
not with subPath (a subPath mount never updates).

Without --until the query is a polling one: oktalogs stops at the first empty
page (caught up), or with --follow waits --poll-interval and asks again.
With --until it stops at the last page. A restart starts again at --since.

Flags:
`)
		fs.PrintDefaults()
		_, _ = fmt.Fprint(stderr, `
Examples:
  oktalogs --okta-domain https://dev-123456.okta.com --since 1h
  oktalogs --okta-domain https://dev-123456.okta.com --since 15m --follow --output json
  oktalogs --okta-domain https://dev-123456.okta.com --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z \
    --filter 'eventType eq "user.session.start"'
`)
	}
	fs.StringVar(&o.oktaDomain, "okta-domain", "", "The Okta org, e.g. https://dev-123456.okta.com (required).")
	fs.StringVar(&o.tokenPath, "token", defaultTokenPath,
		"The mounted token Secret: its directory (keys access_token, token_type) or the access-token file.")
	fs.StringVar(&o.since, "since", "",
		"Earliest event: an RFC 3339 time or a duration ago (15m, 24h). Default: Okta's, 7 days.")
	fs.StringVar(&o.until, "until", "", "End of a bounded query: an RFC 3339 time or a duration ago. Not with --follow.")
	fs.IntVar(&o.limit, "limit", 100, fmt.Sprintf("Events per page, 1 to %d.", systemlog.MaxLimit))
	fs.StringVar(&o.filter, "filter", "", `SCIM filter, e.g. 'eventType eq "user.session.start"'.`)
	fs.BoolVar(&o.follow, "follow", false, "Keep polling for new events until stopped.")
	fs.DurationVar(&o.pollInterval, "poll-interval", time.Minute, "With --follow: the wait between polls once caught up.")
	fs.StringVar(&o.output, "output", outputText, "Output: text (one line per event) or json (one event per line).")
	fs.IntVar(&o.maxEvents, "max-events", 0, "Stop after this many events (0: no limit).")
	fs.BoolVar(&o.allowHTTP, "allow-http", false,
		"Allow a plain http:// Okta domain (a local dev server only: the token travels in clear).")
	fs.BoolVar(&o.viaProxy, "via-proxy", false,
		"Send no token: --okta-domain is an okta-token-proxy sidecar on loopback (http://127.0.0.1:8181), which adds it.")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.oktaDomain == "":
		return o, errors.New("--okta-domain is required")
	case o.output != outputText && o.output != outputJSON:
		return o, fmt.Errorf("--output %q: want text or json", o.output)
	case o.follow && o.until != "":
		return o, errors.New("--follow polls for new events; it cannot be combined with --until")
	case o.pollInterval < time.Second:
		return o, fmt.Errorf("--poll-interval %s: want at least 1s", o.pollInterval)
	case o.limit < 1 || o.limit > systemlog.MaxLimit:
		return o, fmt.Errorf("--limit %d: want 1 to %d", o.limit, systemlog.MaxLimit)
	case o.maxEvents < 0:
		return o, fmt.Errorf("--max-events %d: want 0 or more", o.maxEvents)
	case o.viaProxy && !loopbackURL(o.oktaDomain):
		return o, fmt.Errorf("--via-proxy: --okta-domain %q must be the proxy on loopback, such as http://127.0.0.1:8181", o.oktaDomain)
	}
	return o, nil
}

// parseTime reads --since and --until: an RFC 3339 time, or a duration
// before now.
func parseTime(flagName, value string, now time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf(
			"--%s %q: want an RFC 3339 time (2026-03-01T00:00:00Z) or a duration ago (15m)", flagName, value)
	}
	return now.Add(-d), nil
}

// errEnough stops the reading once --max-events are out.
var errEnough = errors.New("enough events")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, clk clock.Clock) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	now := clk.Now()
	q := systemlog.Query{Limit: o.limit, Filter: o.filter}
	if q.Since, err = parseTime("since", o.since, now); err != nil {
		return err
	}
	if q.Until, err = parseTime("until", o.until, now); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var token systemlog.TokenSource = systemlog.TokenFile{Path: o.tokenPath}
	if o.viaProxy {
		// The proxy holds the token; this container holds none, and the
		// hop to the proxy never leaves the pod.
		token, o.allowHTTP = systemlog.NoToken{}, true
	}
	client, err := systemlog.New(systemlog.Config{
		OktaDomain: o.oktaDomain, Token: token, AllowHTTP: o.allowHTTP, Clock: clk, Logger: logger,
	})
	if err != nil {
		return err
	}

	printed := 0
	emit := func(e systemlog.Event) error {
		line := e.Summary()
		if o.output == outputJSON {
			compact, err := compactJSON(e.Raw)
			if err != nil {
				return err
			}
			line = compact
		}
		if _, err := fmt.Fprintln(stdout, line); err != nil {
			return fmt.Errorf("writing an event: %w", err)
		}
		if printed++; o.maxEvents > 0 && printed >= o.maxEvents {
			return errEnough
		}
		return nil
	}
	if o.follow {
		logger.Info("following the System Log",
			"oktaDomain", o.oktaDomain, "token", o.tokenPath, "pollInterval", o.pollInterval)
		err = client.Follow(ctx, q, o.pollInterval, emit)
		if errors.Is(err, context.Canceled) {
			return nil // stopped by a signal
		}
	} else {
		err = client.Each(ctx, q, emit)
	}
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

func compactJSON(raw json.RawMessage) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", fmt.Errorf("compacting an event: %w", err)
	}
	return b.String(), nil
}

// loopbackURL says whether u's host is a loopback address.
func loopbackURL(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	if parsed.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(parsed.Hostname())
	return ip != nil && ip.IsLoopback()
}
