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

package acl

import (
	"crypto/x509/pkix"
	"errors"
	"flag"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// loadExample reads an issuer of deploy/examples.
func loadExample(t testing.TB, name string) *v1alpha1.VaultIntermediateClusterIssuer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := yaml.UnmarshalStrict(data, iss); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return iss
}

// issuerWith is a minimal issuer with the policy p.
func issuerWith(p v1alpha1.IntermediatePolicy) *v1alpha1.VaultIntermediateClusterIssuer {
	if p.AllowedNamespaces == nil {
		p.AllowedNamespaces = []string{"istio-system"}
	}
	if p.Duration.Max.Duration == 0 {
		p.Duration = v1alpha1.DurationPolicy{Min: metav1.Duration{Duration: 24 * time.Hour}, Max: metav1.Duration{Duration: 720 * time.Hour}}
	}
	iss := &v1alpha1.VaultIntermediateClusterIssuer{Spec: v1alpha1.VaultIntermediateClusterIssuerSpec{Policy: p}}
	iss.Name = "test"
	iss.Spec.Vault.Mount = "pki"
	return iss
}

func cn(v string) *v1alpha1.ValuePolicy { return &v1alpha1.ValuePolicy{Required: []string{v}} }

// bankRequest is what the signer sends for the shipped Istio Certificate.
func bankRequest() vault.SignRequest {
	return vault.SignRequest{
		CSRPEM:   []byte("-----BEGIN CERTIFICATE REQUEST-----\n...\n-----END CERTIFICATE REQUEST-----\n"),
		Subject:  pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}, Country: []string{"AM"}},
		DNSNames: nil,
		TTL:      720 * time.Hour,
	}
}

