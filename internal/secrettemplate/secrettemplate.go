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

// Package secrettemplate renders spec.secretTemplate.data: extra keys of
// the token Secret made from Go text/template templates that may name the
// token's four fields and nothing else.
//
// The templates are written by whoever may edit an OktaScopedToken and run
// in the operator, so they are held to the smallest language that does the
// job: text and {{ .field }} actions. No functions (none are defined, and
// the built-in ones — printf, index, call — are refused), no pipelines,
// conditions, loops or template definitions: nothing that could read
// anything but the four fields, spin, or grow without bound. The CRD refuses
// the same at admission with a regular expression; Check is the same rule
// for what the API server let through (an older CRD, say).
package secrettemplate

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// Fields are the names a template may use.
var Fields = []string{"accessToken", "tokenType", "expiry", "scope"}

// maxRendered bounds what the templates may produce, one and all
// together: the CRD caps the templates' size, not what they render (a
// template that names the access token a thousand times is 16 KiB), and the
// token Secret is written and cached by the manager.
const maxRendered = 64 << 10

// Values are the token's fields, by their template names.
type Values struct {
	AccessToken, TokenType, Expiry, Scope string
}

func (v Values) asMap() map[string]string {
	return map[string]string{"accessToken": v.AccessToken, "tokenType": v.TokenType, "expiry": v.Expiry, "scope": v.Scope}
}

// Check parses a template and refuses anything but text and field
// references. Its errors name the key and what is wrong, never a value.
func Check(key, text string) (*template.Template, error) {
	t, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("secretTemplate.data[%s] is not a template: %s", key, strings.TrimPrefix(err.Error(), "template: "))
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("secretTemplate.data[%s] defines templates; only {{ .field }} is allowed", key)
	}
	if t.Tree == nil || t.Root == nil {
		return t, nil
	}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			if err := checkAction(n); err != nil {
				return nil, fmt.Errorf("secretTemplate.data[%s]: %w", key, err)
			}
		default:
			return nil, fmt.Errorf("secretTemplate.data[%s]: %q is not allowed; only {{ .%s }} and the other fields",
				key, clip(n.String()), Fields[0])
		}
	}
	return t, nil
}

func checkAction(n *parse.ActionNode) error {
	p := n.Pipe
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return fmt.Errorf("%q is not allowed; only a field, such as {{ .accessToken }}", clip(n.String()))
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 || !isField(f.Ident[0]) {
		return fmt.Errorf("%q names no field of the token; use %s", clip(n.String()), fieldList())
	}
	return nil
}

func isField(s string) bool {
	return slices.Contains(Fields, s)
}

func fieldList() string {
	out := make([]string, len(Fields))
	for i, f := range Fields {
		out[i] = "{{ ." + f + " }}"
	}
	return strings.Join(out, ", ")
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Render renders every template with v. A template that fails is named in
// the error; no value is.
func Render(templates map[string]string, v Values) (map[string][]byte, error) {
	out := make(map[string][]byte, len(templates))
	var errs []error
	total := 0
	keys := slices.Sorted(maps.Keys(templates))
	for _, key := range keys {
		t, err := Check(key, templates[key])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w := &limitedBuffer{max: maxRendered - total}
		if err := t.Execute(w, v.asMap()); err != nil {
			if w.full {
				errs = append(errs, fmt.Errorf("secretTemplate.data renders to more than %d KiB with secretTemplate.data[%s] "+
					"(all keys together, with this token): name the token's fields fewer times", maxRendered>>10, key))
				continue
			}
			errs = append(errs, fmt.Errorf("secretTemplate.data[%s] cannot be rendered", key))
			continue
		}
		total += w.Len()
		out[key] = w.Bytes()
	}
	return out, errors.Join(errs...)
}

type limitedBuffer struct {
	bytes.Buffer
	max int
	// full: a write went past max.
	full bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.full = true
		return 0, errors.New("too long")
	}
	return b.Buffer.Write(p)
}
