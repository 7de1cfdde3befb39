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

package bench

// Rotations and the idle hour need hours of time, so they run the operator
// in-process on a fake clock (internal/operator with Options.Clock; its
// work queue follows the clock), with every request it sends to the API
// server recorded by a wrapper around its transport. The clock is only
// moved once the operator has settled, so that no reconcile still running
// schedules its next pass from the new time.
//
// Two orgs serve the scenario. "rotating" issues two-minute tokens, so the
// fake clock reaches a rotation while staying close to the wall clock:
// fosite, under the dev server, judges a client assertion's iat and exp by
// the wall clock, so a ClientCredentials token can only be requested while
// the fake time is within about (wall - 5m, wall + 30s]. The clock starts
// two minutes behind the wall for that reason. "idle" issues six-hour
// tokens, so nothing of it is due within the hours the clock then moves
// through; by then the rotating org's resources are deleted, since they
// would be due every minute or so.
//
// Each grant type rotates in a window of its own: the ClientCredentials
// resources renew at two thirds of their lifetime (the default), the
// AuthorizationCode ones 10 s before expiry (spec.renewBefore), so the
// first group is due well before the second, and due again only after it.
// Each window's writes are divided by the rotations seen in it.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/operator"
	"github.com/okta-token-operator/okta-token-operator/internal/testenv"
)

const (
	// rotatingTokenTTL is the rotating org's token lifetime: short enough
	// that its rotations fall within the wall-clock window above.
	rotatingTokenTTL = 2 * time.Minute
	// signInRenewBefore renews the rotating AuthorizationCode tokens after
	// their ClientCredentials peers (renewed at 2/3, i.e. 80 s).
	signInRenewBefore = 10 * time.Second
	// idleTokenTTL is the idle org's: no rotation within the two idle
	// hours (see idleHour).
	idleTokenTTL = 6 * time.Hour
	// rotationClockLead is how far behind the wall the fake clock starts.
	rotationClockLead = 2 * time.Minute
	// idleSpan and idleStep: the idle hour, crossed in the steps a
	// five-minute requeue would be caught by.
	idleSpan = time.Hour
	idleStep = 5 * time.Minute
)

// WriteCounts are writes by what they changed, e.g. "PUT secrets (state)".
type WriteCounts map[string]int

// Total is the number of writes.
func (w WriteCounts) Total() int {
	n := 0
	for _, v := range w {
		n += v
	}
	return n
}

// String lists the writes, e.g. "PATCH oktascopedtokens/status 20, PUT secrets 20".
func (w WriteCounts) String() string {
	if len(w) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(w)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, w[k]))
	}
	return strings.Join(parts, ", ")
}

// RotationFigures are one grant type's rotations.
type RotationFigures struct {
	// Tokens is how many resources rotated together; Rotations how many
	// rotations their status counted in the window.
	Tokens, Rotations int
	// Writes are the operator's writes in the window, Events included.
	Writes WriteCounts
	// Gets are the operator's single-object reads sent to the API server.
	Gets int
	// TokenRequests are the token endpoint's answers in the window.
	TokenRequests TokenRequests
}

// WritesPerRotation is the figure the issue sets a target on.
func (f RotationFigures) WritesPerRotation() float64 {
	if f.Rotations == 0 {
		return 0
	}
	return float64(f.Writes.Total()) / float64(f.Rotations)
}

// IdleFigures are what the operator did while no rotation was due.
type IdleFigures struct {
	// Tokens that were idle (both grant types); Span the fake time crossed.
	Tokens int
	Span   time.Duration
	Writes WriteCounts
	// Reconciles counted in the span (a periodic requeue shows here).
	Reconciles    float64
	TokenRequests TokenRequests
}

// RotationResult is the in-process scenario.
type RotationResult struct {
	ClientCredentials, AuthorizationCode RotationFigures
	Idle                                 IdleFigures
}

// operatorRequests records every request the in-process operator sends.
type operatorRequests struct {
	stateNamespace string
	mu             sync.Mutex
	log            []recordedRequest
}

type recordedRequest struct {
	key RequestKey
	// state is set for a request to the state namespace.
	state bool
}