func generate(t testing.TB, iss *v1alpha1.VaultIntermediateClusterIssuer) (*Policy, map[string]parsedRules) {
	t.Helper()
	p, err := Generate(iss, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p, parseHCL(t, p.HCL())
}

func TestBankExampleGolden(t *testing.T) {
	p, _ := generate(t, loadExample(t, "issuer-bank.yaml"))
	got := p.HCL()
	golden := filepath.Join("testdata", "issuer-bank.hcl.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the generated policy differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// TestBankExampleAtVault checks the shipped bank issuer's policy against a
// model of Vault's ACL check: the compliant signing passes, and every
// deviation an attacker with the secret ID would try is refused.
func TestBankExampleAtVault(t *testing.T) {
	iss := loadExample(t, "issuer-bank.yaml")
	_, rules := generate(t, iss)
	if got := slices.Sorted(maps.Keys(rules)); !slices.Equal(got, []string{
		"auth/token/renew-self", "auth/token/revoke-self", "pki/certs", "pki/root/sign-intermediate", "sys/capabilities-self",
	}) {
		t.Fatalf("paths = %v", got)
	}
	for path, want := range map[string][]string{
		"pki/root/sign-intermediate": {"create", "update"},
		"pki/certs":                  {"list"},
		"sys/capabilities-self":      {"update"},
		"auth/token/renew-self":      {"update"},
		"auth/token/revoke-self":     {"update"},
	} {
		if got := rules[path].Capabilities; !slices.Equal(got, want) {
			t.Errorf("%s: capabilities %v, want %v", path, got, want)
		}
	}
	sign := rules["pki/root/sign-intermediate"]
	if got, want := slices.Sorted(slices.Values(sign.RequiredParameters)), []string{
		"common_name", "country", "csr", "exclude_cn_from_sans", "format", "max_path_length", "organization", "ttl", "use_csr_values",
	}; !slices.Equal(got, want) {
		t.Errorf("required_parameters = %v, want %v", got, want)
	}

	compliant := bankRequest().Params()
	withDNS := bankRequest()
	withDNS.DNSNames = []string{"istiod.istio-system.svc"}
	mutate := func(f func(map[string]any)) map[string]any {
		p := maps.Clone(compliant)
		f(p)
		return p
	}
	cases := []struct {
		name   string
		params map[string]any
		allow  bool
	}{
		{"compliant", compliant, true},
		{"compliant with the allowed DNS SAN", withDNS.Params(), true},
		{"another ttl (no ACL can bound it)", mutate(func(p map[string]any) { p["ttl"] = "87600h" }), true},
		{"CN Evil CA", mutate(func(p map[string]any) { p["common_name"] = "Evil CA" }), false},
		{"empty CN (Vault would copy the CSR's)", mutate(func(p map[string]any) { p["common_name"] = "" }), false},
		{"another O", mutate(func(p map[string]any) { p["organization"] = "Evil Corp" }), false},
		{"a second O, comma-joined", mutate(func(p map[string]any) { p["organization"] = "Evil Corp,Golem Trust" }), false},
		{"a second O, as a list", mutate(func(p map[string]any) { p["organization"] = []string{"Golem Trust", "Evil Corp"} }), false},
		{"the O as a list", mutate(func(p map[string]any) { p["organization"] = []string{"Golem Trust"} }), false},
		{"no O", mutate(func(p map[string]any) { delete(p, "organization") }), false},
		{"an OU", mutate(func(p map[string]any) { p["ou"] = "Evil Unit" }), false},
		{"max_path_length 3", mutate(func(p map[string]any) { p["max_path_length"] = "3" }), false},
		{"max_path_length -1", mutate(func(p map[string]any) { p["max_path_length"] = "-1" }), false},
		{"max_path_length 0 as a number", mutate(func(p map[string]any) { p["max_path_length"] = 0 }), false},
		{"no max_path_length (no limit)", mutate(func(p map[string]any) { delete(p, "max_path_length") }), false},
		{"use_csr_values true", mutate(func(p map[string]any) { p["use_csr_values"] = true }), false},
		{"use_csr_values as a string", mutate(func(p map[string]any) { p["use_csr_values"] = "false" }), false},
		{"exclude_cn_from_sans false", mutate(func(p map[string]any) { p["exclude_cn_from_sans"] = false }), false},
		{"no exclude_cn_from_sans", mutate(func(p map[string]any) { delete(p, "exclude_cn_from_sans") }), false},
		{"a URI SAN", mutate(func(p map[string]any) { p["uri_sans"] = "spiffe://evil.example" }), false},
		{"another DNS SAN", mutate(func(p map[string]any) { p["alt_names"] = "evil.example" }), false},
		{"an extra DNS SAN", mutate(func(p map[string]any) { p["alt_names"] = "evil.example,istiod.istio-system.svc" }), false},
		{"an IP SAN", mutate(func(p map[string]any) { p["ip_sans"] = "10.0.0.1" }), false},
		{"not_after", mutate(func(p map[string]any) { delete(p, "ttl"); p["not_after"] = "2099-01-01T00:00:00Z" }), false},
		{"not_after besides ttl", mutate(func(p map[string]any) { p["not_after"] = "2099-01-01T00:00:00Z" }), false},
		{"permitted_dns_domains", mutate(func(p map[string]any) { p["permitted_dns_domains"] = "evil.example" }), false},
		{"issuer_ref", mutate(func(p map[string]any) { p["issuer_ref"] = "other" }), false},
		{"key_usage", mutate(func(p map[string]any) { p["key_usage"] = "DigitalSignature" }), false},
		{"other_sans", mutate(func(p map[string]any) { p["other_sans"] = "1.2.3.4;UTF8:evil" }), false},
		{"format der", mutate(func(p map[string]any) { p["format"] = "der" }), false},
		{"serial_number", mutate(func(p map[string]any) { p["serial_number"] = "EVIL" }), false},
		{"no csr", mutate(func(p map[string]any) { delete(p, "csr") }), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := allows(sign, vaultRequestData(t, tc.params))
			if ok != tc.allow {
				t.Errorf("allowed = %v (%s), want %v", ok, why, tc.allow)
			}
		})
	}
}

// TestOnlyWhatTheSignerSends checks that the sign path allows no parameter
// the signer never sends.
func TestOnlyWhatTheSignerSends(t *testing.T) {
	full := vault.SignRequest{
		CSRPEM: []byte("csr"),
		Subject: pkix.Name{CommonName: "c", Organization: []string{"o"}, OrganizationalUnit: []string{"ou"}, Country: []string{"AM"},
			Locality: []string{"l"}, Province: []string{"p"}, StreetAddress: []string{"s"}, PostalCode: []string{"pc"}, SerialNumber: "sn"},
		DNSNames: []string{"a.example"}, EmailAddresses: []string{"a@example"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")},
		URIs: []*url.URL{{Scheme: "spiffe", Host: "example"}}, TTL: time.Hour,
		PermittedDNSDomains: []string{"example"}, ExcludedDNSDomains: []string{"bad.example"},
	}.Params()
	iss := issuerWith(v1alpha1.IntermediatePolicy{
		Subject: v1alpha1.SubjectPolicy{
			CommonName: cn("c"), Organizations: cn("o"), OrganizationalUnits: cn("ou"), Countries: cn("AM"), Localities: cn("l"),
			Provinces: cn("p"), StreetAddresses: cn("s"), PostalCodes: cn("pc"), SerialNumber: cn("sn"),
		},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{DNSNames: []string{"a.example"}, EmailAddresses: []string{"a@example"},
			IPAddresses: []string{"10.0.0.1"}, URIs: []string{"spiffe://example"}},
		NameConstraints: &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"example"}, ExcludedDNSDomains: []string{"bad.example"}},
	})
	p, rules := generate(t, iss)
	for _, param := range p.Paths[0].AllowedParameters {
		if _, ok := full[param.Name]; !ok {
			t.Errorf("allowed parameter %q is never sent by the signer", param.Name)
		}
	}
	if ok, why := allows(rules["pki/root/sign-intermediate"], vaultRequestData(t, full)); !ok {
		t.Errorf("the signer's request with every parameter is refused: %s", why)
	}
}

func TestGenerateRefuses(t *testing.T) {
	bank := loadExample(t, "issuer-bank.yaml").Spec.Policy
	with := func(f func(p *v1alpha1.IntermediatePolicy)) *v1alpha1.VaultIntermediateClusterIssuer {
		p := *bank.DeepCopy()
		f(&p)
		iss := issuerWith(p)
		iss.Name = "bank"
		return iss
	}
	cases := []struct {
		name string
		iss  *v1alpha1.VaultIntermediateClusterIssuer
		want []string // field paths of the problems
	}{
		{"SPIRE example without its common name", func() *v1alpha1.VaultIntermediateClusterIssuer {
			iss := loadExample(t, "issuer-spire.yaml")
			iss.Spec.Policy.Subject.CommonName = nil
			return iss
		}(), []string{"spec.policy.subject.commonName"}},
		{"a serial number pattern other than any value", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.SerialNumber = &v1alpha1.ValuePolicy{Allowed: []string{"12*"}}
		}), []string{"spec.policy.subject.serialNumber.allowed[0]"}},
		{"optional common name", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.CommonName = &v1alpha1.ValuePolicy{Allowed: []string{"Golem Trust Istio CA"}}
		}), []string{"spec.policy.subject.commonName"}},
		{"common name pattern", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.CommonName = &v1alpha1.ValuePolicy{Required: []string{"Golem Trust * CA"}}
		}), []string{"spec.policy.subject.commonName.required[0]"}},
		{"two required common names", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.CommonName = &v1alpha1.ValuePolicy{Required: []string{"A", "B"}}
		}), []string{"spec.policy.subject.commonName.required"}},
		{"organization pattern", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.Organizations.Allowed = []string{"Golem*"}
		}), []string{"spec.policy.subject.organizations.allowed[0]"}},
		{"DNS pattern", with(func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.DNSNames = []string{"*.istio-system.svc"}
		}), []string{"spec.policy.subjectAltNames.dnsNames[0]"}},
		{"URI pattern", with(func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.URIs = []string{"spiffe://cluster.local/*"}
		}), []string{"spec.policy.subjectAltNames.uris[0]"}},
		{"IP range", with(func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.IPAddresses = []string{"10.0.0.1", "10.0.0.0/24"}
		}), []string{"spec.policy.subjectAltNames.ipAddresses[1]"}},
		{"too many optional OUs", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.OrganizationalUnits = &v1alpha1.ValuePolicy{Allowed: strings.Split("a,b,c,d,e,f,g,h,i", ",")}
		}), []string{"spec.policy.subject.organizationalUnits.allowed"}},
		{"too many SANs", with(func(p *v1alpha1.IntermediatePolicy) {
			p.SubjectAltNames.DNSNames = strings.Split("a.x,b.x,c.x,d.x,e.x", ",")
			p.SubjectAltNames.EmailAddresses = strings.Split("a@x,b@x,c@x,d@x", ",")
		}), []string{"spec.policy.subjectAltNames"}},
		{"every problem at once", with(func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.CommonName = nil
			p.SubjectAltNames.DNSNames = []string{"*.x"}
			p.SubjectAltNames.IPAddresses = []string{"::/0"}
		}), []string{"spec.policy.subject.commonName", "spec.policy.subjectAltNames.dnsNames[0]", "spec.policy.subjectAltNames.ipAddresses[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Generate(tc.iss, Options{})
			var aclErr *Error
			if !errors.As(err, &aclErr) {
				t.Fatalf("Generate = %v, %v; want an *Error", p, err)
			}
			var got []string
			for _, e := range aclErr.Problems {
				got = append(got, e.Field)
				if e.Detail == "" {
					t.Errorf("%s: no reason given", e.Field)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems at %v, want %v:\n%v", got, tc.want, err)
			}
		})
	}
}

