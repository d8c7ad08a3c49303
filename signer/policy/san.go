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
	"crypto/x509"
	"encoding/asn1"
	"net/netip"
	"strings"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

const (
	// maxSANs is the most subject alternative names a CSR may request. An
	// intermediate CA normally has none or one; the bound keeps the work
	// and the size of a denial message small.
	maxSANs = 256
	// maxURILength is the longest URI SAN accepted, the CRD's bound on a
	// URI pattern.
	maxURILength = 2048
	// maxEmailLength is the longest email address SAN accepted (RFC 5321).
	maxEmailLength = 320
)

func isOID(oid asn1.ObjectIdentifier, want ...int) bool {
	return oid.Equal(want)
}

func isSANExtension(oid asn1.ObjectIdentifier) bool { return isOID(oid, 2, 5, 29, 17) }

// evaluateSubjectAltNames checks every subject alternative name of the CSR
// against the policy's list for its kind. It reads the raw extension, so that
// kinds Go's parser skips (otherName, directoryName, ...) are seen and
// denied: they cannot be passed to Vault and must not be asked for.
func evaluateSubjectAltNames(pol *v1alpha1.IntermediatePolicy, csr *x509.CertificateRequest) field.ErrorList {
	base := field.NewPath("subjectAltNames")
	var gns pki.GeneralNames
	found := false
	for _, ext := range csr.Extensions {
		if !isSANExtension(ext.Id) {
			continue
		}
		if found {
			// Go's parser already rejects a repeated extension.
			return field.ErrorList{invalid(base, nil, "the CSR has more than one subjectAltName extension")}
		}
		found = true
		var err error
		if gns, err = pki.UnmarshalSANs(ext.Value); err != nil {
			return field.ErrorList{invalid(base, nil, "the CSR's subjectAltName extension does not parse: %v", err)}
		}
	}
	if !found {
		return nil
	}

	var errs field.ErrorList
	other := func(n int, kind string) {
		if n > 0 {
			errs = append(errs, forbidden(base, kind,
				"the CSR requests %d %s name(s); only DNS names, URIs, IP addresses and email addresses can be requested", n, kind))
		}
	}
	other(len(gns.OtherNames), "otherName")
	other(len(gns.X400Addresses), "x400Address")
	other(len(gns.DirectoryNames), "directoryName")
	other(len(gns.EDIPartyNames), "ediPartyName")
	other(len(gns.RegisteredIDs), "registeredID")

	total := len(gns.DNSNames) + len(gns.UniformResourceIdentifiers) + len(gns.IPAddresses) + len(gns.RFC822Names)
	if total > maxSANs {
		errs = append(errs, violation(field.ErrorTypeTooMany, base, total,
			"the CSR requests %d subject alternative names; at most %d are accepted", total, maxSANs))
	}
	sp := pol.SubjectAltNames
	errs = append(errs, evaluateDNSNames(base.Child("dnsNames"), sp.DNSNames, gns.DNSNames)...)
	errs = append(errs, evaluateURIs(base.Child("uris"), sp.URIs, gns.UniformResourceIdentifiers, csr)...)
	errs = append(errs, evaluateIPAddresses(base.Child("ipAddresses"), sp.IPAddresses, gns)...)
	errs = append(errs, evaluateEmailAddresses(base.Child("emailAddresses"), sp.EmailAddresses, gns.RFC822Names)...)
	return errs
}

func evaluateDNSNames(path *field.Path, allowed, names []string) field.ErrorList {
	r := reporter{path: path, what: "DNS names"}
	for i, name := range names {
		if problem := dnsNameProblem(name); problem != "" {
			r.add(invalid(path.Index(i), name, "DNS name %s %s", quote(name), problem))
			continue
		}
		if dnsMatchAny(allowed, name) {
			continue
		}
		why := ""
		if strings.HasPrefix(name, "*.") {
			why = "; a wildcard name matches only an entry that is the same wildcard"
		}
		r.add(forbidden(path.Index(i), name, "%s is not allowed (allowed: %s)%s", quote(name), quoteList(allowed), why))
	}
	return r.result()
}

func evaluateURIs(path *field.Path, allowed, uris []string, csr *x509.CertificateRequest) field.ErrorList {
	r := reporter{path: path, what: "URIs"}
	for i, uri := range uris {
		switch {
		case len(uri) > maxURILength:
			r.add(invalid(path.Index(i), uri, "URI %s is longer than %d characters", quote(uri), maxURILength))
			continue
		case strings.ContainsAny(uri, ", \t\r\n"):
			// Vault's uri_sans parameter is split at commas.
			r.add(invalid(path.Index(i), uri, "URI %s contains a comma or white space", quote(uri)))
			continue
		case i >= len(csr.URIs) || csr.URIs[i].String() != uri:
			// The signer passes the parsed URI to Vault: what is judged must
			// be exactly what is sent.
			r.add(invalid(path.Index(i), uri, "URI %s is not in canonical form", quote(uri)))
			continue
		}
		if !matchAny(allowed, uri) {
			r.add(forbidden(path.Index(i), uri, "%s is not allowed (allowed: %s)", quote(uri), quoteList(allowed)))
		}
	}
	return r.result()
}

func evaluateIPAddresses(path *field.Path, allowed []string, gns pki.GeneralNames) field.ErrorList {
	if len(gns.IPAddresses) == 0 {
		return nil
	}
	prefixes := ipPrefixes(allowed)
	r := reporter{path: path, what: "IP addresses"}
	for i, ip := range gns.IPAddresses {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			r.add(invalid(path.Index(i), nil, "IP address of %d bytes is malformed", len(ip)))
			continue
		}
		addr = addr.Unmap()
		if !containsAddr(prefixes, addr) {
			r.add(forbidden(path.Index(i), addr.String(), "%s is not allowed (allowed: %s)", quote(addr.String()), quoteList(allowed)))
		}
	}
	return r.result()
}

// ipPrefixes parses the policy's IP entries, single addresses as
// full-length prefixes. Malformed entries are skipped; Validate reports
// them.
func ipPrefixes(entries []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		if p, err := parseIPEntry(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parseIPEntry parses "10.0.0.1" or "10.0.0.0/8".
func parseIPEntry(e string) (netip.Prefix, error) {
	if strings.IndexByte(e, '/') >= 0 {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())), nil
	}
	a, err := netip.ParseAddr(e)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// unmapBits is the prefix length lost when an IPv4-mapped IPv6 prefix is
// unmapped to IPv4.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func containsAddr(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func evaluateEmailAddresses(path *field.Path, allowed, emails []string) field.ErrorList {
	r := reporter{path: path, what: "email addresses"}
	for i, email := range emails {
		if problem := emailProblem(email); problem != "" {
			r.add(invalid(path.Index(i), email, "email address %s %s", quote(email), problem))
			continue
		}
		if !matchAny(allowed, email) {
			r.add(forbidden(path.Index(i), email, "%s is not allowed (allowed: %s)", quote(email), quoteList(allowed)))
		}
	}
	return r.result()
}

// emailProblem says what is wrong with an email address SAN, or "" if
// nothing is: one "@" between a non-empty local part and domain, no white
// space, control characters or commas (Vault's alt_names parameter is split
// at commas).
func emailProblem(email string) string {
	if len(email) > maxEmailLength {
		return "is longer than 320 characters"
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.IndexByte(domain, '@') >= 0 {
		return "is not of the form local@domain"
	}
	for i := 0; i < len(email); i++ {
		if c := email[i]; c <= ' ' || c == ',' || c >= 0x7f {
			return "contains white space, a control character or a comma"
		}
	}
	return ""
}
