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
	"crypto"
	"crypto/x509"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// clockSkew is the tolerance of the validity checks: Vault stamps NotAfter
// with its own clock at signing time, and now is read later by the caller,
// possibly on another machine.
const clockSkew = 5 * time.Minute

// Verify checks the certificate Vault issued against the decision that
// allowed it and the policy: the CSR's public key; exactly the validated
// subject; a CA with the policy's path length; key usages that include the
// required ones and no others than allowed; no extended key usage unless
// allowed; SANs only from the CSR; the policy's name constraints; a validity
// within the policy and within the issuing CA's; and, when issuingCA is
// given, a signature by it. Every mismatch is reported under "issued.…".
func Verify(p *v1alpha1.IntermediatePolicy, d Decision, issued *x509.Certificate, issuingCA *x509.Certificate, now time.Time) field.ErrorList {
	base := field.NewPath("issued")
	if issued == nil {
		return field.ErrorList{violation(field.ErrorTypeRequired, base, nil, "there is no issued certificate to verify")}
	}
	if d.CSR == nil {
		return field.ErrorList{violation(field.ErrorTypeRequired, field.NewPath("csr"), nil,
			"the decision holds no parsed CSR, so the certificate cannot be verified against it")}
	}
	pol := Default(p)
	var errs field.ErrorList
	errs = append(errs, verifyPublicKey(base.Child("publicKey"), d, issued)...)
	errs = append(errs, verifySubject(base.Child("subject"), d, issued)...)
	errs = append(errs, verifyBasicConstraints(base, pol, issued)...)
	errs = append(errs, verifyKeyUsages(base, pol, issued)...)
	errs = append(errs, verifySubjectAltNames(base.Child("subjectAltNames"), d, issued)...)
	errs = append(errs, verifyNameConstraints(base.Child("nameConstraints"), pol, issued)...)
	errs = append(errs, verifyValidity(base, pol, d, issued, issuingCA, now)...)
	if issuingCA != nil {
		errs = append(errs, verifyIssuer(base.Child("issuer"), issued, issuingCA)...)
	}
	return errs
}

func verifyPublicKey(path *field.Path, d Decision, issued *x509.Certificate) field.ErrorList {
	key, ok := issued.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !key.Equal(d.CSR.PublicKey) {
		return field.ErrorList{forbidden(path, nil, "the certificate's public key is not the CSR's")}
	}
	return nil
}

