//go:build unix

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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkClientCredentials sends client-credentials token requests to one
// in-process server from many goroutines, the way the operator's benchmark
// does, with a fresh client assertion (or the client secret) per request.
// The assertions are signed before the clock starts: signing is the client's
// cost (an RS256 signature takes about a millisecond of CPU, more than the
// server spends on the whole request), and this benchmark measures the
// server.
//
// Besides ns/op (wall time per request, HTTP client included) it reports
// cpu-ns/op, the process's CPU time per request, which stays meaningful on a
// machine shared with other work, and retained-B/op, the heap still in use
// per request after a GC: what the server keeps per token it issued (the
// token and the assertion's jti, until they expire).
//
//	go test -run '^$' -bench BenchmarkClientCredentials -benchtime 10000x ./dev/oktadev/
func BenchmarkClientCredentials(b *testing.B) {
	srv, err := New(Config{RateLimitPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rsaKey := testRSAKey()
	for _, c := range []ServiceClient{
		{ID: testServiceEC, JWKS: publicJWKS(ecKey.Public(), "ec-1"), GrantedScopes: []string{"okta.logs.read"}},
		{ID: testServiceRSA, JWKS: publicJWKS(rsaKey.Public(), "rsa-1"), GrantedScopes: []string{"okta.logs.read"}},
		{ID: testSecretBasicClient, Secret: testServiceSecret},
	} {
		if err := srv.AddServiceClient(c); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.AddAuthorizationServer(AuthorizationServer{ID: DefaultAuthorizationServerID, Scopes: []string{"logs:read"}}); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(l); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })

	// One client with enough idle connections for every goroutine, as a
	// well-configured operator has: otherwise the benchmark measures TCP
	// handshakes.
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, httpClient)
	orgToken := srv.Issuer() + pathToken
	customToken := srv.AuthorizationServerIssuer(DefaultAuthorizationServerID) + endpointToken

	withKey := func(clientID string, key any, alg jose.SignatureAlgorithm, kid string) func(testing.TB) clientcredentials.Config {
		return func(tb testing.TB) clientcredentials.Config {
			// Valid for longer than the longest run, as a real client's is
			// for the moment it is used.
			a := assertion{
				key: key, kid: kid, alg: alg, issuer: clientID, subject: clientID, audience: orgToken,
				expiry: time.Now().Add(30 * time.Minute), jti: randomAlphanumeric(24),
			}
			return clientcredentials.Config{
				ClientID: clientID, TokenURL: orgToken, Scopes: []string{"okta.logs.read"}, AuthStyle: oauth2.AuthStyleInParams,
				EndpointParams: url.Values{"client_assertion_type": {clientAssertionType}, "client_assertion": {a.sign(tb)}},
			}
		}
	}
	cases := []struct {
		name    string
		request func(testing.TB) clientcredentials.Config
	}{
		{"private_key_jwt ES256", withKey(testServiceEC, ecKey, jose.ES256, "ec-1")},
		{"private_key_jwt RS256", withKey(testServiceRSA, rsaKey, jose.RS256, "rsa-1")},
		{"client_secret_basic at a custom authorization server", func(testing.TB) clientcredentials.Config {
			return clientcredentials.Config{
				ClientID: testSecretBasicClient, ClientSecret: testServiceSecret, TokenURL: customToken,
				Scopes: []string{"logs:read"}, AuthStyle: oauth2.AuthStyleInHeader,
			}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			requests := make([]clientcredentials.Config, b.N)
			for i := range requests {
				requests[i] = tc.request(b)
			}
			var next atomic.Int64
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpuBefore := processCPU(b)
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					conf := requests[next.Add(1)-1]
					if _, err := conf.Token(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			cpu := processCPU(b) - cpuBefore
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			// The prepared requests were in the heap before; they must be
			// after too, or their collection would hide what the server kept.
			runtime.KeepAlive(requests)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "retained-B/op")
		})
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
