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
	"sync"
	"testing"
	"time"
)

// The benchmarks' extra keys are generated once per test binary: an RSA-4096
// key takes up to seconds, and every benchmark function would otherwise make
// its own.
var (
	benchKeysOnce sync.Once
	rsa4096Key    *rsa.PrivateKey
	p384Key       *ecdsa.PrivateKey
)

// benchmarkRequest is a bank request whose CSR has the named key.
type benchmarkRequest struct {
	name string
	req  Request
}

// benchmarkRequests are bank requests with the keys the benchmarks compare:
// every algorithm and size the bank policy allows that a mesh CA uses.
func benchmarkRequests(b *testing.B) []benchmarkRequest {
	b.Helper()
	rsa2048, p256 := testKeys(b)
	benchKeysOnce.Do(func() {
		var err error
		if rsa4096Key, err = rsa.GenerateKey(rand.Reader, 4096); err != nil {
			panic(err)
		}
		if p384Key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
	})
	var out []benchmarkRequest
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"RSA-2048", rsa2048}, {"RSA-4096", rsa4096Key}, {"P-256", p256}, {"P-384", p384Key}} {
		req := bankRequest(b)
		req.CSR = createCSR(b, &x509.CertificateRequest{Subject: bankSubject(), DNSNames: []string{"istiod.istio-system.svc"}}, k.key)
		out = append(out, benchmarkRequest{k.name, req})
	}
	return out
}

// BenchmarkEvaluate is the whole judgment of an allowed request: parsing,
// the signature check and every rule.
func BenchmarkEvaluate(b *testing.B) {
	p := bankPolicy()
	for _, tc := range benchmarkRequests(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := Evaluate(p, tc.req); !d.Allowed() {
					b.Fatal(d.Message())
				}
			}
		})
	}
}

// BenchmarkEvaluateExcludingSignature is the policy evaluation alone: a CSR
// parsed beforehand and no signature check. The budget is 100µs.
func BenchmarkEvaluateExcludingSignature(b *testing.B) {
	p := bankPolicy()
	for _, tc := range benchmarkRequests(b) {
		csr, err := ParseCSR(tc.req.CSR)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := evaluate(p, tc.req, csr, nil, false); !d.Allowed() {
					b.Fatal(d.Message())
				}
			}
		})
	}
}

func BenchmarkParseCSR(b *testing.B) {
	for _, tc := range benchmarkRequests(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseCSR(tc.req.CSR); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluateOversizedRSA shows that a 16384-bit key costs no more
// than parsing: it is denied before its signature is checked.
func BenchmarkEvaluateOversizedRSA(b *testing.B) {
	p := bankPolicy()
	req := bankRequest(b)
	req.CSR = readTestdata(b, "rsa-16384.csr.pem")
	b.ReportAllocs()
	for b.Loop() {
		if d := Evaluate(p, req); d.Allowed() {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkCheckSignature is the CSR's proof of possession alone: what
// BenchmarkEvaluate spends beyond BenchmarkParseCSR and
// BenchmarkEvaluateExcludingSignature.
func BenchmarkCheckSignature(b *testing.B) {
	for _, tc := range benchmarkRequests(b) {
		csr, err := ParseCSR(tc.req.CSR)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if errs := evaluateSignature(csr); len(errs) > 0 {
					b.Fatal(FormatViolations(errs))
				}
			}
		})
	}
}

// BenchmarkVerify is the post-issuance check of the certificate Vault
// returns, its signature by the issuing CA included (a P-256 test CA).
func BenchmarkVerify(b *testing.B) {
	p := bankPolicy()
	now := time.Now()
	ca := newTestCA(b, "Golem Trust Root CA", now.Add(10*365*24*time.Hour))
	for _, tc := range benchmarkRequests(b) {
		d := Evaluate(p, tc.req)
		if !d.Allowed() {
			b.Fatal(d.Message())
		}
		issued := ca.sign(b, d, now, nil)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if errs := Verify(p, d, issued, ca.cert, now); len(errs) > 0 {
					b.Fatal(FormatViolations(errs))
				}
			}
		})
	}
}
