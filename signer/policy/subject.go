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
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// The subject attributes a policy can constrain, in the order of
// SubjectPolicy.
const (
	attrCommonName = iota
	attrOrganizations
	attrOrganizationalUnits
	attrCountries
	attrLocalities
	attrProvinces
	attrStreetAddresses
	attrPostalCodes
	attrSerialNumber
	numAttrs
)

// subjectAttribute returns the attribute of an X.520 attribute type OID, or
// -1 for every other type.
func subjectAttribute(oid asn1.ObjectIdentifier) int {
	if len(oid) != 4 || oid[0] != 2 || oid[1] != 5 || oid[2] != 4 {
		return -1
	}
	switch oid[3] {
	case 3:
		return attrCommonName
	case 10:
		return attrOrganizations
	case 11:
		return attrOrganizationalUnits
	case 6:
		return attrCountries
	case 7:
		return attrLocalities
	case 8:
		return attrProvinces
	case 9:
		return attrStreetAddresses
	case 17:
		return attrPostalCodes
	case 5:
		return attrSerialNumber
	}
	return -1
}

// attrName is the policy field name of an attribute.
func attrName(attr int) string {
	return [numAttrs]string{
		"commonName", "organizations", "organizationalUnits", "countries", "localities",
		"provinces", "streetAddresses", "postalCodes", "serialNumber",
	}[attr]
}

// attrMaxLength is the upper bound of an attribute's length in characters,
// from RFC 5280 Appendix A (X.520 for the street address). A country is
// exactly two characters.
func attrMaxLength(attr int) int {
	return [numAttrs]int{64, 64, 64, 2, 128, 128, 128, 40, 64}[attr]
}

// attrPolicy is the policy of an attribute; nil means it must be absent.
func attrPolicy(s *v1alpha1.SubjectPolicy, attr int) *v1alpha1.ValuePolicy {
	switch attr {
	case attrCommonName:
		return s.CommonName
	case attrOrganizations:
		return s.Organizations
	case attrOrganizationalUnits:
		return s.OrganizationalUnits
	case attrCountries:
		return s.Countries
	case attrLocalities:
		return s.Localities
	case attrProvinces:
		return s.Provinces
	case attrStreetAddresses:
		return s.StreetAddresses
	case attrPostalCodes:
		return s.PostalCodes
	case attrSerialNumber:
		return s.SerialNumber
	}
	return nil
}

// knownAttributeName names a few attribute types that CSRs carry and this
// issuer denies, so that a denial message says more than an OID.
func knownAttributeName(oid asn1.ObjectIdentifier) string {
	switch oid.String() {
	case "1.2.840.113549.1.9.1":
		return "emailAddress"
	case "0.9.2342.19200300.100.1.25":
		return "domainComponent"
	case "0.9.2342.19200300.100.1.1":
		return "userId"
	case "2.5.4.4":
		return "surname"
	case "2.5.4.12":
		return "title"
	case "2.5.4.42":
		return "givenName"
	case "2.5.4.46":
		return "dnQualifier"
	case "2.5.4.65":
		return "pseudonym"
	case "2.5.4.97":
		return "organizationIdentifier"
	}
	return ""
}

// maxReported caps how many violations one rule reports for the values of
// one list (subject values, SANs of one kind); the rest are summarised in
// one more violation.
const maxReported = 16

// reporter collects violations for one list, capped at maxReported.
type reporter struct {
	path    *field.Path
	what    string
	errs    field.ErrorList
	dropped int
}

func (r *reporter) add(err *field.Error) {
	if len(r.errs) >= maxReported {
		r.dropped++
		return
	}
	r.errs = append(r.errs, err)
}

func (r *reporter) result() field.ErrorList {
	if r.dropped > 0 {
		r.errs = append(r.errs, forbidden(r.path, nil, "%d more %s are not allowed (not listed)", r.dropped, r.what))
	}
	return r.errs
}