func (r *operatorRequests) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		code := 0
		if err == nil {
			code = resp.StatusCode
		}
		if k, ok := classifyRequest(req.Method, req.URL, req.Header.Get("Content-Type"), code); ok && k.Verb != verbWatch {
			r.mu.Lock()
			r.log = append(r.log, recordedRequest{key: k,
				state: strings.Contains(req.URL.Path, "/namespaces/"+r.stateNamespace+"/")})
			r.mu.Unlock()
		}
		return resp, err
	})
}

func (r *operatorRequests) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// since returns the writes and single-object reads after mark.
func (r *operatorRequests) since(mark int) (WriteCounts, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	writes, gets := WriteCounts{}, 0
	for _, q := range r.log[mark:] {
		switch {
		case q.key.Write():
			label := q.key.Verb + " " + q.key.What()
			if q.state {
				label += " (state)"
			}
			writes[label]++
		case q.key.Verb == verbGet:
			gets++
		}
	}
	return writes, gets
}

// rotationRun is the scenario's moving parts.
type rotationRun struct {
	c        client.Client
	clock    *clocktesting.FakeClock
	requests *operatorRequests
	rotating *org
	idle     *org
	progress func(string, ...any)
}

// runRotation runs the in-process scenario with m ClientCredentials and k
// AuthorizationCode tokens per org.
func runRotation(ctx context.Context, m, k int, workDir string, progress func(string, ...any)) (*RotationResult, error) {
	env, c, stop, err := controlPlane(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	callbackURL := "http://" + l.Addr().String() + "/callback"
	r := &rotationRun{c: c, progress: progress,
		clock:    clocktesting.NewFakeClock(time.Now().Add(-rotationClockLead).Truncate(time.Second)),
		requests: &operatorRequests{stateNamespace: stateNamespace}}
	if r.rotating, err = startOrg(OrgConfig{Name: "rotating", AccessTokenTTL: rotatingTokenTTL}, callbackURL); err != nil {
		_ = l.Close()
		return nil, err
	}
	defer r.rotating.close()
	if r.idle, err = startOrg(OrgConfig{Name: "idle", AccessTokenTTL: idleTokenTTL}, callbackURL); err != nil {
		_ = l.Close()
		return nil, err
	}
	defer r.idle.close()
	stopOperator, err := r.startOperator(ctx, env.Config, l, callbackURL, filepath.Join(workDir, "rotation-operator.log"))
	if err != nil {
		return nil, err
	}
	defer stopOperator()

	rotCC, err := r.serviceGroup(ctx, "rotation-cc", r.rotating, m)
	if err != nil {
		return nil, err
	}
	rotAC, err := r.signInGroup(ctx, "rotation-ac", r.rotating, k, &metav1.Duration{Duration: signInRenewBefore})
	if err != nil {
		return nil, err
	}
	idleCC, err := r.serviceGroup(ctx, "idle-cc", r.idle, m)
	if err != nil {
		return nil, err
	}
	idleAC, err := r.signInGroup(ctx, "idle-ac", r.idle, k, nil)
	if err != nil {
		return nil, err
	}
	progress("rotation: %d tokens issued on a fake clock", 2*(m+k))

	var res RotationResult
	if res.ClientCredentials, err = r.rotate(ctx, rotCC, rotAC); err != nil {
		return nil, fmt.Errorf("rotating the ClientCredentials tokens: %w", err)
	}
	if res.AuthorizationCode, err = r.rotate(ctx, rotAC, rotCC); err != nil {
		return nil, fmt.Errorf("rotating the AuthorizationCode tokens: %w", err)
	}
	progress("rotation: %.1f writes per ClientCredentials rotation, %.1f per AuthorizationCode rotation",
		res.ClientCredentials.WritesPerRotation(), res.AuthorizationCode.WritesPerRotation())
	if err := r.deleteAll(ctx, "rotation-cc", "rotation-ac"); err != nil {
		return nil, err
	}
	if res.Idle, err = r.idleHour(ctx, append(idleCC, idleAC...)); err != nil {
		return nil, fmt.Errorf("the idle hour: %w", err)
	}
	progress("rotation: %d writes in an idle hour", res.Idle.Writes.Total())
	return &res, nil
}

func (r *rotationRun) startOperator(ctx context.Context, cfg *rest.Config, l net.Listener, callbackURL, logPath string) (func(), error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	logger := zap.New(zap.WriteTo(logFile))
	opCfg := rest.CopyConfig(cfg)
	opCfg.Wrap(r.requests.wrap)
	mgr, err := operator.New(opCfg, operator.Options{
		CallbackListener:     l,
		CallbackURL:          callbackURL,
		StateNamespace:       stateNamespace,
		AllowInsecureIssuers: true,
		// The dev servers listen on 127.0.0.1, not an Okta domain.
		OktaDomains: []string{"127.0.0.1"},
		Clock:       r.clock,
		Logger:      &logger,
		// A test binary may run the scenario more than once.
		SkipNameValidation: true,
		// The fake clock stands still between steps: a budget that made
		// requests wait for it would measure the steps, not the writes.
		OktaRateLimit: 60000,
	})
	if err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("creating the in-process operator: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() {
		cancel()
		<-done
		_ = logFile.Close()
	}, nil
}

// serviceGroup creates n ClientCredentials tokens in namespace ns and waits
// for them to be ready.
func (r *rotationRun) serviceGroup(ctx context.Context, ns string, o *org, n int) ([]*v1.OktaScopedToken, error) {
	namespaces := []fleetNamespace{{name: ns, org: o, clientID: "0oabench" + strings.ReplaceAll(ns, "-", ""), tokens: n}}
	if err := prepareNamespaces(ctx, r.c, namespaces); err != nil {
		return nil, err
	}
	tokens := serviceTokens(namespaces)
	if _, err := createAll(ctx, r.c, tokens); err != nil {
		return nil, err
	}
	return tokens, r.waitReady(ctx, tokens)
}

// signInGroup creates n AuthorizationCode tokens in namespace ns, signs
// each in through the dev server's form and waits for them to be ready.
func (r *rotationRun) signInGroup(ctx context.Context, ns string, o *org, n int, renewBefore *metav1.Duration) ([]*v1.OktaScopedToken, error) {
	if err := r.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	if err := r.c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: webSecretName, Namespace: ns},
		Data:       map[string][]byte{webSecretKey: []byte(webSecret)},
	}); err != nil {
		return nil, err
	}
	var tokens []*v1.OktaScopedToken
	for i := range n {
		tokens = append(tokens, &v1.OktaScopedToken{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("signed-in-%02d", i), Namespace: ns},
			Spec: v1.OktaScopedTokenSpec{
				OktaDomain:      o.issuer(),
				ClientID:        webClientID,
				GrantType:       v1.GrantAuthorizationCode,
				ClientSecretRef: &v1.SecretKeyReference{Name: webSecretName, Key: webSecretKey},
				Scopes:          []string{serviceScope},
				RenewBefore:     renewBefore,
			},
		})
	}
	if _, err := createAll(ctx, r.c, tokens); err != nil {
		return nil, err
	}
	for _, t := range tokens {
		var authURL string
		if err := poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
			cur, err := r.get(ctx, t)
			authURL = cur.Status.AuthorizationURL
			return authURL != "", err
		}); err != nil {
			return nil, fmt.Errorf("waiting for the sign-in URL of %s/%s: %w", t.Namespace, t.Name, err)
		}
		status, page, err := testenv.SignIn(authURL, signInUser, signInPassword, false)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("signing in %s/%s: status %d, %v: %.300s", t.Namespace, t.Name, status, err, page)
		}
	}
	return tokens, r.waitReady(ctx, tokens)
}

