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
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestJournalRecordIsAHint replays, on the real stack, the attack of anyone
// who may write CertificateRequest status (cert-manager, another issuer's
// controller, approver-policy): with the issuer not Ready, a compliant
// request is created, the live cacerts intermediate's serial is written
// into its status as a VaultSerial record, and the issuer is restored.
// Earlier versions revoked the live intermediate within a second; now the
// record is checked against the request's CSR, ignored, and reported, and
// the request gets a certificate of its own.
func TestJournalRecordIsAHint(t *testing.T) {
	ctx := t.Context()
	const issuer = "vault-journal"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	// The live intermediate: a cacerts Secret issued through the issuer.
	live := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "journal-istio-ca"},
		Spec: cmapi.CertificateSpec{
			SecretName: "journal-cacerts", IsCA: true, CommonName: "Golem Trust Istio CA",
			Duration:    &metav1.Duration{Duration: 720 * time.Hour},
			RenewBefore: &metav1.Duration{Duration: 168 * time.Hour},
			Subject:     &cmapi.X509Subject{Organizations: []string{"Golem Trust"}, Countries: []string{"AM"}},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group,
				Kind: "VaultIntermediateClusterIssuer", Name: issuer},
		},
	}
	if err := stack.Client.Create(ctx, live); err != nil {
		t.Fatal(err)
	}
	cacerts := waitForSecretCert(t, "istio-system", "journal-cacerts", nil)
	victim := colonSerial(cacerts.leaf)
	t.Logf("the live intermediate: serial %s", victim)

	journalAttack(t, attack{
		issuer: issuer, request: "journal-attack", vault: stack.Vault, mount: stack.PKI.Mount, victim: victim,
		breakIssuer:   func(t *testing.T) { setSecretRef(t, issuer, "vault-approle-absent") },
		restoreIssuer: func(t *testing.T) { setSecretRef(t, issuer, env.AppRoleSecretName) },
	})

	// cert-manager still serves the live intermediate, which is valid.
	after := waitForSecretCert(t, "istio-system", "journal-cacerts", nil)
	if !after.leaf.Equal(cacerts.leaf) {
		t.Errorf("the cacerts Secret changed: serial %s -> %s", victim, colonSerial(after.leaf))
	}
}

// attack is one run of journalAttack.
type attack struct {
	issuer, request string
	vault           *env.Vault
	mount           string
	// victim is the serial of a delivered intermediate, the target.
	victim                     string
	breakIssuer, restoreIssuer func(t *testing.T)
}

// journalAttack makes the issuer not Ready, creates a compliant request,
// writes the victim's serial into its status as a VaultSerial record (as a
// field manager of its own, like any controller with status access would),
// restores the issuer and checks: the victim is not revoked, the request is
// issued with a certificate of its own key, signed once, and the audit
// trail (audit line, Event, metric) names the mismatch.
func journalAttack(t *testing.T, a attack) {
	t.Helper()
	ctx := t.Context()
	mismatchesBefore := issuerMetric(t, "vault_intermediate_issuer_journal_mismatches_total", a.issuer)
	a.breakIssuer(t)
	if _, err := stack.WaitForIssuerCondition(ctx, a.issuer, metav1.ConditionFalse, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	csr := bankCSR(t)
	createRequest(t, a.request, a.issuer, csr, 720*time.Hour)
	// Wait until cert-manager approved it and issuer-lib parked it for the
	// issuer: the record is in place before the controller could sign.
	if err := env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "request "+a.request+" approved and waiting", func(ctx context.Context) (bool, error) {
		cr, err := getRequest(ctx, a.request)
		if err != nil {
			return false, err
		}
		approved := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionApproved)
		ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
		return approved != nil && ready != nil && ready.Reason == cmapi.CertificateRequestReasonPending, nil
	}); err != nil {
		t.Fatal(err)
	}
	forgeVaultSerial(t, a.request, a.victim)
	serialsBefore, err := a.vault.IssuedSerials(ctx, a.mount)
	if err != nil {
		t.Fatal(err)
	}

	a.restoreIssuer(t)
	cr := waitForFinal(t, a.request, 90*time.Second)
	requireIssued(t, cr)

	// 1. The victim is untouched.
	s, err := a.vault.Admin.Logical().ReadWithContext(ctx, a.mount+"/cert/"+a.victim)
	if err != nil || s == nil {
		t.Fatalf("reading the victim %s: %v", a.victim, err)
	}
	if n, _ := s.Data["revocation_time"].(json.Number).Int64(); n != 0 {
		t.Errorf("the live intermediate %s was revoked (revocation_time %d)", a.victim, n)
	}
	// 2. The request got a certificate of its own, signed once.
	chain, err := vault.ParseCertificates(cr.Status.Certificate)
	if err != nil || len(chain) == 0 {
		t.Fatalf("status.certificate: %v", err)
	}
	block, _ := pem.Decode(csr)
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := colonSerial(chain[0]); got == a.victim || !bytes.Equal(chain[0].RawSubjectPublicKeyInfo, req.RawSubjectPublicKeyInfo) {
		t.Errorf("the request was given serial %s (victim %s), or a certificate of another key", got, a.victim)
	}
	serialsAfter, err := a.vault.IssuedSerials(ctx, a.mount)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(serialsAfter) - len(serialsBefore); n != 1 {
		t.Errorf("Vault issued %d certificates for the request, want 1", n)
	}
	// 3. The audit trail names the mismatch: Event, audit line, metric.
	ev := waitForEvent(t, "istio-system", a.request, "JournalMismatch")
	if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Note, a.victim) || !strings.Contains(ev.Note, "public key") {
		t.Errorf("JournalMismatch Event %s: %q does not name the serial and why it was ignored", ev.Type, ev.Note)
	}
	var line map[string]any
	for _, l := range auditLines(t, a.issuer) {
		if l["msg"] == "journal mismatch" && l["serial"] == a.victim && l["request"] == "istio-system/"+a.request {
			line = l
		}
	}
	if line == nil {
		t.Errorf("no audit line \"journal mismatch\" for serial %s on %s", a.victim, a.request)
	} else {
		t.Logf("audit line: %v", line)
	}
	if got := issuerMetric(t, "vault_intermediate_issuer_journal_mismatches_total", a.issuer); got != mismatchesBefore+1 {
		t.Errorf("journal_mismatches_total{issuer=%q} = %v, want %v", a.issuer, got, mismatchesBefore+1)
	}
}

