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
	"math/big"
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
		"csr": "csr", "common_name": "Golem Trust Istio CA", "ttl": "2592000s", "max_path_length": 0,
		"format": "pem", "exclude_cn_from_sans": true, "use_csr_values": false,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	for _, k := range []string{"organization", "country", "permitted_dns_domains"} {
		if _, ok := p[k]; !ok {
			t.Errorf("%s is missing", k)
		}
	}
	for _, k := range []string{"ou", "locality", "province", "alt_names", "ip_sans", "uri_sans", "excluded_dns_domains", "serial_number"} {
		if _, ok := p[k]; ok {
			t.Errorf("%s is sent although the request has none", k)
		}
	}
}

func TestFingerprint(t *testing.T) {
	root, _ := newCA(t, "root", nil, nil)
	fp := Fingerprint(root)
	if len(fp) != len("sha256:")+64 || fp[:7] != "sha256:" {
		t.Errorf("Fingerprint = %q", fp)
	}
}