func TestGenerateRefusesInvalidPolicy(t *testing.T) {
	iss := issuerWith(v1alpha1.IntermediatePolicy{Subject: v1alpha1.SubjectPolicy{CommonName: cn("x")},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{IPAddresses: []string{"not-an-ip"}}})
	_, err := Generate(iss, Options{})
	var aclErr *Error
	if err == nil || errors.As(err, &aclErr) || !strings.Contains(err.Error(), "subjectAltNames.ipAddresses") {
		t.Fatalf("Generate = %v; want the policy's own validation error", err)
	}
}

// TestCombinations covers parameters whose policy allows several values:
// every allowed set is listed in the form the signer sends, and no other.
func TestCombinations(t *testing.T) {
	iss := issuerWith(v1alpha1.IntermediatePolicy{
		Subject: v1alpha1.SubjectPolicy{
			CommonName:          cn("Golem Trust Istio CA"),
			Organizations:       &v1alpha1.ValuePolicy{Required: []string{"Golem Trust"}, Allowed: []string{"Golem Trust, Inc.", "Armenia Branch"}},
			OrganizationalUnits: &v1alpha1.ValuePolicy{Allowed: []string{"Mesh", "PKI"}},
			SerialNumber:        &v1alpha1.ValuePolicy{Allowed: []string{"0001"}},
		},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{
			DNSNames:       []string{"IstioD.istio-system.svc", "istiod.istio-system.svc.cluster.local"},
			EmailAddresses: []string{"pki@golem.example"},
			IPAddresses:    []string{"10.0.0.2/32", "::ffff:10.0.0.1", "2001:DB8::1"},
			URIs:           []string{"spiffe://cluster.local"},
		},
		NameConstraints: &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"svc", "cluster.local"}},
	})
	p, rules := generate(t, iss)
	sign := rules["pki/root/sign-intermediate"]
	param := func(name string) []any {
		v, ok := p.Paths[0].Param(name)
		if !ok {
			t.Fatalf("no allowed parameter %s", name)
		}
		return v.Values
	}
	wantValues := map[string][]any{
		"organization": {
			"Golem Trust", []string{"Golem Trust", "Golem Trust, Inc."}, "Armenia Branch,Golem Trust",
			[]string{"Armenia Branch", "Golem Trust", "Golem Trust, Inc."},
		},
		"ou":            {"Mesh", "PKI", "Mesh,PKI"},
		"serial_number": {"0001"},
		"alt_names": {
			"istiod.istio-system.svc", "istiod.istio-system.svc.cluster.local",
			"istiod.istio-system.svc,istiod.istio-system.svc.cluster.local", "pki@golem.example",
			"istiod.istio-system.svc,pki@golem.example", "istiod.istio-system.svc.cluster.local,pki@golem.example",
			"istiod.istio-system.svc,istiod.istio-system.svc.cluster.local,pki@golem.example",
		},
		"ip_sans": {
			"10.0.0.2", "10.0.0.1", "10.0.0.1,10.0.0.2", "2001:db8::1", "10.0.0.2,2001:db8::1", "10.0.0.1,2001:db8::1",
			"10.0.0.1,10.0.0.2,2001:db8::1",
		},
		"uri_sans":              {"spiffe://cluster.local"},
		"permitted_dns_domains": {"cluster.local,svc"},
	}
	for name, want := range wantValues {
		got := param(name)
		if len(got) != len(want) {
			t.Errorf("%s: %d values %#v, want %#v", name, len(got), got, want)
			continue
		}
		for i := range want {
			if !sameValue(got[i], want[i]) {
				t.Errorf("%s[%d] = %#v, want %#v", name, i, got[i], want[i])
			}
		}
	}
	// The HCL decodes to the same values, lists included.
	for name, want := range wantValues {
		decoded := sign.AllowedParametersHCL[name]
		if len(decoded) != len(want) {
			t.Errorf("%s decodes to %d values", name, len(decoded))
			continue
		}
		for i, w := range want {
			if l, ok := w.([]string); ok {
				var asAny []any
				for _, s := range l {
					asAny = append(asAny, s)
				}
				w = asAny
			}
			if !valueInSlice(decoded[i], []interface{}{w}) {
				t.Errorf("%s[%d] decodes to %#v, want %#v", name, i, decoded[i], w)
			}
		}
	}
	if slices.Contains(sign.RequiredParameters, "ou") || slices.Contains(sign.RequiredParameters, "serial_number") ||
		!slices.Contains(sign.RequiredParameters, "organization") || !slices.Contains(sign.RequiredParameters, "permitted_dns_domains") {
		t.Errorf("required_parameters = %v", sign.RequiredParameters)
	}
	if !strings.Contains(p.HCL(), "subject serialNumber") {
		t.Errorf("the header does not say that the subject serialNumber may come from the CSR")
	}

	// What the signer sends for requests the policy allows passes; what
	// it does not allow is refused.
	req := func(o, ou []string, dns, emails []string, ips ...string) vault.SignRequest {
		r := vault.SignRequest{CSRPEM: []byte("csr"), TTL: time.Hour,
			Subject:  pkix.Name{CommonName: "Golem Trust Istio CA", Organization: o, OrganizationalUnit: ou},
			DNSNames: dns, EmailAddresses: emails, PermittedDNSDomains: []string{"svc", "cluster.local"}}
		for _, ip := range ips {
			r.IPAddresses = append(r.IPAddresses, net.ParseIP(ip))
		}
		return r
	}
	cases := []struct {
		name  string
		req   vault.SignRequest
		allow bool
	}{
		{"required O only", req([]string{"Golem Trust"}, nil, nil, nil), true},
		{"O with a comma, in CSR order", req([]string{"Golem Trust, Inc.", "Golem Trust"}, nil, nil, nil), true},
		{"all O values", req([]string{"Golem Trust", "Armenia Branch", "Golem Trust, Inc."}, nil, nil, nil), true},
		{"without the required O", req([]string{"Armenia Branch"}, nil, nil, nil), false},
		{"two OUs", req([]string{"Golem Trust"}, []string{"PKI", "Mesh"}, nil, nil), true},
		{"DNS names in another case and order", req([]string{"Golem Trust"}, nil,
			[]string{"ISTIOD.istio-system.svc.cluster.local", "istiod.istio-system.svc"}, []string{"pki@golem.example"}), true},
		{"IP addresses", req([]string{"Golem Trust"}, nil, nil, nil, "2001:db8:0::1", "10.0.0.1"), true},
		{"an IP not allowed", req([]string{"Golem Trust"}, nil, nil, nil, "10.0.0.9"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := allows(sign, vaultRequestData(t, tc.req.Params()))
			if ok != tc.allow {
				t.Errorf("allowed = %v (%s), want %v", ok, why, tc.allow)
			}
		})
	}
}

