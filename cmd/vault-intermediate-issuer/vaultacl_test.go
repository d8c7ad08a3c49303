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

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunVaultACL(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		// wantOut and wantErr are substrings of stdout and stderr.
		wantOut, wantErr []string
	}{
		{name: "bank issuer", args: []string{"--issuer", fixture("issuer-bank.yaml")}, wantCode: exitACLPrinted,
			wantOut: []string{`path "pki/root/sign-intermediate" {`, `"common_name" = ["Golem Trust Istio CA"]`,
				`"max_path_length" = ["0"]`, `"use_csr_values" = [false]`, `path "pki/certs" {`,
				"vault policy write vault-intermediate-issuer-vault-intermediate policy.hcl"}},
		{name: "the name of the instructions", args: []string{"--issuer", fixture("issuer-bank.yaml"), "--name", "prod-eu1-istio"},
			wantCode: exitACLPrinted, wantOut: []string{"vault policy write prod-eu1-istio policy.hcl", "auth/approle/role/prod-eu1-istio"}},
		{name: "SPIRE example", args: []string{"--issuer", filepath.Join("..", "..", "deploy", "examples", "issuer-spire.yaml")},
			wantCode: exitACLPrinted, wantOut: []string{`"common_name" = ["Golem Trust SPIRE CA"]`, `"serial_number" = []`}},
		{name: "SPIRE example without a common name", args: []string{"--issuer", fixture("issuer-spire-no-common-name.yaml")},
			wantCode: exitACLInexpressible, wantErr: []string{"spec.policy.subject.commonName:", "copies the common name of the CSR"}},
		{name: "invalid policy", args: []string{"--issuer", fixture("issuer-invalid-policy.yaml")}, wantCode: exitUsage,
			wantErr: []string{"is invalid"}},
		{name: "no issuer in the file", args: []string{"--issuer", fixture("no-issuer.yaml")}, wantCode: exitUsage,
			wantErr: []string{"VaultIntermediateClusterIssuer"}},
		{name: "missing --issuer", args: nil, wantCode: exitUsage, wantErr: []string{"--issuer is required"}},
		{name: "stray argument", args: []string{"--issuer", fixture("issuer-bank.yaml"), "extra"}, wantCode: exitUsage,
			wantErr: []string{`unexpected argument "extra"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runVaultACL(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if code != exitACLPrinted && stdout.Len() > 0 {
				t.Errorf("a refusal printed a policy:\n%s", stdout.String())
			}
		})
	}
}
