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

package controllers

// Unit tests of the steps that involve no API semantics, on a fake client:
// what an outcome becomes in status, when a failure is an Event, and when
// the token Secret is written. What needs the API server (watches,
// conflicts, the cache) is tested in test/integration/controller.

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/internal/state"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func init() {
	_ = v1.AddToScheme(scheme.Scheme)
}

func testResource() *v1.OktaScopedToken {
	return &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: "team-a", UID: "uid-1", Generation: 1},
		Spec: v1.OktaScopedTokenSpec{OktaDomain: "https://dev-1.okta.com", ClientID: "0oa1", GrantType: v1.GrantClientCredentials,
			Scopes: []string{"okta.logs.read"}, SecretName: "logs-reader-token"},
	}
}

// testRun is a pass over a resource with a fake client and recorder.
func testRun(t *testing.T, obj *v1.OktaScopedToken, objs ...client.Object) (*reconcileRun, *writeCounter, *record.FakeRecorder) {
	t.Helper()
	writes := &writeCounter{}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(append(objs, obj)...).
		WithStatusSubresource(&v1.OktaScopedToken{}).WithInterceptorFuncs(writes.funcs()).Build()
	rec := record.NewFakeRecorder(20)
	r := &OktaScopedTokenReconciler{Client: c, APIReader: c, Recorder: rec, Clock: clocktesting.NewFakeClock(now),
		StateNamespace: "okta-token-operator-system"}
	run := &reconcileRun{r: r, obj: obj, key: types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}, now: now,
		before: obj.Status.DeepCopy()}
	return run, writes, rec
}

// writeCounter counts the writes a fake client receives.
type writeCounter struct{ creates, updates, patches int }

func (w *writeCounter) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			w.creates++
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			w.updates++
			return c.Update(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			w.patches++
			return c.Patch(ctx, o, p, opts...)
		},
	}
}

func (w *writeCounter) total() int { return w.creates + w.updates + w.patches }

func validGrant() *state.Grant {
	return &state.Grant{AccessToken: "at", TokenType: "Bearer", IssuedAt: now.Add(-10 * time.Minute),
		Expiry: now.Add(50 * time.Minute), Scopes: []string{"okta.logs.read"}, Origin: state.OriginMint,
		Fingerprint: state.Fingerprint(testResource().Spec)}
}

func expiredGrant() *state.Grant {
	g := validGrant()
	g.IssuedAt, g.Expiry = now.Add(-2*time.Hour), now.Add(-time.Hour)
	return g
}

