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

package controllers

import (
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// The informer cache holds every CertificateRequest and
// CertificateSigningRequest of the cluster, most of them for other issuers.
// These transforms drop, before an object is cached, what this controller
// never reads: managedFields of everything, and the CSR, certificate and CA
// of requests for other issuers (issuer-lib only looks at their issuerRef or
// signerName to ignore them). The cache's memory then grows with the number
// of foreign requests by a few hundred bytes each instead of kilobytes.

// StripManagedFields is the cache transform for every other object.
func StripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// StripForeignCertificateRequest is the cache transform for
// CertificateRequests.
func StripForeignCertificateRequest(obj any) (any, error) {
	cr, ok := obj.(*cmapi.CertificateRequest)
	if !ok {
		return StripManagedFields(obj)
	}
	cr.ManagedFields = nil
	if cr.Spec.IssuerRef.Group != v1alpha1.GroupVersion.Group {
		cr.Spec.Request = nil
		cr.Status.Certificate = nil
		cr.Status.CA = nil
	}
	return cr, nil
}

// StripForeignCertificateSigningRequest is the cache transform for
// Kubernetes CertificateSigningRequests.
func StripForeignCertificateSigningRequest(obj any) (any, error) {
	csr, ok := obj.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return StripManagedFields(obj)
	}
	csr.ManagedFields = nil
	if !strings.HasPrefix(csr.Spec.SignerName, v1alpha1.IssuerTypeIdentifier+"/") {
		csr.Spec.Request = nil
		csr.Status.Certificate = nil
	}
	return csr, nil
}
