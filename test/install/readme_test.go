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

package install

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"helm.sh/helm/v4/pkg/strvals"

	"github.com/okta-token-operator/okta-token-operator/charts"
	"github.com/okta-token-operator/okta-token-operator/dev/testenv"
)

// readmeSection is the text of a "## " section of README.md.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", title)
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+4]
	}
	return text
}

var shellBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// shellWords splits one shell command line as sh would for the simple
// commands a README shows: backslash-newline continues the line, single
// quotes keep everything, $NAME outside them is expanded from vars, and a
// word starting with # begins a comment.
func shellWords(line string, vars map[string]string) ([]string, error) {
	line = strings.ReplaceAll(line, "\\\n", "")
	var words []string
	var word strings.Builder
	inWord, single, double := false, false, false
	nameChar := func(r byte) bool {
		return r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case single:
			if c == '\'' {
				single = false
			} else {
				word.WriteByte(c)
			}
		case c == '\'':
			single, inWord = true, true
		case c == '"':
			double, inWord = !double, true
		case c == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case c == '$':
			j := i + 1
			for j < len(line) && nameChar(line[j]) {
				j++
			}
			v, ok := vars[line[i+1:j]]
			if !ok {
				return nil, fmt.Errorf("$%s is not set earlier in the README", line[i+1:j])
			}
			word.WriteString(v)
			inWord, i = true, j-1
		case !double && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case !double && c == '#' && !inWord:
			i = len(line)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if single || double {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// readmeCommands are the commands of the section's sh blocks, one a line
// after continuations are joined, with the variables its lines assign.
func readmeCommands(t *testing.T, section string) ([][]string, map[string]string) {
	t.Helper()
	vars := map[string]string{}
	var commands [][]string
	assignment := regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=(\S*)$`)
	for _, block := range shellBlock.FindAllStringSubmatch(section, -1) {
		for line := range strings.SplitSeq(strings.ReplaceAll(block[1], "\\\n", ""), "\n") {
			words, err := shellWords(line, vars)
			if err != nil {
				t.Fatalf("README.md: %v", err)
			}
			if len(words) == 1 && assignment.MatchString(words[0]) {
				m := assignment.FindStringSubmatch(words[0])
				vars[m[1]] = m[2]
				continue
			}
			if len(words) > 0 {
				commands = append(commands, words)
			}
		}
	}
	return commands, vars
}

// TestReadmeInstallingWorks checks the README's "Installing" section as a
// user would copy it: the helm install command, with its --set flags parsed
// the way the helm CLI parses them, renders a release with the image, the
// callback host, the ingress class and annotation and the Okta domains it
// sets; every make target it runs exists; every file it names is there.
func TestReadmeInstallingWorks(t *testing.T) {
	g := NewWithT(t)
	section := readmeSection(t, "Installing")
	commands, vars := readmeCommands(t, section)
	g.Expect(vars).To(HaveKey("REGISTRY"))
	g.Expect(vars).To(HaveKey("TAG"))

	var helmInstall []string
	for _, c := range commands {
		if len(c) > 1 && c[0] == "helm" && c[1] == "install" {
			helmInstall = c
		}
	}
	g.Expect(helmInstall).NotTo(BeEmpty(), "the section shows a helm install command")
	release := charts.Release{Values: map[string]any{}}
	var positional []string
	for i := 2; i < len(helmInstall); i++ {
		arg := helmInstall[i]
		next := func() string {
			i++
			if i >= len(helmInstall) {
				t.Fatalf("README.md: %s has no value", arg)
			}
			return helmInstall[i]
		}
		var err error
		switch arg {
		case "--namespace", "-n":
			release.Namespace = next()
		case "--create-namespace":
		case "--set":
			err = strvals.ParseInto(next(), release.Values)
		case "--set-string":
			err = strvals.ParseIntoString(next(), release.Values)
		default:
			if strings.HasPrefix(arg, "-") {
				t.Fatalf("README.md: helm install flag %s is not one this test knows; teach it", arg)
			}
			positional = append(positional, arg)
		}
		if err != nil {
			t.Fatalf("README.md: helm cannot parse %s: %v", arg, err)
		}
	}
	g.Expect(positional).To(HaveLen(2), "helm install NAME CHART")
	release.Name = positional[0]
	g.Expect(filepath.Join(testenv.RepoRoot(), positional[1])).To(Equal(charts.Dir()), "the chart's path from the checkout")
	out, err := charts.Render(release)
	g.Expect(err).NotTo(HaveOccurred())

	host := release.Values["callback"].(map[string]any)["host"]
	d := renderedDeployment(t, rendered{source: "chart", objects: out.Objects})
	manager := containerNamed(d, "manager")
	g.Expect(manager).NotTo(BeNil())
	g.Expect(manager.Image).To(Equal(vars["REGISTRY"] + "/okta-token-operator:" + vars["TAG"]))
	g.Expect(manager.Env).To(ContainElement(corev1.EnvVar{Name: "CALLBACK_URL", Value: fmt.Sprintf("https://%s/callback", host)}))
	g.Expect(manager.Args).To(ContainElement("--okta-domains=*.okta.com,login.example.com"))
	ingresses := charts.OfKind(out.Objects, "Ingress")
	g.Expect(ingresses).To(HaveLen(1))
	var ing networkingv1.Ingress
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(ingresses[0].Object, &ing)).To(Succeed())
	g.Expect(ing.Spec.IngressClassName).To(HaveValue(Equal("nginx")))
	g.Expect(ing.Annotations).To(HaveKeyWithValue("cert-manager.io/cluster-issuer", "letsencrypt"))
	g.Expect(ing.Spec.TLS).To(HaveLen(1))
	g.Expect(ing.Spec.TLS[0].Hosts).To(ConsistOf(host))
	g.Expect(ing.Spec.Rules).To(HaveLen(1))
	g.Expect(ing.Spec.Rules[0].Host).To(Equal(host))

	makefile, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "Makefile"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, c := range commands {
		if c[0] != "make" {
			continue
		}
		for _, target := range c[1:] {
			if strings.Contains(target, "=") {
				continue
			}
			g.Expect(regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(target)+`:`).Match(makefile)).To(BeTrue(),
				"README.md runs make %s, which the Makefile does not have", target)
		}
		g.Expect(c).To(ContainElement(HavePrefix("IMG=")), "make %v is given the image", c[1:])
	}
	// Files and links the section names, and no placeholders a shell
	// would read as a redirection.
	for _, m := range regexp.MustCompile("`((?:config|docs|charts)/[^`\\s]+)`|\\]\\(((?:docs|charts)/[^)]+)\\)").FindAllStringSubmatch(section, -1) {
		path := slices.DeleteFunc(m[1:], func(s string) bool { return s == "" })[0]
		_, err := os.Stat(filepath.Join(testenv.RepoRoot(), path))
		g.Expect(err).NotTo(HaveOccurred(), "README.md names %s", path)
	}
	for _, block := range shellBlock.FindAllStringSubmatch(section, -1) {
		g.Expect(block[1]).NotTo(MatchRegexp(`<[a-z-]+>`), "a <placeholder> in a command does not survive a copy and paste")
	}
}
