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

package secrettemplate

import (
	"fmt"
	"strings"
	"testing"
)

var token = Values{AccessToken: "eyJ.access", TokenType: "Bearer", Expiry: "2026-11-30T13:00:00Z", Scope: "okta.logs.read"}

func TestRender(t *testing.T) {
	tests := map[string]struct {
		template string
		want     string
	}{
		"a header":          {template: "Bearer {{ .accessToken }}", want: "Bearer eyJ.access"},
		"no spaces":         {template: "{{.tokenType}} {{.accessToken}}", want: "Bearer eyJ.access"},
		"trim markers":      {template: "a\n{{- .scope -}}\nb", want: "aokta.logs.readb"},
		"a config file":     {template: "token: {{ .accessToken }}\nexpires: {{ .expiry }}\n", want: "token: eyJ.access\nexpires: 2026-11-30T13:00:00Z\n"},
		"plain text":        {template: "no template at all {", want: "no template at all {"},
		"braces in text":    {template: "{ \"json\": true }", want: "{ \"json\": true }"},
		"text and comments": {template: "x{{/* a note */}}y", want: "xy"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := Render(map[string]string{"k": tc.template}, token)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out["k"]); got != tc.want {
				t.Fatalf("rendered %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRenderRefuses: anything that could reach more than the four fields,
// spin, or grow without bound is refused, and the error names the key but
// never a value.
func TestRenderRefuses(t *testing.T) {
	tests := map[string]string{
		"a function":            `{{ printf "%s" .accessToken }}`,
		"a pipeline":            `{{ .accessToken | printf "%q" }}`,
		"call":                  `{{ call .accessToken }}`,
		"index":                 `{{ index . "accessToken" }}`,
		"a loop":                `{{ range 100000000 }}x{{ end }}`,
		"a condition":           `{{ if .accessToken }}yes{{ end }}`,
		"a variable":            `{{ $t := .accessToken }}{{ $t }}`,
		"a definition":          `{{ define "x" }}{{ .accessToken }}{{ end }}{{ template "x" . }}`,
		"the whole dot":         `{{ . }}`,
		"an unknown field":      `{{ .refreshToken }}`,
		"a field of a field":    `{{ .accessToken.Len }}`,
		"a with block":          `{{ with .accessToken }}{{ . }}{{ end }}`,
		"not a template at all": `{{ .accessToken `,
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := Render(map[string]string{"authorization": text}, token)
			if err == nil {
				t.Fatalf("rendered %q to %q; want it refused", text, out["authorization"])
			}
			if !strings.Contains(err.Error(), "secretTemplate.data[authorization]") {
				t.Errorf("error %q does not name the key", err)
			}
			if strings.Contains(err.Error(), token.AccessToken) {
				t.Errorf("error %q carries the token", err)
			}
			if _, ok := out["authorization"]; ok {
				t.Error("a refused template still produced a key")
			}
		})
	}
}

func TestRenderIsBounded(t *testing.T) {
	long := Values{AccessToken: strings.Repeat("a", 40<<10)}
	if _, err := Render(map[string]string{"k": "{{ .accessToken }}{{ .accessToken }}"}, long); err == nil {
		t.Fatal("a rendering past the bound was written")
	}
}

// TestRenderIsBoundedTogether: the templates fit the CRD's 16 KiB, but
// sixteen keys each naming a 1 KiB access token a few times render to
// more than 64 KiB together. The keys that fit are rendered; the rest are
// refused with a message that names the first key past the bound and no
// value.
func TestRenderIsBoundedTogether(t *testing.T) {
	jwt := Values{AccessToken: strings.Repeat("j", 1<<10)}
	templates := map[string]string{}
	for i := range 16 {
		templates[fmt.Sprintf("k%02d", i)] = strings.Repeat("{{ .accessToken }}", 5)
	}
	out, err := Render(templates, jwt)
	if err == nil {
		t.Fatal("80 KiB rendered without an error")
	}
	if !strings.Contains(err.Error(), "secretTemplate.data renders to more than 64 KiB with secretTemplate.data[k12]") {
		t.Errorf("error %q does not name the first key past the bound", err)
	}
	if strings.Contains(err.Error(), "jjjj") {
		t.Error("the error quotes the token")
	}
	total := 0
	for _, v := range out {
		total += len(v)
	}
	if len(out) != 12 || total > 64<<10 {
		t.Errorf("%d keys, %d bytes rendered; want the 12 that fit in 64 KiB", len(out), total)
	}
}
