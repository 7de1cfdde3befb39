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
	"net/http"
	"strings"
	"sync"
)

// operatorRequests records every request the in-process operator sends.
type operatorRequests struct {
	stateNamespace string
	mu             sync.Mutex
	log            []recordedRequest
}

type recordedRequest struct {
	key RequestKey
	// state is set for a request to the state namespace.
	state bool
}

func (r *operatorRequests) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		code := 0
		if err == nil {
			code = resp.StatusCode
		}
		if k, ok := classifyRequest(req.Method, req.URL, req.Header.Get("Content-Type"), code); ok && k.Verb != verbWatch {
			r.mu.Lock()
			r.log = append(r.log, recordedRequest{key: k,
				state: strings.Contains(req.URL.Path, "/namespaces/"+r.stateNamespace+"/")})
			r.mu.Unlock()
		}
		return resp, err
	})
}

func (r *operatorRequests) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// since returns the writes and single-object reads after mark.
func (r *operatorRequests) since(mark int) (WriteCounts, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	writes, gets := WriteCounts{}, 0
	for _, q := range r.log[mark:] {
		switch {
		case q.key.Write():
			label := q.key.Verb + " " + q.key.What()
			if q.state {
				label += " (state)"
			}
			writes[label]++
		case q.key.Verb == verbGet:
			gets++
		}
	}
	return writes, gets
}
