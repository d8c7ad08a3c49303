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

package env

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// IntermediateRequest is an isCA CertificateRequest for a
// VaultIntermediateClusterIssuer, the way SPIRE's upstream authority (or
// cert-manager for a Certificate) asks for an intermediate.
func IntermediateRequest(namespace, name, issuer string, csr []byte, duration time.Duration) *cmapi.CertificateRequest {
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: cmapi.CertificateRequestSpec{
			Request:  csr,
			IsCA:     true,
			Duration: &metav1.Duration{Duration: duration},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group,
				Kind: "VaultIntermediateClusterIssuer", Name: issuer},
		},
	}
}
