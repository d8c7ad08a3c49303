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
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/: a valid CSR, garbage,
// several PEM blocks, a PEM of another type. `go test` runs them; run
// `go test -run='^$' -fuzz=FuzzParseCSR -fuzztime=60s ./signer/policy/` to
// search for more, and add what it finds there.

func FuzzParseCSR(f *testing.F) {
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		if (csr == nil) == (err == nil) {
			t.Fatalf("ParseCSR() = %v, %v: want exactly one of a CSR and an error", csr, err)
		}
		if err != nil && len(data) > MaxCSRPEMSize && !strings.Contains(err.Error(), "bytes accepted") {
			t.Fatalf("oversized input not rejected for its size: %v", err)
		}
	})
}

// permissivePolicy allows nearly everything, so that fuzzed CSRs reach every
// rule instead of stopping at the first mismatch.
func permissivePolicy() *v1alpha1.IntermediatePolicy {
	all := &v1alpha1.ValuePolicy{Allowed: []string{"*"}}
	return &v1alpha1.IntermediatePolicy{
		AllowedNamespaces: []string{"istio-system", "spire"},
		Subject: v1alpha1.SubjectPolicy{
			CommonName: all, Organizations: all, OrganizationalUnits: all, Countries: all, Localities: all,
			Provinces: all, StreetAddresses: all, PostalCodes: all, SerialNumber: all,
		},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{
			DNSNames:       []string{"*", "*.*", "*.*.*", "*.*.*.*"},
			URIs:           []string{"*"},
			IPAddresses:    []string{"0.0.0.0/0", "::/0"},
			EmailAddresses: []string{"*"},
		},
		Duration: v1alpha1.DurationPolicy{
			Min:     metav1.Duration{Duration: time.Second},
			Max:     metav1.Duration{Duration: 100 * 365 * 24 * time.Hour},
			Default: &metav1.Duration{Duration: 24 * time.Hour},
		},
		KeyUsages:    v1alpha1.KeyUsagePolicy{Allowed: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageCertSign, cmapi.UsageCRLSign, cmapi.UsageKeyAgreement}},
		ExtKeyUsages: v1alpha1.ExtKeyUsagePolicy{Allowed: []cmapi.KeyUsage{cmapi.UsageServerAuth, cmapi.UsageClientAuth}},
		PrivateKey: v1alpha1.PrivateKeyPolicy{
			Algorithms:  []v1alpha1.PrivateKeyAlgorithm{v1alpha1.RSAKeyAlgorithm, v1alpha1.ECDSAKeyAlgorithm, v1alpha1.Ed25519KeyAlgorithm},
			MaxRSASize:  ptr(int32(4096)),
			ECDSACurves: []v1alpha1.ECDSACurve{v1alpha1.CurveP256, v1alpha1.CurveP384, v1alpha1.CurveP521},
		},
		MaxPathLength: ptr(int32(8)),
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(""), "istio-system", int64(720*3600), "", true)
	policies := map[string]*v1alpha1.IntermediatePolicy{
		"bank": bankPolicy(), "spire": spirePolicy(), "permissive": permissivePolicy(),
	}
	f.Fuzz(func(t *testing.T, csr []byte, namespace string, seconds int64, usages string, isCA bool) {
		req := Request{Namespace: namespace, CSR: csr, IsCA: isCA}
		if seconds != 0 {
			d := time.Duration(seconds) * time.Second
			req.Duration = &d
		}
		for _, u := range strings.Split(usages, ",") {
			if u != "" {
				req.Usages = append(req.Usages, cmapi.KeyUsage(u))
			}
		}
		for name, p := range policies {
			d := Evaluate(p, req)
			for _, err := range d.Violations {
				if err == nil || err.Field == "" || err.Detail == "" || Rule(err) == "" {
					t.Fatalf("%s: malformed violation %#v", name, err)
				}
			}
			if got := strings.Count(d.Message(), "\n"); len(d.Violations) > 0 && got != len(d.Violations)-1 {
				t.Fatalf("%s: %d violations rendered on %d lines", name, len(d.Violations), got+1)
			}
			if !d.Allowed() {
				continue
			}
			// What is allowed honours the policy's fundamentals.
			if d.CSR == nil || !req.IsCA || !strings.Contains(strings.Join(p.AllowedNamespaces, " "), req.Namespace) ||
				d.Duration < p.Duration.Min.Duration || d.Duration > p.Duration.Max.Duration {
				t.Fatalf("%s: allowed %+v", name, req)
			}
			if name == "bank" && (d.Subject.CommonName != "Golem Trust Istio CA" || len(d.CSR.URIs) > 0) {
				t.Fatalf("bank: allowed subject %+v, URIs %v", d.Subject, d.CSR.URIs)
			}
		}
	})
}
