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

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

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
