/*
Copyright 2026 The vault-intermediate-issuer Authors.

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

package env

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ChartDir is the Helm chart's directory under the repository root.
const ChartDir = "deploy/charts/vault-intermediate-issuer"

// RenderChart runs `bin/helm template RELEASE CHART --namespace NAMESPACE`
// with the extra args (for example "--include-crds", or "--set", "k=v") and
// returns the rendered YAML and its objects.
func (e *Env) RenderChart(ctx context.Context, release, namespace string, args ...string) ([]byte, []*unstructured.Unstructured, error) {
	helm := filepath.Join(e.BinDir, "helm")
	if _, err := os.Stat(helm); err != nil {
		return nil, nil, fmt.Errorf("helm is missing from %s: run `make tools` first", e.BinDir)
	}
	cmdArgs := append([]string{"template", release, filepath.Join(e.RepoRoot, ChartDir),
		"--namespace", namespace}, args...)
	cmd := exec.CommandContext(ctx, helm, cmdArgs...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("helm %v: %w: %s", cmdArgs, err, stderr.String())
	}
	objs, err := DecodeYAML(out)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the rendered chart: %w", err)
	}
	return out, objs, nil
}

// DecodeYAML decodes every object of a multi-document YAML stream, skipping
// empty documents.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := decoder.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, u)
	}
}

// Applier applies objects with server-side apply as one field manager, with
// strict field validation (an unknown or duplicate field is an error, not a
// warning), and keeps the warnings the API server returns (Pod Security
// admission warns about workloads whose pods it would reject).
type Applier struct {
	client   client.Client
	owner    string
	mu       sync.Mutex
	warnings []string
}

// NewApplier returns an Applier acting as the admin user.
func (e *Env) NewApplier(fieldOwner string) (*Applier, error) {
	a := &Applier{owner: fieldOwner}
	cfg := rest.CopyConfig(e.RestConfig)
	cfg.WarningHandlerWithContext = warningRecorder{a}
	c, err := client.New(cfg, client.Options{Scheme: e.Scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the applying client: %w", err)
	}
	a.client = client.WithFieldValidation(c, "Strict")
	return a, nil
}

type warningRecorder struct{ a *Applier }

func (w warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	w.a.warnings = append(w.a.warnings, text)
}

// Apply server-side applies each object, taking ownership of conflicting
// fields. With dryRun the API server validates and admits the objects
// without storing them.
func (a *Applier) Apply(ctx context.Context, dryRun bool, objs ...*unstructured.Unstructured) error {
	for _, obj := range objs {
		opts := []client.ApplyOption{client.FieldOwner(a.owner), client.ForceOwnership}
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), opts...); err != nil {
			return fmt.Errorf("applying %s %s: %w", obj.GetKind(), client.ObjectKeyFromObject(obj), err)
		}
	}
	return nil
}

// Warnings returns the warnings the API server sent since the last call, and
// forgets them.
func (a *Applier) Warnings() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.warnings
	a.warnings = nil
	return w
}
