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

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func chartDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "okta-token-operator")
}

// TestReadmeIsUpToDate fails when values.yaml changed without `make
// helm-docs`, or when a value has no comment.
func TestReadmeIsUpToDate(t *testing.T) {
	dir := chartDir(t)
	want, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s/README.md is out of date with values.yaml: run make helm-docs", dir)
	}
}

func TestParseValues(t *testing.T) {
	tests := map[string]struct {
		values  string
		want    []Row
		wantErr string
	}{
		"sections and leaves": {
			values: `
# Section comment.
image:
  # The repository.
  repository: example
  # The tag.
  tag: ""
# Replicas.
replicaCount: 2
`,
			want: []Row{
				{Key: "image.repository", Type: "string", Default: `"example"`, Description: "The repository."},
				{Key: "image.tag", Type: "string", Default: `""`, Description: "The tag."},
				{Key: "replicaCount", Type: "int", Default: "2", Description: "Replicas."},
			},
		},
		"a map without comments inside is one value": {
			values: `
# Resources of the container,
# over two lines.
resources:
  limits:
    cpu: 500m
`,
			want: []Row{{Key: "resources", Type: "object", Default: `{"limits":{"cpu":"500m"}}`,
				Description: "Resources of the container, over two lines."}},
		},
		"lists, bools and empty maps": {
			values: `
# Domains.
domains: ["*.okta.com"]
# On.
enabled: true
# Labels.
labels: {}
`,
			want: []Row{
				{Key: "domains", Type: "list", Default: `["*.okta.com"]`, Description: "Domains."},
				{Key: "enabled", Type: "bool", Default: "true", Description: "On."},
				{Key: "labels", Type: "object", Default: "{}", Description: "Labels."},
			},
		},
		"a key without a comment": {
			values: `
# Documented.
a: 1
b: 2
`,
			wantErr: "no comment above b",
		},
		"a key without a comment inside a section": {
			values: `
# Section.
s:
  # Documented.
  a: 1
  b: 2
`,
			wantErr: "no comment above s.b",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseValues([]byte(tc.values))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("rows = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestTableEscapesPipes(t *testing.T) {
	table := Table([]Row{{Key: "k", Type: "string", Default: `"a|b"`, Description: "x | y"}})
	if !strings.Contains(table, "| `k` | string | `\"a\\|b\"` | x \\| y |") {
		t.Errorf("table = %q", table)
	}
}

func TestReplaceTable(t *testing.T) {
	readme := "intro\n" + beginMarker + "\nold\n" + endMarker + "\noutro\n"
	got, err := ReplaceTable([]byte(readme), "NEW\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "intro\n" + beginMarker + "\n\nNEW\n\n" + endMarker + "\noutro\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReplaceTable([]byte("no markers"), "x"); err == nil {
		t.Error("a README without markers must be an error")
	}
}
