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
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
)

func fixture(name string) string {
	return filepath.Join("testdata", "policycheck", name)
}

func TestRunPolicyCheck(t *testing.T) {
	bank := fixture("issuer-bank.yaml")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		// wantOut lists lines stdout must have, in order, and nothing else;
		// wantErr a substring of stderr.
		wantOut []string
		wantErr string
	}{
		{name: "request allowed", args: []string{"--issuer", bank, "--request", fixture("request-allowed.yaml")},
			wantCode: exitAllow, wantOut: []string{"ALLOW"}},
		{name: "issuer among other documents", args: []string{"--issuer", fixture("issuer-multidoc.yaml"), "--request", fixture("request-allowed.yaml")},
			wantCode: exitAllow, wantOut: []string{"ALLOW"}},
		{name: "request denied with every violation", args: []string{"--issuer", bank, "--request", fixture("request-denied.yaml")},
			wantCode: exitDeny, wantOut: []string{
				"DENY",
				`allowedNamespaces: namespace "default" is not allowed (allowed: "istio-system")`,
				"duration.max: duration 8760h0m0s is longer than the maximum 720h0m0s",
				`extKeyUsages.allowed: extended key usage "server auth" is not allowed (allowed: none)`,
				`subject.commonName: "istiod.istio-system.svc" is not allowed (allowed: "Golem Trust Istio CA")`,
				`subject.commonName: "Golem Trust Istio CA" is required but the CSR's subject does not carry it`,
				`subject.organizations: "Golem Trust" is required but the CSR's subject does not carry it`,
				`subject.countries: "AM" is required but the CSR's subject does not carry it`,
			}},
		{name: "namespace flag replaces the manifest's", args: []string{"--issuer", bank, "--request", fixture("request-allowed.yaml"), "--namespace", "default"},
			wantCode: exitDeny, wantOut: []string{"DENY", `allowedNamespaces: namespace "default" is not allowed (allowed: "istio-system")`}},
		{name: "garbage CSR in a request", args: []string{"--issuer", bank, "--request", fixture("request-garbage.yaml")},
			wantCode: exitDeny, wantOut: []string{"DENY", `csr: the CSR is not PEM: no "-----BEGIN CERTIFICATE REQUEST-----" line`}},
		{name: "CSR allowed", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem"), "--namespace", "istio-system", "--duration", "720h"},
			wantCode: exitAllow, wantOut: []string{"ALLOW"}},
		{name: "CSR with usages", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem"), "--namespace", "istio-system",
			"--duration", "720h", "--usages", "digital signature, key encipherment,cert sign"},
			wantCode: exitAllow, wantOut: []string{"ALLOW"}},
		{name: "CSR without duration under a policy without default", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem"), "--namespace", "istio-system"},
			wantCode: exitDeny, wantOut: []string{"DENY", "duration.default: the request carries no duration and the policy has no default duration; request between 24h0m0s and 720h0m0s"}},
		{name: "CSR not a CA request", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem"), "--namespace", "istio-system", "--duration", "720h", "--is-ca=false"},
			wantCode: exitDeny, wantOut: []string{"DENY", "isCA: the request is not a CA request (isCA is false); this issuer signs intermediate CA certificates only"}},
		{name: "cluster-scoped CSR", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem"), "--namespace=", "--duration", "720h"},
			wantCode: exitDeny, wantOut: []string{"DENY", `allowCertificateSigningRequests: the request is a Kubernetes CertificateSigningRequest, which is cluster-scoped, and this issuer's policy does not allow them; use a cert-manager CertificateRequest in an allowed namespace (allowed: "istio-system"), or set allowCertificateSigningRequests and requesters`}},
		{name: "garbage CSR", args: []string{"--issuer", bank, "--csr", fixture("csr-garbage.pem"), "--namespace", "istio-system", "--duration", "720h"},
			wantCode: exitDeny, wantOut: []string{"DENY", `csr: the CSR is not PEM: no "-----BEGIN CERTIFICATE REQUEST-----" line`}},
		// csr-spire.pem was made by SPIRE v1.13.3's own code (the CSR
		// e2e's TestSPIREUpstreamAuthority keeps as spire-ca.csr): C=US,
		// O=SPIFFE, CN=Golem Trust SPIRE CA (its ca_subject) and SPIRE's
		// random subject serialNumber.
		{name: "SPIRE example", args: []string{"--issuer", filepath.Join("..", "..", "deploy", "examples", "issuer-spire.yaml"),
			"--csr", fixture("csr-spire.pem"), "--namespace", "spire", "--usages", "cert sign,crl sign",
			"--requester", "system:serviceaccount:spire:spire-server"},
			wantCode: exitAllow, wantOut: []string{"ALLOW"}},
		{name: "SPIRE example, another requester", args: []string{"--issuer", filepath.Join("..", "..", "deploy", "examples", "issuer-spire.yaml"),
			"--csr", fixture("csr-spire.pem"), "--namespace", "spire", "--usages", "cert sign,crl sign",
			"--requester", "system:serviceaccount:spire:default", "--groups", "system:serviceaccounts,system:authenticated"},
			wantCode: exitDeny, wantOut: []string{"DENY", `requesters: requester "system:serviceaccount:spire:default" (groups: "system:serviceaccounts", "system:authenticated") is not allowed (allowed users: none; groups: none; ServiceAccounts: "system:serviceaccount:spire:spire-server")`}},
		{name: "SPIRE example, no requester", args: []string{"--issuer", filepath.Join("..", "..", "deploy", "examples", "issuer-spire.yaml"),
			"--csr", fixture("csr-spire.pem"), "--namespace", "spire", "--usages", "cert sign,crl sign"},
			wantCode: exitDeny, wantOut: []string{"DENY", "requesters: the request names no requester (spec.username of the CertificateRequest is empty: cert-manager's webhook, which records the user that creates each CertificateRequest, is not running or not registered for certificaterequests), so the policy's requester rules cannot be checked"}},

		{name: "no arguments", wantCode: exitUsage, wantErr: "--issuer is required"},
		{name: "help", args: []string{"--help"}, wantCode: exitUsage, wantErr: "usage: vault-intermediate-issuer policy check"},
		{name: "unknown flag", args: []string{"--issuer", bank, "--frobnicate"}, wantCode: exitUsage, wantErr: "flag provided but not defined"},
		{name: "positional argument", args: []string{"--issuer", bank, "--request", fixture("request-allowed.yaml"), "extra"},
			wantCode: exitUsage, wantErr: `unexpected argument "extra"`},
		{name: "neither request nor CSR", args: []string{"--issuer", bank}, wantCode: exitUsage, wantErr: "exactly one of --request and --csr"},
		{name: "both request and CSR", args: []string{"--issuer", bank, "--request", fixture("request-allowed.yaml"), "--csr", fixture("csr-bank.pem")},
			wantCode: exitUsage, wantErr: "exactly one of --request and --csr"},
		{name: "CSR without namespace", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem")},
			wantCode: exitUsage, wantErr: "--csr needs --namespace"},
		{name: "CSR flags with a request", args: []string{"--issuer", bank, "--request", fixture("request-allowed.yaml"), "--duration", "1h"},
			wantCode: exitUsage, wantErr: "--duration applies to --csr only"},
		{name: "bad duration", args: []string{"--issuer", bank, "--csr", fixture("csr-bank.pem"), "--namespace", "istio-system", "--duration", "a month"},
			wantCode: exitUsage, wantErr: `--duration "a month" is not a duration`},
		{name: "bad output format", args: []string{"--issuer", bank, "--request", fixture("request-allowed.yaml"), "-o", "yaml"},
			wantCode: exitUsage, wantErr: "-o must be text or json"},
		{name: "issuer file missing", args: []string{"--issuer", fixture("missing.yaml"), "--request", fixture("request-allowed.yaml")},
			wantCode: exitUsage, wantErr: "no such file"},
		{name: "no issuer in the file", args: []string{"--issuer", fixture("no-issuer.yaml"), "--request", fixture("request-allowed.yaml")},
			wantCode: exitUsage, wantErr: "holds no VaultIntermediateClusterIssuer"},
		{name: "unknown field in the issuer", args: []string{"--issuer", fixture("issuer-unknown-field.yaml"), "--request", fixture("request-allowed.yaml")},
			wantCode: exitUsage, wantErr: `unknown field "allowedNamespace"`},
		{name: "invalid policy", args: []string{"--issuer", fixture("issuer-invalid-policy.yaml"), "--request", fixture("request-allowed.yaml")},
			wantCode: exitUsage, wantErr: `subjectAltNames.ipAddresses[0]: "10.0.0.1/8" has bits set after its prefix length; did you mean "10.0.0.0/8"?`},
		{name: "request file is not a CertificateRequest", args: []string{"--issuer", bank, "--request", bank},
			wantCode: exitUsage, wantErr: "holds no CertificateRequest"},
		{name: "CSR file missing", args: []string{"--issuer", bank, "--csr", fixture("missing.pem"), "--namespace", "istio-system"},
			wantCode: exitUsage, wantErr: "reading the CSR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runPolicyCheck(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			var gotOut []string
			if s := strings.TrimSuffix(stdout.String(), "\n"); s != "" {
				gotOut = strings.Split(s, "\n")
			}
			if strings.Join(gotOut, "\n") != strings.Join(tc.wantOut, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(gotOut, "\n"), strings.Join(tc.wantOut, "\n"))
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantErr)
			}
			if tc.wantErr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr: %s", stderr.String())
			}
		})
	}
}

