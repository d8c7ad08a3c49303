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

package chart

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// TestCRDValidationMessages creates invalid issuers, each the shipped bank
// issuer with one mistake, and checks kube-apiserver rejects each with a
// message that names the field and says what is wrong: the CRD's schema
// and CEL rules, not the controller, catch them.
func TestCRDValidationMessages(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*v1alpha1.VaultIntermediateClusterIssuer)
		want   []string
	}{
		{
			name: "no-role-id",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Vault.Auth.AppRole.RoleID = ""
				iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef = nil
			},
			want: []string{"spec.vault.auth.appRole", "set exactly one of roleId and roleIdSecretRef"},
		},
		{
			name: "both-role-ids",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Vault.Auth.AppRole.RoleID = "a-role-id"
			},
			want: []string{"spec.vault.auth.appRole", "set exactly one of roleId and roleIdSecretRef"},
		},
		{
			name: "ftp-server",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Vault.Server = "ftp://vault.example.com:8200"
			},
			want: []string{"spec.vault.server", "server must be an http:// or https:// URL, for example https://vault.example.com:8200"},
		},
		{
			name: "plain-http",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Vault.Server = "http://vault.example.com:8200"
				iss.Spec.Vault.InsecureAllowHTTP = false
			},
			want: []string{"spec.vault", "server must be an https:// URL", "insecureAllowHTTP"},
		},
		{
			name: "min-above-max",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Policy.Duration.Min = metav1.Duration{Duration: 720 * time.Hour}
				iss.Spec.Policy.Duration.Max = metav1.Duration{Duration: 24 * time.Hour}
			},
			want: []string{"spec.policy.duration", "min must not be greater than max"},
		},
		{
			name: "no-allowed-namespaces",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Policy.AllowedNamespaces = []string{}
			},
			want: []string{"spec.policy.allowedNamespaces", "should have at least 1 items"},
		},
		{
			name: "csrs-without-requesters",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Policy.AllowCertificateSigningRequests = true
			},
			want: []string{"spec.policy", "allowCertificateSigningRequests needs requesters"},
		},
		{
			name: "empty-requesters",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Policy.Requesters = &v1alpha1.RequesterPolicy{}
			},
			want: []string{"spec.policy.requesters", "requesters must name at least one username, group or ServiceAccount"},
		},
		{
			name: "requester-group-everybody",
			mutate: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Policy.Requesters = &v1alpha1.RequesterPolicy{Groups: []string{"pki-admins", "system:authenticated"}}
			},
			want: []string{"spec.policy.requesters.groups", "system:authenticated and system:unauthenticated would allow anybody"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stack.ApplyBankIssuer(t.Context(), "invalid-"+tc.name, tc.mutate)
			if err == nil {
				t.Fatalf("kube-apiserver accepted the issuer")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want an Invalid error from the API server", err)
			}
			msg := err.Error()
			t.Logf("rejected: %s", msg)
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("the message does not contain %q", want)
				}
			}
			if n := strings.Count(msg, "Invalid value"); n != 1 {
				t.Errorf("the message reports %d errors, want only the one made", n)
			}
		})
	}
}
