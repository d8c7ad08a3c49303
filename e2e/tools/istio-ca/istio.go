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
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"istio.io/istio/pkg/env"
	"istio.io/istio/security/pkg/cmd"
	"istio.io/istio/security/pkg/pki/ca"
	"istio.io/istio/security/pkg/pki/util"
)

// The istiod settings that shape its plugged-in CA, read from the same
// environment variables with the same defaults as pilot/pkg/bootstrap
// (istio_ca.go) and pilot/pkg/features (pilot.go) read them.
var (
	workloadCertTTL = env.Register("DEFAULT_WORKLOAD_CERT_TTL", cmd.DefaultWorkloadCertTTL,
		"The default TTL of issued workload certificates.")
	maxWorkloadCertTTL = env.Register("MAX_WORKLOAD_CERT_TTL", cmd.DefaultMaxWorkloadCertTTL,
		"The max TTL of issued workload certificates.")
	caRSAKeySize = env.Register("CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE", 2048,
		"The RSA key size Istio's CA uses for keys it generates.")
	multiRootMesh = env.Register("ISTIO_MULTIROOT_MESH", false,
		"If enabled, the mesh supports certificates signed by more than one trust anchor.")
)

// mapping is the file layout istiod uses for a cacerts Secret of type
// kubernetes.io/tls (cert-manager's): pilot/pkg/bootstrap/istio_ca.go,
// detectSigningCABundleAndCRL, the "tls.crt exists" branch.
type mapping struct {
	SigningCertFile string   `json:"signingCertFile"`
	SigningKeyFile  string   `json:"signingKeyFile"`
	CertChainFiles  []string `json:"certChainFiles"`
	RootCertFile    string   `json:"rootCertFile"`
}

// tlsSecretMapping maps dir as istiod maps its mounted cacerts when tls.crt
// exists: signing cert tls.crt, key tls.key, root ca.crt, chain tls.crt
// followed by ca.crt. The file names are Istio's own constants.
func tlsSecretMapping(dir string) (ca.SigningCAFileBundle, error) {
	signing := filepath.Join(dir, ca.TLSSecretCACertFile)
	if _, err := os.Stat(signing); err != nil {
		return ca.SigningCAFileBundle{}, fmt.Errorf("%s: istiod maps the kubernetes.io/tls layout only when %s exists: %w",
			dir, ca.TLSSecretCACertFile, err)
	}
	root := filepath.Join(dir, ca.TLSSecretRootCertFile)
	return ca.SigningCAFileBundle{
		RootCertFile:    root,
		CertChainFiles:  []string{signing, root},
		SigningCertFile: signing,
		SigningKeyFile:  filepath.Join(dir, ca.TLSSecretCAPrivateKeyFile),
	}, nil
}

func describeMapping(b ca.SigningCAFileBundle) *mapping {
	return &mapping{SigningCertFile: b.SigningCertFile, SigningKeyFile: b.SigningKeyFile,
		CertChainFiles: b.CertChainFiles, RootCertFile: b.RootCertFile}
}

// newPluggedCA builds Istio's CA from a plugged-in file bundle exactly as
// istiod's createIstioCA does when the bundle is complete:
// ca.NewPluggedCertIstioCAOptions, then ca.NewIstioCA.
func newPluggedCA(b ca.SigningCAFileBundle) (*ca.IstioCA, error) {
	opts, err := ca.NewPluggedCertIstioCAOptions(b, workloadCertTTL.Get(), maxWorkloadCertTTL.Get(), caRSAKeySize.Get())
	if err != nil {
		return nil, fmt.Errorf("failed to create an istiod CA: %w", err)
	}
	istioCA, err := ca.NewIstioCA(opts)
	if err != nil {
		return nil, fmt.Errorf("failed to create an istiod CA: %w", err)
	}
	return istioCA, nil
}