func TestIssuerRefAndMount(t *testing.T) {
	iss := loadExample(t, "issuer-bank.yaml")
	iss.Spec.Vault.Mount = "pki/meshes"
	iss.Spec.Vault.IssuerRef = "golem-2026"
	iss.Spec.Vault.Namespace = "bank/pki"
	p, rules := generate(t, iss)
	for _, path := range []string{"pki/meshes/issuer/golem-2026/sign-intermediate", "pki/meshes/certs"} {
		if _, ok := rules[path]; !ok {
			t.Errorf("no rule for %s in\n%s", path, p.HCL())
		}
	}
	if !strings.Contains(p.HCL(), `namespace "bank/pki"`) || !strings.Contains(p.HCL(), "-max-lease-ttl=720h pki/meshes") {
		t.Errorf("the header does not name the namespace and the mount tune:\n%s", p.HCL())
	}
}

func TestQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{
		"plain", `a "quoted" \ value`, "${not.interpolated}", "$${x", "${", "}", "%{if}", "tab\there", "line\nbreak",
		"Ünïcödé · 中文", "\u2028\u2029", "\x7f", "#", "//", "/* */", "<<EOF", "",
	} {
		rules := parseHCL(t, "path \"p\" {\n  allowed_parameters = {\n    \"k\" = ["+quote(s)+", ["+quote(s)+"]]\n  }\n}\n")
		got := rules["p"].AllowedParametersHCL["k"]
		if len(got) != 2 || got[0] != s {
			t.Errorf("quote(%q) decodes to %#v", s, got)
			continue
		}
		if l, ok := got[1].([]interface{}); !ok || len(l) != 1 || l[0] != s {
			t.Errorf("[quote(%q)] decodes to %#v", s, got[1])
		}
	}
}

