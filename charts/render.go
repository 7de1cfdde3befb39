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
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
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
	values := r.Values
	if values == nil {
		values = map[string]any{}
	}
	manifest, notes, err := render(c, r.Name, r.Namespace, values, kv)
	if err != nil {
		return nil, fmt.Errorf("rendering the chart as release %s/%s: %w", r.Namespace, r.Name, err)
	}
	objs, err := DecodeObjects([]byte(manifest))
	if err != nil {
		return nil, fmt.Errorf("reading the rendered manifest: %w", err)
	}
	return &Rendering{Manifest: manifest, Objects: objs, Notes: notes}, nil
}

// render is what helm.sh/helm/v4/pkg/action's Install.RunWithContext (v4.3.2)
// does for a client-only dry run with IncludeCRDs, the steps `helm template
// --include-crds` takes, without the action package: that package's
// registry, plugin and storage dependencies are hundreds of packages this
// module needs nowhere else. The error messages are Install's.
//
// As with the release Install returns, hooks are not part of the manifest:
// they are sorted out and dropped (the chart has none).
func render(c *chart.Chart, name, namespace string, values map[string]any, kv *common.KubeVersion) (manifest, notes string, err error) {
	// Install.availableName; a dry run looks no further than the name.
	if err := chartutil.ValidateReleaseName(name); err != nil {
		return "", "", fmt.Errorf("release name check failed: release name %q: %w", name, err)
	}
	if err := chartutil.ProcessDependencies(c, values); err != nil {
		return "", "", fmt.Errorf("chart dependencies processing failed: %w", err)
	}
	// A client-only install's capabilities: Helm's defaults with the
	// KubeVersion asked for.
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	options := common.ReleaseOptions{
		Name:      name,
		Namespace: namespace,
		Revision:  1,
		IsInstall: true,
	}
	// Coalesces the chart's values with the user's, validates them against
	// values.schema.json and adds .Release, .Chart and .Capabilities.
	top, err := util.ToRenderValuesWithSchemaValidation(c, values, options, caps, false)
	if err != nil {
		return "", "", err
	}

	// From here on, Configuration.renderResources.
	if c.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return "", "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", c.Metadata.KubeVersion, caps.KubeVersion.Version)
	}
	var e engine.Engine
	files, err := e.RenderWithContext(context.Background(), c, top)
	if err != nil {
		return "", "", err
	}
	// NOTES.txt is neither a resource nor a hook: the chart's own becomes the
	// notes (subcharts' are dropped, as without --render-subchart-notes).
	var notesBuf bytes.Buffer
	for k, v := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			if k == path.Join(c.Name(), "templates", "NOTES.txt") {
				if notesBuf.Len() > 0 {
					notesBuf.WriteString("\n")
				}
				notesBuf.WriteString(v)
			}
			delete(files, k)
		}
	}
	// Helm's own sort, the one renderResources calls (pkg/release/v1/util
	// adds three small helm packages, none of action's dependencies):
	// documents split out of each file, partials and empty files skipped,
	// hooks separated, the rest in releaseutil.InstallOrder by kind (stable
	// within a kind, files in name order).
	_, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	// --include-crds: the crds/ folder's files come first, as they are.
	for _, crd := range c.CRDObjects() {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, string(crd.File.Data))
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.String(), notesBuf.String(), nil
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