func (r *rotationRun) get(ctx context.Context, t *v1.OktaScopedToken) (*v1.OktaScopedToken, error) {
	cur := &v1.OktaScopedToken{}
	err := r.c.Get(ctx, client.ObjectKeyFromObject(t), cur)
	return cur, err
}

// statuses reads the tokens' current state.
func (r *rotationRun) statuses(ctx context.Context, tokens []*v1.OktaScopedToken) ([]*v1.OktaScopedToken, error) {
	var out []*v1.OktaScopedToken
	for _, t := range tokens {
		cur, err := r.get(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, cur)
	}
	return out, nil
}

// waitReady waits until every token is Ready=True. A Stalled one ends
// the wait at once: retrying cannot help it, and its message says why.
func (r *rotationRun) waitReady(ctx context.Context, tokens []*v1.OktaScopedToken) error {
	var notReady string
	err := poll(ctx, 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		cur, err := r.statuses(ctx, tokens)
		if err != nil {
			return false, err
		}
		for _, t := range cur {
			if c := meta.FindStatusCondition(t.Status.Conditions, v1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
				return false, fmt.Errorf("%s/%s is stalled: %s: %s", t.Namespace, t.Name, c.Reason, c.Message)
			}
			if !meta.IsStatusConditionTrue(t.Status.Conditions, v1.ConditionReady) {
				notReady = fmt.Sprintf("%s/%s: %+v", t.Namespace, t.Name, meta.FindStatusCondition(t.Status.Conditions, v1.ConditionReady))
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for Ready (still not: %s): %w", notReady, err)
	}
	return nil
}

// rotate moves the clock to the moment every token of group is due, and
// measures the window until they have all rotated. The others must not
// be due by then.
func (r *rotationRun) rotate(ctx context.Context, group, others []*v1.OktaScopedToken) (RotationFigures, error) {
	if err := r.settle(ctx); err != nil {
		return RotationFigures{}, err
	}
	before, err := r.statuses(ctx, group)
	if err != nil {
		return RotationFigures{}, err
	}
	othersBefore, err := r.statuses(ctx, others)
	if err != nil {
		return RotationFigures{}, err
	}
	var due time.Time
	for _, t := range before {
		if t.Status.RenewalTime == nil {
			return RotationFigures{}, fmt.Errorf("%s/%s has no status.renewalTime", t.Namespace, t.Name)
		}
		if t.Status.RenewalTime.After(due) {
			due = t.Status.RenewalTime.Time
		}
	}
	for _, t := range othersBefore {
		if t.Status.RenewalTime != nil && !t.Status.RenewalTime.After(due) {
			return RotationFigures{}, fmt.Errorf("%s/%s is due at %s, with the group due at %s: the windows overlap",
				t.Namespace, t.Name, t.Status.RenewalTime.UTC().Format(time.RFC3339), due.UTC().Format(time.RFC3339))
		}
	}
	mark, tokens := r.requests.mark(), r.rotating.tokens.snapshot()
	if due.After(r.clock.Now()) {
		r.clock.SetTime(due)
	}
	var rotations int
	err = poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		cur, err := r.statuses(ctx, group)
		if err != nil {
			return false, err
		}
		rotations = 0
		for i, t := range cur {
			if t.Status.Rotations <= before[i].Status.Rotations {
				return false, nil
			}
			rotations += int(t.Status.Rotations - before[i].Status.Rotations)
		}
		return true, nil
	})
	if err != nil {
		return RotationFigures{}, fmt.Errorf("waiting for %d rotations at %s: %w", len(group), due.UTC().Format(time.RFC3339), err)
	}
	if err := r.settle(ctx); err != nil {
		return RotationFigures{}, err
	}
	othersAfter, err := r.statuses(ctx, others)
	if err != nil {
		return RotationFigures{}, err
	}
	for i, t := range othersAfter {
		if t.Status.Rotations != othersBefore[i].Status.Rotations {
			return RotationFigures{}, fmt.Errorf("%s/%s rotated in another group's window", t.Namespace, t.Name)
		}
	}
	writes, gets := r.requests.since(mark)
	return RotationFigures{Tokens: len(group), Rotations: rotations, Writes: writes, Gets: gets,
		TokenRequests: r.rotating.tokens.snapshot().Sub(tokens)}, nil
}

