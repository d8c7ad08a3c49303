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
	"strconv"
	"time"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
)

// policyRequest reads the request's own fields and who made it. issuer-lib's
// GetCertificateDetails applies cert-manager's defaults (a 90-day duration
// when none is set, default usages), which would hide from the policy that a
// request carried no duration, so the raw object is read instead. The
// wrappers issuer-lib passes embed the API objects, whose DeepCopy methods
// are promoted.
func policyRequest(obj libsigner.CertificateRequestObject) (policy.Request, RequestRef, error) {
	switch o := obj.(type) {
	case interface {
		DeepCopy() *cmapi.CertificateRequest
	}:
		cr := o.DeepCopy()
		req := policy.Request{
			Namespace: cr.Namespace,
			CSR:       cr.Spec.Request,
			IsCA:      cr.Spec.IsCA,
			Usages:    cr.Spec.Usages,
			Username:  cr.Spec.Username,
			Groups:    cr.Spec.Groups,
		}
		if cr.Spec.Duration != nil {
			d := cr.Spec.Duration.Duration
			req.Duration = &d
		}
		ref := RequestRef{Kind: "CertificateRequest", Namespace: cr.Namespace, Name: cr.Name, UID: cr.UID,
			Requester: cr.Spec.Username, Certificate: cr.Annotations[cmapi.CertificateNameKey],
			Created: cr.CreationTimestamp.Time, Object: cr}
		for _, c := range cr.Status.Conditions {
			if c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue {
				ref.Approval = approval(c.Reason, c.Message)
			}
		}
		return req, ref, nil
	case interface {
		DeepCopy() *certificatesv1.CertificateSigningRequest
	}:
		csr := o.DeepCopy()
		req := policy.Request{
			// Kubernetes CSRs are cluster-scoped: no namespace to allow.
			Namespace:     "",
			KubernetesCSR: true,
			CSR:           csr.Spec.Request,
			IsCA:          csr.Annotations[experimentalapi.CertificateSigningRequestIsCAAnnotationKey] == "true",
			Username:      csr.Spec.Username,
			Groups:        csr.Spec.Groups,
		}
		for _, u := range csr.Spec.Usages {
			req.Usages = append(req.Usages, cmapi.KeyUsage(u))
		}
		if csr.Spec.ExpirationSeconds != nil {
			d := time.Duration(*csr.Spec.ExpirationSeconds) * time.Second
			req.Duration = &d
		} else if v, ok := csr.Annotations[experimentalapi.CertificateSigningRequestDurationAnnotationKey]; ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return policy.Request{}, RequestRef{Kind: "CertificateSigningRequest", Name: csr.Name, UID: csr.UID,
						Requester: csr.Spec.Username, Object: csr}, fmt.Errorf("annotation %s=%s is not a duration: %w",
						experimentalapi.CertificateSigningRequestDurationAnnotationKey, strconv.Quote(v), err)
			}
			req.Duration = &d
		}
		ref := RequestRef{Kind: "CertificateSigningRequest", Name: csr.Name, UID: csr.UID,
			Requester: csr.Spec.Username, Created: csr.CreationTimestamp.Time, Object: csr}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateApproved && c.Status == corev1.ConditionTrue {
				ref.Approval = approval(c.Reason, c.Message)
			}
		}
		return req, ref, nil
	default:
		return policy.Request{}, RequestRef{}, fmt.Errorf("unsupported request type %T", obj)
	}
}

// maxApprovalText bounds the approval reason and message carried into the
// audit trail: whoever may approve can write any length.
const maxApprovalText = 256

func approval(reason, message string) *Approval {
	return &Approval{Reason: truncate(reason, maxApprovalText), Message: truncate(message, maxApprovalText)}
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
