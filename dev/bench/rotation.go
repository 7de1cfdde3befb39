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
	"net"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
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

// rotationRun is the scenario's moving parts.
type rotationRun struct {
	c        client.Client
	wall     clock.Clock // the run's Config.Clock: it times the waits, and clock starts from it
	clock    *clocktesting.FakeClock
	requests *operatorRequests
	rotating *org
	idle     *org
	progress func(string, ...any)
}

// runRotation runs the in-process scenario with m ClientCredentials and k
// AuthorizationCode tokens per org.
func runRotation(ctx context.Context, clk clock.Clock, m, k int, workDir string, progress func(string, ...any)) (*RotationResult, error) {
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
	r := &rotationRun{c: c, wall: clk, progress: progress,
		clock:    clocktesting.NewFakeClock(clk.Now().Add(-rotationClockLead).Truncate(time.Second)),
		requests: &operatorRequests{stateNamespace: stateNamespace}}
	if r.rotating, err = startOrg(clk, OrgConfig{Name: "rotating", AccessTokenTTL: rotatingTokenTTL}, callbackURL); err != nil {
		_ = l.Close()
		return nil, err
	}
	defer r.rotating.close()
	if r.idle, err = startOrg(clk, OrgConfig{Name: "idle", AccessTokenTTL: idleTokenTTL}, callbackURL); err != nil {
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
	err = poll(ctx, r.wall, time.Minute, 200*time.Millisecond, func() (bool, error) {
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
	err := poll(ctx, r.wall, time.Minute, 200*time.Millisecond, func() (bool, error) {
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

// poll calls check every interval until it says done, returns an error,
// or timeout passes by clk. NotFound counts as not done yet.
func poll(ctx context.Context, clk clock.Clock, timeout, every time.Duration, check func() (bool, error)) error {
	deadline := clk.Now().Add(timeout)
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
		if clk.Now().After(deadline) {
			return errors.New("timed out")
		}
		if err := sleepCtx(ctx, clk, every); err != nil {
			return err
		}
	}
}
