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
	"regexp"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*v1alpha1.IntermediatePolicy)
		want   []string
	}{
		{name: "bank policy"},
		{name: "SPIRE policy", mutate: func(p *v1alpha1.IntermediatePolicy) { *p = *spirePolicy() }},
		{name: "defaults left out", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.KeyUsages, p.PrivateKey, p.MaxPathLength = v1alpha1.KeyUsagePolicy{}, v1alpha1.PrivateKeyPolicy{}, nil
		}},
		{name: "globs, CIDRs and name constraints", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.OrganizationalUnits = &v1alpha1.ValuePolicy{Allowed: []string{"Istio *", "*"}}
			p.Subject.Countries = &v1alpha1.ValuePolicy{Allowed: []string{"A*"}}
			p.SubjectAltNames = v1alpha1.SubjectAltNamesPolicy{
				DNSNames:       []string{"*.istio-system.svc", "istiod-*.istio-system.svc", "_spiffe.example.com"},
				URIs:           []string{"spiffe://cluster.local", "spiffe://cluster.local/ns/*"},
				IPAddresses:    []string{"10.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"},
				EmailAddresses: []string{"pki@golemtrust.am", "*@golemtrust.am"},
			}
			p.NameConstraints = &v1alpha1.NameConstraintsPolicy{
				PermittedDNSDomains: []string{"istio-system.svc", ".cluster.local"},
				ExcludedDNSDomains:  []string{"kube-system.svc"},
			}
			p.ExtKeyUsages.Allowed = []cmapi.KeyUsage{cmapi.UsageServerAuth}
			p.Duration.Default = &metav1.Duration{Duration: 720 * time.Hour}
		}},
		{name: "no namespace", mutate: func(p *v1alpha1.IntermediatePolicy) { p.AllowedNamespaces = nil },
			want: []string{"allowedNamespaces"}},
		{name: "requesters and Kubernetes CSRs", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.Requesters = &v1alpha1.RequesterPolicy{Usernames: []string{"security-officer"}, Groups: []string{"pki-admins"},
				ServiceAccounts: []v1alpha1.ServiceAccountReference{{Namespace: "spire", Name: "spire-server"}}}
			p.AllowCertificateSigningRequests = true
		}},
		{name: "Kubernetes CSRs without requesters", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.AllowCertificateSigningRequests = true
		}, want: []string{"requesters"}},
		{name: "empty requesters", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.Requesters = &v1alpha1.RequesterPolicy{}
		}, want: []string{"requesters"}},
		{name: "requester groups that allow anybody, bad names and duplicates", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.Requesters = &v1alpha1.RequesterPolicy{
				Usernames: []string{"alice", "alice", "bad\x00name"},
				Groups:    []string{"system:authenticated", "system:unauthenticated"},
				ServiceAccounts: []v1alpha1.ServiceAccountReference{
					{Namespace: "spire", Name: "spire-server"}, {Namespace: "spire", Name: "spire-server"},
					{Namespace: "Spire", Name: "x_y"}},
			}
		}, want: []string{"requesters.usernames[1]", "requesters.usernames[2]", "requesters.groups[0]", "requesters.groups[1]",
			"requesters.serviceAccounts[1]", "requesters.serviceAccounts[2].namespace", "requesters.serviceAccounts[2].name"}},
		{name: "namespace wildcard, bad name and duplicate", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.AllowedNamespaces = []string{"istio-*", "Istio_System", "istio-system", "istio-system"}
		}, want: []string{"allowedNamespaces[0]", "allowedNamespaces[1]", "allowedNamespaces[3]"}},
		{name: "subject entries", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.CommonName.Allowed = []string{"", "bad\x00", "\xff", strings.Repeat("a", 65), strings.Repeat("a", 65) + "*"}
			p.Subject.Countries.Allowed = []string{"Armenia", "AM"}
		}, want: []string{
			"subject.commonName.allowed[0]", "subject.commonName.allowed[1]", "subject.commonName.allowed[2]",
			"subject.commonName.allowed[3]", "subject.countries.allowed[0]",
		}},
		{name: "malformed DNS globs", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.DNSNames = []string{"istiod..svc", "a b.svc", "istiod.svc.", "", "ok.svc", "ok.svc"}
		}, want: []string{
			"subjectAltNames.dnsNames[0]", "subjectAltNames.dnsNames[1]", "subjectAltNames.dnsNames[2]",
			"subjectAltNames.dnsNames[3]", "subjectAltNames.dnsNames[5]",
		}},
		{name: "malformed URIs", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.URIs = []string{"cluster.local", "spiffe://a,b", "spiffe://cluster.local/a b", "spiffe://cluster.local/\x00"}
		}, want: []string{"subjectAltNames.uris[0]", "subjectAltNames.uris[1]", "subjectAltNames.uris[2]", "subjectAltNames.uris[3]"}},
		{name: "malformed IPs and CIDRs", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.IPAddresses = []string{"10.0.0.0/33", "10.0.0.1/8", "not-an-ip", "fe80::1%eth0", "10.0.0.0/8"}
		}, want: []string{"subjectAltNames.ipAddresses[0]", "subjectAltNames.ipAddresses[1]", "subjectAltNames.ipAddresses[2]", "subjectAltNames.ipAddresses[3]"}},
		{name: "malformed emails", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.EmailAddresses = []string{"no-at", "a@b@c", "a b@c", "*@a,b"}
		}, want: []string{"subjectAltNames.emailAddresses[0]", "subjectAltNames.emailAddresses[1]", "subjectAltNames.emailAddresses[2]", "subjectAltNames.emailAddresses[3]"}},
		{name: "durations: min > max, default outside", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.Duration = v1alpha1.DurationPolicy{
				Min: metav1.Duration{Duration: 48 * time.Hour}, Max: metav1.Duration{Duration: 24 * time.Hour},
				Default: &metav1.Duration{Duration: time.Hour},
			}
		}, want: []string{"duration.min", "duration.default"}},
		{name: "durations: zero", mutate: func(p *v1alpha1.IntermediatePolicy) { p.Duration = v1alpha1.DurationPolicy{} },
			want: []string{"duration.min", "duration.max"}},
		{name: "key usages of the wrong kind or unknown", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.KeyUsages.Allowed = []cmapi.KeyUsage{cmapi.UsageCertSign, "foo", cmapi.UsageServerAuth, cmapi.UsageCertSign}
			p.KeyUsages.Required = []cmapi.KeyUsage{cmapi.UsageClientAuth}
			p.ExtKeyUsages.Allowed = []cmapi.KeyUsage{cmapi.UsageCRLSign, "bar"}
		}, want: []string{
			"keyUsages.allowed[1]", "keyUsages.allowed[2]", "keyUsages.allowed[3]", "keyUsages.required[0]",
			"extKeyUsages.allowed[0]", "extKeyUsages.allowed[1]",
		}},
		{name: "minRSASize above the default maxRSASize", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.PrivateKey.MinRSASize = ptr(int32(10000))
		}, want: []string{"privateKey.minRSASize"}},
		{name: "RSA sizes out of range", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.PrivateKey.MinRSASize, p.PrivateKey.MaxRSASize = ptr(int32(1024)), ptr(int32(32768))
		}, want: []string{"privateKey.minRSASize", "privateKey.maxRSASize"}},
		{name: "unknown algorithm and curve", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.PrivateKey.Algorithms = []v1alpha1.PrivateKeyAlgorithm{"DSA", v1alpha1.ECDSAKeyAlgorithm}
			p.PrivateKey.ECDSACurves = []v1alpha1.ECDSACurve{"P-224"}
		}, want: []string{"privateKey.algorithms[0]", "privateKey.ecdsaCurves[0]"}},
		{name: "no algorithm, no curve", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.PrivateKey.Algorithms = []v1alpha1.PrivateKeyAlgorithm{}
			p.PrivateKey.ECDSACurves = []v1alpha1.ECDSACurve{}
		}, want: []string{"privateKey.algorithms"}},
		{name: "ECDSA without a curve", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.PrivateKey.ECDSACurves = []v1alpha1.ECDSACurve{}
		}, want: []string{"privateKey.ecdsaCurves"}},
		{name: "path length out of range", mutate: func(p *v1alpha1.IntermediatePolicy) { p.MaxPathLength = ptr(int32(9)) },
			want: []string{"maxPathLength"}},
		{name: "malformed name constraints", mutate: func(p *v1alpha1.IntermediatePolicy) {
			p.NameConstraints = &v1alpha1.NameConstraintsPolicy{
				PermittedDNSDomains: []string{"*.svc", "istio-system.svc"},
				ExcludedDNSDomains:  []string{"istio-system.svc"},
			}
		}, want: []string{"nameConstraints.permittedDNSDomains[0]", "nameConstraints.excludedDNSDomains[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := bankPolicy()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			errs := Validate(p)
			assertFields(t, errs, tc.want...)
			for _, err := range errs {
				if err.Detail == "" {
					t.Errorf("%s has no detail", err.Field)
				}
			}
		})
	}
	t.Run("nil", func(t *testing.T) { assertFields(t, Validate(nil), "policy") })
}