// forgeVaultSerial writes a VaultSerial record naming serial into the
// request's status, with server-side apply as a field manager of its own.
func forgeVaultSerial(t *testing.T, name, serial string) {
	t.Helper()
	patch, err := json.Marshal(map[string]any{
		"apiVersion": cmapi.SchemeGroupVersion.String(), "kind": "CertificateRequest",
		"metadata": map[string]any{"name": name, "namespace": "istio-system"},
		"status": map[string]any{"conditions": []map[string]any{{
			"type": signer.ConditionVaultSerial, "status": "True", "reason": signer.JournalReasonIssued,
			"message": serial, "lastTransitionTime": metav1.Now(),
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name}}
	if err := stack.Client.Status().Patch(t.Context(), cr, client.RawPatch(types.ApplyPatchType, patch),
		&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: "someone-with-status-access", Force: ptr.To(true)}}); err != nil {
		t.Fatal(err)
	}
	if c := env.CertificateRequestCondition(cr, signer.ConditionVaultSerial); c == nil || c.Message != serial {
		t.Fatalf("the forged record did not stick: %+v", cr.Status.Conditions)
	}
}

// setSecretRef points the issuer's AppRole Secret references at name: a
// missing Secret makes it not Ready (SecretNotFound).
func setSecretRef(t *testing.T, issuer, name string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		iss := &v1alpha1.VaultIntermediateClusterIssuer{}
		if err := stack.Client.Get(t.Context(), client.ObjectKey{Name: issuer}, iss); err != nil {
			return err
		}
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = name
		if iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef != nil {
			iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = name
		}
		return stack.Client.Update(t.Context(), iss)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// issuerMetric sums a metric of the issuer process for one issuer.
func issuerMetric(t *testing.T, name, issuer string) float64 {
	t.Helper()
	samples, err := stack.IssuerMetrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return env.Sum(samples, name, map[string]string{"issuer": issuer})
}

// TestJournalConditionOnCertificateSigningRequest measures what the
// journal relies on for Kubernetes CertificateSigningRequests:
// kube-apiserver accepts a condition type of the signer's choosing on a
// CSR's status, written with server-side apply by a field manager of its
// own, keeps the lastTransitionTime given (the intent's time), and keeps the
// condition when another manager (issuer-lib) applies its own.
func TestJournalConditionOnCertificateSigningRequest(t *testing.T) {
	ctx := t.Context()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "journal-csr",
			Annotations: map[string]string{experimentalapi.CertificateSigningRequestIsCAAnnotationKey: "true"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           bankCSR(t),
			SignerName:        "vaultintermediateclusterissuers.pki.golemtrust.am/not-an-issuer",
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageCertSign, certificatesv1.UsageCRLSign},
			ExpirationSeconds: ptr.To[int32](int32((720 * time.Hour).Seconds())),
		},
	}
	if err := stack.Client.Create(ctx, csr); err != nil {
		t.Fatal(err)
	}
	intent := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	apply := func(manager string, condition map[string]any) {
		t.Helper()
		patch, err := json.Marshal(map[string]any{
			"apiVersion": certificatesv1.SchemeGroupVersion.String(), "kind": "CertificateSigningRequest",
			"metadata": map[string]any{"name": csr.Name, "uid": csr.UID},
			"status":   map[string]any{"conditions": []map[string]any{condition}},
		})
		if err != nil {
			t.Fatal(err)
		}
		obj := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: csr.Name}}
		if err := stack.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, patch),
			&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: manager, Force: ptr.To(true)}}); err != nil {
			t.Fatalf("kube-apiserver refused the %s condition of %s: %v", condition["type"], manager, err)
		}
	}
	// The same condition the controller's journal writes (controllers/journal.go).
	apply("vault-intermediate-issuer-journal", map[string]any{
		"type": signer.ConditionVaultSerial, "status": "Unknown", "reason": signer.JournalReasonIntent,
		"message": "Vault was asked to sign at " + intent.UTC().Format(time.RFC3339), "lastTransitionTime": intent, "lastUpdateTime": intent,
	})
	apply("vault-intermediate-issuer", map[string]any{
		"type": "Failed", "status": "True", "reason": "Failed", "message": "issuer-lib's own condition",
	})
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: csr.Name}, csr); err != nil {
		t.Fatal(err)
	}
	var journal *certificatesv1.CertificateSigningRequestCondition
	for i, c := range csr.Status.Conditions {
		if string(c.Type) == signer.ConditionVaultSerial {
			journal = &csr.Status.Conditions[i]
		}
	}
	if journal == nil || journal.Status != corev1.ConditionUnknown || !journal.LastTransitionTime.Equal(&intent) {
		t.Fatalf("the journal condition is %+v, want status Unknown at %s, next to issuer-lib's", journal, intent)
	}
	t.Logf("kube-apiserver %s keeps the custom condition %s on a CSR: %+v", "v1.36", signer.ConditionVaultSerial, *journal)
}
