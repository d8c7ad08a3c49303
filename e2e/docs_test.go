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

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// yamlBlock matches a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// notServed are the API groups of the docs' objects that the test API server
// does not serve (no Prometheus Operator); e2e/alerts checks those rules
// with Prometheus's own parser instead.
var notServed = map[string]bool{"monitoring.coreos.com": true}

// TestEveryDocumentedYAMLIsAccepted applies, as a server-side dry run with
// strict field validation, every YAML block of README.md and docs/*.md and
// every file of deploy/examples/, so the docs cannot rot:
//
//   - a block of Kubernetes objects is applied as it is;
//   - a block starting with "# values-" is a Helm values file: the chart is
//     rendered with it and the result applied;
//   - any other block is a fragment of an issuer's policy (docs/policy.md):
//     it is put into the bank issuer's spec.policy and the issuer applied.
func TestEveryDocumentedYAMLIsAccepted(t *testing.T) {
	ctx := t.Context()
	applier, err := stack.NewApplier("docs-test")
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"istio-system", "spire"} {
		if err := stack.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	bank, err := env.LoadYAML(stack.Example("issuer-bank.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	docs, err := filepath.Glob(filepath.Join(stack.RepoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(stack.RepoRoot, "README.md"))
	blocks := 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllStringSubmatch(string(data), -1) {
			blocks++
			block := m[1]
			name := fmt.Sprintf("%s#%d", filepath.Base(doc), i+1)
			t.Run(name, func(t *testing.T) {
				var objs []*unstructured.Unstructured
				switch {
				case strings.Contains(block, "apiVersion:"):
					if objs, err = env.DecodeYAML([]byte(block)); err != nil {
						t.Fatal(err)
					}
				case strings.HasPrefix(block, "# values-"):
					values := filepath.Join(t.TempDir(), "values.yaml")
					if err := os.WriteFile(values, []byte(block), 0o600); err != nil {
						t.Fatal(err)
					}
					if _, objs, err = stack.RenderChart(ctx, "docs", env.ClusterResourceNamespace, "--values", values); err != nil {
						t.Fatalf("rendering the chart with this values file: %v", err)
					}
				default:
					var fragment map[string]any
					if err := yaml.UnmarshalStrict([]byte(block), &fragment); err != nil {
						t.Fatalf("not YAML: %v", err)
					}
					iss := bank[0].DeepCopy()
					iss.SetName(fmt.Sprintf("docs-%s-%d", strings.TrimSuffix(strings.ToLower(filepath.Base(doc)), ".md"), i+1))
					for k, v := range fragment {
						if err := unstructured.SetNestedField(iss.Object, v, "spec", "policy", k); err != nil {
							t.Fatal(err)
						}
					}
					objs = []*unstructured.Unstructured{iss}
				}
				applied := 0
				for _, obj := range objs {
					if notServed[obj.GroupVersionKind().Group] {
						continue
					}
					if err := applier.Apply(ctx, true, obj); err != nil {
						t.Errorf("%v\n%s", err, block)
					}
					applied++
				}
				if applied == 0 && len(objs) > 0 {
					t.Logf("%d objects of API groups the test server does not serve", len(objs))
				}
			})
		}
	}

	examples, err := filepath.Glob(filepath.Join(stack.RepoRoot, "deploy", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range examples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			objs, err := env.LoadYAML(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, obj := range objs {
				if err := applier.Apply(ctx, true, obj); err != nil {
					t.Error(err)
				}
			}
		})
	}
	t.Logf("%d YAML blocks in the docs and %d examples applied", blocks, len(examples))
	if blocks == 0 || len(examples) == 0 {
		t.Fatal("found nothing to apply")
	}
}
