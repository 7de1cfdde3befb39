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

package v1alpha1_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestEveryReasonIsDocumented: each Reason constant the operator can set
// (condition or Event) has an entry in docs/troubleshooting.md, written as
// code, so a user who sees it can look it up; and every reason the page
// names in its tables exists.
func TestEveryReasonIsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "wellknown.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if strings.HasPrefix(name.Name, "Reason") && i < len(spec.Values) {
				if lit, ok := spec.Values[i].(*ast.BasicLit); ok {
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					reasons[v] = true
				}
			}
		}
		return true
	})
	if len(reasons) < 30 {
		t.Fatalf("found %d reasons in wellknown.go; the parse is wrong", len(reasons))
	}
	doc, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	for r := range reasons {
		if !strings.Contains(string(doc), "`"+r+"`") {
			t.Errorf("reason %s has no entry in docs/troubleshooting.md", r)
		}
	}
	// The reasons column of the conditions table: each must exist.
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "True") && !strings.Contains(cells[1], "False") && !strings.Contains(cells[1], "Unknown") {
			continue
		}
		quoted := strings.Split(cells[2], "`")
		for i := 1; i < len(quoted); i += 2 {
			name := quoted[i]
			if name == "" || name == "Reconciling" || name == "Stalled" || strings.ContainsAny(name, "=.- ") ||
				name[0] < 'A' || name[0] > 'Z' {
				continue
			}
			if !reasons[name] {
				t.Errorf("docs/troubleshooting.md names reason %s, which the operator never sets", name)
			}
		}
	}
}
