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

package charts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/release"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// ChartName is the operator's chart, a folder beside this file.
const ChartName = "okta-token-operator"

// KubeVersion is the Kubernetes version charts are rendered for: the one the
// test control plane runs.
const KubeVersion = "v1.37.2"

// Dir is the chart's folder, found from this file's location so that tests
// and tools work from any directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), ChartName)
}

// Load reads the chart from Dir.
func Load() (*chart.Chart, error) {
	c, err := loader.Load(Dir())
	if err != nil {
		return nil, fmt.Errorf("loading the chart from %s: %w", Dir(), err)
	}
	return c, nil
}

// Release names the release a rendering is for, as `helm install NAME
// --namespace NAMESPACE` would.
type Release struct {
	Name      string
	Namespace string
	// Values are what --set and -f would give; nil means the chart's
	// defaults.
	Values map[string]any
}

// Rendering is what `helm template` prints, parsed.
type Rendering struct {
	// Manifest is the rendered YAML, CRDs included.
	Manifest string
	// Objects are the manifest's documents, in order.
	Objects []*unstructured.Unstructured
	// Notes is the rendered NOTES.txt.
	Notes string
}

// Render renders the chart for r as `helm template --include-crds` does,
// validating the values against values.schema.json.
func Render(r Release) (*Rendering, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		return nil, err
	}
	install := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	install.ReleaseName = r.Name
	install.Namespace = r.Namespace
	// A client-side dry run is what `helm template` does: nothing reaches a
	// cluster, and the capabilities are Helm's defaults with KubeVersion.
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.IncludeCRDs = true
	install.KubeVersion = kv
	values := r.Values
	if values == nil {
		values = map[string]any{}
	}
	rel, err := install.Run(c, values)
	if err != nil {
		return nil, fmt.Errorf("rendering the chart as release %s/%s: %w", r.Namespace, r.Name, err)
	}
	acc, err := release.NewAccessor(rel)
	if err != nil {
		return nil, fmt.Errorf("reading the rendered release: %w", err)
	}
	manifest := acc.Manifest()
	objs, err := DecodeObjects([]byte(manifest))
	if err != nil {
		return nil, fmt.Errorf("reading the rendered manifest: %w", err)
	}
	return &Rendering{Manifest: manifest, Objects: objs, Notes: acc.Notes()}, nil
}

// DecodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents.
func DecodeObjects(manifest []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// Find returns the object of that kind and name, or nil.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// OfKind returns the objects of that kind.
func OfKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if strings.EqualFold(o.GetKind(), kind) {
			out = append(out, o)
		}
	}
	return out
}
