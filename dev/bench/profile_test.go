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
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/utils/clock"
)

// TestCPUProfileInPieces takes this process's own CPU profile from a real
// pprof handler: it waits for a server that is not listening yet, saves
// whole pieces, and stops after the piece it is taking.
func TestCPUProfileInPieces(t *testing.T) {
	g := NewWithT(t)
	ports, err := freePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	prefix := filepath.Join(t.TempDir(), "issuing-cpu")
	p := startCPUProfile(context.Background(), clock.RealClock{}, ports[0], prefix)

	// The manager starts listening a moment later.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	l, err := net.Listen("tcp", ports[0])
	g.Expect(err).NotTo(HaveOccurred())
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	g.Eventually(func() int { return p.piecesSaved() }, "10s").Should(BeNumerically(">=", 1))
	glob, err := p.finish()
	g.Expect(err).NotTo(HaveOccurred())
	files, err := filepath.Glob(glob)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(HaveLen(p.pieces), "every piece taken is saved, and the glob names them all")
	for _, f := range files {
		b, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		zr, err := gzip.NewReader(bytes.NewReader(b))
		g.Expect(err).NotTo(HaveOccurred(), "a pprof profile is gzipped protobuf")
		_, err = io.Copy(io.Discard, zr)
		g.Expect(err).NotTo(HaveOccurred())
	}
}

// TestCPUProfileWithoutAServer fails with the address instead of waiting
// for ever.
func TestCPUProfileWithoutAServer(t *testing.T) {
	g := NewWithT(t)
	ports, err := freePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	p := startCPUProfile(context.Background(), clock.RealClock{}, ports[0], filepath.Join(t.TempDir(), "none"))
	_, err = p.finish()
	g.Expect(err).To(MatchError(ContainSubstring(ports[0])))
}
