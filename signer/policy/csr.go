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
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// csrPEMType is the only PEM block type accepted for a CSR (RFC 7468).
const csrPEMType = "CERTIFICATE REQUEST"

// ParseCSR parses a PEM CSR strictly: at most MaxCSRPEMSize bytes, exactly one
// PEM block of type "CERTIFICATE REQUEST" without headers, nothing but
// whitespace around it, and DER that parses with no trailing data.
//
// It does not verify the CSR's signature: Evaluate does that after the key
// policy, so that a CSR with a 16384-bit RSA key is denied before the
// expensive work.
func ParseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	if len(pemBytes) > MaxCSRPEMSize {
		return nil, fmt.Errorf("the CSR is %d bytes, more than the %d bytes accepted", len(pemBytes), MaxCSRPEMSize)
	}
	data := bytes.TrimSpace(pemBytes)
	if len(data) == 0 {
		return nil, errors.New("the CSR is empty")
	}
	if !bytes.HasPrefix(data, []byte("-----BEGIN ")) {
		if bytes.Contains(data, []byte("-----BEGIN ")) {
			return nil, errors.New("the CSR has data before its PEM block")
		}
		return nil, errors.New("the CSR is not PEM: no \"-----BEGIN CERTIFICATE REQUEST-----\" line")
	}
	block, rest := pem.Decode(data)
	// pem.Decode skips what it cannot decode, a malformed first block
	// included: what it consumed must hold exactly one BEGIN line.
	if block == nil || bytes.Count(data[:len(data)-len(rest)], []byte("-----BEGIN ")) != 1 {
		return nil, errors.New("the CSR's PEM block is malformed (bad base64 or no matching END line)")
	}
	if block.Type != csrPEMType {
		return nil, fmt.Errorf("the PEM block is of type %q, not %q", block.Type, csrPEMType)
	}
	if len(block.Headers) > 0 {
		return nil, errors.New("the CSR's PEM block has headers; a CSR has none")
	}
	if rest = bytes.TrimSpace(rest); len(rest) > 0 {
		if bytes.Contains(rest, []byte("-----BEGIN ")) {
			return nil, errors.New("the CSR holds more than one PEM block; exactly one is accepted")
		}
		return nil, errors.New("the CSR has data after its PEM block")
	}
	if len(block.Bytes) == 0 {
		return nil, errors.New("the CSR's PEM block is empty")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CSR does not parse: %w", err)
	}
	return csr, nil
}
