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

// Package logbuffer is a goroutine-safe buffer that tests hand to loggers,
// so they can read back what the operator or the dev server logged.
package logbuffer

import (
	"bytes"
	"sync"
)

// Buffer collects writes from many goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Len is how much has been written so far; pass it to From later to read
// what came after.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// From returns what was written from offset n on.
func (b *Buffer) From(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()[min(n, b.buf.Len()):]
}

func (b *Buffer) String() string { return b.From(0) }
