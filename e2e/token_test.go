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
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestOneLoginPerTokenLifetime signs 20 raw CertificateRequests (the way
// SPIRE's upstream authority asks, without a Certificate) and counts AppRole
// logins in Vault's own metrics: the issuer's cached token serves them all,
// where cert-manager's in-tree Vault issuer logs in once per request.
func TestOneLoginPerTokenLifetime(t *testing.T) {
	ctx := t.Context()
	const signings = 20
	before, err := stack.Vault.AppRoleLogins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, signings)
	for i := range signings {
		name := fmt.Sprintf("token-reuse-%02d", i)
		createRequest(t, name, bankIssuer, bankCSR(t), 720*time.Hour)
		names = append(names, name)
	}
	for _, name := range names {
		requireIssued(t, waitForFinal(t, name, 60*time.Second))
	}
	after, err := stack.Vault.AppRoleLogins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AppRole logins in Vault: %d before, %d after %d signings", before, after, signings)
	if after != before {
		t.Errorf("%d signings caused %d AppRole logins; the cached token should have served them all", signings, after-before)
	}
}

// bankCSR returns a PEM CSR with the subject the bank's policy requires.
func bankCSR(t *testing.T) []byte {
	t.Helper()
	return csrWithSubject(t, env.BankSubject)
}

// TestTokenRenewalAndSecretIDRotation gives an issuer a role whose tokens
// live 8 seconds (renewable up to an hour) and signs across several token
// lifetimes: one login serves them all because the token is renewed. Then
// the secret ID is rotated in its Secret and the old one destroyed in Vault:
// the Secret watch makes the issuer log in with the new one at once, without
// a restart and before any signing needs it.
func TestTokenRenewalAndSecretIDRotation(t *testing.T) {
	ctx := t.Context()
	const issuer, secretName = "vault-renewal", "vault-approle-renewal"
	bank, err := stack.BankIssuer(issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	role, err := stack.Vault.CreateIssuerAppRole(ctx, "renewal", "8s", "1h", bank)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, secretName, map[string][]byte{
		"roleId": []byte(role.RoleID), "secretId": []byte(role.SecretID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = secretName
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = secretName
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	metric := func(name string, labels map[string]string) float64 {
		t.Helper()
		samples, err := stack.IssuerMetrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		labels["issuer"] = issuer
		return env.Sum(samples, name, labels)
	}
	const logins, calls = "vault_intermediate_issuer_vault_logins_total", "vault_intermediate_issuer_vault_requests_total"

	start := time.Now()
	for i := range 4 {
		name := fmt.Sprintf("renewal-%02d", i)
		createRequest(t, name, issuer, bankCSR(t), 720*time.Hour)
		requireIssued(t, waitForFinal(t, name, 60*time.Second))
		if i < 3 {
			time.Sleep(7 * time.Second)
		}
	}
	span := time.Since(start).Round(time.Second)
	got := metric(logins, map[string]string{"result": "success"})
	renewals := metric(calls, map[string]string{"operation": "renew-token", "code": "200"})
	t.Logf("4 signings over %s with an 8s token: %v login(s), %v renewal(s)", span, got, renewals)
	if got != 1 {
		t.Errorf("%v logins; one renewable token should have served every signing", got)
	}
	if renewals < 2 {
		t.Errorf("%v renewals over %s of 8s tokens; the token must have been renewed", renewals, span)
	}

	// Rotation: new secret ID into the Secret, old one destroyed.
	newSecretID, err := stack.Vault.NewSecretID(ctx, role.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Vault.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+role.Name+"/secret-id/destroy",
		map[string]any{"secret_id": role.SecretID}); err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, secretName, map[string][]byte{
		"roleId": []byte(role.RoleID), "secretId": []byte(newSecretID)}); err != nil {
		t.Fatal(err)
	}
	err = env.WaitFor(ctx, 30*time.Second, 250*time.Millisecond, "a login with the rotated secret ID", func(ctx context.Context) (bool, error) {
		return metric(logins, map[string]string{"result": "success"}) == 2, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	createRequest(t, "renewal-rotated", issuer, bankCSR(t), 720*time.Hour)
	requireIssued(t, waitForFinal(t, "renewal-rotated", 60*time.Second))
	if failed := metric(logins, map[string]string{"result": "AuthFailed"}); failed != 0 {
		t.Errorf("%v logins were rejected: the old secret ID was used after the rotation", failed)
	}
}
