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

// Package alerts checks the shipped Prometheus alerting rules with
// Prometheus's own rule parser.
package alerts

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// prometheusRule is the part of a PrometheusRule object that holds the rule
// groups, in the format of a Prometheus rule file.
type prometheusRule struct {
	Kind string `json:"kind"`
	Spec struct {
		Groups []any `json:"groups"`
	} `json:"spec"`
}

// ourMetric matches the metric names of this controller in an expression.
var ourMetric = regexp.MustCompile(`vault_intermediate_issuer_[a-z_]+`)

// exported are the metric families the controller registers (see
// controllers/metrics.go); a histogram's series carry suffixes.
var exported = map[string]bool{
	"vault_intermediate_issuer_requests_total":                                 true,
	"vault_intermediate_issuer_policy_violations_total":                        true,
	"vault_intermediate_issuer_vault_requests_total":                           true,
	"vault_intermediate_issuer_vault_request_duration_seconds_bucket":          true,
	"vault_intermediate_issuer_vault_request_duration_seconds_sum":             true,
	"vault_intermediate_issuer_vault_request_duration_seconds_count":           true,
	"vault_intermediate_issuer_vault_logins_total":                             true,
	"vault_intermediate_issuer_token_ttl_seconds":                              true,
	"vault_intermediate_issuer_issued_certificate_not_after_timestamp_seconds": true,
	"vault_intermediate_issuer_issuer_vault_ready":                             true,
	"vault_intermediate_issuer_journal_mismatches_total":                       true,
}

func TestShippedAlertsParse(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "prometheus", "alerts.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.Unmarshal(data, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Kind != "PrometheusRule" || len(pr.Spec.Groups) == 0 {
		t.Fatalf("%s is not a PrometheusRule with groups", path)
	}
	groups, err := yaml.Marshal(map[string]any{"groups": pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	rgs, errs := rulefmt.Parse(groups, false, model.UTF8Validation)
	for _, err := range errs {
		t.Errorf("%s: %v", path, err)
	}
	if rgs == nil {
		return
	}
	alerts := 0
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if _, err := parser.ParseExpr(r.Expr); err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
			for _, name := range ourMetric.FindAllString(r.Expr, -1) {
				if !exported[name] {
					t.Errorf("alert %s uses %s, which the controller does not export", r.Alert, name)
				}
			}
			if strings.TrimSpace(r.Annotations["summary"]) == "" {
				t.Errorf("alert %s has no summary", r.Alert)
			}
		}
	}
	if alerts < 5 {
		t.Errorf("%d alerts; want renewal failed, denied, not ready, expiring and Vault errors", alerts)
	}

	// The Helm chart ships the same groups.
	chartPath := filepath.Join("..", "..", "deploy", "charts", "vault-intermediate-issuer", "files", "alerts.yaml")
	chartData, err := os.ReadFile(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	var chartGroups, ours map[string]any
	if err := yaml.Unmarshal(chartData, &chartGroups); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(groups, &ours); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(chartGroups, ours) {
		t.Errorf("%s differs from the groups of %s", chartPath, path)
	}
}
