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

package signer

import (
	"fmt"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestCheck runs Check against OpenBao for each way an issuer can be unable
// to sign, and checks the VaultReady reason and the message.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		// setup changes the fixture (Vault side or issuer) before Check.
		setup      func(t *testing.T, f *fixture)
		wantReason string
		wantClass  string
		wantMsg    []string
	}{
		{
			name:       "an issuer that can sign is Checked",
			setup:      func(*testing.T, *fixture) {},
			wantReason: ReasonChecked,
		},
		{
			name: "an invalid policy fails for good",
			setup: func(_ *testing.T, f *fixture) {
				f.iss.Spec.Policy.AllowedNamespaces = nil
			},
			wantReason: ReasonPolicyInvalid, wantClass: "permanent", wantMsg: []string{"allowedNamespaces"},
		},
		{
			name: "a missing Secret is named",
			setup: func(_ *testing.T, f *fixture) {
				f.iss.Spec.Vault.Auth.AppRole.SecretRef.Name = "nowhere"
			},
			wantReason: ReasonSecretNotFound, wantClass: "retryable", wantMsg: []string{"nowhere"},
		},
		{
			name: "a wrong secret ID is AuthFailed",
			setup: func(_ *testing.T, f *fixture) {
				f.secret.Data["secretId"] = []byte("00000000-0000-0000-0000-000000000000")
			},
			wantReason: string(vault.ClassAuthFailed), wantClass: "retryable",
		},
		{
			name: "a role that may not list the certificates cannot recover a lost answer, so it is not Ready",
			setup: func(t *testing.T, f *fixture) {
				if err := bao.Admin.Sys().PutPolicyWithContext(t.Context(), f.iss.Name,
					fmt.Sprintf("path %q { capabilities = [\"update\"] }", f.mount+"/root/sign-intermediate")); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: string(vault.ClassPermissionDenied), wantClass: "retryable", wantMsg: []string{"/certs\" needs list"},
		},
		{
			name: "a role that may not sign is not Ready",
			setup: func(t *testing.T, f *fixture) {
				if err := bao.Admin.Sys().PutPolicyWithContext(t.Context(), f.iss.Name,
					fmt.Sprintf("path %q { capabilities = [\"list\"] }", f.mount+"/certs")); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: string(vault.ClassPermissionDenied), wantClass: "retryable", wantMsg: []string{"sign-intermediate\" needs create or update"},
		},
		{
			name: "an issuer whose chain does not end in a self-signed root is not Ready, even without a pin",
			setup: func(t *testing.T, f *fixture) {
				// An intermediate imported into a mount of its own without
				// the root above it.
				ctx := t.Context()
				mount := f.mount + "-int"
				if err := bao.Admin.Sys().MountWithContext(ctx, mount, &vaultMount); err != nil {
					t.Fatal(err)
				}
				gen, err := bao.Admin.Logical().WriteWithContext(ctx, mount+"/intermediate/generate/internal",
					map[string]any{"common_name": "Golem Trust Issuing CA", "key_type": "ec"})
				if err != nil {
					t.Fatal(err)
				}
				signed, err := bao.Admin.Logical().WriteWithContext(ctx, f.mount+"/root/sign-intermediate",
					map[string]any{"csr": gen.Data["csr"], "common_name": "Golem Trust Issuing CA", "ttl": "8760h", "max_path_length": 1})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := bao.Admin.Logical().WriteWithContext(ctx, mount+"/intermediate/set-signed",
					map[string]any{"certificate": signed.Data["certificate"]}); err != nil {
					t.Fatal(err)
				}
				if err := bao.Admin.Sys().PutPolicyWithContext(ctx, f.iss.Name, signPolicy(mount)); err != nil {
					t.Fatal(err)
				}
				f.iss.Spec.Vault.Mount = mount
			},
			wantReason: ReasonIncompleteChain, wantClass: "retryable", wantMsg: []string{"Golem Trust Issuing CA", "self-signed root"},
		},
		{
			name: "a root other than the pinned one is RootMismatch",
			setup: func(_ *testing.T, f *fixture) {
				f.iss.Spec.Vault.RootFingerprint = strings.Repeat("ab", 32)
			},
			wantReason: ReasonRootMismatch, wantClass: "retryable", wantMsg: []string{"Golem Trust Root CA"},
		},
		{
			name: "a policy with excluded DNS domains on a server without the parameter is not Ready",
			setup: func(_ *testing.T, f *fixture) {
				f.iss.Spec.Policy.NameConstraints = &v1alpha1.NameConstraintsPolicy{ExcludedDNSDomains: []string{"evil.example"}}
			},
			wantReason: ReasonUnsupportedParameter, wantClass: "retryable",
			wantMsg: []string{"excluded_dns_domains", "spec.policy.nameConstraints.excludedDNSDomains", "OpenBao 2.4.0"},
		},
		{
			name: "a policy with permitted DNS domains is served",
			setup: func(_ *testing.T, f *fixture) {
				f.iss.Spec.Policy.NameConstraints = &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"cluster.local"}}
				f.iss.Spec.Policy.Subject.OrganizationalUnits = &v1alpha1.ValuePolicy{Allowed: []string{"Mesh"}}
				f.iss.Spec.Policy.SubjectAltNames.URIs = []string{"spiffe://cluster.local"}
			},
			wantReason: ReasonChecked,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fmt.Sprintf("check-%d", i), "87600h")
			tc.setup(t, f)
			rec := &testRecorder{}
			err := f.signer(nil, rec, nil).Check(t.Context(), f.iss)
			if got := errorClass(err); got != tc.wantClass {
				t.Fatalf("Check: %s error %v, want %q", got, err, tc.wantClass)
			}
			if got := Reason(err); got != tc.wantReason {
				t.Errorf("reason %s (%v), want %s", got, err, tc.wantReason)
			}
			for _, want := range tc.wantMsg {
				if !strings.Contains(fmt.Sprint(err), want) {
					t.Errorf("the message does not say %q: %v", want, err)
				}
			}
			if len(rec.states) != 1 || Reason(rec.states[0]) != tc.wantReason {
				t.Errorf("recorded states %v, want one with reason %s", rec.states, tc.wantReason)
			}
		})
	}
}

// vaultMount is a PKI mount whose certificates may live 10 years.
var vaultMount = vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "87600h"}}
