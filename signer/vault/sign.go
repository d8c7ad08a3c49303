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
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// SignRequest is a request the policy already validated. Every subject
// attribute is passed explicitly: with use_csr_values=false (the default,
// and the only safe setting) Vault takes nothing from the CSR but its public
// key.
type SignRequest struct {
	CSRPEM              []byte
	Subject             pkix.Name
	DNSNames            []string
	IPAddresses         []net.IP
	URIs                []*url.URL
	EmailAddresses      []string
	TTL                 time.Duration
	MaxPathLength       int
	PermittedDNSDomains []string
	ExcludedDNSDomains  []string
}

// SignResponse is what Vault returned, parsed.
type SignResponse struct {
	// Certificate is the signed intermediate.
	Certificate *x509.Certificate
	// CAs are every CA certificate Vault returned (issuing_ca and ca_chain),
	// de-duplicated, in the order Vault listed them.
	CAs []*x509.Certificate
	// SerialNumber is Vault's colon-separated serial.
	SerialNumber string
	// RequestID is Vault's request ID, which joins Vault's audit log.
	RequestID string
	// Warnings are Vault's warnings, e.g. a TTL shortened to the mount's
	// maximum.
	Warnings []string
}

// Params builds the sign-intermediate parameters. Field names are those of
// Vault's PKI engine (path_sign_issuers.go, fields.go) in the versions this
// project supports.
//
// Every value is sent in exactly the form the Vault ACL policy that "policy
// vault-acl" generates (package signer/vault/acl) matches. Vault's ACL
// compares each parameter's whole JSON value with the allowed values, and the
// comparison is type-sensitive (measured on OpenBao 2.4.0 and HashiCorp Vault
// 1.13.0): a string matches only a string, a boolean only a boolean, a JSON
// list only an identical list. So single values are strings,
// max_path_length is a string ("0"), the two flags are JSON booleans, and a
// list-valued parameter is one canonical string (ListValue).
func (r SignRequest) Params() map[string]any {
	p := map[string]any{
		"csr":                  string(r.CSRPEM),
		"common_name":          r.Subject.CommonName,
		"ttl":                  strconv.FormatInt(int64(r.TTL/time.Second), 10) + "s",
		"max_path_length":      strconv.Itoa(r.MaxPathLength),
		"format":               "pem",
		"exclude_cn_from_sans": true,
		"use_csr_values":       false,
	}
	setList := func(key string, values []string) {
		if len(values) > 0 {
			p[key] = ListValue(values)
		}
	}
	setList("organization", r.Subject.Organization)
	setList("ou", r.Subject.OrganizationalUnit)
	setList("country", r.Subject.Country)
	setList("locality", r.Subject.Locality)
	setList("province", r.Subject.Province)
	setList("street_address", r.Subject.StreetAddress)
	setList("postal_code", r.Subject.PostalCode)
	if r.Subject.SerialNumber != "" {
		p["serial_number"] = r.Subject.SerialNumber
	}
	if len(r.DNSNames)+len(r.EmailAddresses) > 0 {
		p["alt_names"] = AltNamesValue(r.DNSNames, r.EmailAddresses)
	}
	if len(r.IPAddresses) > 0 {
		p["ip_sans"] = ListValue(IPStrings(r.IPAddresses))
	}
	if len(r.URIs) > 0 {
		uris := make([]string, 0, len(r.URIs))
		for _, u := range r.URIs {
			uris = append(uris, u.String())
		}
		setList("uri_sans", uris)
	}
	setList("permitted_dns_domains", r.PermittedDNSDomains)
	setList("excluded_dns_domains", r.ExcludedDNSDomains)
	return p
}

// ListValue is the value of a list-valued sign-intermediate parameter
// (organization, ou, country, locality, province, street_address,
// postal_code, ip_sans, uri_sans, permitted_dns_domains,
// excluded_dns_domains): the values sorted, without duplicates, joined with
// commas into one string, which Vault splits again. A value that itself
// contains a comma would be split too, so then the sorted values are sent as
// a JSON list instead, which Vault takes as it is.
//
// One canonical form per set of values is what lets an ACL pin the set: the
// ACL compares whole values (a JSON list matches only an allowed list equal
// to it, element by element and in order, and a string never matches a
// list), so the generated policy lists every allowed set in this same form.
func ListValue(values []string) any {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	for _, v := range sorted {
		if strings.Contains(v, ",") {
			return sorted
		}
	}
	return strings.Join(sorted, ",")
}

