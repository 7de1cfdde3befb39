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

package policy

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// Why is the reason a new token is due. The zero value means none is.
type Why string

const (
	// NotDue: the current token is good until its renewal time.
	NotDue Why = ""
	// DueNoToken: there is no token yet (or the stored one cannot be used).
	DueNoToken Why = "no token yet"
	// DueRenewRequested: a new value of the renew-requested-at annotation.
	DueRenewRequested Why = "renewal requested by annotation"
	// DueKeyChanged: the service app's private key is not the one the
	// token was minted with.
	DueKeyChanged Why = "the private key changed"
	// DueSpecChanged: the token was obtained for another domain, client,
	// scope set or token binding than the spec names now.
	DueSpecChanged Why = "the spec changed"
	// DueRenewalTime: the renewal time has come.
	DueRenewalTime Why = "renewal time reached"
)

// Token is what the due decision needs to know of the current token.
type Token struct {
	// Present is false when there is no usable token.
	Present          bool
	IssuedAt, Expiry time.Time
	// KeyThumbprint names the private key a client-credentials token was
	// minted with; empty when unknown or not applicable.
	KeyThumbprint string
	// RenewHandled is the last renew-requested-at value acted on.
	RenewHandled string
	// ForAnotherSpec is set when the token was obtained for another
	// domain, client, scope set or token binding than the spec names now.
	ForAnotherSpec bool
}

// DueInput is everything TokenDue decides from.
type DueInput struct {
	Token Token
	// RenewRequested is the resource's renew-requested-at annotation.
	RenewRequested string
	// KeyThumbprint is the thumbprint of the private key the Secret holds
	// now, empty when it has not been read (or does not apply).
	KeyThumbprint string
	Spec          v1.OktaScopedTokenSpec
	UID           types.UID
	Now           time.Time
}

// TokenDue says whether a new token should be requested now, and why. The
// order is the order of urgency: a missing token before a manual request,
// a replaced key (after a key rotation at Okta the old key stops working,
// and the sooner a wrong new key shows up in status the better) before the
// schedule.
func TokenDue(in DueInput) Why {
	t := in.Token
	switch {
	case !t.Present:
		return DueNoToken
	case t.ForAnotherSpec:
		return DueSpecChanged
	case in.RenewRequested != "" && in.RenewRequested != t.RenewHandled:
		return DueRenewRequested
	case in.KeyThumbprint != "" && t.KeyThumbprint != "" && in.KeyThumbprint != t.KeyThumbprint:
		return DueKeyChanged
	case !in.Now.Before(RenewalTime(t.IssuedAt, t.Expiry, in.Spec, in.UID)):
		return DueRenewalTime
	}
	return NotDue
}

// Failures is what status remembers of failed token requests.
type Failures struct {
	// Attempts counts consecutive failures; 0 after a success.
	Attempts int32
	// NextAttempt is when the last failure allows the next request: its
	// backoff, or Okta's rate-limit reset.
	NextAttempt time.Time
}

// RetryNotBefore is the earliest time another token request may be made
// after failures. What earned the backoff is what was there at the failure:
// when the spec or the credentials have changed since, the fix is tried at
// once (the referenced Secrets are watched for exactly this).
func RetryNotBefore(f Failures, inputsChanged bool) time.Time {
	if f.Attempts == 0 || inputsChanged {
		return time.Time{}
	}
	return f.NextAttempt
}

// NextAttempt is when to ask again after the attempts-th consecutive
// failure at now: the backoff, but never before a rate-limit reset Okta
// announced (zero when it announced none).
func NextAttempt(now time.Time, attempts int32, uid types.UID, rateLimitReset time.Time) time.Time {
	next := now.Add(Backoff(attempts, uid))
	if !rateLimitReset.IsZero() {
		if r := now.Add(RateLimitWait(now, rateLimitReset)); r.After(next) {
			next = r
		}
	}
	return next
}

// MinManualRenewalInterval is the least time between two tokens asked for
// with the renew-requested-at annotation: a script that sets it in a loop
// gets one token a minute, not one per write.
const MinManualRenewalInterval = time.Minute

// ManualRenewalAt is when a manual renewal may be made, the last one having
// been made at last (zero: never).
func ManualRenewalAt(last time.Time) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	return last.Add(MinManualRenewalInterval)
}
