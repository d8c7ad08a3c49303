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
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestHashiCorpVault runs the issuer against HashiCorp Vault 1.13.0, the
// Vault banks run (OpenBao, the server of the other tests, is its fork):
// set up as the bank's runbook says, served over HTTPS by a CA of its own.
// It issues an intermediate and checks the chain, the path length, the
// subject and that Vault recorded the serial; a wrong CA bundle is a
// VaultTLSError; a sealed Vault makes a request wait (VaultSealed) until it
// is unsealed; every parameter the signer sends is one this Vault's PKI
// engine defines; and Vault's ACL, with the issuer's generated policy,
// refuses what the bank's policy forbids to whoever holds the AppRole
// credentials.
func TestHashiCorpVault(t *testing.T) {
	ctx := t.Context()
	v, err := env.StartVaultWith(ctx, stack.BinDir, stack.Artifacts, env.VaultOptions{Server: env.ServerHashiCorp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop() })
	t.Logf("HashiCorp Vault %s at %s", v.Version, v.Address)
	if v.Version != "1.13.0" {
		t.Errorf("the server reports version %q, want 1.13.0", v.Version)
	}
	if !strings.HasPrefix(v.Address, "https://") || len(v.CACert) == 0 {
		t.Fatalf("HashiCorp Vault serves %s with CA %q; want HTTPS with a CA of its own", v.Address, v.CACert)
	}
	const mount = "pki"
	bank, err := stack.BankIssuer("vault-hashicorp", nil)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := v.SetUpBankPKI(ctx, mount, "hashicorp-vault", bank)
	if err != nil {
		t.Fatal(err)
	}
	const secretName = "vault-approle-hashicorp"
	if err := stack.WriteSecret(ctx, secretName, map[string][]byte{
		"roleId": []byte(pki.RoleID), "secretId": []byte(pki.SecretID)}); err != nil {
		t.Fatal(err)
	}
	apply := func(t *testing.T, name string, caBundle []byte, mutate ...func(*v1alpha1.VaultIntermediateClusterIssuer)) {
		t.Helper()
		if _, err := stack.ApplyBankIssuer(t.Context(), name, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.Server = v.Address
			iss.Spec.Vault.Mount = mount
			iss.Spec.Vault.CABundle = caBundle
			iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef = &v1alpha1.SecretKeySelector{Name: secretName, Key: "roleId"}
			iss.Spec.Vault.Auth.AppRole.SecretRef = v1alpha1.SecretKeySelector{Name: secretName, Key: "secretId"}
			for _, m := range mutate {
				m(iss)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	const issuer = "vault-hashicorp"
	apply(t, issuer, v.CACert)
	if cond, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatalf("%v (Ready: %+v)", err, cond)
	}
	if _, err := stack.WaitForVaultReady(ctx, issuer, "Checked", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := stack.IssuerCondition(ctx, issuer, "InsecureTransport"); err != nil || c != nil {
		t.Errorf("an issuer of an https:// Vault carries InsecureTransport %+v (%v)", c, err)
	}

	var delivered string // serial of the intermediate Issue delivered
	t.Run("Issue", func(t *testing.T) {
		ctx := t.Context()
		createRequest(t, "hashicorp-01", issuer, bankCSR(t), 720*time.Hour)
		cr := waitForFinal(t, "hashicorp-01", 60*time.Second)
		requireIssued(t, cr)
		chain, err := vault.ParseCertificates(cr.Status.Certificate)
		if err != nil || len(chain) == 0 {
			t.Fatalf("status.certificate: %d certificates (%v)", len(chain), err)
		}
		roots, err := vault.ParseCertificates(cr.Status.CA)
		if err != nil || len(roots) != 1 {
			t.Fatalf("status.ca holds %d certificates (%v), want the root", len(roots), err)
		}
		if !roots[0].Equal(pki.Root) {
			t.Errorf("status.ca is %q, want the root %q", roots[0].Subject, pki.Root.Subject)
		}
		leaf := chain[0]
		if err := leaf.CheckSignatureFrom(pki.Root); err != nil {
			t.Errorf("the intermediate was not signed by the root: %v", err)
		}
		if !leaf.IsCA || !leaf.BasicConstraintsValid || leaf.MaxPathLen != 0 || !leaf.MaxPathLenZero {
			t.Errorf("basic constraints: CA %v, MaxPathLen %d (zero %v); want a CA with path length 0",
				leaf.IsCA, leaf.MaxPathLen, leaf.MaxPathLenZero)
		}
		s := leaf.Subject
		if s.CommonName != "Golem Trust Istio CA" || !slices.Equal(s.Organization, []string{"Golem Trust"}) ||
			!slices.Equal(s.Country, []string{"AM"}) || len(s.OrganizationalUnit) != 0 || len(s.Locality) != 0 ||
			len(s.Province) != 0 || len(s.StreetAddress) != 0 || len(s.PostalCode) != 0 || s.SerialNumber != "" {
			t.Errorf("subject is %q, want CN=Golem Trust Istio CA,O=Golem Trust,C=AM", s)
		}
		if !leaf.NotAfter.After(leaf.NotBefore.Add(719*time.Hour)) || leaf.NotAfter.After(pki.Root.NotAfter) {
			t.Errorf("validity %s – %s; want 720h within the root's %s", leaf.NotBefore, leaf.NotAfter, pki.Root.NotAfter)
		}
		serials, err := v.IssuedSerials(ctx, mount)
		if err != nil {
			t.Fatal(err)
		}
		if serial := colonSerial(leaf); !slices.Contains(serials, serial) {
			t.Errorf("serial %s is not among the certificates %s issued: %v", serial, mount, serials)
		}
		delivered = colonSerial(leaf)
	})

	// The attack of TestJournalRecordIsAHint, against HashiCorp Vault: the
	// delivered intermediate's serial written into a waiting request.
	t.Run("JournalRecordIsAHint", func(t *testing.T) {
		if delivered == "" {
			t.Fatal("Issue delivered nothing to attack")
		}
		journalAttack(t, attack{
			issuer: issuer, request: "hashicorp-journal-attack", vault: v, mount: mount, victim: delivered,
			breakIssuer:   func(t *testing.T) { setSecretRef(t, issuer, "vault-approle-absent") },
			restoreIssuer: func(t *testing.T) { setSecretRef(t, issuer, secretName) },
		})
	})

	t.Run("BankCACerts", func(t *testing.T) {
		// The shipped Istio Certificate, pointed at this issuer: the
		// cacerts Secret is issued under the generated ACL policy.
		cert := bankCertificate("istio-system", "hashicorp-istio-ca", "Golem Trust")
		cert.Spec.SecretName = "cacerts-hashicorp"
		cert.Spec.IssuerRef.Name = issuer
		if err := stack.Client.Create(t.Context(), cert); err != nil {
			t.Fatal(err)
		}
		got := waitForSecretCert(t, "istio-system", "cacerts-hashicorp", nil)
		if !got.root.Equal(pki.Root) {
			t.Errorf("ca.crt is %q, want this Vault's root", got.root.Subject)
		}
		if err := got.leaf.CheckSignatureFrom(pki.Root); err != nil || !got.leaf.IsCA || !got.leaf.MaxPathLenZero {
			t.Errorf("tls.crt: signed by the root %v, CA %v, path length 0 %v", err, got.leaf.IsCA, got.leaf.MaxPathLenZero)
		}
	})

	t.Run("WrongCABundle", func(t *testing.T) {
		const issuer = "vault-hashicorp-wrong-ca"
		apply(t, issuer, newTestCA(t, "Some other CA").pem)
		cond, err := stack.WaitForVaultReady(t.Context(), issuer, "VaultTLSError", 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cond.Message, "certificate") {
			t.Errorf("the VaultReady message does not say what is wrong with the certificate: %q", cond.Message)
		}
		if _, err := stack.WaitForIssuerCondition(t.Context(), issuer, metav1.ConditionFalse, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("VaultReady: %s: %s", cond.Reason, cond.Message)
	})

	t.Run("SealedThenUnsealed", func(t *testing.T) {
		if err := v.Seal(t.Context()); err != nil {
			t.Fatal(err)
		}
		const name = "hashicorp-sealed-01"
		createRequest(t, name, issuer, bankCSR(t), 720*time.Hour)
		cond, err := stack.WaitForVaultReady(t.Context(), issuer, "VaultSealed", 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sealed: VaultReady %s: %s", cond.Reason, cond.Message)
		time.Sleep(3 * time.Second)
		cr, err := getRequest(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if env.IsFinal(cr) {
			t.Fatalf("the request ended while Vault was sealed: %+v", cr.Status.Conditions)
		}
		if err := v.Unseal(t.Context()); err != nil {
			t.Fatal(err)
		}
		requireIssued(t, waitForFinal(t, name, 120*time.Second))
		if _, err := stack.WaitForVaultReady(t.Context(), issuer, "Checked", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("SignParameters", func(t *testing.T) {
		checkSignParameters(t, v, mount)
	})

	// Ready means Sign will work: Vault 1.13 does not define
	// excluded_dns_domains, so an issuer whose policy needs it is not Ready,
	// and its requests wait instead of being signed without the constraint.
	t.Run("UnsupportedParameterNotReady", func(t *testing.T) {
		const name = "vault-hashicorp-excluded"
		apply(t, name, v.CACert, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Policy.NameConstraints = &v1alpha1.NameConstraintsPolicy{ExcludedDNSDomains: []string{"evil.example"}}
		})
		assertNotReadyAndNothingSigned(t, v, mount, name, "UnsupportedParameter",
			"excluded_dns_domains", "spec.policy.nameConstraints.excludedDNSDomains", "HashiCorp Vault 1.13.0")
	})

	t.Run("VaultEnforcesThePolicy", func(t *testing.T) {
		checkVaultEnforcesPolicy(t, v, pki, secretName)
	})

	t.Run("ACLMatching", func(t *testing.T) {
		checkACLMatching(t, v)
	})
}
