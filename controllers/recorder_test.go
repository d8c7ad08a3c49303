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
	"testing"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

func TestCapNote(t *testing.T) {
	if got := capNote("short"); got != "short" {
		t.Errorf("capNote(short) = %q", got)
	}
	got := capNote(strings.Repeat("ü", 800))
	if len(got) > maxEventNote || !strings.HasSuffix(got, "[truncated]") || !utf8.ValidString(got) {
		t.Errorf("capped note: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func TestShortDigest(t *testing.T) {
	if got := shortDigest("sha256:fbaf8077fc5753c58b8602983c20956906f08576a453aa5f22b7ab805d0b8cbe"); got != "fbaf8077fc57" {
		t.Errorf("shortDigest = %q", got)
	}
}

func TestReferencesSecret(t *testing.T) {
	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	iss.Spec.Vault.Auth.AppRole.SecretRef = v1alpha1.SecretKeySelector{Name: "approle", Key: "secretId"}
	iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef = &v1alpha1.SecretKeySelector{Name: "role", Key: "roleId"}
	iss.Spec.Vault.CABundleSecretRef = &v1alpha1.SecretKeySelector{Name: "ca", Key: "ca.crt"}
	for name, want := range map[string]bool{"approle": true, "role": true, "ca": true, "other": false} {
		if got := referencesSecret(iss, name); got != want {
			t.Errorf("referencesSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCacheTransformsKeepOursAndStripForeign(t *testing.T) {
	ours := &cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{Request: []byte("csr"),
		IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Name: "vault-intermediate"}},
		Status: cmapi.CertificateRequestStatus{Certificate: []byte("cert")}}
	ours.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "x"}}
	foreign := ours.DeepCopy()
	foreign.Spec.IssuerRef.Group = "cert-manager.io"
	for _, cr := range []*cmapi.CertificateRequest{ours, foreign} {
		if _, err := StripForeignCertificateRequest(cr); err != nil {
			t.Fatal(err)
		}
		if cr.ManagedFields != nil {
			t.Error("managedFields kept")
		}
	}
	if string(ours.Spec.Request) != "csr" || string(ours.Status.Certificate) != "cert" {
		t.Error("our request lost its CSR or certificate")
	}
	if foreign.Spec.Request != nil || foreign.Status.Certificate != nil || foreign.Spec.IssuerRef.Name == "" {
		t.Error("a foreign request kept its CSR or certificate, or lost its issuerRef")
	}

	csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
		SignerName: "example.com/other", Request: []byte("csr")}}
	if _, err := StripForeignCertificateSigningRequest(csr); err != nil || csr.Spec.Request != nil || csr.Spec.SignerName == "" {
		t.Errorf("foreign CSR not stripped: %v", err)
	}
	csr = &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
		SignerName: v1alpha1.IssuerTypeIdentifier + "/vault-intermediate", Request: []byte("csr")}}
	if _, err := StripForeignCertificateSigningRequest(csr); err != nil || string(csr.Spec.Request) != "csr" {
		t.Errorf("our CSR was stripped: %v", err)
	}
}
