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
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// testCA is a CA made in the test to stand in for Vault's: this package is
// pure, and a locally generated CA is test data.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t testing.TB, cn string, notAfter time.Time) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Golem Trust"}},
		NotBefore:             notAfter.Add(-20 * 365 * 24 * time.Hour),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key}
}

// sign issues what a well-behaved Vault issues for d, changed by mutate.
func (ca testCA) sign(t testing.TB, d Decision, now time.Time, mutate func(*x509.Certificate, *crypto.PublicKey)) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               d.Subject,
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(d.Duration),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            d.MaxPathLength,
		MaxPathLenZero:        d.MaxPathLength == 0,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		DNSNames:              d.CSR.DNSNames,
		URIs:                  d.CSR.URIs,
		PermittedDNSDomains:   d.PermittedDNSDomains,
		ExcludedDNSDomains:    d.ExcludedDNSDomains,
	}
	var pub crypto.PublicKey = d.CSR.PublicKey
	if mutate != nil {
		mutate(tmpl, &pub)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestVerify(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ca := newTestCA(t, "Golem Trust Root CA", now.Add(10*365*24*time.Hour))
	shortCA := newTestCA(t, "Golem Trust Short Root CA", now.Add(100*time.Hour))
	otherCA := newTestCA(t, "Golem Trust Root CA", now.Add(10*365*24*time.Hour)) // same name, other key
	strangerCA := newTestCA(t, "Evil Root CA", now.Add(10*365*24*time.Hour))
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	req := bankRequest(t)
	_, key := testKeys(t)
	req.CSR = createCSR(t, &x509.CertificateRequest{Subject: bankSubject(), DNSNames: []string{"istiod.istio-system.svc"}}, key)
	constrained := bankPolicy()
	constrained.NameConstraints = &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"istio-system.svc", "cluster.local"}}

	tests := []struct {
		name   string
		policy *v1alpha1.IntermediatePolicy
		ca     testCA // the CA that signs; ca when zero
		mutate func(*x509.Certificate, *crypto.PublicKey)
		want   []string
	}{
		{name: "what was allowed"},
		{name: "name constraints as the policy says", policy: constrained},
		{name: "subject in another order", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.Subject = pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: []int{2, 5, 4, 3}, Value: "Golem Trust Istio CA"},
				{Type: []int{2, 5, 4, 10}, Value: "Golem Trust"},
				{Type: []int{2, 5, 4, 6}, Value: "AM"},
			}}
		}},
		{name: "Vault added digital signature, which is allowed", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.KeyUsage |= x509.KeyUsageDigitalSignature
		}},
		{name: "wrong key", mutate: func(_ *x509.Certificate, pub *crypto.PublicKey) { *pub = otherKey.Public() },
			want: []string{"issued.publicKey"}},
		{name: "extra organization", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.Subject.Organization = []string{"Golem Trust", "Evil Corp"}
		}, want: []string{"issued.subject.organizations"}},
		{name: "subject without organization and country", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.Subject = pkix.Name{CommonName: "Golem Trust Istio CA"}
		}, want: []string{"issued.subject.organizations", "issued.subject.countries"}},
		{name: "unknown subject attribute", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: []int{2, 5, 4, 12}, Value: "CA"}}
		}, want: []string{"issued.subject"}},
		{name: "no path length constraint", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.MaxPathLen, c.MaxPathLenZero = 0, false
		}, want: []string{"issued.maxPathLength"}},
		{name: "path length 1", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.MaxPathLen, c.MaxPathLenZero = 1, false
		}, want: []string{"issued.maxPathLength"}},
		{name: "not a CA", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.IsCA, c.MaxPathLen, c.MaxPathLenZero = false, -1, false
		}, want: []string{"issued.isCA", "issued.maxPathLength"}},
		{name: "NotAfter shorter than duration.min", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.NotAfter = now.Add(time.Hour)
		}, want: []string{"issued.notAfter"}},
		{name: "NotAfter later than requested", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.NotAfter = now.Add(721 * time.Hour)
		}, want: []string{"issued.notAfter"}},
		{name: "NotAfter within the clock skew", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.NotAfter = now.Add(720*time.Hour + time.Minute)
		}},
		{name: "NotAfter after the issuing CA's", ca: shortCA, want: []string{"issued.notAfter"}},
		{name: "NotBefore in the future", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.NotBefore = now.Add(time.Hour)
		}, want: []string{"issued.notBefore"}},
		{name: "missing crl sign", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.KeyUsage = x509.KeyUsageCertSign
		}, want: []string{"issued.keyUsage"}},
		{name: "key usage not allowed", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.KeyUsage |= x509.KeyUsageKeyAgreement
		}, want: []string{"issued.keyUsage"}},
		{name: "extended key usage", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			c.UnknownExtKeyUsage = []asn1.ObjectIdentifier{{1, 2, 3, 4}}
		}, want: []string{"issued.extKeyUsage"}},
		{name: "extra SAN", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.DNSNames = append(c.DNSNames, "golem-trust-istio-ca")
		}, want: []string{"issued.subjectAltNames.dnsNames"}},
		{name: "name constraints missing", policy: constrained, mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.PermittedDNSDomains = nil
		}, want: []string{"issued.nameConstraints.permittedDNSDomains"}},
		{name: "name constraints without a policy for them", mutate: func(c *x509.Certificate, _ *crypto.PublicKey) {
			c.ExcludedDNSDomains = []string{"example.com"}
		}, want: []string{"issued.nameConstraints.excludedDNSDomains"}},
		{name: "wrong issuer", ca: strangerCA, want: []string{"issued.issuer"}},
		{name: "same issuer name, other key", ca: otherCA, want: []string{"issued.issuer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			if p == nil {
				p = bankPolicy()
			}
			d := Evaluate(p, req)
			if !d.Allowed() {
				t.Fatalf("denied:\n%s", d.Message())
			}
			signer := tc.ca
			if signer.cert == nil {
				signer = ca
			}
			issued := signer.sign(t, d, now, tc.mutate)
			// The CA is the one Vault names as issuing_ca: the expected one,
			// except where the test is about a CA that expires too early.
			issuing := ca.cert
			if tc.ca.cert == shortCA.cert {
				issuing = shortCA.cert
			}
			assertFields(t, Verify(p, d, issued, issuing, now), tc.want...)
		})
	}

	t.Run("no issued certificate", func(t *testing.T) {
		assertFields(t, Verify(bankPolicy(), Evaluate(bankPolicy(), req), nil, ca.cert, now), "issued")
	})
	t.Run("no CSR in the decision", func(t *testing.T) {
		d := Evaluate(bankPolicy(), req)
		issued := ca.sign(t, d, now, nil)
		d.CSR = nil
		assertFields(t, Verify(bankPolicy(), d, issued, ca.cert, now), "csr")
	})
	t.Run("without an issuing CA, the issuer is not checked", func(t *testing.T) {
		d := Evaluate(bankPolicy(), req)
		assertFields(t, Verify(bankPolicy(), d, strangerCA.sign(t, d, now, nil), nil, now))
	})
}