func TestSummarize(t *testing.T) {
	retryAt := now.Add(20 * time.Second)
	type want struct {
		ready, readyReason   string
		reconciling, stalled string // the reason, "" when absent
		requeueAfter         time.Duration
		readyMessageHas      string
		// slot: the next pass comes back for a slot in the org's budget
		// and goes before the rest of the queue.
		slot bool
	}
	tests := map[string]struct {
		grant   *state.Grant
		outcome outcome
		want    want
	}{
		"a valid token": {grant: validGrant(), outcome: outcome{},
			want: want{ready: "True", readyReason: v1.ReasonIssued, requeueAfter: 50 * time.Minute, readyMessageHas: "valid until"}},
		"an expired token": {grant: expiredGrant(), outcome: outcome{},
			want: want{ready: "False", readyReason: v1.ReasonExpired}},
		"a failure retrying may fix, token still valid": {grant: validGrant(),
			outcome: retryOutcome(v1.ReasonTokenRequestFailed, "Okta answered HTTP 503", retryAt),
			want: want{ready: "True", readyReason: v1.ReasonRotationFailing, reconciling: v1.ReasonTokenRequestFailed,
				requeueAfter: 20 * time.Second, readyMessageHas: "but renewing it fails: Okta answered HTTP 503"}},
		"a failure retrying may fix, token expired": {grant: expiredGrant(),
			outcome: retryOutcome(v1.ReasonTokenRequestFailed, "Okta answered HTTP 503", retryAt),
			want: want{ready: "False", readyReason: v1.ReasonExpired, reconciling: v1.ReasonTokenRequestFailed,
				requeueAfter: 20 * time.Second, readyMessageHas: "Okta answered HTTP 503"}},
		"a failure retrying may fix, no token yet": {grant: nil,
			outcome: retryOutcome(v1.ReasonDiscoveryFailed, "no metadata", retryAt),
			want: want{ready: "False", readyReason: v1.ReasonDiscoveryFailed, reconciling: v1.ReasonDiscoveryFailed,
				requeueAfter: 20 * time.Second}},
		"a failure retrying cannot fix": {grant: validGrant(),
			outcome: stallOutcome(v1.ReasonInvalidClient, "invalid_client"),
			want: want{ready: "False", readyReason: v1.ReasonInvalidClient, stalled: v1.ReasonInvalidClient,
				requeueAfter: 50 * time.Minute}},
		"a person must sign in": {grant: nil,
			outcome: signInOutcome(v1.ReasonAuthorizationRequired, "sign in", now.Add(time.Hour)),
			want:    want{ready: "False", readyReason: v1.ReasonAuthorizationRequired, requeueAfter: time.Hour}},
		"waiting its turn, token valid": {grant: validGrant(),
			outcome: waitOutcome(v1.ReasonWaitingForRateLimit, "next slot at 12:00:20", retryAt),
			want: want{ready: "True", readyReason: v1.ReasonIssued, reconciling: v1.ReasonWaitingForRateLimit,
				requeueAfter: 20 * time.Second, readyMessageHas: "next slot", slot: true}},
		"waiting its turn, no token yet": {grant: nil,
			outcome: waitOutcome(v1.ReasonWaitingForRateLimit, "next slot at 12:00:00.05", now.Add(50*time.Millisecond)),
			want: want{ready: "False", readyReason: v1.ReasonWaitingForRateLimit, reconciling: v1.ReasonWaitingForRateLimit,
				requeueAfter: 50 * time.Millisecond, slot: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sum := summarize(tc.outcome, observed{now: now, generation: 1, grant: tc.grant})
			res := sum.result
			st := v1.OktaScopedTokenStatus{Conditions: sum.conditions}
			ready := meta.FindStatusCondition(st.Conditions, v1.ConditionReady)
			if ready == nil || string(ready.Status) != tc.want.ready || ready.Reason != tc.want.readyReason {
				t.Fatalf("Ready = %+v, want %s/%s", ready, tc.want.ready, tc.want.readyReason)
			}
			if !strings.Contains(ready.Message, tc.want.readyMessageHas) {
				t.Errorf("Ready message %q does not say %q", ready.Message, tc.want.readyMessageHas)
			}
			for condType, reason := range map[string]string{v1.ConditionReconciling: tc.want.reconciling, v1.ConditionStalled: tc.want.stalled} {
				c := meta.FindStatusCondition(st.Conditions, condType)
				switch {
				case reason == "" && c != nil:
					t.Errorf("%s is present (%s); kstatus wants it only while true", condType, c.Reason)
				case reason != "" && (c == nil || c.Reason != reason || c.Status != metav1.ConditionTrue):
					t.Errorf("%s = %+v, want True/%s", condType, c, reason)
				}
			}
			if res.RequeueAfter != tc.want.requeueAfter {
				t.Errorf("requeue after %s, want %s", res.RequeueAfter, tc.want.requeueAfter)
			}
			wantPriority := normalPriority
			if tc.want.slot {
				wantPriority = slotPriority
			}
			if res.Priority == nil || *res.Priority != wantPriority {
				t.Errorf("priority %v, want %d (set on every result, or the last one sticks)", res.Priority, wantPriority)
			}
		})
	}
}

// TestBackingOffKeepsTheLastFailure: a pass that only waits out a backoff
// reports what the failure reported, and only an expiry meanwhile changes
// Ready.
func TestBackingOffKeepsTheLastFailure(t *testing.T) {
	for name, grant := range map[string]*state.Grant{"token valid": validGrant(), "token expired meanwhile": expiredGrant()} {
		t.Run(name, func(t *testing.T) {
			obj := testResource()
			failed := summarize(retryOutcome(v1.ReasonTokenRequestFailed, "Okta answered HTTP 503", now.Add(time.Minute)),
				observed{now: now, generation: 1, grant: validGrant()})
			sum := summarize(backoffOutcome(now.Add(time.Minute)),
				observed{now: now, generation: 1, grant: grant, conditions: failed.conditions})
			obj.Status.Conditions = sum.conditions
			res := sum.result
			if c := meta.FindStatusCondition(obj.Status.Conditions, v1.ConditionReconciling); c == nil ||
				c.Reason != v1.ReasonTokenRequestFailed {
				t.Fatalf("Reconciling = %+v: the failure must still be reported", c)
			}
			ready := meta.FindStatusCondition(obj.Status.Conditions, v1.ConditionReady)
			wantReason := v1.ReasonRotationFailing
			if grant.Expiry.Before(now) {
				wantReason = v1.ReasonExpired
			}
			if ready.Reason != wantReason {
				t.Fatalf("Ready reason %s, want %s", ready.Reason, wantReason)
			}
			if res.RequeueAfter != time.Minute {
				t.Fatalf("requeue after %s, want the next attempt in a minute", res.RequeueAfter)
			}
		})
	}
}

