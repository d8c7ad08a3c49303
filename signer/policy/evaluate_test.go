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
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

func TestEvaluate(t *testing.T) {
	rsaKey, ecKey := testKeys(t)
	p224Key, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bankCSR := func(mutate func(*x509.CertificateRequest)) []byte {
		tmpl := &x509.CertificateRequest{Subject: bankSubject()}
		if mutate != nil {
			mutate(tmpl)
		}
		return createCSR(t, tmpl, ecKey)
	}
	withExt := func(exts ...pkix.Extension) func(*x509.CertificateRequest) {
		return func(c *x509.CertificateRequest) { c.ExtraExtensions = append(c.ExtraExtensions, exts...) }
	}
	mustExt := func(ext pkix.Extension, err error) pkix.Extension {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ext
	}
	pathLen := func(n int) pkix.Extension { return mustExt(pki.MarshalBasicConstraints(true, &n)) }
	rsa1024 := readTestdata(t, "rsa-1024.csr.pem")
	rsa16384 := readTestdata(t, "rsa-16384.csr.pem")
	validPEM := bankCSR(nil)
	validBlock, _ := pem.Decode(validPEM)

	// A CSR whose signature no longer verifies: the last byte of the DER
	// is the last byte of the signature.
	flipped := func(pemBytes []byte) []byte {
		block, _ := pem.Decode(pemBytes)
		der := bytes.Clone(block.Bytes)
		der[len(der)-1] ^= 0xff
		return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
	}
	// A subject with a common name of the given ASN.1 string type and bytes.
	rawCN := func(tag int, value []byte) func(*x509.CertificateRequest) {
		return func(c *x509.CertificateRequest) {
			raw, err := asn1.Marshal(pkix.RDNSequence{
				{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "AM"}},
				{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Golem Trust"}},
				{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{Tag: tag, Bytes: value}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			c.RawSubject = raw
		}
	}
	multiBlock := bytes.Repeat(validPEM, 1000)
	otherNameSAN := mustExt(pki.MarshalSANs(pki.GeneralNames{OtherNames: []pki.OtherName{{
		TypeID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3},
		Value:  asn1.RawValue{Tag: 0, Class: asn1.ClassContextSpecific, IsCompound: true, Bytes: mustMarshal(t, "admin@golemtrust.am")},
	}}}, true))
	manySANs := make([]string, 5000)
	for i := range manySANs {
		manySANs[i] = fmt.Sprintf("%d.io", i%100)
	}
	wildcardPolicy := bankPolicy()
	wildcardPolicy.SubjectAltNames.DNSNames = []string{"*.istio-system.svc"}
	ed25519Policy := bankPolicy()
	ed25519Policy.PrivateKey.Algorithms = append(ed25519Policy.PrivateKey.Algorithms, v1alpha1.Ed25519KeyAlgorithm)
	bigRSAPolicy := bankPolicy()
	bigRSAPolicy.PrivateKey.MaxRSASize = ptr(int32(16384))
	invalidPolicy := bankPolicy()
	invalidPolicy.SubjectAltNames.IPAddresses = []string{"10.0.0.1/8"}
	requesterPolicy := bankPolicy()
	requesterPolicy.Requesters = &v1alpha1.RequesterPolicy{
		Usernames:       []string{"security-officer"},
		Groups:          []string{"pki-admins"},
		ServiceAccounts: []v1alpha1.ServiceAccountReference{{Namespace: "cert-manager", Name: "cert-manager"}},
	}
	csrPolicy := requesterPolicy.DeepCopy()
	csrPolicy.AllowCertificateSigningRequests = true
	kubernetesCSR := func(r *Request) { r.Namespace, r.KubernetesCSR, r.Username = "", true, "security-officer" }

	tests := []struct {
		name   string
		policy *v1alpha1.IntermediatePolicy // bank policy when nil and !noPolicy
		// noPolicy evaluates with a nil policy.
		noPolicy bool
		mutate   func(*Request)
		want     []string // violation paths; none means allowed
	}{
		{name: "bank request is allowed"},
		{name: "RSA-2048 key is allowed", mutate: func(r *Request) {
			r.CSR = createCSR(t, &x509.CertificateRequest{Subject: bankSubject()}, rsaKey)
		}},
		{name: "Ed25519 key allowed when the policy lists it", policy: ed25519Policy, mutate: func(r *Request) {
			r.CSR = createCSR(t, &x509.CertificateRequest{Subject: bankSubject()}, edKey)
		}},
		{name: "usages spelled differently are the same bits", mutate: func(r *Request) {
			r.Usages = []cmapi.KeyUsage{cmapi.UsageSigning, cmapi.UsageCertSign, cmapi.UsageCRLSign}
		}},
		{name: "allowed DNS SAN", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.DNSNames = []string{"istiod.istio-system.svc"} })
		}},

		// Policy.
		{name: "no policy denies everything", noPolicy: true,
			want: []string{"policy", "allowedNamespaces", "duration.max", "subject.commonName", "subject.organizations", "subject.countries"}},
		{name: "invalid policy denies everything", policy: invalidPolicy, want: []string{"policy"}},

		// Request fields.
		{name: "namespace not allowed", mutate: func(r *Request) { r.Namespace = "default" },
			want: []string{"allowedNamespaces"}},
		{name: "CertificateRequest without a namespace", mutate: func(r *Request) { r.Namespace = "" },
			want: []string{"allowedNamespaces"}},
		{name: "Kubernetes CSR without the opt-in", mutate: kubernetesCSR,
			want: []string{"allowCertificateSigningRequests"}},
		{name: "Kubernetes CSR with the opt-in from an allowed user", policy: csrPolicy, mutate: kubernetesCSR},
		{name: "Kubernetes CSR with the opt-in from another user", policy: csrPolicy, mutate: func(r *Request) {
			kubernetesCSR(r)
			r.Username = "mallory"
		}, want: []string{"requesters"}},
		{name: "Kubernetes CSR from a member of an allowed group", policy: csrPolicy, mutate: func(r *Request) {
			kubernetesCSR(r)
			r.Username, r.Groups = "alice", []string{"system:authenticated", "pki-admins"}
		}},

		// Requesters.
		{name: "any requester without requester rules", mutate: func(r *Request) { r.Username = "anyone" }},
		{name: "no requester without requester rules", mutate: func(r *Request) { r.Username = "" }},
		{name: "allowed user", policy: requesterPolicy, mutate: func(r *Request) { r.Username = "security-officer" }},
		{name: "allowed ServiceAccount", policy: requesterPolicy, mutate: func(r *Request) {
			r.Username = "system:serviceaccount:cert-manager:cert-manager"
		}},
		{name: "ServiceAccount of the same name in another namespace", policy: requesterPolicy, mutate: func(r *Request) {
			r.Username = "system:serviceaccount:default:cert-manager"
		}, want: []string{"requesters"}},
		{name: "allowed group", policy: requesterPolicy, mutate: func(r *Request) {
			r.Username, r.Groups = "bob", []string{"pki-admins"}
		}},
		{name: "user name in groups does not count", policy: requesterPolicy, mutate: func(r *Request) {
			r.Username, r.Groups = "pki-admins", []string{"developers"}
		}, want: []string{"requesters"}},
		{name: "names are case-sensitive", policy: requesterPolicy, mutate: func(r *Request) { r.Username = "Security-Officer" },
			want: []string{"requesters"}},
		{name: "no requester: the webhook is missing", policy: requesterPolicy, mutate: func(r *Request) {
			r.Username, r.Groups = "", []string{"pki-admins"}
		}, want: []string{"requesters"}},
		{name: "isCA false", mutate: func(r *Request) { r.IsCA = false }, want: []string{"isCA"}},
		{name: "zero duration", mutate: func(r *Request) { r.Duration = ptr(time.Duration(0)) }, want: []string{"duration"}},
		{name: "negative duration", mutate: func(r *Request) { r.Duration = ptr(-time.Hour) }, want: []string{"duration"}},
		{name: "100-year duration", mutate: func(r *Request) { r.Duration = ptr(100 * 365 * 24 * time.Hour) }, want: []string{"duration.max"}},
		{name: "duration below min", mutate: func(r *Request) { r.Duration = ptr(time.Hour) }, want: []string{"duration.min"}},
		{name: "no duration and no default", mutate: func(r *Request) { r.Duration = nil }, want: []string{"duration.default"}},
		{name: "three defects yield three violations", mutate: func(r *Request) {
			r.Namespace, r.IsCA, r.Duration = "default", false, ptr(100*365*24*time.Hour)
		}, want: []string{"allowedNamespaces", "isCA", "duration.max"}},

		// Usages.
		{name: "extended key usage server auth", mutate: func(r *Request) {
			r.Usages = []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageServerAuth}
		}, want: []string{"extKeyUsages.allowed"}},
		{name: "key usage not allowed", mutate: func(r *Request) {
			r.Usages = []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageKeyAgreement}
		}, want: []string{"keyUsages.allowed"}},
		{name: "unknown usage", mutate: func(r *Request) {
			r.Usages = []cmapi.KeyUsage{cmapi.UsageCertSign, "world domination"}
		}, want: []string{"usages[1]"}},
		{name: "usages contradict the CSR's keyUsage extension", mutate: func(r *Request) {
			r.Usages = []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign}
			r.CSR = bankCSR(withExt(mustExt(pki.MarshalKeyUsage(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign))))
		}, want: []string{"csr.extensions.keyUsage"}},
		{name: "CSR asks for an extended key usage the request does not", mutate: func(r *Request) {
			r.CSR = bankCSR(withExt(mustExt(pki.MarshalExtKeyUsage([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, nil))))
		}, want: []string{"csr.extensions.extKeyUsage"}},

		// CSR encoding.
		{name: "CSR is not PEM", mutate: func(r *Request) { r.CSR = []byte("hello") }, want: []string{"csr"}},
		{name: "CSR is DER", mutate: func(r *Request) { r.CSR = validBlock.Bytes }, want: []string{"csr"}},
		{name: "CSR is empty", mutate: func(r *Request) { r.CSR = nil }, want: []string{"csr"}},
		{name: "1,000 PEM blocks", mutate: func(r *Request) { r.CSR = multiBlock }, want: []string{"csr"}},
		{name: "PEM of another type", mutate: func(r *Request) {
			r.CSR = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: validBlock.Bytes})
		}, want: []string{"csr"}},
		{name: "larger than 64 KiB", mutate: func(r *Request) {
			r.CSR = append(bytes.Clone(validPEM), bytes.Repeat([]byte("\n"), MaxCSRPEMSize)...)
		}, want: []string{"csr"}},
		{name: "base64 garbage", mutate: func(r *Request) {
			r.CSR = []byte("-----BEGIN CERTIFICATE REQUEST-----\n!!!not base64!!!\n-----END CERTIFICATE REQUEST-----\n")
		}, want: []string{"csr"}},
		{name: "trailing data", mutate: func(r *Request) { r.CSR = append(bytes.Clone(validPEM), "trailing"...) }, want: []string{"csr"}},
		{name: "leading data", mutate: func(r *Request) { r.CSR = append([]byte("leading\n"), validPEM...) }, want: []string{"csr"}},
		{name: "unparsable DER", mutate: func(r *Request) {
			r.CSR = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
		}, want: []string{"csr"}},
		{name: "DER with trailing bytes", mutate: func(r *Request) {
			r.CSR = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: append(bytes.Clone(validBlock.Bytes), 0)})
		}, want: []string{"csr"}},
		{name: "garbage CSR still reports request-level defects", mutate: func(r *Request) {
			r.CSR, r.Namespace, r.IsCA = []byte("garbage"), "default", false
		}, want: []string{"csr", "allowedNamespaces", "isCA"}},
		{name: "broken signature", mutate: func(r *Request) { r.CSR = flipped(r.CSR) }, want: []string{"csr"}},

		// Key.
		{name: "RSA-1024", mutate: func(r *Request) { r.CSR = rsa1024 },
			want: []string{"privateKey.minRSASize"}},
		{name: "RSA-16384 is denied without checking its signature", mutate: func(r *Request) {
			// The signature is broken on purpose: were it checked, a csr
			// violation would appear.
			r.CSR = flipped(rsa16384)
		}, want: []string{"privateKey.maxRSASize"}},
		{name: "RSA-16384 is a real key that verifies when allowed", policy: bigRSAPolicy, mutate: func(r *Request) {
			r.CSR = rsa16384
		}},
		{name: "P-224", mutate: func(r *Request) {
			r.CSR = createCSR(t, &x509.CertificateRequest{Subject: bankSubject()}, p224Key)
		}, want: []string{"privateKey.ecdsaCurves"}},
		{name: "Ed25519 not allowed", mutate: func(r *Request) {
			r.CSR = createCSR(t, &x509.CertificateRequest{Subject: bankSubject()}, edKey)
		}, want: []string{"privateKey.algorithms"}},

		// Subject.
		{name: "unknown subject attribute", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) {
				c.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "ca@golemtrust.am"}}
			})
		}, want: []string{"subject"}},
		{name: "NUL byte in the common name", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.CommonName = "Golem Trust Istio CA\x00.evil" })
		}, want: []string{"subject.commonName", "subject.commonName"}},
		{name: "non-UTF-8 common name", mutate: func(r *Request) {
			r.CSR = bankCSR(rawCN(asn1.TagT61String, []byte("Golem Trust \xff\xfe CA")))
		}, want: []string{"subject.commonName", "subject.commonName"}},
		{name: "common name of 65 characters", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.CommonName = strings.Repeat("a", 65) })
		}, want: []string{"subject.commonName", "subject.commonName"}},
		{name: "common name of 64 KiB", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.CommonName = strings.Repeat("a", 64<<10) })
		}, want: []string{"csr"}},
		{name: "duplicated organization", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.Organization = []string{"Golem Trust", "Golem Trust"} })
		}, want: []string{"subject.organizations"}},
		{name: "organization not allowed", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.Organization = []string{"Golem Trust", "Evil Corp"} })
		}, want: []string{"subject.organizations"}},
		{name: "required organization missing", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.Organization = nil })
		}, want: []string{"subject.organizations"}},
		{name: "attribute the policy does not mention", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.Subject.OrganizationalUnit = []string{"Istio"} })
		}, want: []string{"subject.organizationalUnits"}},
		{name: "two common names", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) {
				c.Subject.ExtraNames = []pkix.AttributeTypeAndValue{
					{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Golem Trust Istio CA"},
					{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Golem Trust Istio CA 2"},
				}
			})
		}, want: []string{"subject.commonName", "subject.commonName"}},

		// Subject alternative names.
		{name: "DNS name not allowed", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.DNSNames = []string{"istiod.istio-system.svc", "evil.example.com"} })
		}, want: []string{"subjectAltNames.dnsNames[1]"}},
		{name: "wildcard DNS name against a non-wildcard policy", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.DNSNames = []string{"*.istio-system.svc"} })
		}, want: []string{"subjectAltNames.dnsNames[0]"}},
		{name: "wildcard DNS name against the same wildcard", policy: wildcardPolicy, mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.DNSNames = []string{"*.istio-system.svc"} })
		}},
		{name: "DNS glob matches one label", policy: wildcardPolicy, mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) {
				c.DNSNames = []string{"istiod.istio-system.svc", "a.b.istio-system.svc"}
			})
		}, want: []string{"subjectAltNames.dnsNames[1]"}},
		{name: "URI SAN not allowed", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.URIs = []*url.URL{{Scheme: "spiffe", Host: "cluster.local"}} })
		}, want: []string{"subjectAltNames.uris[0]"}},
		{name: "IP SAN not allowed", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.IPAddresses = []net.IP{net.ParseIP("10.0.0.1")} })
		}, want: []string{"subjectAltNames.ipAddresses[0]"}},
		{name: "email SAN not allowed", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.EmailAddresses = []string{"ca@golemtrust.am"} })
		}, want: []string{"subjectAltNames.emailAddresses[0]"}},
		{name: "otherName SAN", mutate: func(r *Request) { r.CSR = bankCSR(withExt(otherNameSAN)) },
			want: []string{"subjectAltNames"}},
		{name: "5,000 SANs", mutate: func(r *Request) {
			r.CSR = bankCSR(func(c *x509.CertificateRequest) { c.DNSNames = manySANs })
		}, want: append(append([]string{"subjectAltNames"}, indexed("subjectAltNames.dnsNames", maxReported)...), "subjectAltNames.dnsNames")},

		// Requested extensions.
		{name: "path length 5", mutate: func(r *Request) { r.CSR = bankCSR(withExt(pathLen(5))) },
			want: []string{"maxPathLength"}},
		{name: "path length 100", mutate: func(r *Request) { r.CSR = bankCSR(withExt(pathLen(100))) },
			want: []string{"maxPathLength"}},
		{name: "path length 0", mutate: func(r *Request) { r.CSR = bankCSR(withExt(pathLen(0))) }},
		{name: "basicConstraints CA=false", mutate: func(r *Request) {
			r.CSR = bankCSR(withExt(mustExt(pki.MarshalBasicConstraints(false, nil))))
		}, want: []string{"csr.extensions.basicConstraints"}},
		{name: "unknown extension", mutate: func(r *Request) {
			r.CSR = bankCSR(withExt(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: mustMarshal(t, []byte{1, 2, 3})}))
		}, want: []string{"csr.extensions"}},
		{name: "name constraints requested in the CSR", mutate: func(r *Request) {
			r.CSR = bankCSR(withExt(mustExt(pki.MarshalNameConstraints(&pki.NameConstraints{PermittedDNSDomains: []string{"svc"}}, true))))
		}, want: []string{"csr.extensions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := bankRequest(t)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			p := tc.policy
			if p == nil && !tc.noPolicy {
				p = bankPolicy()
			}
			d := Evaluate(p, req)
			assertFields(t, d.Violations, tc.want...)
			if d.Allowed() != (len(tc.want) == 0) {
				t.Errorf("Allowed() = %t", d.Allowed())
			}
			if msg := d.Message(); strings.Count(msg, "\n") != max(len(d.Violations)-1, 0) {
				t.Errorf("Message() has not one line per violation:\n%s", msg)
			}
		})
	}
}