// deleteAll deletes the tokens of the namespaces and waits until the
// operator has let them go.
func (r *rotationRun) deleteAll(ctx context.Context, namespaces ...string) error {
	for _, ns := range namespaces {
		if err := r.c.DeleteAllOf(ctx, &v1.OktaScopedToken{}, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("deleting the tokens in %s: %w", ns, err)
		}
	}
	err := poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		for _, ns := range namespaces {
			var list v1.OktaScopedTokenList
			if err := r.c.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return false, err
			}
			if len(list.Items) > 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the rotated tokens to be deleted: %w", err)
	}
	return r.settle(ctx)
}

// idleHour moves the clock through an hour in which none of tokens is due
// and counts what the operator did. It first crosses an hour it does not
// count: the deleted resources of the rotating org leave timers in the
// work queue (their reconciles find nothing and write nothing, but would
// be counted), and an hour is the longest of them.
func (r *rotationRun) idleHour(ctx context.Context, tokens []*v1.OktaScopedToken) (IdleFigures, error) {
	if err := r.settle(ctx); err != nil {
		return IdleFigures{}, err
	}
	end := r.clock.Now().Add(2 * idleSpan)
	cur, err := r.statuses(ctx, tokens)
	if err != nil {
		return IdleFigures{}, err
	}
	for _, t := range cur {
		if t.Status.RenewalTime == nil || !t.Status.RenewalTime.After(end) {
			return IdleFigures{}, fmt.Errorf("%s/%s is due within the idle hours (renewalTime %v)", t.Namespace, t.Name, t.Status.RenewalTime)
		}
	}
	if err := r.stepThrough(ctx, idleSpan); err != nil {
		return IdleFigures{}, err
	}
	mark, reconciles := r.requests.mark(), inProcessMetrics().reconciles
	idleTokens, rotatingTokens := r.idle.tokens.snapshot(), r.rotating.tokens.snapshot()
	if err := r.stepThrough(ctx, idleSpan); err != nil {
		return IdleFigures{}, err
	}
	writes, _ := r.requests.since(mark)
	requests := r.idle.tokens.snapshot().Sub(idleTokens)
	other := r.rotating.tokens.snapshot().Sub(rotatingTokens)
	requests.Total += other.Total
	requests.RateLimited += other.RateLimited
	requests.Failed += other.Failed
	return IdleFigures{Tokens: len(tokens), Span: idleSpan, Writes: writes,
		Reconciles: inProcessMetrics().reconciles - reconciles, TokenRequests: requests}, nil
}