func TestRunPolicyCheckJSON(t *testing.T) {
	issuerYAML, err := os.ReadFile(fixture("issuer-bank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var issuer v1alpha1.VaultIntermediateClusterIssuer
	if err := yaml.UnmarshalStrict(issuerYAML, &issuer); err != nil {
		t.Fatal(err)
	}
	wantDigest := policy.Digest(&issuer.Spec.Policy)

	for _, tc := range []struct {
		request, decision string
		code              int
		rules             []string
	}{
		{"request-allowed.yaml", "ALLOW", exitAllow, []string{}},
		{"request-denied.yaml", "DENY", exitDeny, []string{
			"allowedNamespaces", "duration.max", "extKeyUsages.allowed",
			"subject.commonName", "subject.commonName", "subject.organizations", "subject.countries",
		}},
	} {
		t.Run(tc.request, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runPolicyCheck([]string{"--issuer", fixture("issuer-bank.yaml"), "--request", fixture(tc.request), "-o", "json"}, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			var got struct {
				Decision   string `json:"decision"`
				Violations []struct {
					Rule    string `json:"rule"`
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"violations"`
				PolicyDigest string `json:"policyDigest"`
			}
			dec := json.NewDecoder(&stdout)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("output is not the JSON decision: %v", err)
			}
			if got.Decision != tc.decision || got.PolicyDigest != wantDigest {
				t.Errorf("decision %q digest %q, want %q %q", got.Decision, got.PolicyDigest, tc.decision, wantDigest)
			}
			if got.Violations == nil {
				t.Error("violations is null, want a list")
			}
			rules := []string{}
			for _, v := range got.Violations {
				rules = append(rules, v.Rule)
				if v.Field == "" || v.Message == "" {
					t.Errorf("incomplete violation %+v", v)
				}
			}
			if strings.Join(rules, ",") != strings.Join(tc.rules, ",") {
				t.Errorf("rules %q, want %q", rules, tc.rules)
			}
		})
	}
	t.Run("raw allowed output", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		runPolicyCheck([]string{"--issuer", fixture("issuer-bank.yaml"), "--request", fixture("request-allowed.yaml"), "-o", "json"}, &stdout, &stderr)
		if !strings.Contains(stdout.String(), `"violations": []`) {
			t.Errorf("an allowed decision must list no violations as []:\n%s", stdout.String())
		}
	})
}

func TestSplitYAMLDocuments(t *testing.T) {
	docs := splitYAMLDocuments([]byte("---\na: 1\n--- # comment\n\n---\nb: 2\n---\t\nc: 3\n"))
	if len(docs) != 3 || string(docs[0]) != "a: 1\n" || string(docs[2]) != "c: 3\n" {
		t.Errorf("docs = %q", docs)
	}
}
