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

package operator

import (
	"context"
	"runtime/debug"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// startupPages releases the binary's pages that starting touched, and the
// memory the initial lists took, once the informers the operator runs on
// have synced (see releaseStartupPages), on every replica.
type startupPages struct {
	gcPercent int
	informers []informerOf
}

// startupGCPercent is GOGC until the initial lists are in.
const startupGCPercent = 50

type informerOf struct {
	cache cache.Cache
	obj   client.Object
}

func (startupPages) NeedLeaderElection() bool { return false }

func (p startupPages) Start(ctx context.Context) error {
	for _, i := range p.informers {
		// The informers the controller starts later are these same ones:
		// asking for them now starts them, so there is something to wait
		// for.
		if _, err := i.cache.GetInformer(ctx, i.obj); err != nil {
			return nil
		}
		if !i.cache.WaitForCacheSync(ctx) {
			return nil
		}
	}
	debug.SetGCPercent(p.gcPercent)
	releaseStartupPages()
	// The initial lists (every Secret's metadata, for one) are garbage
	// now: return the memory they took to the system rather than keep it
	// for a heap that will not grow that large again.
	debug.FreeOSMemory()
	return nil
}
