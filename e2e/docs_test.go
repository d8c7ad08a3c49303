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

// codeSpan matches a fenced code block or an inline code span.
var codeSpan = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```|`([^`]+)`")

// testedCmctl are the cmctl commands the tests run (TestBankIstioCACerts:
// status certificate, inspect secret, renew; TestDualControl: approve,
// deny). The docs may tell users to run these and no others.
var testedCmctl = map[string]bool{"renew": true, "status certificate": true, "inspect secret": true, "approve": true, "deny": true}

// TestDocumentedCmctlCommands checks every cmctl command in the code of
// README.md and docs/*.md: it must be one the tests run, and every flag it
// uses must be one that command of bin/cmctl accepts.
func TestDocumentedCmctlCommands(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(stack.RepoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(stack.RepoRoot, "README.md"))
	help := map[string]string{}
	commands := 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range codeSpan.FindAllStringSubmatch(string(data), -1) {
			code := m[1] + m[2]
			for _, line := range strings.Split(code, "\n") {
				for _, cmd := range cmctlCommands(line) {
					commands++
					sub := cmd.sub
					if !testedCmctl[sub] {
						t.Errorf("%s: `cmctl %s` is not a command the tests run (%s)", filepath.Base(doc), sub, line)
						continue
					}
					if _, ok := help[sub]; !ok {
						res, err := stack.Cmctl(t.Context(), stack.Kubeconfig, append(strings.Fields(sub), "--help")...)
						if err != nil {
							t.Fatal(err)
						}
						help[sub] = res.Stdout + res.Stderr
					}
					for _, flag := range cmd.flags {
						if !strings.Contains(help[sub], flag+" ") && !strings.Contains(help[sub], flag+"=") && !strings.Contains(help[sub], flag+",") {
							t.Errorf("%s: `cmctl %s` has no flag %s (%s)", filepath.Base(doc), sub, flag, line)
						}
					}
				}
			}
		}
	}
	t.Logf("%d cmctl commands in the docs checked", commands)
	if commands == 0 {
		t.Fatal("the docs name no cmctl command")
	}
}

type cmctlCommand struct {
	sub   string
	flags []string
}

// cmctlCommands finds the cmctl invocations in one line of code: "cmctl",
// a subcommand (two words for status and inspect), arguments, up to a shell
// comment or the end of the line.
func cmctlCommands(line string) []cmctlCommand {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(line)
	var out []cmctlCommand
	for i, f := range fields {
		if f != "cmctl" && !strings.HasSuffix(f, "/cmctl") {
			continue
		}
		if i+1 >= len(fields) || !isWord(fields[i+1]) {
			continue
		}
		cmd := cmctlCommand{sub: fields[i+1]}
		rest := fields[i+2:]
		if (cmd.sub == "status" || cmd.sub == "inspect") && len(rest) > 0 {
			cmd.sub += " " + rest[0]
			rest = rest[1:]
		}
		for _, a := range rest {
			if a == "|" || a == "&&" || a == ";" {
				break
			}
			if strings.HasPrefix(a, "-") {
				name, _, _ := strings.Cut(a, "=")
				cmd.flags = append(cmd.flags, name)
			}
		}
		out = append(out, cmd)
	}
	return out
}

func isWord(s string) bool {
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}
