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

package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// The example issuers are the policies the tests use, read from the YAML
// users apply, and docs/policy.md quotes them verbatim.
func TestExamplePolicies(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want *v1alpha1.IntermediatePolicy
	}{
		{"issuer-bank.yaml", bankPolicy()},
		{"issuer-spire.yaml", spirePolicy()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "examples", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var issuer v1alpha1.VaultIntermediateClusterIssuer
			if err := yaml.UnmarshalStrict(data, &issuer); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&issuer.Spec.Policy, tc.want) {
				t.Errorf("spec.policy of %s is not the policy the tests use:\n got %+v\nwant %+v", tc.file, issuer.Spec.Policy, *tc.want)
			}
			if errs := Validate(&issuer.Spec.Policy); len(errs) > 0 {
				t.Errorf("invalid:\n%s", FormatViolations(errs))
			}
			if !strings.Contains(string(doc), "```yaml\n"+string(data)+"```\n") {
				t.Errorf("docs/policy.md does not quote %s verbatim", tc.file)
			}
		})
	}
}