func indexed(path string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s[%d]", path, i)
	}
	return out
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEvaluateRequesterMessages(t *testing.T) {
	p := bankPolicy()
	p.Requesters = &v1alpha1.RequesterPolicy{Usernames: []string{"security-officer"}}
	tests := []struct {
		name   string
		mutate func(*Request)
		want   string
	}{
		{name: "no requester", mutate: func(r *Request) { r.Username = "" },
			want: `requesters: the request names no requester (spec.username of the CertificateRequest is empty: cert-manager's webhook, which records the user that creates each CertificateRequest, is not running or not registered for certificaterequests), so the policy's requester rules cannot be checked`},
		{name: "another user", mutate: func(r *Request) { r.Username, r.Groups = "mallory", []string{"system:authenticated"} },
			want: `requesters: requester "mallory" (groups: "system:authenticated") is not allowed (allowed users: "security-officer"; groups: none; ServiceAccounts: none)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := bankRequest(t)
			tc.mutate(&req)
			if got := Evaluate(p, req).Message(); got != tc.want {
				t.Errorf("Message() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestEvaluateDecision(t *testing.T) {
	req := bankRequest(t)
	p := bankPolicy()
	p.NameConstraints = &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"istio-system.svc"}}
	d := Evaluate(p, req)
	if !d.Allowed() {
		t.Fatalf("denied:\n%s", d.Message())
	}
	if d.CSR == nil {
		t.Error("no parsed CSR")
	}
	if d.Duration != 720*time.Hour {
		t.Errorf("Duration = %s", d.Duration)
	}
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign; d.KeyUsage != want {
		t.Errorf("KeyUsage = %b, want %b", d.KeyUsage, want)
	}
	if d.MaxPathLength != 0 {
		t.Errorf("MaxPathLength = %d", d.MaxPathLength)
	}
	if got := d.Subject; got.CommonName != "Golem Trust Istio CA" || fmt.Sprint(got.Organization) != "[Golem Trust]" ||
		fmt.Sprint(got.Country) != "[AM]" || len(got.OrganizationalUnit)+len(got.Locality)+len(got.Province)+len(got.StreetAddress)+len(got.PostalCode) != 0 || got.SerialNumber != "" {
		t.Errorf("Subject = %+v", got)
	}
	if fmt.Sprint(d.PermittedDNSDomains) != "[istio-system.svc]" || d.ExcludedDNSDomains != nil {
		t.Errorf("name constraints = %v, %v", d.PermittedDNSDomains, d.ExcludedDNSDomains)
	}
}

func TestEvaluateMessages(t *testing.T) {
	req := bankRequest(t)
	req.Namespace = "default"
	_, key := testKeys(t)
	subject := bankSubject()
	subject.Organization = append(subject.Organization, "Evil Corp")
	req.CSR = createCSR(t, &x509.CertificateRequest{Subject: subject}, key)
	got := Evaluate(bankPolicy(), req).Message()
	want := `allowedNamespaces: namespace "default" is not allowed (allowed: "istio-system")
subject.organizations: "Evil Corp" is not allowed (allowed: "Golem Trust")`
	if got != want {
		t.Errorf("Message() =\n%s\nwant\n%s", got, want)
	}
}

func TestEvaluateSPIRE(t *testing.T) {
	_, key := testKeys(t)
	// What SPIRE's server sends through its cert-manager UpstreamAuthority
	// (pkg/server/credtemplate, BuildUpstreamSignedX509CACSR): its
	// ca_subject (SPIRE's default C and O, and the common name the example
	// asks server.conf to set) plus a random subject serialNumber of up to 39 decimal
	// digits, the trust domain's SPIFFE ID as the only URI SAN, no
	// requested extensions, isCA and usages cert sign and CRL sign, created
	// by the SPIRE server's ServiceAccount.
	csr := createCSR(t, &x509.CertificateRequest{
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"SPIFFE"}, CommonName: "Golem Trust SPIRE CA",
			SerialNumber: "297310981208537129432410836150719287917"},
		URIs: []*url.URL{{Scheme: "spiffe", Host: "cluster.local"}},
	}, key)
	req := Request{Namespace: "spire", CSR: csr, IsCA: true, Usages: []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign},
		Username: "system:serviceaccount:spire:spire-server"}
	d := Evaluate(spirePolicy(), req)
	if !d.Allowed() {
		t.Fatalf("denied:\n%s", d.Message())
	}
	if d.Duration != 24*time.Hour {
		t.Errorf("Duration = %s, want the policy default 24h", d.Duration)
	}
	if d.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("KeyUsage = %b", d.KeyUsage)
	}

	// A workload SPIFFE ID is not the trust domain's.
	req.CSR = createCSR(t, &x509.CertificateRequest{
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"SPIFFE"}, CommonName: "Golem Trust SPIRE CA"},
		URIs:    []*url.URL{{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/spire/sa/x"}},
	}, key)
	assertFields(t, Evaluate(spirePolicy(), req).Violations, "subjectAltNames.uris[0]")

	// SPIFFE ID globs.
	p := spirePolicy()
	p.SubjectAltNames.URIs = []string{"spiffe://cluster.local/*"}
	assertFields(t, Evaluate(p, req).Violations)
}

// cert-manager never signs a CSR with SHA-1; a CSR that is gets no benefit
// of the doubt.
func TestEvaluateSHA1Signature(t *testing.T) {
	rsaKey, _ := testKeys(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: bankSubject(), SignatureAlgorithm: x509.SHA1WithRSA,
	}, rsaKey)
	if err != nil {
		t.Skipf("this Go refuses to create SHA-1 signatures: %v", err)
	}
	req := bankRequest(t)
	req.CSR = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	assertFields(t, Evaluate(bankPolicy(), req).Violations, "csr")
}

func TestEvaluateDoesNotModifyPolicy(t *testing.T) {
	p := bankPolicy()
	p.KeyUsages = v1alpha1.KeyUsagePolicy{}
	before := Digest(p)
	Evaluate(p, bankRequest(t))
	if p.KeyUsages.Allowed != nil || Digest(p) != before {
		t.Error("Evaluate changed its policy argument")
	}
}

func TestRule(t *testing.T) {
	for path, want := range map[string]string{
		"subject.organizations":        "subject.organizations",
		"subjectAltNames.dnsNames[12]": "subjectAltNames.dnsNames",
		"usages[0]":                    "usages",
		"a[x].b[1].c":                  "a.b.c",
		"csr":                          "csr",
	} {
		if got := Rule(&field.Error{Field: path}); got != want {
			t.Errorf("Rule(%q) = %q, want %q", path, got, want)
		}
	}
	if Rule(nil) != "" {
		t.Error("Rule(nil) is not empty")
	}
}

func TestParseCSRMessages(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"empty":    {nil, "the CSR is empty"},
		"not PEM":  {[]byte("hello"), "not PEM"},
		"too big":  {bytes.Repeat([]byte{' '}, MaxCSRPEMSize+1), "more than the 65536 bytes"},
		"base64":   {[]byte("-----BEGIN CERTIFICATE REQUEST-----\n%%%\n-----END CERTIFICATE REQUEST-----"), "malformed"},
		"type":     {[]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----"), `of type "CERTIFICATE"`},
		"two":      {[]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"), "more than one PEM block"},
		"trailing": {[]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\nxyz"), "data after"},
		"leading":  {[]byte("xyz\n-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"), "data before"},
		"headers":  {[]byte("-----BEGIN CERTIFICATE REQUEST-----\nProc-Type: 4,ENCRYPTED\n\nMAA=\n-----END CERTIFICATE REQUEST-----\n"), "headers"},
		"DER":      {[]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"), "does not parse"},
		"no bytes": {[]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"), "empty"},
	} {
		t.Run(name, func(t *testing.T) {
			csr, err := ParseCSR(tc.in)
			if err == nil || csr != nil {
				t.Fatalf("ParseCSR() = %v, %v; want an error", csr, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	valid := bankRequest(t).CSR
	if _, err := ParseCSR(valid); err != nil {
		t.Errorf("valid CSR: %v", err)
	}
	if _, err := ParseCSR([]byte("\n  " + string(valid) + "\n\n")); err != nil {
		t.Errorf("valid CSR with surrounding white space: %v", err)
	}
	// pem.Decode skips a malformed block; the valid one after it must not
	// be taken for the CSR.
	skipped := "-----BEGIN CERTIFICATE REQUEST-----\n%%%\n-----END CERTIFICATE REQUEST-----\n" + string(valid)
	if _, err := ParseCSR([]byte(skipped)); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("a malformed block before a valid one: %v", err)
	}
}
