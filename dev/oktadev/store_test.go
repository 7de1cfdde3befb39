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
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestStoreForgetsWhatExpired checks that memory does not grow with every
// request: once tokens, codes and assertions expire, the server forgets them.
func TestStoreForgetsWhatExpired(t *testing.T) {
	env := newTestEnv(t, Config{AccessTokenTTL: 2 * time.Minute, RefreshTokenTTL: 5 * time.Minute})
	const requests = 20
	for range requests {
		if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
			t.Fatal(err)
		}
	}
	// One sign-in leaves a used code, an access token and a refresh token.
	env.authorize("openid", "offline_access", "okta.logs.read")
	store := env.srv.org.store
	if got := store.size(); got != requests+3 {
		t.Errorf("store holds %d records after %d token requests and a sign-in, want %d", got, requests, requests+3)
	}
	if got := env.srv.assertions.size(); got != requests {
		t.Errorf("%d assertions remembered, want %d", got, requests)
	}

	// Past every expiry (assertions 5 minutes, access tokens 2, refresh
	// tokens 5, codes 5), the next request forgets the lot.
	env.clock.Step(10 * time.Minute)
	if _, err := env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read"); err != nil {
		t.Fatal(err)
	}
	if got := store.size(); got != 1 {
		t.Errorf("store holds %d records after everything expired, want 1 (the new token)", got)
	}
	if got := env.srv.assertions.size(); got != 1 {
		t.Errorf("%d assertions remembered after they expired, want 1", got)
	}
}

// TestConcurrentTokenRequests runs the client-credentials grant from many
// goroutines (under -race in CI): every request gets a token, and no
// assertion is accepted twice even when replayed concurrently.
func TestConcurrentTokenRequests(t *testing.T) {
	env := newTestEnv(t, Config{RateLimitPerMinute: 10_000})
	env.addSecretServiceClients()
	custom := env.addAuthorizationServer(DefaultAuthorizationServerID, "logs:read")
	const workers, perWorker = 8, 10
	replayed := env.ecAssertion().sign(t)
	var replayAccepted sync.Map
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			if _, err := env.clientCredentials(replayed, testServiceEC, "okta.logs.read"); err == nil {
				replayAccepted.Store(w, true)
			}
			for i := range perWorker {
				var err error
				switch i % 3 {
				case 0:
					_, err = env.clientCredentials(env.ecAssertion().sign(t), testServiceEC, "okta.logs.read")
				case 1:
					_, err = env.clientCredentials(env.rsaAssertion().sign(t), testServiceRSA, "okta.logs.read")
				default:
					_, err = env.secretClientCredentials(custom+"/v1/token", testSecretPostClient, testServiceSecret, oauth2.AuthStyleInParams, "logs:read")
				}
				if err != nil {
					t.Errorf("worker %d request %d: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	accepted := 0
	replayAccepted.Range(func(any, any) bool { accepted++; return true })
	if accepted != 1 {
		t.Errorf("one assertion was accepted %d times, want once", accepted)
	}
	if got, want := env.srv.TokenRequests(), workers*(perWorker+1); got != want {
		t.Errorf("TokenRequests = %d, want %d", got, want)
	}
}
