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
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestReadyMeansSignWillWork: an issuer is Ready only when a signing will
// work, so that nothing is signed and then withheld. Each way a signing
// could fail after Vault signed (or before it could search for a lost
// answer) makes the issuer not Ready with a reason of its own, and a request
// for it waits, with no certificate issued in Vault.
func TestReadyMeansSignWillWork(t *testing.T) {
	ctx := t.Context()
	mount := stack.PKI.Mount
	// roleSecret creates an AppRole role whose tokens carry the given ACL
	// policy (and Vault's default policy, for sys/capabilities-self and
	// the token's own renewal), and its Secret: a role someone wrote by
	// hand instead of generating it.
	roleSecret := func(t *testing.T, name, hcl string) {
		t.Helper()
		admin := stack.Vault.Admin
		if err := admin.Sys().PutPolicyWithContext(ctx, name, hcl); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
			"token_policies": []string{name}, "token_ttl": "1h", "token_max_ttl": "2h"}); err != nil {
			t.Fatal(err)
		}
		roleID, err := admin.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
		if err != nil {
			t.Fatal(err)
		}
		secretID, err := stack.Vault.NewSecretID(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := stack.WriteSecret(ctx, "vault-approle-"+name, map[string][]byte{
			"roleId": []byte(roleID.Data["role_id"].(string)), "secretId": []byte(secretID)}); err != nil {
			t.Fatal(err)
		}
	}
	capability := func(path, capability string) string {
		return fmt.Sprintf("path %q {\n  capabilities = [%q]\n}\n", path, capability)
	}
	useSecret := func(name string) func(*v1alpha1.VaultIntermediateClusterIssuer) {
		return func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = "vault-approle-" + name
			iss.Spec.Vault.Auth.AppRole.SecretRef.Name = "vault-approle-" + name
		}
	}

	t.Run("NoListCapability", func(t *testing.T) {
		// Without list on <mount>/certs a lost answer cannot be found, and
		// the request would have to be signed twice.
		roleSecret(t, "no-list", capability(mount+"/root/sign-intermediate", "update"))
		const issuer = "vault-ready-no-list"
		if _, err := stack.ApplyBankIssuer(ctx, issuer, useSecret("no-list")); err != nil {
			t.Fatal(err)
		}
		assertNotReadyAndNothingSigned(t, stack.Vault, mount, issuer, "PermissionDenied", `"pki/certs" needs list`)
	})

	t.Run("NoSignCapability", func(t *testing.T) {
		roleSecret(t, "no-sign", capability(mount+"/certs", "list"))
		const issuer = "vault-ready-no-sign"
		if _, err := stack.ApplyBankIssuer(ctx, issuer, useSecret("no-sign")); err != nil {
			t.Fatal(err)
		}
		assertNotReadyAndNothingSigned(t, stack.Vault, mount, issuer, "PermissionDenied", `"pki/root/sign-intermediate" needs create or update`)
	})

	t.Run("ChainWithoutRoot", func(t *testing.T) {
		// An intermediate imported into a mount of its own without the
		// root above it: ca.crt could not be filled, pin or no pin.
		const intMount = "pki-without-root"
		admin := stack.Vault.Admin
		if err := admin.Sys().MountWithContext(ctx, intMount, &vaultMount); err != nil {
			t.Fatal(err)
		}
		gen, err := admin.Logical().WriteWithContext(ctx, intMount+"/intermediate/generate/internal",
			map[string]any{"common_name": "Golem Trust Issuing CA (no root)", "key_type": "ec"})
		if err != nil {
			t.Fatal(err)
		}
		signed, err := admin.Logical().WriteWithContext(ctx, mount+"/root/sign-intermediate",
			map[string]any{"csr": gen.Data["csr"], "common_name": "Golem Trust Issuing CA (no root)", "ttl": "8760h", "max_path_length": 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Logical().WriteWithContext(ctx, intMount+"/intermediate/set-signed",
			map[string]any{"certificate": signed.Data["certificate"]}); err != nil {
			t.Fatal(err)
		}
		const issuer = "vault-ready-no-root"
		// An issuer of the shared Secret on another mount gets a role of its
		// own with its generated ACL policy (env.ApplyBankIssuer).
		if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.Mount = intMount
		}); err != nil {
			t.Fatal(err)
		}
		assertNotReadyAndNothingSigned(t, stack.Vault, intMount, issuer, "IncompleteChain",
			"Golem Trust Issuing CA (no root)", "does not end in a self-signed root")
	})

	t.Run("UnsupportedParameter", func(t *testing.T) {
		// OpenBao 2.4.0 has no excluded_dns_domains: it would sign without
		// the exclusion, with a mere warning.
		const issuer = "vault-ready-excluded"
		if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Policy.NameConstraints = &v1alpha1.NameConstraintsPolicy{ExcludedDNSDomains: []string{"evil.example"}}
		}); err != nil {
			t.Fatal(err)
		}
		assertNotReadyAndNothingSigned(t, stack.Vault, mount, issuer, "UnsupportedParameter",
			"excluded_dns_domains", "spec.policy.nameConstraints.excludedDNSDomains", "OpenBao "+stack.Vault.Version)
	})
}

// assertNotReadyAndNothingSigned waits for the issuer's VaultReady reason
// and Ready=False, checks the message names each of want, then creates a
// request for the issuer and waits until the controller parks it for the
// issuer (its Ready condition quotes the issuer's reason): no certificate
// was issued in mount meanwhile.
func assertNotReadyAndNothingSigned(t *testing.T, v *env.Vault, mount, issuer, reason string, want ...string) {
	t.Helper()
	ctx := t.Context()
	cond, err := stack.WaitForVaultReady(ctx, issuer, reason, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VaultReady %s: %s", cond.Reason, cond.Message)
	for _, w := range want {
		if !strings.Contains(cond.Message, w) {
			t.Errorf("the VaultReady message does not say %q: %q", w, cond.Message)
		}
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionFalse, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	before, err := v.IssuedSerials(ctx, mount)
	if err != nil {
		t.Fatal(err)
	}
	name := issuer + "-request"
	createRequest(t, name, issuer, bankCSR(t), 720*time.Hour)
	// A not-Ready issuer is checked again and again: gone once proven, it
	// cannot disturb the tests that count Vault's logins.
	t.Cleanup(func() {
		ctx := context.Background()
		_ = stack.Client.Delete(ctx, &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name}})
		_ = stack.Client.Delete(ctx, &v1alpha1.VaultIntermediateClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: issuer}})
	})
	err = env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "request "+name+" parked for the issuer", func(ctx context.Context) (bool, error) {
		cr, err := getRequest(ctx, name)
		if err != nil {
			return false, err
		}
		ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
		return ready != nil && ready.Reason == cmapi.CertificateRequestReasonPending &&
			strings.Contains(ready.Message, "Waiting for issuer to become ready") && strings.Contains(ready.Message, reason), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := v.IssuedSerials(ctx, mount)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("Vault issued %d certificates in %s for a request to a not-Ready issuer", len(after)-len(before), mount)
	}
}

// vaultMount is a PKI mount whose certificates may live 10 years.
var vaultMount = vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "87600h"}}
