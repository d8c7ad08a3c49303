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
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// The people of the requester and approval tests: a platform engineer who may
// create requests, someone else who may too but is not allowed by the
// policy, and the security team's officer who approves.
const (
	platformEngineer = "platform-engineer"
	mallory          = "mallory"
	securityOfficer  = "security-officer"
)

// grantRequestCreation lets the users create and read CertificateRequests in
// istio-system, as a namespace's users may.
func grantRequestCreation(t *testing.T, users ...string) {
	t.Helper()
	if err := stack.Grant(t.Context(), "e2e-request-creators", "istio-system", []rbacv1.PolicyRule{{
		APIGroups: []string{"cert-manager.io"}, Resources: []string{"certificaterequests"},
		Verbs: []string{"create", "get", "list", "watch"},
	}}, users...); err != nil {
		t.Fatal(err)
	}
}

// createRequestAs creates an isCA CertificateRequest in istio-system as the
// user, and returns it as cert-manager's webhook admitted it.
func createRequestAs(t *testing.T, user, name, issuer string, csr []byte) *cmapi.CertificateRequest {
	t.Helper()
	c, err := stack.ImpersonatingClient(user)
	if err != nil {
		t.Fatal(err)
	}
	cr := env.IntermediateRequest("istio-system", name, issuer, csr, 720*time.Hour)
	if err := c.Create(t.Context(), cr); err != nil {
		t.Fatalf("creating %s as %s: %v", name, user, err)
	}
	return cr
}

// TestRequesterRecorded proves that cert-manager's webhook runs in the stack
// and that the issuer names and judges the requester it records: a
// Certificate's requests carry cert-manager's own ServiceAccount, a raw
// request the user that created it; the status, the audit line and the
// Events name them; the requester rules allow the listed ones and deny the
// others; and with the webhook unregistered a request is denied with a
// reason that says so.
func TestRequesterRecorded(t *testing.T) {
	ctx := t.Context()
	const issuer = "vault-requesters"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Policy.Requesters = &v1alpha1.RequesterPolicy{
			Usernames:       []string{platformEngineer},
			ServiceAccounts: []v1alpha1.ServiceAccountReference{{Namespace: env.CertManagerNamespace, Name: env.CertManagerServiceAccount}},
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	grantRequestCreation(t, platformEngineer, mallory)

	t.Run("CertificateByCertManager", func(t *testing.T) {
		cert := &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "requester-cacerts"},
			Spec: cmapi.CertificateSpec{
				SecretName: "requester-cacerts", IsCA: true, Duration: &metav1.Duration{Duration: 720 * time.Hour},
				CommonName: env.BankSubject.CommonName,
				Subject:    &cmapi.X509Subject{Organizations: env.BankSubject.Organization, Countries: env.BankSubject.Country},
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
				IssuerRef:  cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "VaultIntermediateClusterIssuer", Name: issuer},
			},
		}
		if err := stack.Client.Create(ctx, cert); err != nil {
			t.Fatal(err)
		}
		cr, err := stack.WaitForFinalRequest(ctx, "istio-system", cert.Name, 90*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		requireIssued(t, cr)
		if cr.Spec.Username != env.CertManagerUser {
			t.Errorf("the Certificate's request has spec.username %q, want cert-manager's ServiceAccount %q", cr.Spec.Username, env.CertManagerUser)
		}
		requireRequesterRecorded(t, issuer, cr.Name, env.CertManagerUser, "issued", "Issued")
	})

	t.Run("RawRequestByNamedUser", func(t *testing.T) {
		cr := createRequestAs(t, platformEngineer, "requester-allowed", issuer, bankCSR(t))
		if cr.Spec.Username != platformEngineer {
			t.Errorf("spec.username %q as admitted, want %q", cr.Spec.Username, platformEngineer)
		}
		final := waitForFinal(t, cr.Name, 60*time.Second)
		requireIssued(t, final)
		requireRequesterRecorded(t, issuer, cr.Name, platformEngineer, "issued", "Issued")
	})

	t.Run("RawRequestByOtherUserDenied", func(t *testing.T) {
		cr := createRequestAs(t, mallory, "requester-denied", issuer, bankCSR(t))
		final := waitForFinal(t, cr.Name, 60*time.Second)
		ready := env.CertificateRequestCondition(final, cmapi.CertificateRequestConditionReady)
		if ready == nil || ready.Reason != cmapi.CertificateRequestReasonFailed ||
			!strings.Contains(ready.Message, `requesters: requester "mallory"`) {
			t.Fatalf("the request of a user the policy does not list was not denied for it: %+v", ready)
		}
		requireRequesterRecorded(t, issuer, cr.Name, mallory, "denied", "PolicyDenied")
	})

	t.Run("ForgedRequesterOverwritten", func(t *testing.T) {
		// Without the webhook a user could write any spec.username; with
		// it, the identity plugin overwrites it with the real user.
		c, err := stack.ImpersonatingClient(mallory)
		if err != nil {
			t.Fatal(err)
		}
		cr := env.IntermediateRequest("istio-system", "requester-forged", issuer, bankCSR(t), 720*time.Hour)
		cr.Spec.Username, cr.Spec.Groups = platformEngineer, []string{"system:masters"}
		if err := c.Create(ctx, cr); err != nil {
			t.Fatal(err)
		}
		if cr.Spec.Username != mallory {
			t.Errorf("a forged spec.username %q survived admission; want %q", cr.Spec.Username, mallory)
		}
	})

	t.Run("WebhookMissing", func(t *testing.T) {
		// A broken install: cert-manager's webhook is not registered
		// (neither configuration), so nothing records the requester and
		// nothing stops a request without one.
		restore, err := stack.UnregisterWebhook(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := restore(context.Background()); err != nil {
				t.Error(err)
			}
		})
		var cr *cmapi.CertificateRequest
		err = env.WaitFor(ctx, 30*time.Second, 250*time.Millisecond, "a request admitted without the webhook", func(ctx context.Context) (bool, error) {
			probe := env.IntermediateRequest("istio-system", "", issuer, bankCSR(t), 720*time.Hour)
			probe.GenerateName = "requester-no-webhook-"
			if err := stack.Client.Create(ctx, probe); err != nil {
				return false, err
			}
			if probe.Spec.Username != "" {
				// Still admitted by the webhook: the removal has not
				// reached the API server's admission yet.
				return false, stack.Client.Delete(ctx, probe)
			}
			cr = probe
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		final := waitForFinal(t, cr.Name, 60*time.Second)
		ready := env.CertificateRequestCondition(final, cmapi.CertificateRequestConditionReady)
		if ready == nil || ready.Reason != cmapi.CertificateRequestReasonFailed ||
			!strings.Contains(ready.Message, "cert-manager's webhook, which records the user that creates each CertificateRequest, is not running or not registered") {
			t.Fatalf("a request without a requester was not denied for the missing webhook: %+v", ready)
		}
	})
}

