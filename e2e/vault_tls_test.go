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
	"crypto/x509"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// tlsVault is a second OpenBao, served over HTTPS by a CA of its own, with a
// two-level hierarchy: a root mount, and an intermediate mount whose issuer
// (named by issuerRef) the root signed.
type tlsVault struct {
	*env.Vault
	ca       *testCA
	root     *x509.Certificate
	issuing  *x509.Certificate
	role     *env.AppRole
	shortCA  *x509.Certificate
	issuerID string
}

const (
	tlsRootMount  = "tls-root"
	tlsIntMount   = "int-pki"
	tlsIssuerName = "int-2026"
	// tlsShortMount has a max lease TTL below the bank policy's minimum
	// duration, so Vault shortens every TTL asked of it.
	tlsShortMount = "short-pki"
)

func startTLSVault(t *testing.T) *tlsVault {
	t.Helper()
	ctx := t.Context()
	ca := newTestCA(t, "Golem Trust Vault TLS test CA")
	certFile, keyFile := ca.serve(t, t.TempDir())
	v, err := env.StartVaultWith(ctx, stack.BinDir, stack.Artifacts, env.VaultOptions{
		Name: "openbao-tls", TLSCertFile: certFile, TLSKeyFile: keyFile, CAPEM: ca.pem})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop() })
	if !strings.HasPrefix(v.Address, "https://") {
		t.Fatalf("the TLS Vault serves %s", v.Address)
	}
	tv := &tlsVault{Vault: v, ca: ca}
	if tv.root, err = v.GenerateRoot(ctx, tlsRootMount, "Golem Trust Test Root CA", "87600h"); err != nil {
		t.Fatal(err)
	}
	tv.setUpIntermediateMount(t)
	if tv.shortCA, err = v.GenerateRoot(ctx, tlsShortMount, "Golem Trust Short-Lived Root CA", "87600h"); err != nil {
		t.Fatal(err)
	}
	maxLeaseTTL := "12h"
	if err := v.Admin.Sys().TuneMountAllowNilWithContext(ctx, tlsShortMount, vaultapi.TuneMountConfigInput{MaxLeaseTTL: &maxLeaseTTL}); err != nil {
		t.Fatal(err)
	}
	// One role for the issuers of both mounts: each mount's sign path
	// carries the generated policy of the issuer that signs there.
	intIssuer, err := stack.BankIssuer("vault-tls-int", func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Mount, iss.Spec.Vault.IssuerRef = tlsIntMount, tlsIssuerName
	})
	if err != nil {
		t.Fatal(err)
	}
	shortIssuer, err := stack.BankIssuer("vault-tls-short", func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Mount = tlsShortMount
	})
	if err != nil {
		t.Fatal(err)
	}
	tv.role, err = v.CreateIssuerAppRole(ctx, "tls-issuer", "1h", "2h", intIssuer, shortIssuer)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, "vault-approle-tls", map[string][]byte{
		"roleId": []byte(tv.role.RoleID), "secretId": []byte(tv.role.SecretID)}); err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, "vault-tls-ca", map[string][]byte{"ca.crt": ca.pem}); err != nil {
		t.Fatal(err)
	}
	return tv
}

// setUpIntermediateMount generates an intermediate in int-pki, has the root
// mount sign it, imports it with the root, and names the issuer.
func (tv *tlsVault) setUpIntermediateMount(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	admin := tv.Admin
	if err := admin.Sys().MountWithContext(ctx, tlsIntMount, &vaultapi.MountInput{Type: "pki",
		Config: vaultapi.MountConfigInput{MaxLeaseTTL: "43800h"}}); err != nil {
		t.Fatal(err)
	}
	gen, err := admin.Logical().WriteWithContext(ctx, tlsIntMount+"/intermediate/generate/internal", map[string]any{
		"common_name": "Golem Trust Issuing CA 2026", "key_type": "rsa", "key_bits": 2048})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := admin.Logical().WriteWithContext(ctx, tlsRootMount+"/root/sign-intermediate", map[string]any{
		"csr": gen.Data["csr"], "common_name": "Golem Trust Issuing CA 2026", "ttl": "43800h",
		"max_path_length": 1, "format": "pem"})
	if err != nil {
		t.Fatal(err)
	}
	intPEM := signed.Data["certificate"].(string)
	imported, err := admin.Logical().WriteWithContext(ctx, tlsIntMount+"/intermediate/set-signed", map[string]any{
		"certificate": intPEM + "\n" + string(vault.EncodePEM(tv.root))})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := imported.Data["imported_issuers"].([]any)
	for _, id := range ids {
		s, err := admin.Logical().ReadWithContext(ctx, fmt.Sprintf("%s/issuer/%s", tlsIntMount, id))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := vault.ParseCertificates([]byte(s.Data["certificate"].(string)))
		if err != nil || len(certs) == 0 {
			t.Fatalf("issuer %s: %v", id, err)
		}
		if certs[0].Subject.CommonName == "Golem Trust Issuing CA 2026" {
			tv.issuing, tv.issuerID = certs[0], fmt.Sprint(id)
		}
	}
	if tv.issuing == nil {
		t.Fatalf("set-signed imported no issuer for the intermediate: %v", imported.Data)
	}
	if _, err := admin.Logical().JSONMergePatch(ctx, fmt.Sprintf("%s/issuer/%s", tlsIntMount, tv.issuerID),
		map[string]any{"issuer_name": tlsIssuerName}); err != nil {
		t.Fatal(err)
	}
}

