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

package policy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// bankPolicy is spec.policy of deploy/examples/issuer-bank.yaml, as written
// there (defaults not spelled out stay unset).
func bankPolicy() *v1alpha1.IntermediatePolicy {
	return &v1alpha1.IntermediatePolicy{
		AllowedNamespaces: []string{"istio-system"},
		Subject: v1alpha1.SubjectPolicy{
			CommonName:    &v1alpha1.ValuePolicy{Required: []string{"Golem Trust Istio CA"}},
			Organizations: &v1alpha1.ValuePolicy{Required: []string{"Golem Trust"}},
			Countries:     &v1alpha1.ValuePolicy{Required: []string{"AM"}},
		},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{DNSNames: []string{"istiod.istio-system.svc"}},
		Duration: v1alpha1.DurationPolicy{
			Min: metav1.Duration{Duration: 24 * time.Hour},
			Max: metav1.Duration{Duration: 720 * time.Hour},
		},
		KeyUsages: v1alpha1.KeyUsagePolicy{
			Allowed:  []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageCertSign, cmapi.UsageCRLSign},
			Required: []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign},
		},
		PrivateKey: v1alpha1.PrivateKeyPolicy{
			Algorithms:  []v1alpha1.PrivateKeyAlgorithm{v1alpha1.RSAKeyAlgorithm, v1alpha1.ECDSAKeyAlgorithm},
			MinRSASize:  ptr(int32(2048)),
			ECDSACurves: []v1alpha1.ECDSACurve{v1alpha1.CurveP256, v1alpha1.CurveP384},
		},
		MaxPathLength: ptr(int32(0)),
	}
}

// spirePolicy is spec.policy of deploy/examples/issuer-spire.yaml.
func spirePolicy() *v1alpha1.IntermediatePolicy {
	return &v1alpha1.IntermediatePolicy{
		AllowedNamespaces: []string{"spire"},
		Requesters: &v1alpha1.RequesterPolicy{
			ServiceAccounts: []v1alpha1.ServiceAccountReference{{Namespace: "spire", Name: "spire-server"}},
		},
		Subject: v1alpha1.SubjectPolicy{
			CommonName:    &v1alpha1.ValuePolicy{Required: []string{"Golem Trust SPIRE CA"}},
			Organizations: &v1alpha1.ValuePolicy{Required: []string{"SPIFFE"}},
			Countries:     &v1alpha1.ValuePolicy{Required: []string{"US"}},
			SerialNumber:  &v1alpha1.ValuePolicy{Allowed: []string{"*"}},
		},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{URIs: []string{"spiffe://cluster.local"}},
		Duration: v1alpha1.DurationPolicy{
			Min:     metav1.Duration{Duration: time.Hour},
			Max:     metav1.Duration{Duration: 720 * time.Hour},
			Default: &metav1.Duration{Duration: 24 * time.Hour},
		},
		KeyUsages: v1alpha1.KeyUsagePolicy{
			Allowed:  []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageCertSign, cmapi.UsageCRLSign},
			Required: []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign},
		},
		PrivateKey: v1alpha1.PrivateKeyPolicy{
			Algorithms:  []v1alpha1.PrivateKeyAlgorithm{v1alpha1.ECDSAKeyAlgorithm, v1alpha1.RSAKeyAlgorithm},
			MinRSASize:  ptr(int32(2048)),
			ECDSACurves: []v1alpha1.ECDSACurve{v1alpha1.CurveP256, v1alpha1.CurveP384},
		},
		MaxPathLength: ptr(int32(0)),
	}
}

// bankSubject is the subject of the bank's runbook Certificate (seed 000).
func bankSubject() pkix.Name {
	return pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}, Country: []string{"AM"}}
}

// Keys are generated once per test binary; RSA generation is the slow part
// of these tests.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	p256Key  *ecdsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if p256Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, p256Key
}

// createCSR signs tmpl with key and returns the PEM.
func createCSR(t testing.TB, tmpl *x509.CertificateRequest, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatalf("creating CSR: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// bankRequest is a request the bank policy allows: the runbook's subject, a
// P-256 key, no usages (cert-manager's CA defaults), 720h.
func bankRequest(t testing.TB) Request {
	t.Helper()
	_, key := testKeys(t)
	return Request{
		Namespace: "istio-system",
		CSR:       createCSR(t, &x509.CertificateRequest{Subject: bankSubject()}, key),
		IsCA:      true,
		Duration:  ptr(720 * time.Hour),
	}
}

// readTestdata reads a file of testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fields returns the paths of errs, in order.
func fields(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, err := range errs {
		out = append(out, err.Field)
	}
	return out
}

// assertFields fails unless errs has exactly the paths want, in any order.
func assertFields(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := fields(errs)
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("violations at %q, want %q; all:\n%s", got, want, FormatViolations(errs))
	}
}
