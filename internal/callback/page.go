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

package callback

import (
	"html/template"
	"net/http"
)

type fact struct{ Name, Value string }

// page is what the person sees in the browser after Okta's redirect.
type page struct {
	Title   string
	Message string
	Hint    string
	Facts   []fact
	Success bool
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · okta-token-operator</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d1d21;margin:0}
main{max-width:36rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 1rem}
h1.ok{color:#1a7f37} h1.fail{color:#b42318}
dl{display:grid;grid-template-columns:max-content auto;gap:.4rem 1rem;margin:1.2rem 0}
dt{color:#5e5e66} dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.hint{color:#5e5e66} footer{margin-top:2rem;font-size:.8rem;color:#8a8a92}
</style>
</head>
<body>
<main>
<h1 id="title" class="{{if .Success}}ok{{else}}fail{{end}}">{{.Title}}</h1>
<p id="message">{{.Message}}</p>
{{if .Facts}}<dl id="facts">{{range .Facts}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}
{{if .Hint}}<p id="hint" class="hint">{{.Hint}}</p>{{end}}
<footer>okta-token-operator</footer>
</main>
</body>
</html>
`))

func render(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The URL that led here held a code: keep it out of caches and out of
	// the Referer of anything the page might load.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	if status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodGet)
	}
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, p)
}