// signWorkload has istioCA sign a workload certificate for spiffeID, the way
// istiod's CA server signs an istio-agent's CSR: a CSR made with Istio's
// util.GenCSR (RSA 2048, istio-agent's default key), signed with
// SignWithCertChain (leaf followed by the CA's cert chain).
func signWorkload(istioCA *ca.IstioCA, spiffeID string, ttl time.Duration) (chainPEM []byte, err error) {
	csrPEM, _, err := util.GenCSR(util.CertOptions{Host: spiffeID, RSAKeySize: 2048})
	if err != nil {
		return nil, fmt.Errorf("generating the workload CSR: %w", err)
	}
	chain, err := istioCA.SignWithCertChain(csrPEM, ca.CertOpts{SubjectIDs: []string{spiffeID}, TTL: ttl, ForCA: false})
	if err != nil {
		return nil, fmt.Errorf("Istio's CA refused to sign the workload CSR: %w", err)
	}
	return []byte(strings.Join(chain, "")), nil
}

// verifyWorkload checks a workload chain (leaf first) against the roots in
// rootPEM with Istio's util.VerifyCertificate, and that the leaf carries
// spiffeID, read with Istio's util.ExtractIDs.
func verifyWorkload(chainPEM, rootPEM []byte, spiffeID string) (*x509.Certificate, error) {
	if err := util.VerifyCertificate(nil, chainPEM, rootPEM, nil); err != nil {
		return nil, fmt.Errorf("the workload chain does not verify to the root: %w", err)
	}
	leaf, err := util.ParsePemEncodedCertificate(chainPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the workload certificate: %w", err)
	}
	ids, err := util.ExtractIDs(leaf.Extensions)
	if err != nil {
		return nil, fmt.Errorf("reading the workload certificate's identities: %w", err)
	}
	for _, id := range ids {
		if id == spiffeID {
			return leaf, nil
		}
	}
	return nil, fmt.Errorf("the workload certificate carries identities %v, not %s", ids, spiffeID)
}

// rootChangeAllowed is istiod's rule for a changed cacerts
// (pilot/pkg/bootstrap/istio_ca.go, handleEvent): a new ca.crt is refused
// unless ISTIO_MULTIROOT_MESH is on and one root bundle is a subset of the
// other. pemBundleHasSubsetRelation below is a copy of istiod's function of
// that name, which is not exported.
func rootChangeAllowed(current, next []byte, multiRoot bool) (changed bool, err error) {
	if bytes.Equal(current, next) {
		return false, nil
	}
	if !multiRoot {
		return true, fmt.Errorf("Multi root is disabled, updating new ROOT-CA not supported")
	}
	if !pemBundleHasSubsetRelation(current, next) {
		return true, fmt.Errorf("Updating new ROOT-CA not supported")
	}
	return true, nil
}

func pemBundleHasSubsetRelation(a, b []byte) bool {
	certsA, certsB := pemToRawCertSet(a), pemToRawCertSet(b)
	if len(certsA) == 0 || len(certsB) == 0 {
		return false
	}
	return supersetOf(certsA, certsB) || supersetOf(certsB, certsA)
}

func pemToRawCertSet(data []byte) map[string]bool {
	certs := map[string]bool{}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			certs[string(block.Bytes)] = true
		}
	}
	return certs
}

func supersetOf(a, b map[string]bool) bool {
	for k := range b {
		if !a[k] {
			return false
		}
	}
	return true
}

func describeCert(c *x509.Certificate) *certInfo {
	info := &certInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: fmt.Sprintf("%x", c.SerialNumber),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), IsCA: c.IsCA}
	for _, u := range c.URIs {
		info.URIs = append(info.URIs, u.String())
	}
	return info
}

func countCerts(chainPEM []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, chainPEM = pem.Decode(chainPEM)
		if block == nil {
			return n
		}
		n++
	}
}

// writeChain writes chainPEM to path, or nowhere when path is empty.
func writeChain(path string, chainPEM []byte) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, chainPEM, 0o600); err != nil {
		return fmt.Errorf("writing the workload chain: %w", err)
	}
	return nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