// AltNamesValue is the alt_names parameter: the DNS names in lower case
// (DNS names are case-insensitive, and the policy compares them so) and the
// email addresses as they are, sorted, without duplicates, joined with commas.
// alt_names is a plain string in Vault's PKI engine, split at commas; neither
// a DNS name nor an email address the policy accepts contains one.
func AltNamesValue(dnsNames, emails []string) string {
	names := make([]string, 0, len(dnsNames)+len(emails))
	for _, n := range dnsNames {
		names = append(names, strings.ToLower(n))
	}
	names = append(names, emails...)
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ",")
}

// IPStrings renders IP addresses in their canonical text form (RFC 5952 for
// IPv6; an IPv4-mapped IPv6 address as IPv4), the form the generated ACL
// lists.
func IPStrings(ips []net.IP) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap().String())
			continue
		}
		out = append(out, ip.String())
	}
	return out
}

// SignIntermediate asks Vault to sign the intermediate described by req.
func (c *Client) SignIntermediate(ctx context.Context, creds Credentials, req SignRequest) (*SignResponse, error) {
	path := c.SignPath()
	var resp *SignResponse
	err := c.withToken(ctx, creds, opSign, func(ctx context.Context, api *vaultapi.Client) error {
		secret, err := api.Logical().WriteWithContext(ctx, path, req.Params())
		if err != nil {
			return err
		}
		resp, err = parseSignResponse(secret)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func parseSignResponse(secret *vaultapi.Secret) (*SignResponse, error) {
	if secret == nil || secret.Data == nil {
		return nil, &Error{Class: ClassTransient, Op: opSign, Message: "Vault answered without a certificate"}
	}
	resp := &SignResponse{RequestID: secret.RequestID, Warnings: secret.Warnings}
	resp.SerialNumber, _ = secret.Data["serial_number"].(string)
	certPEM, _ := secret.Data["certificate"].(string)
	certs, err := ParseCertificates([]byte(certPEM))
	if err != nil || len(certs) == 0 {
		return nil, &Error{Class: ClassTransient, Op: opSign, Message: fmt.Sprintf("the certificate Vault returned does not parse: %v", err)}
	}
	resp.Certificate = certs[0]
	// With format=pem the certificate field holds one certificate; anything
	// after it is treated as chain material, like ca_chain.
	var pems []string
	for _, extra := range certs[1:] {
		pems = append(pems, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: extra.Raw})))
	}
	if s, ok := secret.Data["issuing_ca"].(string); ok {
		pems = append(pems, s)
	}
	if chain, ok := secret.Data["ca_chain"].([]any); ok {
		for _, entry := range chain {
			if s, ok := entry.(string); ok {
				pems = append(pems, s)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range pems {
		cas, err := ParseCertificates([]byte(p))
		if err != nil {
			return nil, &Error{Class: ClassTransient, Op: opSign, Message: fmt.Sprintf("the CA chain Vault returned does not parse: %v", err)}
		}
		for _, ca := range cas {
			if !seen[string(ca.Raw)] {
				seen[string(ca.Raw)] = true
				resp.CAs = append(resp.CAs, ca)
			}
		}
	}
	return resp, nil
}

// ParseCertificates parses every CERTIFICATE block of a PEM bundle.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("data after the last PEM block is not PEM")
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		certs = append(certs, cert)
		rest = bytes.TrimSpace(rest)
	}
	return certs, nil
}

// Chain is an issued certificate placed in its hierarchy.
type Chain struct {
	// Intermediates are the issued certificate followed by every non-root CA
	// up to, not including, the root: what goes into tls.crt.
	Intermediates []*x509.Certificate
	// Root is the self-signed CA at the top: what goes into ca.crt.
	Root *x509.Certificate
}

// IssuingCA is the CA that signed the issued certificate: the next
// intermediate up the chain, or the root.
func (c *Chain) IssuingCA() *x509.Certificate {
	if len(c.Intermediates) > 1 {
		return c.Intermediates[1]
	}
	return c.Root
}

// BuildChain orders cas above leaf by following issuer signatures. The top of
// the chain must be a self-signed root; Istio needs the real root in ca.crt
// or multi-cluster trust breaks.
func BuildChain(leaf *x509.Certificate, cas []*x509.Certificate) (*Chain, error) {
	chain := &Chain{Intermediates: []*x509.Certificate{leaf}}
	current := leaf
	used := map[*x509.Certificate]bool{}
	for range len(cas) + 1 {
		if isSelfSigned(current) && current != leaf {
			chain.Root = current
			chain.Intermediates = chain.Intermediates[:len(chain.Intermediates)-1]
			return chain, nil
		}
		parent := findParent(current, cas, used)
		if parent == nil {
			break
		}
		used[parent] = true
		chain.Intermediates = append(chain.Intermediates, parent)
		current = parent
	}
	return nil, fmt.Errorf("the CA chain Vault returned does not end in a self-signed root (top: %q); import the root into the PKI mount's issuer chain", current.Subject.String())
}

func findParent(child *x509.Certificate, cas []*x509.Certificate, used map[*x509.Certificate]bool) *x509.Certificate {
	for _, ca := range cas {
		if used[ca] || !bytes.Equal(ca.RawSubject, child.RawIssuer) {
			continue
		}
		if child.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

func isSelfSigned(cert *x509.Certificate) bool {
	return bytes.Equal(cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(cert) == nil
}

// EncodePEM encodes certs as a PEM bundle.
func EncodePEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, cert := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	}
	return buf.Bytes()
}

// Fingerprint is "sha256:" and the lowercase hex SHA-256 of cert's DER, the
// form status, Events and the audit log use.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RootOf follows issuer signatures from cert through chain to the
// self-signed root; cert itself when it is self-signed.
func RootOf(cert *x509.Certificate, chain []*x509.Certificate) (*x509.Certificate, error) {
	if isSelfSigned(cert) {
		return cert, nil
	}
	c, err := BuildChain(cert, chain)
	if err != nil {
		return nil, err
	}
	return c.Root, nil
}

// IssuedCertificate is a certificate the mount issued earlier, read back by
// serial.
type IssuedCertificate struct {
	Certificate *x509.Certificate
	// Revoked tells whether Vault has revoked it.
	Revoked bool
}

// ReadCertificate reads a certificate the mount issued, by serial, from
// <mount>/cert/<serial>, which the PKI engine serves without
// authentication.
func (c *Client) ReadCertificate(ctx context.Context, serial string) (*IssuedCertificate, error) {
	if !ValidSerial(serial) {
		// The serial may come from a field someone else wrote: never let it
		// shape the path.
		return nil, &Error{Class: ClassInvalidRequest, Op: opReadCert,
			Message: fmt.Sprintf("%q is not a certificate serial number (hex byte pairs separated by colons)", Sanitize(serial))}
	}
	path := fmt.Sprintf("%s/cert/%s", c.cfg.Mount, serial)
	var out *IssuedCertificate
	err := c.call(ctx, "", opReadCert, func(ctx context.Context, api *vaultapi.Client) error {
		secret, err := api.Logical().ReadWithContext(ctx, path)
		if err != nil {
			return err
		}
		if secret == nil || secret.Data == nil {
			return &Error{Class: ClassNotFound, Op: opReadCert, StatusCode: 404, Message: fmt.Sprintf("no certificate with serial %s in %s", serial, c.cfg.Mount)}
		}
		certPEM, _ := secret.Data["certificate"].(string)
		certs, err := ParseCertificates([]byte(certPEM))
		if err != nil || len(certs) == 0 {
			return &Error{Class: ClassTransient, Op: opReadCert, Message: fmt.Sprintf("the certificate with serial %s does not parse: %v", serial, err)}
		}
		out = &IssuedCertificate{Certificate: certs[0]}
		switch v := secret.Data["revocation_time"].(type) {
		case json.Number:
			n, _ := v.Int64()
			out.Revoked = n > 0
		case float64:
			out.Revoked = v > 0
		}
		return nil
	})
	return out, err
}

// serialPattern is a serial as Vault lists and prints it: hex byte pairs
// separated by colons (or hyphens, which Vault accepts too), from 2 to 40
// bytes (Vault writes 20). A single pair is refused: <mount>/cert/ca is the
// CA, not a certificate with serial 0xCA.
var serialPattern = regexp.MustCompile(`^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){1,39}$`)

// ValidSerial reports whether s has the form of a certificate serial.
func ValidSerial(s string) bool {
	return serialPattern.MatchString(s)
}
