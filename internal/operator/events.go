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
	"hash/fnv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// The Event recorder is client-go's core/v1 one, not the manager's
// events.k8s.io/v1 broadcaster: that one keeps a copy of every Event it
// sent for six to twelve minutes to find series, which right after 10,000
// tokens are issued is 10,000 Events and about 10 MB of heap (make bench,
// BENCH_N=10000, heap profile). Both APIs show the same Events: the API
// server stores them once, and kubectl describe and events.k8s.io/v1
// readers see them either way.
//
// What it keeps is bounded: each broadcaster queues at most 1,000 Events
// (more are dropped and logged, not held) and its correlator, which
// merges repeats and holds back spam, remembers the last eventCacheSize
// keys of each of its caches (client-go's default is 4,096). One
// broadcaster writes one Event at a time; eventShards of them, each with
// the Events of its share of the resources (so repeats of one resource
// still meet in one correlator), keep up with a burst of new tokens: with
// one, 7,149 of the 10,000 Events of BENCH_N=10000 were dropped.
const (
	eventShards    = 4
	eventCacheSize = 128
)

// eventRecorder starts the Event recorder, and stops it with the manager.
func eventRecorder(cfg *rest.Config, scheme *runtime.Scheme, mgr manager.Manager) (record.EventRecorder, error) {
	cs, err := typedcorev1.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return nil, err
	}
	sink := &typedcorev1.EventSinkImpl{Interface: cs.Events("")}
	shards := make(shardedRecorder, eventShards)
	for i := range shards {
		b := record.NewBroadcaster(record.WithCorrelatorOptions(record.CorrelatorOptions{LRUCacheSize: eventCacheSize}))
		b.StartRecordingToSink(sink)
		if err := mgr.Add(stopEvents{b}); err != nil {
			b.Shutdown()
			return nil, err
		}
		shards[i] = b.NewRecorder(scheme, corev1.EventSource{Component: "okta-token-operator"})
	}
	return shards, nil
}

// shardedRecorder hands each object's Events to one of its recorders, by
// the object's namespace and name.
type shardedRecorder []record.EventRecorder

func (s shardedRecorder) of(obj runtime.Object) record.EventRecorder {
	h := fnv.New32a()
	if m, err := meta.Accessor(obj); err == nil {
		_, _ = h.Write([]byte(m.GetNamespace() + "/" + m.GetName()))
	}
	return s[h.Sum32()%uint32(len(s))]
}

func (s shardedRecorder) Event(obj runtime.Object, eventtype, reason, message string) {
	s.of(obj).Event(obj, eventtype, reason, message)
}

func (s shardedRecorder) Eventf(obj runtime.Object, eventtype, reason, format string, args ...any) {
	s.of(obj).Eventf(obj, eventtype, reason, format, args...)
}

func (s shardedRecorder) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventtype, reason, format string, args ...any) {
	s.of(obj).AnnotatedEventf(obj, annotations, eventtype, reason, format, args...)
}

// stopEvents shuts a broadcaster down with the manager, on every replica
// (the callback records Events too, leader or not).
type stopEvents struct{ record.EventBroadcaster }

func (s stopEvents) Start(ctx context.Context) error {
	<-ctx.Done()
	s.Shutdown()
	return nil
}

func (stopEvents) NeedLeaderElection() bool { return false }