func TestDefault(t *testing.T) {
	d := Default(&v1alpha1.IntermediatePolicy{})
	if got := d.KeyUsages.Allowed; len(got) != 4 || got[0] != cmapi.UsageDigitalSignature || got[3] != cmapi.UsageCRLSign {
		t.Errorf("keyUsages.allowed = %v", got)
	}
	if got := d.KeyUsages.Required; len(got) != 2 || got[0] != cmapi.UsageCertSign || got[1] != cmapi.UsageCRLSign {
		t.Errorf("keyUsages.required = %v", got)
	}
	if got := d.PrivateKey; len(got.Algorithms) != 2 || *got.MinRSASize != 2048 || *got.MaxRSASize != 8192 || len(got.ECDSACurves) != 2 {
		t.Errorf("privateKey = %+v", got)
	}
	if *d.MaxPathLength != 0 || d.ExtKeyUsages.Allowed != nil || d.Duration.Default != nil {
		t.Errorf("defaulted more than the CRD does: %+v", d)
	}
	// An explicit empty list is not defaulted, as with the API server.
	p := &v1alpha1.IntermediatePolicy{KeyUsages: v1alpha1.KeyUsagePolicy{Allowed: []cmapi.KeyUsage{}}}
	if got := Default(p).KeyUsages.Allowed; got == nil || len(got) != 0 {
		t.Errorf("explicit empty list became %v", got)
	}
	// A deep copy: changing it leaves the original alone.
	p = bankPolicy()
	Default(p).AllowedNamespaces[0] = "changed"
	if p.AllowedNamespaces[0] != "istio-system" {
		t.Error("Default did not copy")
	}
	if Default(nil) == nil {
		t.Error("Default(nil) is nil")
	}
}

