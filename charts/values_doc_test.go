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

package charts_test

// The chart's README.md is written by helm-docs (github.com/norwoodj/helm-docs,
// run by `make helm-docs`) from README.md.gotmpl and the `# --` comments in
// values.yaml. helm-docs has no check mode, and its strict mode neither
// counts `# --` comments nor fails the run (it logs a warning, skips the
// chart and exits 0), so the checks live here: the README is what helm-docs
// writes today, and every key of values.yaml is documented.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/okta-token-operator/okta-token-operator/charts"
)

// helmDocsCommand reads the helm-docs command from the Makefile, so that the
// test runs what `make helm-docs` runs: the pinned module version and the
// flags.
func helmDocsCommand() (pkg string, flags []string, err error) {
	makefile, err := os.ReadFile(filepath.Join(repoRoot(), "Makefile"))
	if err != nil {
		return "", nil, err
	}
	version := regexp.MustCompile(`(?m)^HELM_DOCS_VERSION \?= (v\d+\.\d+\.\d+)$`).FindSubmatch(makefile)
	if version == nil {
		return "", nil, fmt.Errorf("the Makefile pins no HELM_DOCS_VERSION ?= vX.Y.Z")
	}
	flagLine := regexp.MustCompile(`(?m)^HELM_DOCS_FLAGS = (.*)$`).FindSubmatch(makefile)
	if flagLine == nil {
		return "", nil, fmt.Errorf("the Makefile sets no HELM_DOCS_FLAGS")
	}
	return "github.com/norwoodj/helm-docs/cmd/helm-docs@" + string(version[1]), strings.Fields(string(flagLine[1])), nil
}

// helmDocs is the README.md helm-docs writes from the chart as it is now.
var helmDocs = sync.OnceValues(func() (string, error) {
	pkg, flags, err := helmDocsCommand()
	if err != nil {
		return "", err
	}
	args := append([]string{"run", pkg, "--chart-search-root", ".", "--dry-run"}, flags...)
	cmd := exec.Command("go", args...)
	cmd.Dir = charts.Dir()
	// helm-docs reads HELM_DOCS_* variables as flags; only the Makefile's count.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HELM_DOCS_") })
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	// helm-docs logs a failure (a template or values.yaml it cannot read)
	// as a warning and exits 0; stderr also has go's "downloading" lines.
	if stdout.Len() == 0 || strings.Contains(stderr.String(), "level=") {
		return "", fmt.Errorf("helm-docs failed:\n%s", stderr.String())
	}
	return stdout.String(), nil
})

// TestReadmeIsUpToDate fails when values.yaml or README.md.gotmpl changed
// without `make helm-docs`, or README.md was edited by hand.
func TestReadmeIsUpToDate(t *testing.T) {
	want, err := helmDocs()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(charts.Dir(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) == want {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(want, "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		g, w := "", ""
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("%s/README.md is out of date: run make helm-docs\nline %d is  %q\nhelm-docs writes %q", charts.ChartName, i+1, g, w)
			return
		}
	}
}

// TestValuesAreDocumented: every key of values.yaml carries its comment, and
// every value has its row, with its description, in the table helm-docs
// writes.
func TestValuesAreDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(charts.Dir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := documentedValues(raw)
	if err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	readme, err := helmDocs()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for line := range strings.SplitSeq(readme, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		key, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "` |")
		cells := strings.TrimSuffix(line, " |")
		if desc := strings.TrimSpace(cells[strings.LastIndex(cells, " | ")+3:]); desc == "" {
			t.Errorf("the row of %s has no description: helm-docs did not read its comment (a `# --` line, no other ` --` in it)", key)
		}
		rows = append(rows, key)
	}
	if !slices.Equal(rows, keys) {
		t.Errorf("the values table has the rows\n%v\nvalues.yaml documents\n%v", rows, keys)
	}
}

// descriptionComment is how helm-docs recognises a value's description.
var descriptionComment = regexp.MustCompile(`(?m)^[ \t]*# --[ \t]*\S`)

// documentedValues lists the values of a values.yaml as helm-docs makes rows
// of them, in file order, and fails on any key without its comment: a value
// (a leaf, a list, or a map that is one value such as resources) carries a
// `# --` description, and a section (a map of values) a plain comment.
func documentedValues(data []byte) ([]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a map")
	}
	var keys, problems []string
	var walk func(m *yaml.Node, prefix string)
	walk = func(m *yaml.Node, prefix string) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, value := m.Content[i], m.Content[i+1]
			name := key.Value
			if strings.ContainsAny(name, ". ") {
				name = `"` + name + `"` // as helm-docs writes such keys
			}
			path := prefix + name
			switch {
			case descriptionComment.MatchString(key.HeadComment):
				keys = append(keys, path)
				if inner := describedKeys(value, path+"."); len(inner) > 0 {
					problems = append(problems, fmt.Sprintf("%s is described as one value, so %s must not carry `# --` (make %s a section with a plain comment instead)",
						path, strings.Join(inner, ", "), path))
				}
			case value.Kind == yaml.MappingNode && len(value.Content) > 0:
				if strings.TrimSpace(strings.ReplaceAll(key.HeadComment, "#", "")) == "" {
					problems = append(problems, fmt.Sprintf("no comment above the section %s", path))
				}
				walk(value, path+".")
			default:
				problems = append(problems, fmt.Sprintf("no `# --` comment above %s", path))
			}
		}
	}
	walk(doc.Content[0], "")
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: describe every value on the line above it", strings.Join(problems, "; "))
	}
	return keys, nil
}

// describedKeys lists the keys under n that carry a `# --` description.
func describedKeys(n *yaml.Node, prefix string) []string {
	var out []string
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			path := prefix + n.Content[i].Value
			if descriptionComment.MatchString(n.Content[i].HeadComment) {
				out = append(out, path)
			}
			out = append(out, describedKeys(n.Content[i+1], path+".")...)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			out = append(out, describedKeys(item, prefix)...)
		}
	}
	return out
}

func TestDocumentedValues(t *testing.T) {
	tests := map[string]struct {
		values  string
		want    []string
		wantErr string
	}{
		"sections, values and maps that are one value": {
			values: `
# Section.
image:
  # -- The repository.
  repository: example
  # -- The tag.
  tag: ""
# -- Resources, one value
# over two lines.
resources:
  limits:
    cpu: 500m
# -- Labels.
labels: {}
# -- Domains.
domains: ["*.okta.com"]
`,
			want: []string{"image.repository", "image.tag", "resources", "labels", "domains"},
		},
		"a key without a comment": {
			values:  "# -- Documented.\na: 1\nb: 2\n",
			wantErr: "no `# --` comment above b",
		},
		"a plain comment above a value": {
			values:  "# Not a description.\na: 1\n",
			wantErr: "no `# --` comment above a",
		},
		"an empty description": {
			values:  "# --\na: 1\n",
			wantErr: "no `# --` comment above a",
		},
		"a key without a comment inside a section": {
			values:  "# Section.\ns:\n  # -- Documented.\n  a: 1\n  b: 2\n",
			wantErr: "no `# --` comment above s.b",
		},
		"a section without a comment": {
			values:  "s:\n  # -- Documented.\n  a: 1\n",
			wantErr: "no comment above the section s",
		},
		"a map that is one value with described keys": {
			values:  "# -- One value.\ns:\n  # -- Documented too.\n  a: 1\n",
			wantErr: "s is described as one value, so s.a must not carry",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := documentedValues([]byte(tc.values))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("values = %v, want %v", got, tc.want)
			}
		})
	}
}
