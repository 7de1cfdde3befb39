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
	"time"

	"github.com/ory/fosite"
	"k8s.io/utils/clock"
)

// clientRegistry holds the org's apps. Every authorization server of the org
// sees the same apps, as at Okta.
type clientRegistry struct {
	mu      sync.RWMutex
	clients map[string]*registeredClient
}

func (r *clientRegistry) put(c *registeredClient) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients[c.id] = c
}

func (r *clientRegistry) get(id string) (*registeredClient, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.clients[id]
	return c, ok
}

// assertionCache remembers the jti of every client assertion used, until the
// assertion expires, so that none is accepted twice. It is shared by the
// org's authorization servers: an assertion's aud already binds it to one
// token endpoint.
type assertionCache struct {
	clock clock.PassiveClock

	mu        sync.Mutex
	used      map[string]time.Time // jti -> assertion expiry
	nextSweep time.Time
}

func (a *assertionCache) valid(jti string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if exp, ok := a.used[jti]; ok && a.clock.Now().Before(exp) {
		return fosite.ErrJTIKnown
	}
	return nil
}

func (a *assertionCache) remember(jti string, exp time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if !now.Before(a.nextSweep) {
		// An expired assertion can no longer be replayed, so its jti need not
		// be remembered.
		for k, e := range a.used {
			if !now.Before(e) {
				delete(a.used, k)
			}
		}
		a.nextSweep = now.Add(sweepInterval)
	}
	if e, ok := a.used[jti]; ok && now.Before(e) {
		return fosite.ErrJTIKnown
	}
	a.used[jti] = exp
	return nil
}

func (a *assertionCache) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.used)
}