// TestFailuresAreEventsOnTransitions: the first failure and a change of
// failure are Events; the same failure retried is not.
func TestFailuresAreEventsOnTransitions(t *testing.T) {
	obj := testResource()
	reasons := []string{v1.ReasonTokenRequestFailed, v1.ReasonTokenRequestFailed, v1.ReasonDiscoveryFailed, v1.ReasonDiscoveryFailed}
	var got []string
	for i, reason := range reasons {
		run, _, rec := testRun(t, obj.DeepCopy())
		run.obj = obj
		run.before = obj.Status.DeepCopy()
		o := run.failed(context.Background(), failure{reason: reason, message: "attempt " + string(rune('1'+i))})
		obj.Status.Conditions = summarize(o, observed{now: now, generation: obj.Generation, conditions: obj.Status.Conditions}).conditions
		select {
		case e := <-rec.Events:
			got = append(got, e)
		default:
			got = append(got, "")
		}
		if obj.Status.FailedAttempts != int32(i+1) || obj.Status.NextAttemptTime == nil {
			t.Fatalf("after failure %d: attempts %d, next attempt %v", i+1, obj.Status.FailedAttempts, obj.Status.NextAttemptTime)
		}
	}
	if got[0] == "" || got[1] != "" || got[2] == "" || got[3] != "" {
		t.Fatalf("Events %q: want one on the first failure and one when the failure changed", got)
	}
}

// TestTokenSecretWrittenOnlyWhenItDiffers: created once, left alone when it
// matches, put back when edited (keeping what others added), and never
// taken over from someone else.
func TestTokenSecretWrittenOnlyWhenItDiffers(t *testing.T) {
	ctx := context.Background()
	obj := testResource()
	run, writes, _ := testRun(t, obj)
	run.state.Grant = validGrant()
	if o, err := run.ensureTokenSecret(ctx, run.state.Grant); o.reports() || err != nil {
		t.Fatalf("create: %v %v", o, err)
	}
	if writes.creates != 1 {
		t.Fatalf("%d creates, want 1", writes.creates)
	}

	run.tokenSecret = nil
	before := writes.total()
	if o, err := run.ensureTokenSecret(ctx, run.state.Grant); o.reports() || err != nil {
		t.Fatalf("unchanged: %v %v", o, err)
	}
	if writes.total() != before {
		t.Fatal("an unchanged token Secret was written")
	}

	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: obj.Namespace, Name: obj.TokenSecretName()}
	_ = run.r.Get(ctx, key, s)
	s.Data[v1.TokenSecretAccessToken] = []byte("edited-by-hand")
	s.Labels["team"] = "observability"
	_ = run.r.Update(ctx, s)
	run.tokenSecret = nil
	before = writes.total()
	if o, err := run.ensureTokenSecret(ctx, run.state.Grant); o.reports() || err != nil {
		t.Fatalf("drift: %v %v", o, err)
	}
	_ = run.r.Get(ctx, key, s)
	if writes.total() != before+1 || string(s.Data[v1.TokenSecretAccessToken]) != "at" || s.Labels["team"] != "observability" {
		t.Fatalf("after drift: %d writes, token %q, labels %v", writes.total()-before, s.Data[v1.TokenSecretAccessToken], s.Labels)
	}

	foreign := testResource()
	foreign.Spec.SecretName = "someone-elses"
	run2, writes2, _ := testRun(t, foreign, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: "team-a"}})
	o, err := run2.ensureTokenSecret(ctx, validGrant())
	if err != nil || o.kind != stalled || o.reason != v1.ReasonSecretConflict {
		t.Fatalf("a foreign Secret: outcome %+v, err %v; want Stalled/%s", o, err, v1.ReasonSecretConflict)
	}
	if writes2.total() != 0 {
		t.Fatal("a foreign Secret was written")
	}
}

// TestClientCredentialsLegacyStateIsRetired: a resource an earlier version
// kept a state Secret and a finalizer for loses both once its token Secret
// describes the token, and the token is the one the state Secret held.
func TestClientCredentialsLegacyStateIsRetired(t *testing.T) {
	ctx := context.Background()
	obj := testResource()
	controllerutil.AddFinalizer(obj, v1.Finalizer)
	legacy := state.NewSecret("okta-token-operator-system", types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}, "")
	g := validGrant()
	g.IssuedAt = g.IssuedAt.Add(123 * time.Millisecond) // format 1 kept nanoseconds
	state.Encode(state.State{Grant: g, RenewHandled: "r1"}, legacy)
	run, _, _ := testRun(t, obj, legacy)
	for _, s := range []step{run.loadTokenSecret, run.adoptLegacyState, run.publishToken, run.retireLegacyState} {
		if _, err := s(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if controllerutil.ContainsFinalizer(obj, v1.Finalizer) {
		t.Error("the finalizer stays")
	}
	if err := run.r.Get(ctx, client.ObjectKeyFromObject(legacy), &corev1.Secret{}); err == nil {
		t.Error("the state Secret stays")
	}
	s := &corev1.Secret{}
	if err := run.r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.TokenSecretName()}, s); err != nil {
		t.Fatal(err)
	}
	got := state.DecodeTokenSecret(s)
	if got.Grant == nil || got.Grant.AccessToken != "at" || got.RenewHandled != "r1" {
		t.Fatalf("the token Secret holds %+v; want the state Secret's token", got)
	}
}