// evaluateSubject reads the subject from the CSR's raw attribute list, so
// that repeated attributes and unknown types are visible, and checks every
// attribute against its ValuePolicy. It returns the subject Vault must put
// into the certificate.
func evaluateSubject(pol *v1alpha1.IntermediatePolicy, csr *x509.CertificateRequest) (pkix.Name, field.ErrorList) {
	base := field.NewPath("subject")
	var values [numAttrs][]string
	unknown := reporter{path: base, what: "subject attributes"}
	malformed := reporter{path: base, what: "malformed subject values"}
	for _, atv := range csr.Subject.Names {
		attr := subjectAttribute(atv.Type)
		if attr < 0 {
			name := atv.Type.String()
			if known := knownAttributeName(atv.Type); known != "" {
				name = fmt.Sprintf("%s (%s)", atv.Type, known)
			}
			unknown.add(forbidden(base, atv.Type.String(),
				"the CSR's subject has attribute %s, which is not allowed: only commonName, organizations, organizationalUnits, countries, localities, provinces, streetAddresses, postalCodes and serialNumber can be requested",
				name))
			continue
		}
		path := base.Child(attrName(attr))
		s, ok := atv.Value.(string)
		if !ok {
			malformed.add(invalid(path, nil, "the CSR's %s value is not a string", attrName(attr)))
			continue
		}
		problem := subjectValueProblem(s, attrMaxLength(attr))
		if problem == "" && attr == attrCountries && utf8.RuneCountInString(s) != 2 {
			problem = "is not a two-letter country code"
		}
		if problem != "" {
			malformed.add(invalid(path, s, "%s %s", quote(s), problem))
			continue
		}
		values[attr] = append(values[attr], s)
	}
	errs := append(unknown.result(), malformed.result()...)
	for attr := range numAttrs {
		errs = append(errs, evaluateValues(base.Child(attrName(attr)), attr, attrPolicy(&pol.Subject, attr), values[attr])...)
	}
	name := pkix.Name{
		Organization:       values[attrOrganizations],
		OrganizationalUnit: values[attrOrganizationalUnits],
		Country:            values[attrCountries],
		Locality:           values[attrLocalities],
		Province:           values[attrProvinces],
		StreetAddress:      values[attrStreetAddresses],
		PostalCode:         values[attrPostalCodes],
	}
	if v := values[attrCommonName]; len(v) > 0 {
		name.CommonName = v[0]
	}
	if v := values[attrSerialNumber]; len(v) > 0 {
		name.SerialNumber = v[0]
	}
	return name, errs
}

// evaluateValues checks the values of one subject attribute.
func evaluateValues(path *field.Path, attr int, vp *v1alpha1.ValuePolicy, values []string) field.ErrorList {
	name := attrName(attr)
	r := reporter{path: path, what: name + " values"}
	if vp == nil {
		for _, v := range values {
			r.add(forbidden(path, v, "%s is not allowed: the policy does not mention subject.%s, so the CSR must not carry it", quote(v), name))
		}
		return r.result()
	}
	if (attr == attrCommonName || attr == attrSerialNumber) && len(values) > 1 {
		r.add(forbidden(path, len(values), "the CSR has %d %s values; a certificate carries at most one", len(values), name))
	}
	seen := make(map[string]struct{}, len(values))
	for _, v := range values {
		if _, dup := seen[v]; dup {
			r.add(forbidden(path, v, "%s appears more than once in the CSR's subject", quote(v)))
			continue
		}
		seen[v] = struct{}{}
		if !matchAny(vp.Required, v) && !matchAny(vp.Allowed, v) {
			r.add(forbidden(path, v, "%s is not allowed (allowed: %s)", quote(v), quoteList(append(slices.Clip(vp.Required), vp.Allowed...))))
		}
	}
	for _, req := range vp.Required {
		if !slices.ContainsFunc(values, func(v string) bool { return globMatch(req, v) }) {
			r.add(violation(field.ErrorTypeRequired, path, req, "%s is required but the CSR's subject does not carry it", quote(req)))
		}
	}
	return r.result()
}

// subjectValueProblem says what is wrong with a subject value, or "" if
// nothing is: it must be valid UTF-8, non-empty, free of control characters
// (NUL included) and within the attribute's length bound.
func subjectValueProblem(s string, maxLength int) string {
	if s == "" {
		return "is empty"
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return "contains a control character"
		}
	}
	if n := utf8.RuneCountInString(s); n > maxLength {
		return fmt.Sprintf("is %d characters long; at most %d are allowed", n, maxLength)
	}
	return ""
}