// requireRequesterRecorded checks that the issuer's status record of the
// decision, its audit line and the request's Event name the requester.
func requireRequesterRecorded(t *testing.T, issuer, request, requester, decision, eventReason string) {
	t.Helper()
	st := getIssuer(t, issuer).Status
	var ref *v1alpha1.RequestReference
	switch decision {
	case "issued":
		if st.LastIssued != nil {
			ref = &st.LastIssued.Request
		}
	default:
		if st.LastDenied != nil {
			ref = &st.LastDenied.Request
		}
	}
	if ref == nil || ref.Name != request || ref.Requester != requester {
		t.Errorf("status record of the %s request = %+v; want request %s by %s", decision, ref, request, requester)
	}
	found := false
	for _, line := range auditLines(t, issuer) {
		if line["request"] == "istio-system/"+request {
			found = true
			if line["requester"] != requester || line["decision"] != decision {
				t.Errorf("audit line of %s: requester %v, decision %v; want %s, %s", request, line["requester"], line["decision"], requester, decision)
			}
		}
	}
	if !found {
		t.Errorf("no audit line for %s", request)
	}
	ev := waitForEvent(t, "istio-system", request, eventReason)
	if !strings.Contains(ev.Note, fmt.Sprintf("requester %q", requester)) {
		t.Errorf("%s Event %q does not name the requester %s", eventReason, ev.Note, requester)
	}
}

