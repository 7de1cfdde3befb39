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
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
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
