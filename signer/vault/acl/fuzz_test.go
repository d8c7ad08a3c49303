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
	"maps"
	"net"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// FuzzGenerate builds policies from arbitrary values. Whenever Generate
// produces a policy: its HCL parses as Vault parses it, every allowed value
// decodes to exactly the value generated (type included), the request the
// signer sends for the policy's values passes the model of Vault's ACL
// check, and the same request with another common name, one more
// organization or another path length is refused. The seed corpus is in
// testdata/fuzz/FuzzGenerate; run
// `go test -run='^$' -fuzz=FuzzGenerate -fuzztime=60s ./signer/vault/acl/` to
// search for more.
func FuzzGenerate(f *testing.F) {
	f.Add("Golem Trust Istio CA", "Golem Trust", "", "istiod.istio-system.svc", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, commonName, orgRequired, orgAllowed, dns, uri, ip string, pathLen uint8) {
		pol := v1alpha1.IntermediatePolicy{
			Subject:       v1alpha1.SubjectPolicy{CommonName: cn(commonName), Organizations: &v1alpha1.ValuePolicy{Required: []string{orgRequired}}},
			MaxPathLength: ptr(int32(pathLen % 9)),
		}
		if orgAllowed != "" {
			pol.Subject.Organizations.Allowed = []string{orgAllowed}
		}
		req := vault.SignRequest{CSRPEM: []byte("csr"), TTL: time.Hour, MaxPathLength: int(pathLen % 9),
			Subject: pkix.Name{CommonName: commonName, Organization: []string{orgRequired}}}
		if dns != "" {
			pol.SubjectAltNames.DNSNames = []string{dns}
			req.DNSNames = []string{dns}
		}
		if uri != "" {
			pol.SubjectAltNames.URIs = []string{uri}
			if u, err := url.Parse(uri); err == nil {
				req.URIs = []*url.URL{u}
			}
		}
		if ip != "" {
			pol.SubjectAltNames.IPAddresses = []string{ip}
			if parsed := net.ParseIP(ip); parsed != nil {
				req.IPAddresses = []net.IP{parsed}
			}
		}
		p, err := Generate(issuerWith(pol), Options{})
		if err != nil {
			return // an invalid or inexpressible policy is refused
		}
		rules := parseHCL(t, p.HCL())
		for _, path := range p.Paths {
			decoded, ok := rules[path.Path]
			if !ok {
				t.Fatalf("path %q is missing from the HCL", path.Path)
			}
			if !reflect.DeepEqual(decoded.Capabilities, path.Capabilities) {
				t.Fatalf("%s: capabilities decode to %v, want %v", path.Path, decoded.Capabilities, path.Capabilities)
			}
			for _, param := range path.AllowedParameters {
				got := decoded.AllowedParametersHCL[param.Name]
				if len(got) != len(param.Values) {
					t.Fatalf("%s: %d values decoded, %d generated", param.Name, len(got), len(param.Values))
				}
				for i, v := range param.Values {
					if !reflect.DeepEqual(got[i], asDecoded(v)) {
						t.Fatalf("%s[%d] decodes to %#v, want %#v", param.Name, i, got[i], v)
					}
				}
			}
		}
		sign := rules[p.Paths[0].Path]
		// Only requests the policy would allow are modelled: the fuzzed
		// names must round-trip to the values the policy lists.
		if (uri != "" && (len(req.URIs) != 1 || req.URIs[0].String() != uri)) ||
			(ip != "" && (len(req.IPAddresses) != 1 || vault.IPStrings(req.IPAddresses)[0] != mustSingle(t, ip))) {
			return
		}
		params := req.Params()
		if ok, why := allows(sign, vaultRequestData(t, params)); !ok {
			t.Fatalf("the signer's request for the policy's own values is refused: %s\n%s", why, p.HCL())
		}
		for name, change := range map[string]func(map[string]any){
			"another common name": func(m map[string]any) { m["common_name"] = commonName + "x" },
			"one more O":          func(m map[string]any) { m["organization"] = vault.ListValue([]string{orgRequired, orgRequired + "x"}) },
			"no path length":      func(m map[string]any) { delete(m, "max_path_length") },
			"path length + 1": func(m map[string]any) {
				m["max_path_length"] = vault.SignRequest{MaxPathLength: int(pathLen%9) + 1}.Params()["max_path_length"]
			},
			"use_csr_values": func(m map[string]any) { m["use_csr_values"] = true },
		} {
			attack := maps.Clone(params)
			change(attack)
			if ok, _ := allows(sign, vaultRequestData(t, attack)); ok {
				t.Fatalf("%s passes the ACL:\n%s", name, p.HCL())
			}
		}
	})
}

// asDecoded is v as HCL 1 decodes it: a list as []interface{}.
func asDecoded(v any) any {
	if l, ok := v.([]string); ok {
		out := make([]interface{}, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return v
}

func mustSingle(t *testing.T, ip string) string {
	s, err := singleAddress(ip)
	if err != nil {
		t.Fatalf("a policy with IP %q was generated: %v", ip, err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }
