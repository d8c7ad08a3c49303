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
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestVaultOutagesNeverFailRequests seals a Vault and stops it while requests
// wait for it: the issuer says precisely why it cannot sign (VaultSealed,
// VaultUnreachable), the requests stay pending instead of failing, and they
// are issued once Vault is back.
func TestVaultOutagesNeverFailRequests(t *testing.T) {
	ctx := t.Context()
	port, err := env.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// A Vault of its own, with storage on disk and a fixed port, so that it
	// can be stopped and started again under the address the issuer uses.
	v, err := env.StartVaultWith(ctx, stack.BinDir, stack.Artifacts, env.VaultOptions{
		Name: "openbao-outage", Port: port, DataDir: filepath.Join(stack.Artifacts, "openbao-outage-data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop() })
	bank, err := stack.BankIssuer("vault-outage", nil)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := v.SetUpBankPKI(ctx, "pki", "outage", bank)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, "vault-approle-outage", map[string][]byte{
		"roleId": []byte(pki.RoleID), "secretId": []byte(pki.SecretID)}); err != nil {
		t.Fatal(err)
	}
	const issuer = "vault-outage"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Server = v.Address
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = "vault-approle-outage"
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = "vault-approle-outage"
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	// outage creates a request while Vault is down, checks that the issuer
	// names the reason and the request waits, then restores Vault and
	// waits for the certificate.
	outage := func(t *testing.T, name, reason string, restore func() error) {
		t.Helper()
		createRequest(t, name, issuer, bankCSR(t), 720*time.Hour)
		cond, err := stack.WaitForVaultReady(t.Context(), issuer, reason, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("during the outage: VaultReady %s: %s", cond.Reason, cond.Message)
		time.Sleep(3 * time.Second)
		cr, err := getRequest(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if env.IsFinal(cr) {
			t.Fatalf("the request ended during the outage: %+v", cr.Status.Conditions)
		}
		downFor := time.Now()
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		requireIssued(t, waitForFinal(t, name, 120*time.Second))
		t.Logf("issued %s after Vault came back", time.Since(downFor).Round(100*time.Millisecond))
		if _, err := stack.WaitForVaultReady(t.Context(), issuer, "Checked", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Sealed", func(t *testing.T) {
		if err := v.Seal(t.Context()); err != nil {
			t.Fatal(err)
		}
		outage(t, "outage-sealed-01", "VaultSealed", func() error { return v.Unseal(t.Context()) })
	})
	t.Run("Stopped", func(t *testing.T) {
		if err := v.Process.Stop(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		outage(t, "outage-stopped-01", "VaultUnreachable", func() error { return v.Restart(t.Context()) })
	})
}
