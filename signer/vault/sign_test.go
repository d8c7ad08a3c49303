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

package vault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"
)

func newCA(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestBuildChainTwoLevels(t *testing.T) {
	root, rootKey := newCA(t, "root", nil, nil)
	issuing, issuingKey := newCA(t, "issuing", root, rootKey)
	leaf, _ := newCA(t, "istio", issuing, issuingKey)
	other, _ := newCA(t, "unrelated root", nil, nil)

	// Vault's order is not trusted: the chain is built from signatures.
	chain, err := BuildChain(leaf, []*x509.Certificate{other, root, issuing})
	if err != nil {
		t.Fatal(err)
	}
	if len(chain.Intermediates) != 2 || !chain.Intermediates[0].Equal(leaf) || !chain.Intermediates[1].Equal(issuing) {
		t.Errorf("intermediates = %v", chain.Intermediates)
	}
	if !chain.Root.Equal(root) || !chain.IssuingCA().Equal(issuing) {
		t.Errorf("root %q issuing %q", chain.Root.Subject, chain.IssuingCA().Subject)
	}
	if got, err := RootOf(issuing, []*x509.Certificate{root}); err != nil || !got.Equal(root) {
		t.Errorf("RootOf(issuing) = %v, %v", got, err)
	}
	if got, err := RootOf(root, nil); err != nil || !got.Equal(root) {
		t.Errorf("RootOf(root) = %v, %v", got, err)
	}
	if _, err := BuildChain(leaf, []*x509.Certificate{issuing}); err == nil {
		t.Error("a chain without its root was accepted")
	}
	if _, err := BuildChain(leaf, []*x509.Certificate{other}); err == nil {
		t.Error("a chain under an unrelated root was accepted")
	}
}

func TestParamsSendOnlyValidatedValues(t *testing.T) {
	p := SignRequest{
		CSRPEM:  []byte("csr"),
		Subject: pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}, Country: []string{"AM"}},
		TTL:     720 * time.Hour, MaxPathLength: 0,
		PermittedDNSDomains: []string{"cluster.local"},
	}.Params()
	want := map[string]any{
		"csr": "csr", "common_name": "Golem Trust Istio CA", "ttl": "2592000s", "max_path_length": "0",
		"organization": "Golem Trust", "country": "AM", "permitted_dns_domains": "cluster.local",
		"format": "pem", "exclude_cn_from_sans": true, "use_csr_values": false,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	for _, k := range []string{"ou", "locality", "province", "alt_names", "ip_sans", "uri_sans", "excluded_dns_domains", "serial_number"} {
		if _, ok := p[k]; ok {
			t.Errorf("%s is sent although the request has none", k)
		}
	}
}

// TestParamEncoding covers the one form per set of values that the
// generated ACL policy lists: Vault's ACL compares whole values.
func TestParamEncoding(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   any
	}{
		{"one value", []string{"Golem Trust"}, "Golem Trust"},
		{"sorted and joined", []string{"PKI", "Mesh", "Armenia"}, "Armenia,Mesh,PKI"},
		{"without repeats", []string{"b", "a", "b"}, "a,b"},
		{"a value with a comma makes a list", []string{"Golem Trust, Inc.", "Armenia"}, []string{"Armenia", "Golem Trust, Inc."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ListValue(tc.values)
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tc.want) {
				t.Errorf("ListValue(%q) = %#v, want %#v", tc.values, got, tc.want)
			}
		})
	}
	if got := AltNamesValue([]string{"IstioD.istio-system.svc", "a.example"}, []string{"PKI@Golem.example"}); got != "PKI@Golem.example,a.example,istiod.istio-system.svc" {
		t.Errorf("AltNamesValue = %q", got)
	}
	ips := IPStrings([]net.IP{net.ParseIP("::ffff:10.0.0.1"), net.ParseIP("2001:0DB8:0:0::1"), net.IPv4(192, 0, 2, 1).To4()})
	if want := []string{"10.0.0.1", "2001:db8::1", "192.0.2.1"}; !slices.Equal(ips, want) {
		t.Errorf("IPStrings = %q, want %q", ips, want)
	}
	p := SignRequest{Subject: pkix.Name{CommonName: "c", Organization: []string{"B", "A"}},
		URIs: []*url.URL{{Scheme: "spiffe", Host: "b"}, {Scheme: "spiffe", Host: "a"}}, MaxPathLength: 1}.Params()
	if p["organization"] != "A,B" || p["uri_sans"] != "spiffe://a,spiffe://b" || p["max_path_length"] != "1" {
		t.Errorf("Params = %v", p)
	}
}

func TestFingerprint(t *testing.T) {
	root, _ := newCA(t, "root", nil, nil)
	fp := Fingerprint(root)
	if len(fp) != len("sha256:")+64 || fp[:7] != "sha256:" {
		t.Errorf("Fingerprint = %q", fp)
	}
}