// stepThrough moves the clock forward by span in idleSteps, letting the
// operator settle after each.
func (r *rotationRun) stepThrough(ctx context.Context, span time.Duration) error {
	for end := r.clock.Now().Add(span); r.clock.Now().Before(end); {
		r.clock.Step(idleStep)
		if err := r.settle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until the in-process operator is idle: an empty work
// queue, no reconcile running and no reconcile or request finished for
// a while.
func (r *rotationRun) settle(ctx context.Context) error {
	var last managerMetrics
	lastRequests, quiet := -1, 0
	err := poll(ctx, time.Minute, 50*time.Millisecond, func() (bool, error) {
		cur, requests := inProcessMetrics(), r.requests.mark()
		if cur != last || requests != lastRequests || cur.activeWorkers != 0 || cur.queueDepth != 0 {
			last, lastRequests, quiet = cur, requests, 0
			return false, nil
		}
		quiet++
		return quiet >= 6, nil
	})
	if err != nil {
		return fmt.Errorf("the operator did not settle (last seen %+v): %w", last, err)
	}
	return nil
}

// inProcessMetrics reads the in-process operator's controller metrics.
func inProcessMetrics() managerMetrics {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return managerMetrics{}
	}
	samples := samplesOf(families)
	return managerMetrics{
		reconciles:    sumOf(samples, "controller_runtime_reconcile_total", map[string]string{labelController: tokenController}),
		activeWorkers: sumOf(samples, "controller_runtime_active_workers", map[string]string{labelController: tokenController}),
		queueDepth:    sumOf(samples, "workqueue_depth", map[string]string{labelName: tokenController}),
	}
}

// poll calls check every interval until it says done, returns an error,
// or timeout passes. NotFound counts as not done yet.
func poll(ctx context.Context, timeout, every time.Duration, check func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := check()
		switch {
		case apierrors.IsNotFound(err):
			// Not created yet or already gone: keep looking.
		case err != nil:
			return err
		case done:
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		if err := sleepCtx(ctx, every); err != nil {
			return err
		}
	}
}