// applyTLSIssuer applies the bank issuer pointed at the TLS Vault.
func (tv *tlsVault) applyTLSIssuer(t *testing.T, name string, mutate func(*v1alpha1.VaultIntermediateClusterIssuer)) {
	t.Helper()
	_, err := stack.ApplyBankIssuer(t.Context(), name, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Server = tv.Address
		iss.Spec.Vault.CABundleSecretRef = &v1alpha1.SecretKeySelector{Name: "vault-tls-ca", Key: "ca.crt"}
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef = &v1alpha1.SecretKeySelector{Name: "vault-approle-tls", Key: "roleId"}
		iss.Spec.Vault.Auth.AppRole.SecretRef = v1alpha1.SecretKeySelector{Name: "vault-approle-tls", Key: "secretId"}
		mutate(iss)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTLSVaultHierarchy runs an issuer against a Vault served over TLS by a
// CA of its own, through an issuerRef of a two-level hierarchy with the root
// pinned; and shows the failures a bank must be told about clearly: a wrong
// CA bundle, a root that is not the pinned one, and a TTL Vault shortened
// below the policy's minimum.
func TestTLSVaultHierarchy(t *testing.T) {
	tv := startTLSVault(t)

	t.Run("IssuerRefWithPinnedRoot", func(t *testing.T) {
		ctx := t.Context()
		const issuer = "vault-tls-int"
		tv.applyTLSIssuer(t, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.Mount = tlsIntMount
			iss.Spec.Vault.IssuerRef = tlsIssuerName
			// The form openssl prints, to prove it is accepted as is.
			iss.Spec.Vault.RootFingerprint = colonFingerprint(vault.Fingerprint(tv.root))
		})
		if cond, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
			t.Fatalf("%v (Ready: %+v)", err, cond)
		}
		if _, err := stack.WaitForVaultReady(ctx, issuer, "Checked", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		createRequest(t, "tls-int-01", issuer, bankCSR(t), 720*time.Hour)
		cr := waitForFinal(t, "tls-int-01", 60*time.Second)
		requireIssued(t, cr)
		chain, err := vault.ParseCertificates(cr.Status.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		roots, err := vault.ParseCertificates(cr.Status.CA)
		if err != nil || len(roots) != 1 {
			t.Fatalf("status.ca holds %d certificates (%v), want the root", len(roots), err)
		}
		if len(chain) != 2 || !chain[1].Equal(tv.issuing) {
			t.Fatalf("the chain has %d certificates; want the intermediate followed by %q", len(chain), tv.issuing.Subject)
		}
		if !roots[0].Equal(tv.root) {
			t.Errorf("ca.crt is %q, want the root %q", roots[0].Subject, tv.root.Subject)
		}
		if err := chain[0].CheckSignatureFrom(tv.issuing); err != nil {
			t.Errorf("the intermediate was not signed by the issuer %s: %v", tlsIssuerName, err)
		}
		if err := tv.issuing.CheckSignatureFrom(tv.root); err != nil {
			t.Errorf("the issuing CA is not signed by the root: %v", err)
		}
		serials, err := tv.IssuedSerials(ctx, tlsIntMount)
		if err != nil {
			t.Fatal(err)
		}
		if serial := colonSerial(chain[0]); !slices.Contains(serials, serial) {
			t.Errorf("serial %s is not among the certificates %s issued: %v", serial, tlsIntMount, serials)
		}
	})

	t.Run("WrongCABundle", func(t *testing.T) {
		const issuer = "vault-tls-wrong-ca"
		other := newTestCA(t, "Some other CA")
		tv.applyTLSIssuer(t, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.CABundleSecretRef = nil
			iss.Spec.Vault.CABundle = other.pem
		})
		cond, err := stack.WaitForVaultReady(t.Context(), issuer, "VaultTLSError", 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cond.Message, "certificate") {
			t.Errorf("the VaultReady message does not say what is wrong with the certificate: %q", cond.Message)
		}
		ready, err := stack.WaitForIssuerCondition(t.Context(), issuer, metav1.ConditionFalse, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ready.Message, "VaultTLSError") {
			t.Errorf("Ready message %q does not name the failure class", ready.Message)
		}
		t.Logf("VaultReady: %s: %s", cond.Reason, cond.Message)
	})

	t.Run("RootPinMismatch", func(t *testing.T) {
		const issuer = "vault-tls-pin-mismatch"
		tv.applyTLSIssuer(t, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.Mount = tlsIntMount
			iss.Spec.Vault.IssuerRef = tlsIssuerName
			iss.Spec.Vault.RootFingerprint = vault.Fingerprint(stack.PKI.Root)[len("sha256:"):]
		})
		cond, err := stack.WaitForVaultReady(t.Context(), issuer, "RootMismatch", 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cond.Message, vault.Fingerprint(tv.root)) || !strings.Contains(cond.Message, "Golem Trust Test Root CA") {
			t.Errorf("the message does not name the root Vault chains to: %q", cond.Message)
		}
		if _, err := stack.WaitForIssuerCondition(t.Context(), issuer, metav1.ConditionFalse, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ShortenedTTLIsNotDelivered", func(t *testing.T) {
		ctx := t.Context()
		const issuer = "vault-tls-short"
		tv.applyTLSIssuer(t, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Vault.Mount = tlsShortMount
			// Inline this time.
			iss.Spec.Vault.CABundleSecretRef = nil
			iss.Spec.Vault.CABundle = tv.ca.pem
		})
		if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		createRequest(t, "tls-short-01", issuer, bankCSR(t), 720*time.Hour)
		cr := waitForFinal(t, "tls-short-01", 60*time.Second)
		ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
		if ready == nil || ready.Reason != cmapi.CertificateRequestReasonFailed {
			t.Fatalf("want the request Failed, got %+v", ready)
		}
		if !strings.Contains(ready.Message, "post-issuance check") || !strings.Contains(ready.Message, "not delivered") ||
			!strings.Contains(ready.Message, "revokes it") {
			t.Errorf("the failure does not say the certificate was withheld and must be revoked by the security team: %q", ready.Message)
		}
		if len(cr.Status.Certificate) != 0 {
			t.Errorf("a certificate was delivered")
		}
		warning := waitForEvent(t, "istio-system", cr.Name, "VaultWarning")
		if !strings.Contains(warning.Note, "maxTTL") {
			t.Errorf("the VaultWarning Event does not carry Vault's warning: %q", warning.Note)
		}
		failed := waitForEvent(t, "istio-system", cr.Name, "VerificationFailed")
		t.Logf("VerificationFailed: %s", failed.Note)
		if !strings.Contains(failed.Note, "revoke it by hand") {
			t.Errorf("the VerificationFailed Event does not tell to revoke the serial by hand: %q", failed.Note)
		}
		m := regexp.MustCompile(`serial ([0-9a-f]{2}(?::[0-9a-f]{2})+)`).FindStringSubmatch(ready.Message)
		if m == nil {
			t.Fatalf("no serial in %q", ready.Message)
		}
		s, err := tv.Admin.Logical().ReadWithContext(ctx, tlsShortMount+"/cert/"+m[1])
		if err != nil || s == nil {
			t.Fatalf("reading certificate %s: %v", m[1], err)
		}
		// The issuer never revokes, and its role may not (a stolen secret
		// ID must not take a mesh's intermediate down): revoking the
		// certificate is the security team's, by hand, as the runbook and
		// the alert say.
		revoked, _ := s.Data["revocation_time"].(json.Number)
		if n, _ := revoked.Int64(); n != 0 {
			t.Errorf("certificate %s was revoked in Vault (revocation_time %v), although the issuer never revokes and its role has no revoke capability", m[1], s.Data["revocation_time"])
		}
		samples, err := env.Scrape(ctx, "http://"+stack.IssuerMetricsAddr+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if n := env.Sum(samples, "vault_intermediate_issuer_requests_total", map[string]string{"issuer": issuer, "decision": "verification_failed"}); n != 1 {
			t.Errorf("requests_total{decision=verification_failed} = %v, want 1", n)
		}
	})
}

// colonSerial renders cert's serial the way Vault lists it.
func colonSerial(cert *x509.Certificate) string {
	hexDigits := fmt.Sprintf("%x", cert.SerialNumber)
	if len(hexDigits)%2 == 1 {
		hexDigits = "0" + hexDigits
	}
	var parts []string
	for i := 0; i < len(hexDigits); i += 2 {
		parts = append(parts, hexDigits[i:i+2])
	}
	return strings.Join(parts, ":")
}