// verifySubject compares the subject attribute by attribute, each as a
// multiset of values, so that only order may differ.
func verifySubject(path *field.Path, d Decision, issued *x509.Certificate) field.ErrorList {
	want := [numAttrs][]string{
		attrCommonName:          nonEmpty(d.Subject.CommonName),
		attrOrganizations:       d.Subject.Organization,
		attrOrganizationalUnits: d.Subject.OrganizationalUnit,
		attrCountries:           d.Subject.Country,
		attrLocalities:          d.Subject.Locality,
		attrProvinces:           d.Subject.Province,
		attrStreetAddresses:     d.Subject.StreetAddress,
		attrPostalCodes:         d.Subject.PostalCode,
		attrSerialNumber:        nonEmpty(d.Subject.SerialNumber),
	}
	var got [numAttrs][]string
	var errs field.ErrorList
	for _, atv := range issued.Subject.Names {
		attr := subjectAttribute(atv.Type)
		s, ok := atv.Value.(string)
		if attr < 0 || !ok {
			errs = append(errs, forbidden(path, atv.Type.String(), "the certificate's subject has attribute %s, which was not requested", atv.Type))
			continue
		}
		got[attr] = append(got[attr], s)
	}
	for attr := range numAttrs {
		if !sameMultiset(want[attr], got[attr]) {
			errs = append(errs, forbidden(path.Child(attrName(attr)), got[attr],
				"the certificate's %s are [%s], the validated subject's [%s]", attrName(attr), quoteList(got[attr]), quoteList(want[attr])))
		}
	}
	return errs
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func sameMultiset(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func verifyBasicConstraints(base *field.Path, pol *v1alpha1.IntermediatePolicy, issued *x509.Certificate) field.ErrorList {
	var errs field.ErrorList
	if !issued.BasicConstraintsValid || !issued.IsCA {
		errs = append(errs, forbidden(base.Child("isCA"), issued.IsCA, "the certificate is not a CA certificate (basicConstraints CA=true is missing)"))
	}
	want := int(*pol.MaxPathLength)
	got := issued.MaxPathLen
	switch {
	case got < 0 || got == 0 && !issued.MaxPathLenZero:
		errs = append(errs, forbidden(base.Child("maxPathLength"), nil,
			"the certificate has no path length constraint; the policy requires %d", want))
	case got != want:
		errs = append(errs, forbidden(base.Child("maxPathLength"), got,
			"the certificate's path length constraint is %d; the policy requires %d", got, want))
	}
	return errs
}

func verifyKeyUsages(base *field.Path, pol *v1alpha1.IntermediatePolicy, issued *x509.Certificate) field.ErrorList {
	var errs field.ErrorList
	required := keyUsageBits(pol.KeyUsages.Required)
	permitted := required | keyUsageBits(pol.KeyUsages.Allowed)
	if missing := required &^ issued.KeyUsage; missing != 0 {
		errs = append(errs, forbidden(base.Child("keyUsage"), keyUsageNames(issued.KeyUsage),
			"the certificate lacks the required key usages [%s] (it has [%s])", keyUsageNames(missing), keyUsageNames(issued.KeyUsage)))
	}
	if extra := issued.KeyUsage &^ permitted; extra != 0 {
		errs = append(errs, forbidden(base.Child("keyUsage"), keyUsageNames(issued.KeyUsage),
			"the certificate has key usages [%s] that the policy does not allow", keyUsageNames(extra)))
	}
	allowedExt := extKeyUsages(pol.ExtKeyUsages.Allowed)
	var extra []x509.ExtKeyUsage
	for _, u := range issued.ExtKeyUsage {
		if !slices.Contains(allowedExt, u) {
			extra = append(extra, u)
		}
	}
	if len(extra) > 0 || len(issued.UnknownExtKeyUsage) > 0 {
		names := extKeyUsageNames(extra)
		for _, oid := range issued.UnknownExtKeyUsage {
			if names != "" {
				names += ", "
			}
			names += oid.String()
		}
		errs = append(errs, forbidden(base.Child("extKeyUsage"), names,
			"the certificate has extended key usages [%s] that the policy does not allow", names))
	}
	return errs
}

// verifySubjectAltNames requires every SAN of the certificate to be one the
// CSR asked for (and Evaluate validated). Vault adds the common name as a DNS
// SAN unless exclude_cn_from_sans is set; such an addition is reported here.
func verifySubjectAltNames(path *field.Path, d Decision, issued *x509.Certificate) field.ErrorList {
	var errs field.ErrorList
	for _, name := range issued.DNSNames {
		if !slices.ContainsFunc(d.CSR.DNSNames, func(s string) bool { return strings.EqualFold(s, name) }) {
			errs = append(errs, forbidden(path.Child("dnsNames"), name, "the certificate has DNS name %s, which the CSR did not request", quote(name)))
		}
	}
	for _, email := range issued.EmailAddresses {
		if !slices.Contains(d.CSR.EmailAddresses, email) {
			errs = append(errs, forbidden(path.Child("emailAddresses"), email, "the certificate has email address %s, which the CSR did not request", quote(email)))
		}
	}
	for _, ip := range issued.IPAddresses {
		if !slices.ContainsFunc(d.CSR.IPAddresses, func(c net.IP) bool { return c.Equal(ip) }) {
			errs = append(errs, forbidden(path.Child("ipAddresses"), ip.String(), "the certificate has IP address %s, which the CSR did not request", ip))
		}
	}
	for _, uri := range issued.URIs {
		s := uri.String()
		if !slices.ContainsFunc(d.CSR.URIs, func(c *url.URL) bool { return c.String() == s }) {
			errs = append(errs, forbidden(path.Child("uris"), s, "the certificate has URI %s, which the CSR did not request", quote(s)))
		}
	}
	// Go's parser surfaces the four kinds above only; any other kind in the
	// extension was not requested (the CSR's are denied).
	for _, ext := range issued.Extensions {
		if !isSANExtension(ext.Id) {
			continue
		}
		gns, err := pki.UnmarshalSANs(ext.Value)
		if err != nil {
			errs = append(errs, invalid(path, nil, "the certificate's subjectAltName extension does not parse: %v", err))
			continue
		}
		if n := len(gns.OtherNames) + len(gns.X400Addresses) + len(gns.DirectoryNames) + len(gns.EDIPartyNames) + len(gns.RegisteredIDs); n > 0 {
			errs = append(errs, forbidden(path, n, "the certificate has %d subject alternative names of kinds that cannot be requested", n))
		}
	}
	return errs
}

// verifyNameConstraints requires the certificate's DNS name constraints to
// be the policy's, as sets, and no other kind of name constraint.
func verifyNameConstraints(path *field.Path, pol *v1alpha1.IntermediatePolicy, issued *x509.Certificate) field.ErrorList {
	var permitted, excluded []string
	if nc := pol.NameConstraints; nc != nil {
		permitted, excluded = nc.PermittedDNSDomains, nc.ExcludedDNSDomains
	}
	var errs field.ErrorList
	if !sameSet(permitted, issued.PermittedDNSDomains) {
		errs = append(errs, forbidden(path.Child("permittedDNSDomains"), issued.PermittedDNSDomains,
			"the certificate permits DNS domains [%s]; the policy [%s]", quoteList(issued.PermittedDNSDomains), quoteList(permitted)))
	}
	if !sameSet(excluded, issued.ExcludedDNSDomains) {
		errs = append(errs, forbidden(path.Child("excludedDNSDomains"), issued.ExcludedDNSDomains,
			"the certificate excludes DNS domains [%s]; the policy [%s]", quoteList(issued.ExcludedDNSDomains), quoteList(excluded)))
	}
	if len(issued.PermittedIPRanges)+len(issued.ExcludedIPRanges)+len(issued.PermittedEmailAddresses)+
		len(issued.ExcludedEmailAddresses)+len(issued.PermittedURIDomains)+len(issued.ExcludedURIDomains) > 0 {
		errs = append(errs, forbidden(path, nil, "the certificate has IP, email or URI name constraints, which the policy does not set"))
	}
	return errs
}

// sameSet compares two lists as sets, DNS names case-insensitively.
func sameSet(a, b []string) bool {
	contains := func(list []string, s string) bool {
		return slices.ContainsFunc(list, func(e string) bool { return strings.EqualFold(e, s) })
	}
	for _, s := range a {
		if !contains(b, s) {
			return false
		}
	}
	for _, s := range b {
		if !contains(a, s) {
			return false
		}
	}
	return true
}

// verifyValidity checks NotAfter: not shorter than duration.min (Vault caps a
// TTL at its mount's maximum without failing), not longer than requested,
// and not after the issuing CA's own NotAfter (Vault issues past it with a
// warning only).
func verifyValidity(base *field.Path, pol *v1alpha1.IntermediatePolicy, d Decision, issued, issuingCA *x509.Certificate, now time.Time) field.ErrorList {
	path := base.Child("notAfter")
	notAfter := issued.NotAfter
	var errs field.ErrorList
	if earliest := now.Add(pol.Duration.Min.Duration - clockSkew); notAfter.Before(earliest) {
		errs = append(errs, forbidden(path, notAfter.UTC().Format(time.RFC3339),
			"the certificate expires at %s, %s from now, shorter than the policy's minimum duration %s (Vault's mount maximum TTL may have shortened it)",
			notAfter.UTC().Format(time.RFC3339), notAfter.Sub(now).Round(time.Second), pol.Duration.Min.Duration))
	}
	if latest := now.Add(d.Duration + clockSkew); notAfter.After(latest) {
		errs = append(errs, forbidden(path, notAfter.UTC().Format(time.RFC3339),
			"the certificate expires at %s, %s from now, longer than the %s requested",
			notAfter.UTC().Format(time.RFC3339), notAfter.Sub(now).Round(time.Second), d.Duration))
	}
	if issuingCA != nil && notAfter.After(issuingCA.NotAfter) {
		errs = append(errs, forbidden(path, notAfter.UTC().Format(time.RFC3339),
			"the certificate expires at %s, after its issuing CA (%s)", notAfter.UTC().Format(time.RFC3339), issuingCA.NotAfter.UTC().Format(time.RFC3339)))
	}
	if issued.NotBefore.After(now.Add(clockSkew)) {
		errs = append(errs, forbidden(base.Child("notBefore"), issued.NotBefore.UTC().Format(time.RFC3339),
			"the certificate is not valid before %s, in the future", issued.NotBefore.UTC().Format(time.RFC3339)))
	}
	return errs
}

func verifyIssuer(path *field.Path, issued, issuingCA *x509.Certificate) field.ErrorList {
	if !bytes.Equal(issued.RawIssuer, issuingCA.RawSubject) {
		return field.ErrorList{forbidden(path, issued.Issuer.String(),
			"the certificate's issuer %s is not the issuing CA %s", quote(issued.Issuer.String()), quote(issuingCA.Subject.String()))}
	}
	if err := issued.CheckSignatureFrom(issuingCA); err != nil {
		return field.ErrorList{forbidden(path, issued.Issuer.String(), "the certificate is not signed by the issuing CA: %v", err)}
	}
	return nil
}
