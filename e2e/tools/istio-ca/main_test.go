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

package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a root and the cacerts directories of intermediates under it.
type testPKI struct {
	root    *x509.Certificate
	rootKey crypto.Signer
}

func newPKI(t *testing.T, cn string) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * 365 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{root: root, rootKey: key}
}

// cacerts writes a kubernetes.io/tls cacerts directory (tls.crt, tls.key,
// ca.crt) with a new intermediate, as cert-manager writes it.
func (p *testPKI) cacerts(t *testing.T, serial int64, pathLen int) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(720 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: pathLen, MaxPathLenZero: pathLen == 0,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.root, key.Public(), p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) {
		var b bytes.Buffer
		for _, bl := range blocks {
			_ = pem.Encode(&b, bl)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tls.crt", &pem.Block{Type: "CERTIFICATE", Bytes: der})
	write("tls.key", &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	write("ca.crt", &pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw})
	return dir
}

func runCLI(t *testing.T, args ...string) (verdict, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	var v verdict
	if code != exitUsage {
		if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
			t.Fatalf("verdict is not JSON: %v\n%s", err, stdout.String())
		}
	}
	return v, code
}

func TestSignWorkloadAndReload(t *testing.T) {
	bank := newPKI(t, "Golem Trust Root CA")
	first := bank.cacerts(t, 10, 0)
	oldWorkload := filepath.Join(t.TempDir(), "workload.pem")

	v, code := runCLI(t, "sign-workload", "--cacerts", first, "--out", oldWorkload)
	if code != exitAccepted || !v.Accepted {
		t.Fatalf("sign-workload refused a valid cacerts: %+v", v)
	}
	if v.Workload == nil || len(v.Workload.URIs) != 1 || v.Workload.URIs[0] != defaultSPIFFEID || v.Workload.ChainLength != 3 {
		t.Errorf("workload = %+v", v.Workload)
	}

	renewed := bank.cacerts(t, 11, 0)
	v, code = runCLI(t, "reload", "--old", first, "--new", renewed, "--old-workload", oldWorkload)
	if code != exitAccepted || !v.Accepted || v.RootChanged == nil || *v.RootChanged || v.OldWorkloadVerified == nil || !*v.OldWorkloadVerified {
		t.Fatalf("reload refused a renewal under the same root: %+v", v)
	}
	if v.CA == nil || v.CA.Serial != "b" {
		t.Errorf("after the reload Istio's CA signs with %+v, want serial b", v.CA)
	}

	// A new root is refused unless multi-root is on and the bundles overlap.
	other := newPKI(t, "Another Root")
	foreign := other.cacerts(t, 12, 0)
	v, code = runCLI(t, "reload", "--old", first, "--new", foreign)
	if code != exitRefused || v.Stage != "root" || !strings.Contains(v.Error, "Multi root is disabled") {
		t.Errorf("reload to another root: code %d, %+v", code, v)
	}
	v, code = runCLI(t, "reload", "--old", first, "--new", foreign, "--multi-root")
	if code != exitRefused || v.Stage != "root" {
		t.Errorf("reload to a disjoint root with --multi-root: code %d, %+v", code, v)
	}

	// A non-CA signing certificate is refused when loaded.
	v, code = runCLI(t, "sign-workload", "--cacerts", t.TempDir())
	if code != exitRefused || v.Stage != "load" {
		t.Errorf("an empty directory: code %d, %+v", code, v)
	}

	v, code = runCLI(t, "verify", "--root", filepath.Join(renewed, "ca.crt"), "--chain", oldWorkload)
	if code != exitAccepted || !v.Accepted {
		t.Errorf("verify: code %d, %+v", code, v)
	}
	v, code = runCLI(t, "verify", "--root", filepath.Join(foreign, "ca.crt"), "--chain", oldWorkload)
	if code != exitRefused || v.Stage != "verify" {
		t.Errorf("verify against another root: code %d, %+v", code, v)
	}
}

func TestUsage(t *testing.T) {
	if _, code := runCLI(t, "sign-workload"); code != exitUsage {
		t.Errorf("sign-workload without --cacerts: exit %d, want %d", code, exitUsage)
	}
	if _, code := runCLI(t, "nonsense"); code != exitUsage {
		t.Errorf("unknown subcommand: exit %d, want %d", code, exitUsage)
	}
}