// TestSummarizeBesideTheOutcome: what summarize decides from what a pass
// observed besides its outcome — a deletion held up, the restart step's
// condition, an API error — with no client at all.
func TestSummarizeBesideTheOutcome(t *testing.T) {
	ready := metav1.Condition{Type: v1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1.ReasonIssued, Message: "valid"}
	tests := map[string]struct {
		outcome outcome
		in      observed
		// conditions: type → reason, "" when the condition must be absent.
		conditions   map[string]string
		requeueAfter time.Duration
		slot         bool
	}{
		"a deletion waiting for its slot to revoke": {
			outcome:      waitOutcome(v1.ReasonWaitingForRateLimit, "revoked first", now.Add(time.Second)),
			in:           observed{deleting: true, conditions: []metav1.Condition{ready}},
			conditions:   map[string]string{v1.ConditionReady: v1.ReasonIssued, v1.ConditionReconciling: v1.ReasonWaitingForRateLimit},
			requeueAfter: time.Second, slot: true,
		},
		"a deletion retrying the revocation": {
			outcome:      retryOutcome(v1.ReasonRevocationFailed, "attempt 1 of 3", now.Add(2*time.Second)),
			in:           observed{deleting: true, conditions: []metav1.Condition{ready}},
			conditions:   map[string]string{v1.ConditionReady: v1.ReasonIssued, v1.ConditionReconciling: v1.ReasonRevocationFailed},
			requeueAfter: 2 * time.Second,
		},
		"a deletion done: nothing changes, nothing is due": {
			in:         observed{deleting: true, conditions: []metav1.Condition{ready}},
			conditions: map[string]string{v1.ConditionReady: v1.ReasonIssued, v1.ConditionReconciling: ""},
		},
		"the restart step's condition, whatever the outcome": {
			outcome: stallOutcome(v1.ReasonInvalidClient, "invalid_client"),
			in: observed{grant: validGrant(), rollout: &conditionReport{status: metav1.ConditionTrue,
				reason: v1.ReasonRestarted, message: "restarted Deployment/a"}},
			conditions:   map[string]string{v1.ConditionStalled: v1.ReasonInvalidClient, v1.ConditionRolloutRestarted: v1.ReasonRestarted},
			requeueAfter: 50 * time.Minute,
		},
		"no restart targets any more: the condition goes": {
			in: observed{grant: validGrant(), rollout: &conditionReport{remove: true}, conditions: []metav1.Condition{
				{Type: v1.ConditionRolloutRestarted, Status: metav1.ConditionTrue, Reason: v1.ReasonRestarted}}},
			conditions:   map[string]string{v1.ConditionReady: v1.ReasonIssued, v1.ConditionRolloutRestarted: ""},
			requeueAfter: 50 * time.Minute,
		},
		"an API error before the first pass succeeded: Ready is there all the same": {
			in:         observed{err: errors.New("the API server is unavailable")},
			conditions: map[string]string{v1.ConditionReady: v1.ReasonProgressing},
		},
		"an API error later: the conditions stand": {
			in:         observed{err: errors.New("conflict"), conditions: []metav1.Condition{ready}},
			conditions: map[string]string{v1.ConditionReady: v1.ReasonIssued},
		},
		"a proceeding step's time is kept (a restart held back)": {
			in:           observed{grant: validGrant(), requeue: []time.Time{now.Add(3 * time.Minute)}},
			conditions:   map[string]string{v1.ConditionReady: v1.ReasonIssued},
			requeueAfter: 3 * time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.now, tc.in.generation = now, 1
			before := slices.Clone(tc.in.conditions)
			sum := summarize(tc.outcome, tc.in)
			for condType, reason := range tc.conditions {
				c := meta.FindStatusCondition(sum.conditions, condType)
				switch {
				case reason == "" && c != nil:
					t.Errorf("%s is present (%s)", condType, c.Reason)
				case reason != "" && (c == nil || c.Reason != reason):
					t.Errorf("%s = %+v, want reason %s", condType, c, reason)
				}
			}
			if sum.result.RequeueAfter != tc.requeueAfter {
				t.Errorf("requeue after %s, want %s", sum.result.RequeueAfter, tc.requeueAfter)
			}
			if tc.slot != (sum.result.Priority != nil && *sum.result.Priority == slotPriority) {
				t.Errorf("priority %v, slot %v", sum.result.Priority, tc.slot)
			}
			if !reflect.DeepEqual(tc.in.conditions, before) {
				t.Error("summarize changed the conditions it was given")
			}
		})
	}
}