func TestDigest(t *testing.T) {
	digest := Digest(bankPolicy())
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		t.Fatalf("Digest = %q", digest)
	}
	// The canonical form is an audit record: a change of this value breaks
	// the link between issued certificates and the policy that allowed them,
	// so change it only on purpose.
	const bankDigest = "sha256:fbaf8077fc5753c58b8602983c20956906f08576a453aa5f22b7ab805d0b8cbe"
	if digest != bankDigest {
		t.Errorf("bank policy digest = %s, want %s", digest, bankDigest)
	}

	reordered := bankPolicy()
	reordered.KeyUsages.Allowed = []cmapi.KeyUsage{cmapi.UsageCRLSign, cmapi.UsageCertSign, cmapi.UsageKeyEncipherment, cmapi.UsageDigitalSignature}
	reordered.PrivateKey.Algorithms = []v1alpha1.PrivateKeyAlgorithm{v1alpha1.ECDSAKeyAlgorithm, v1alpha1.RSAKeyAlgorithm}
	reordered.PrivateKey.ECDSACurves = []v1alpha1.ECDSACurve{v1alpha1.CurveP384, v1alpha1.CurveP256}
	if got := Digest(reordered); got != digest {
		t.Errorf("reordering set-lists changed the digest: %s", got)
	}

	implicit := bankPolicy()
	implicit.KeyUsages = v1alpha1.KeyUsagePolicy{}
	implicit.PrivateKey = v1alpha1.PrivateKeyPolicy{}
	implicit.MaxPathLength = nil
	implicit.NameConstraints = &v1alpha1.NameConstraintsPolicy{}
	implicit.Duration.Min = metav1.Duration{Duration: 1440 * time.Minute}
	if got := Digest(implicit); got != digest {
		t.Errorf("leaving defaults implicit changed the digest: %s", got)
	}

	for name, mutate := range map[string]func(*v1alpha1.IntermediatePolicy){
		"namespace":    func(p *v1alpha1.IntermediatePolicy) { p.AllowedNamespaces = []string{"istio-system", "default"} },
		"organization": func(p *v1alpha1.IntermediatePolicy) { p.Subject.Organizations.Required = []string{"Golem Trust Ltd"} },
		"required→allowed": func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.Organizations = &v1alpha1.ValuePolicy{Allowed: []string{"Golem Trust"}}
		},
		"max duration": func(p *v1alpha1.IntermediatePolicy) { p.Duration.Max = metav1.Duration{Duration: 721 * time.Hour} },
		"default":      func(p *v1alpha1.IntermediatePolicy) { p.Duration.Default = &metav1.Duration{Duration: 24 * time.Hour} },
		"path length":  func(p *v1alpha1.IntermediatePolicy) { p.MaxPathLength = ptr(int32(1)) },
		"RSA size":     func(p *v1alpha1.IntermediatePolicy) { p.PrivateKey.MinRSASize = ptr(int32(3072)) },
		"no usages":    func(p *v1alpha1.IntermediatePolicy) { p.KeyUsages.Allowed = []cmapi.KeyUsage{} },
		"DNS name": func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.DNSNames = []string{"istiod.istio-system.svc.cluster.local"}
		},
		"ext key usage": func(p *v1alpha1.IntermediatePolicy) { p.ExtKeyUsages.Allowed = []cmapi.KeyUsage{cmapi.UsageServerAuth} },
		"name constraint": func(p *v1alpha1.IntermediatePolicy) {
			p.NameConstraints = &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"svc"}}
		},
	} {
		p := bankPolicy()
		mutate(p)
		if Digest(p) == digest {
			t.Errorf("changing the %s did not change the digest", name)
		}
	}

	p := bankPolicy()
	Digest(p)
	if p.KeyUsages.Allowed[0] != cmapi.UsageDigitalSignature {
		t.Error("Digest sorted its argument in place")
	}
}
