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
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The requester, the kind and the approval reach the policy and the audit
// trail from the fields the webhook, the API server and the approver wrote.
func TestPolicyRequestRequesterAndApproval(t *testing.T) {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio-ca-1"},
		Spec: cmapi.CertificateRequestSpec{Request: []byte("csr"), IsCA: true, Username: "system:serviceaccount:cert-manager:cert-manager",
			Groups: []string{"system:serviceaccounts"}, Duration: &metav1.Duration{Duration: 720 * time.Hour}},
		Status: cmapi.CertificateRequestStatus{Conditions: []cmapi.CertificateRequestCondition{
			{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "SecurityTeamApproved",
				Message: strings.Repeat("m", 1000)},
		}},
	}
	req, ref, err := policyRequest(signer.CertificateRequestObjectFromCertificateRequest(cr))
	if err != nil {
		t.Fatal(err)
	}
	if req.KubernetesCSR || req.Namespace != "istio-system" || req.Username != cr.Spec.Username || len(req.Groups) != 1 {
		t.Errorf("policy request = %+v", req)
	}
	if ref.Requester != cr.Spec.Username || ref.Approval == nil || ref.Approval.Reason != "SecurityTeamApproved" ||
		len(ref.Approval.Message) > maxApprovalText+3 || !strings.HasSuffix(ref.Approval.Message, "...") {
		t.Errorf("reference = %+v, approval %+v", ref, ref.Approval)
	}

	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "k8s-csr", Annotations: map[string]string{
			experimentalapi.CertificateSigningRequestIsCAAnnotationKey: "true"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: []byte("csr"), Username: "platform-engineer",
			Groups: []string{"system:authenticated"}, ExpirationSeconds: ptr.To[int32](3600),
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageCertSign}},
		Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
			{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubectlApprove", Message: "ok"},
		}},
	}
	req, ref, err = policyRequest(signer.CertificateRequestObjectFromCertificateSigningRequest(csr))
	if err != nil {
		t.Fatal(err)
	}
	if !req.KubernetesCSR || req.Namespace != "" || !req.IsCA || req.Username != "platform-engineer" || req.Duration == nil || *req.Duration != time.Hour {
		t.Errorf("policy request of the CSR = %+v", req)
	}
	if ref.Kind != "CertificateSigningRequest" || ref.Requester != "platform-engineer" || ref.Approval == nil || ref.Approval.Reason != "KubectlApprove" {
		t.Errorf("reference of the CSR = %+v", ref)
	}

	cr.Status.Conditions = nil
	if _, ref, _ = policyRequest(signer.CertificateRequestObjectFromCertificateRequest(cr)); ref.Approval != nil {
		t.Errorf("approval %+v of a request without an Approved condition", ref.Approval)
	}
}