// TestGenerateRefusesNamesThatWouldBreakThePolicy feeds names an issuer read
// from a file could carry (it never went through the API server's
// validation): none may end up in the policy's paths or commands.
func TestGenerateRefusesNamesThatWouldBreakThePolicy(t *testing.T) {
	inject := "x\npath \"sys/*\" {\n  capabilities = [\"sudo\"]\n}\n#"
	cases := []struct {
		name   string
		mutate func(iss *v1alpha1.VaultIntermediateClusterIssuer)
		opts   Options
	}{
		{"issuer name", func(iss *v1alpha1.VaultIntermediateClusterIssuer) { iss.Name = inject }, Options{}},
		{"mount", func(iss *v1alpha1.VaultIntermediateClusterIssuer) { iss.Spec.Vault.Mount = "pki\" {}\n" + inject }, Options{}},
		{"issuerRef", func(iss *v1alpha1.VaultIntermediateClusterIssuer) { iss.Spec.Vault.IssuerRef = "../../sys" }, Options{}},
		{"mount with ..", func(iss *v1alpha1.VaultIntermediateClusterIssuer) { iss.Spec.Vault.Mount = "pki/../sys" }, Options{}},
		{"AppRole path", func(iss *v1alpha1.VaultIntermediateClusterIssuer) { iss.Spec.Vault.Auth.AppRole.Path = inject }, Options{}},
		{"policy name", func(*v1alpha1.VaultIntermediateClusterIssuer) {}, Options{Name: inject}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss := loadExample(t, "issuer-bank.yaml")
			tc.mutate(iss)
			p, err := Generate(iss, tc.opts)
			if err == nil {
				t.Fatalf("generated:\n%s", p.HCL())
			}
			var aclErr *Error
			if errors.As(err, &aclErr) || !strings.Contains(err.Error(), "cannot be written into a Vault policy") {
				t.Errorf("error %v, want the names refused", err)
			}
		})
	}

	// Whatever a comment line holds, it stays a comment.
	p := &Policy{Header: []string{"one\npath \"sys/*\" {\n capabilities = [\"sudo\"]\n}", "two\r\u2028three"}}
	rules := parseHCL(t, p.HCL())
	if len(rules) != 0 {
		t.Errorf("a comment turned into rules %v:\n%s", rules, p.HCL())
	}
}

// SPIRE's random subject serialNumber: "any value" is what an empty list of
// values admits in Vault's ACL, so the shipped SPIRE example is enforceable
// by Vault.
func TestGenerateSPIREExample(t *testing.T) {
	pol, err := Generate(loadExample(t, "issuer-spire.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sign := pol.Paths[0]
	serial, ok := sign.Param("serial_number")
	if !ok || len(serial.Values) != 0 || slices.Contains(sign.RequiredParameters, "serial_number") {
		t.Errorf("serial_number = %+v (required: %v), want optional with any value (an empty list)", serial, sign.RequiredParameters)
	}
	cn, ok := sign.Param("common_name")
	if !ok || len(cn.Values) != 1 || cn.Values[0] != "Golem Trust SPIRE CA" || !slices.Contains(sign.RequiredParameters, "common_name") {
		t.Errorf("common_name = %+v, want the required SPIRE CA name", cn)
	}
}