// TestKubernetesCertificateSigningRequest signs a Kubernetes
// CertificateSigningRequest end to end under a policy written for it: a
// user the requester rules allow creates it with the annotations and usages
// cert-manager's CSR support reads, a security officer with "approve" on the
// issuer's signer name approves it, and the issuer delivers a CA that chains
// to the bank's root. The same request by a user the rules do not list, or
// to an issuer whose policy does not opt in, is denied.
func TestKubernetesCertificateSigningRequest(t *testing.T) {
	ctx := t.Context()
	const issuer = "vault-k8s-csr"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Policy.Requesters = &v1alpha1.RequesterPolicy{Usernames: []string{platformEngineer}}
		iss.Spec.Policy.AllowCertificateSigningRequests = true
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stack.Grant(ctx, "e2e-csr-creators", "", []rbacv1.PolicyRule{{
		APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"},
		Verbs: []string{"create", "get", "list", "watch"},
	}}, platformEngineer, mallory); err != nil {
		t.Fatal(err)
	}
	// What kubectl certificate approve needs, for this issuer's signer
	// name only.
	if err := stack.Grant(ctx, "e2e-csr-approvers", "", []rbacv1.PolicyRule{
		{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}, Verbs: []string{"update"}},
		{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, Verbs: []string{"approve"},
			ResourceNames: []string{v1alpha1.IssuerTypeIdentifier + "/" + issuer}},
	}, securityOfficer); err != nil {
		t.Fatal(err)
	}

	type result struct {
		csr    *certificatesv1.CertificateSigningRequest
		failed *certificatesv1.CertificateSigningRequestCondition
	}
	submit := func(t *testing.T, user, name, signerIssuer string) result {
		t.Helper()
		csrPEM := bankCSR(t)
		c, err := stack.ImpersonatingClient(user)
		if err != nil {
			t.Fatal(err)
		}
		csr := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
				experimentalapi.CertificateSigningRequestIsCAAnnotationKey: "true",
			}},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request:    csrPEM,
				SignerName: v1alpha1.IssuerTypeIdentifier + "/" + signerIssuer,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment,
					certificatesv1.UsageCertSign},
				ExpirationSeconds: ptr.To(int32((720 * time.Hour).Seconds())),
			},
		}
		if err := c.Create(ctx, csr); err != nil {
			t.Fatalf("creating %s as %s: %v", name, user, err)
		}
		if csr.Spec.Username != user {
			t.Errorf("the API server recorded spec.username %q, want %q", csr.Spec.Username, user)
		}
		approver, err := stack.ImpersonatingClient(securityOfficer)
		if err != nil {
			t.Fatal(err)
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
			Reason: "SecurityTeamApproved", Message: "intermediate for the test mesh, ticket SEC-1",
		})
		err = approver.SubResource("approval").Update(ctx, csr)
		if signerIssuer != issuer {
			// The officer may approve only for vault-k8s-csr.
			if !apierrors.IsForbidden(err) {
				t.Fatalf("approving a CSR for another signer as %s: got %v, want Forbidden", securityOfficer, err)
			}
			if err := stack.Client.SubResource("approval").Update(ctx, csr); err != nil {
				t.Fatal(err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
		var r result
		err = env.WaitFor(ctx, 60*time.Second, 250*time.Millisecond, "CSR "+name+" to be signed or fail", func(ctx context.Context) (bool, error) {
			if err := stack.Client.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
				return false, err
			}
			for i, c := range csr.Status.Conditions {
				if c.Type == certificatesv1.CertificateFailed {
					r.failed = &csr.Status.Conditions[i]
					return true, nil
				}
			}
			return len(csr.Status.Certificate) > 0, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r.csr = csr
		return r
	}

	t.Run("Signed", func(t *testing.T) {
		before := issuedSerials(t)
		r := submit(t, platformEngineer, "k8s-csr-allowed", issuer)
		if r.failed != nil {
			t.Fatalf("the CSR failed: %s: %s", r.failed.Reason, r.failed.Message)
		}
		chain, err := vault.ParseCertificates(r.csr.Status.Certificate)
		if err != nil || len(chain) == 0 {
			t.Fatalf("parsing the CSR's certificate: %v", err)
		}
		leaf := chain[0]
		if !leaf.IsCA || leaf.MaxPathLen != 0 || !leaf.MaxPathLenZero || leaf.Subject.CommonName != env.BankSubject.CommonName {
			t.Errorf("issued %s (isCA %t, path length %d), want the bank's CA with path length 0", leaf.Subject, leaf.IsCA, leaf.MaxPathLen)
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 719*time.Hour || d > 721*time.Hour {
			t.Errorf("validity %s, want spec.expirationSeconds (720h)", d)
		}
		roots := x509.NewCertPool()
		roots.AddCert(stack.PKI.Root)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("the CSR's certificate does not chain to the bank's root: %v", err)
		}
		if after := issuedSerials(t); len(after) != len(before)+1 {
			t.Errorf("Vault issued %d certificates for one CSR", len(after)-len(before))
		}
		li := getIssuer(t, issuer).Status.LastIssued
		if li == nil || li.Request.Kind != "CertificateSigningRequest" || li.Request.Name != r.csr.Name ||
			li.Request.Requester != platformEngineer || li.SerialNumber != colonSerial(leaf) {
			t.Errorf("lastIssued = %+v", li)
		}
		if li != nil && (li.Request.Approval == nil || li.Request.Approval.Reason != "SecurityTeamApproved" ||
			li.Request.Approval.Message != "intermediate for the test mesh, ticket SEC-1") {
			t.Errorf("lastIssued.request.approval = %+v, want the officer's reason and message", li.Request.Approval)
		}
	})

	t.Run("OtherRequesterDenied", func(t *testing.T) {
		before := issuedSerials(t)
		r := submit(t, mallory, "k8s-csr-mallory", issuer)
		if r.failed == nil || !strings.Contains(r.failed.Message, `requesters: requester "mallory"`) {
			t.Fatalf("the CSR of a user the policy does not list was not denied for it: %+v", r.failed)
		}
		if after := issuedSerials(t); len(after) != len(before) {
			t.Errorf("Vault issued a certificate for a denied CSR")
		}
	})

	t.Run("NoOptInDenied", func(t *testing.T) {
		r := submit(t, platformEngineer, "k8s-csr-bank", bankIssuer)
		if r.failed == nil || !strings.Contains(r.failed.Message, "allowCertificateSigningRequests") {
			t.Fatalf("a CSR to the bank's issuer, whose policy does not opt in, was not denied for it: %+v", r.failed)
		}
	})
}

// issuedSerials lists the serials of Vault's bank PKI mount.
func issuedSerials(t *testing.T) []string {
	t.Helper()
	serials, err := stack.Vault.IssuedSerials(t.Context(), stack.PKI.Mount)
	if err != nil {
		t.Fatal(err)
	}
	return serials
}
