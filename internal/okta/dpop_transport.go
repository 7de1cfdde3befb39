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
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"k8s.io/utils/clock"
)

type dpopKeyContext struct{}

// WithDPoPKey makes every token request sent with ctx carry a DPoP proof
// signed with key (through a DPoPTransport): the token it returns is bound
// to key.
func WithDPoPKey(ctx context.Context, key *DPoPKey) context.Context {
	if key == nil {
		return ctx
	}
	return context.WithValue(ctx, dpopKeyContext{}, key)
}

func dpopKeyFrom(ctx context.Context) *DPoPKey {
	k, _ := ctx.Value(dpopKeyContext{}).(*DPoPKey)
	return k
}

// ErrorUseDPoPNonce is the OAuth error of an authorization server that
// wants a nonce in the proof (RFC 9449 section 8).
const ErrorUseDPoPNonce = "use_dpop_nonce"

// DPoPTransport adds a DPoP proof to every request whose context carries a
// key (WithDPoPKey), with the nonce the authorization server last handed
// out. Every answer's DPoP-Nonce is remembered. An answer of
// use_dpop_nonce is retried once, with a fresh proof and jti and the new
// nonce, after BeforeRetry: the retry is a request of its own and spends a
// slot of the org's budget. Requests without a key pass through untouched.
type DPoPTransport struct {
	// Next sends the request; default http.DefaultTransport.
	Next http.RoundTripper
	// Nonces are shared by every client of the operator.
	Nonces *DPoPNonces
	// Clock dates the proofs.
	Clock clock.PassiveClock
	// BeforeRetry, when set, must return before the retry is sent (the
	// budget's slot); its error ends the request with the first answer.
	BeforeRetry func(ctx context.Context, r *http.Request) error
}

// maxNonceAnswer bounds what is read of an answer to tell whether it asks
// for a nonce: Okta's error answers are a few hundred bytes.
const maxNonceAnswer = 64 << 10

// RoundTrip sends r with a proof, retrying once when asked for a nonce.
func (t *DPoPTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	key := dpopKeyFrom(r.Context())
	if key == nil {
		return t.next().RoundTrip(r)
	}
	scope := NonceScope(r.URL)
	resp, err := t.send(r, key, scope)
	if err != nil {
		return nil, err
	}
	if !asksForNonce(resp) || r.GetBody == nil {
		return resp, nil
	}
	if t.BeforeRetry != nil {
		if err := t.BeforeRetry(r.Context(), r); err != nil {
			return resp, nil
		}
	}
	body, err := r.GetBody()
	if err != nil {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	retry := r.Clone(r.Context())
	retry.Body = body
	return t.send(retry, key, scope)
}

func (t *DPoPTransport) next() http.RoundTripper {
	if t.Next == nil {
		return http.DefaultTransport
	}
	return t.Next
}

// send sends a copy of r with a fresh proof and remembers the answer's
// nonce.
func (t *DPoPTransport) send(r *http.Request, key *DPoPKey, scope string) (*http.Response, error) {
	nonce, first, err := t.Nonces.Await(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	proof, err := key.Proof(r.Method, r.URL, t.Clock.Now(), nonce, "")
	if err != nil {
		if first {
			t.Nonces.Learned(scope, false, "")
		}
		return nil, err
	}
	signed := r.Clone(r.Context())
	signed.Header.Set(HeaderDPoP, proof)
	resp, err := t.next().RoundTrip(signed)
	if first {
		t.Nonces.Learned(scope, err == nil, headerNonce(resp))
	} else if err == nil {
		t.Nonces.Set(scope, headerNonce(resp))
	}
	return resp, err
}

func headerNonce(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return resp.Header.Get(HeaderDPoPNonce)
}

// asksForNonce says whether an answer is use_dpop_nonce. It reads a bounded
// part of a 400's body and puts it back, so the caller reads the whole
// answer as it came.
func asksForNonce(resp *http.Response) bool {
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get(HeaderDPoPNonce) == "" {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxNonceAnswer))
	resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), Closer: resp.Body}
	if err != nil {
		return false
	}
	var answer struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(head, &answer) == nil && answer.Error == ErrorUseDPoPNonce
}

type readCloser struct {
	io.Reader
	io.Closer
}
