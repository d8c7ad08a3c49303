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
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// Validate checks what the CRD schema cannot express (malformed globs, IP
// ranges, key usages of the wrong kind), and repeats the schema's own rules,
// because a policy read from a manifest by the policy check command never
// went through an API server. It validates the defaulted policy, so a
// default that conflicts with an explicit value (minRSASize 10000 against the
// default maxRSASize 8192) is reported too. An issuer whose policy does not
// validate is not Ready (reason PolicyInvalid), and Evaluate denies every
// request under it.
func Validate(p *v1alpha1.IntermediatePolicy) field.ErrorList {
	if p == nil {
		return field.ErrorList{violation(field.ErrorTypeRequired, field.NewPath("policy"), nil, "the issuer has no policy")}
	}
	pol := Default(p)
	var errs field.ErrorList
	errs = append(errs, validateNamespaces(field.NewPath("allowedNamespaces"), pol.AllowedNamespaces)...)
	errs = append(errs, validateRequesters(field.NewPath("requesters"), pol.Requesters)...)
	if pol.AllowCertificateSigningRequests && pol.Requesters == nil {
		errs = append(errs, violation(field.ErrorTypeRequired, field.NewPath("requesters"), nil,
			"allowCertificateSigningRequests needs requesters: a Kubernetes CertificateSigningRequest is cluster-scoped, so allowedNamespaces cannot limit it and the requester rules are its gate"))
	}
	errs = append(errs, validateSubject(field.NewPath("subject"), &pol.Subject)...)
	errs = append(errs, validateSubjectAltNames(field.NewPath("subjectAltNames"), pol.SubjectAltNames)...)
	errs = append(errs, validateDuration(field.NewPath("duration"), pol.Duration)...)
	errs = append(errs, validateKeyUsages(field.NewPath("keyUsages", "allowed"), pol.KeyUsages.Allowed, false)...)
	errs = append(errs, validateKeyUsages(field.NewPath("keyUsages", "required"), pol.KeyUsages.Required, false)...)
	errs = append(errs, validateKeyUsages(field.NewPath("extKeyUsages", "allowed"), pol.ExtKeyUsages.Allowed, true)...)
	errs = append(errs, validatePrivateKey(field.NewPath("privateKey"), pol.PrivateKey)...)
	if n := *pol.MaxPathLength; n < 0 || n > 8 {
		errs = append(errs, invalid(field.NewPath("maxPathLength"), n, "%d is outside 0 to 8", n))
	}
	if nc := pol.NameConstraints; nc != nil {
		base := field.NewPath("nameConstraints")
		errs = append(errs, validateDomains(base.Child("permittedDNSDomains"), nc.PermittedDNSDomains)...)
		errs = append(errs, validateDomains(base.Child("excludedDNSDomains"), nc.ExcludedDNSDomains)...)
		for i, d := range nc.ExcludedDNSDomains {
			if slices.Contains(nc.PermittedDNSDomains, d) {
				errs = append(errs, invalid(base.Child("excludedDNSDomains").Index(i), d, "%s is both permitted and excluded", quote(d)))
			}
		}
	}
	return errs
}

// duplicates reports entries of a set-list that appear more than once.
func duplicates[T ~string](path *field.Path, values []T) field.ErrorList {
	var errs field.ErrorList
	for i, v := range values {
		if slices.Index(values, v) < i {
			errs = append(errs, violation(field.ErrorTypeDuplicate, path.Index(i), string(v), "%s is listed more than once", quote(string(v))))
		}
	}
	return errs
}

func validateNamespaces(path *field.Path, namespaces []string) field.ErrorList {
	if len(namespaces) == 0 {
		return field.ErrorList{violation(field.ErrorTypeRequired, path, nil,
			"no namespace is listed, so no request can be allowed; list at least one namespace")}
	}
	errs := duplicates(path, namespaces)
	for i, ns := range namespaces {
		if !isDNSLabel(ns) {
			errs = append(errs, invalid(path.Index(i), ns,
				"%s is not a namespace name (lower-case letters, digits and hyphens, at most 63 characters; exact names, no wildcards)", quote(ns)))
		}
	}
	return errs
}

// validateRequesters repeats the schema's rules for requesters.
func validateRequesters(path *field.Path, rp *v1alpha1.RequesterPolicy) field.ErrorList {
	if rp == nil {
		return nil
	}
	if len(rp.Usernames) == 0 && len(rp.Groups) == 0 && len(rp.ServiceAccounts) == 0 {
		return field.ErrorList{violation(field.ErrorTypeRequired, path, nil,
			"requesters must name at least one username, group or ServiceAccount; leave requesters out to allow any requester")}
	}
	var errs field.ErrorList
	errs = append(errs, duplicates(path.Child("usernames"), rp.Usernames)...)
	errs = append(errs, duplicates(path.Child("groups"), rp.Groups)...)
	for i, u := range rp.Usernames {
		if u == "" || len(u) > 253 || hasControl(u) {
			errs = append(errs, invalid(path.Child("usernames").Index(i), u, "%s is not a user name (1 to 253 characters, no control characters)", quote(u)))
		}
	}
	for i, g := range rp.Groups {
		switch {
		case g == "system:authenticated" || g == "system:unauthenticated":
			errs = append(errs, forbidden(path.Child("groups").Index(i), g,
				"%s would allow anybody; name the users, groups or ServiceAccounts that may ask", quote(g)))
		case g == "" || len(g) > 253 || hasControl(g):
			errs = append(errs, invalid(path.Child("groups").Index(i), g, "%s is not a group name (1 to 253 characters, no control characters)", quote(g)))
		}
	}
	seen := map[v1alpha1.ServiceAccountReference]bool{}
	for i, sa := range rp.ServiceAccounts {
		p := path.Child("serviceAccounts").Index(i)
		if !isDNSLabel(sa.Namespace) {
			errs = append(errs, invalid(p.Child("namespace"), sa.Namespace, "%s is not a namespace name", quote(sa.Namespace)))
		}
		if !isDNSSubdomain(sa.Name) {
			errs = append(errs, invalid(p.Child("name"), sa.Name, "%s is not a ServiceAccount name", quote(sa.Name)))
		}
		if seen[sa] {
			errs = append(errs, violation(field.ErrorTypeDuplicate, p, sa.Namespace+"/"+sa.Name, "%s is listed more than once", quote(sa.Namespace+"/"+sa.Name)))
		}
		seen[sa] = true
	}
	return errs
}

// isDNSSubdomain reports whether s is an RFC 1123 subdomain, the form of a
// ServiceAccount name.
func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !isDNSLabel(label) {
			return false
		}
	}
	return true
}

// isDNSLabel reports whether s is an RFC 1123 label, the form of a namespace
// name.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validateSubject(base *field.Path, s *v1alpha1.SubjectPolicy) field.ErrorList {
	var errs field.ErrorList
	for attr := range numAttrs {
		vp := attrPolicy(s, attr)
		if vp == nil {
			continue
		}
		path := base.Child(attrName(attr))
		for _, list := range []struct {
			name    string
			entries []string
		}{{"required", vp.Required}, {"allowed", vp.Allowed}} {
			lp := path.Child(list.name)
			errs = append(errs, duplicates(lp, list.entries)...)
			for i, e := range list.entries {
				errs = append(errs, validateSubjectEntry(lp.Index(i), attr, e)...)
			}
		}
	}
	return errs
}

func validateSubjectEntry(path *field.Path, attr int, e string) field.ErrorList {
	if e == "" {
		return field.ErrorList{invalid(path, e, "an entry must not be empty")}
	}
	if !utf8.ValidString(e) {
		return field.ErrorList{invalid(path, e, "%s is not valid UTF-8", quote(e))}
	}
	if hasControl(e) {
		return field.ErrorList{invalid(path, e, "%s contains a control character", quote(e))}
	}
	if strings.IndexByte(e, '*') >= 0 {
		return nil
	}
	// A literal entry that no valid value can equal is a typo, not a rule.
	n := utf8.RuneCountInString(e)
	if n > attrMaxLength(attr) {
		return field.ErrorList{invalid(path, e, "%s is %d characters long and can never match: subject.%s values are at most %d characters",
			quote(e), n, attrName(attr), attrMaxLength(attr))}
	}
	if attr == attrCountries && n != 2 {
		return field.ErrorList{invalid(path, e, "%s can never match: a country is a two-letter code such as \"AM\"", quote(e))}
	}
	return nil
}

// hasControl reports whether s contains a C0 or C1 control character or DEL.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return true
		}
	}
	return false
}

func validateSubjectAltNames(base *field.Path, s v1alpha1.SubjectAltNamesPolicy) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateEntries(base.Child("dnsNames"), s.DNSNames, func(e string) string {
		if problem := dnsPatternProblem(e); problem != "" {
			return fmt.Sprintf("DNS pattern %s %s", quote(e), problem)
		}
		return ""
	})...)
	errs = append(errs, validateEntries(base.Child("uris"), s.URIs, func(e string) string {
		switch {
		case e == "":
			return "an entry must not be empty"
		case len(e) > maxURILength:
			return fmt.Sprintf("URI pattern %s is longer than %d characters", quote(e), maxURILength)
		case hasControl(e) || strings.ContainsAny(e, ", \t"):
			return fmt.Sprintf("URI pattern %s contains white space, a comma or a control character", quote(e))
		case strings.IndexByte(e, '*') < 0:
			if u, err := url.Parse(e); err != nil || u.Scheme == "" || u.String() != e {
				return fmt.Sprintf("URI %s is not an absolute URI in canonical form, such as \"spiffe://cluster.local\"", quote(e))
			}
		}
		return ""
	})...)
	errs = append(errs, validateEntries(base.Child("ipAddresses"), s.IPAddresses, func(e string) string {
		if problem := ipEntryProblem(e); problem != "" {
			return quote(e) + " " + problem
		}
		return ""
	})...)
	errs = append(errs, validateEntries(base.Child("emailAddresses"), s.EmailAddresses, func(e string) string {
		switch {
		case e == "":
			return "an entry must not be empty"
		case len(e) > maxEmailLength:
			return fmt.Sprintf("email pattern %s is longer than %d characters", quote(e), maxEmailLength)
		case strings.IndexByte(e, '*') < 0 && emailProblem(e) != "":
			return fmt.Sprintf("email address %s %s", quote(e), emailProblem(e))
		case strings.ContainsAny(e, ", \t") || hasControl(e):
			return fmt.Sprintf("email pattern %s contains white space, a comma or a control character", quote(e))
		}
		return ""
	})...)
	return errs
}

// validateEntries reports duplicated entries of one SAN kind and every entry
// for which problem returns a description.
func validateEntries(path *field.Path, entries []string, problem func(string) string) field.ErrorList {
	errs := duplicates(path, entries)
	for i, e := range entries {
		if p := problem(e); p != "" {
			errs = append(errs, invalid(path.Index(i), e, "%s", p))
		}
	}
	return errs
}

// ipEntryProblem says what is wrong with an IP address or CIDR entry, or "".
func ipEntryProblem(e string) string {
	if strings.IndexByte(e, '/') >= 0 {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return "is not an IP address or CIDR range, such as \"10.0.0.1\" or \"10.0.0.0/8\""
		}
		if p.Masked() != p {
			return "has bits set after its prefix length; did you mean " + quote(p.Masked().String()) + "?"
		}
		if p.Addr().Is4In6() && p.Bits() < 96 {
			return "is an IPv4-mapped range shorter than /96"
		}
		return ""
	}
	a, err := netip.ParseAddr(e)
	if err != nil {
		return "is not an IP address or CIDR range, such as \"10.0.0.1\" or \"10.0.0.0/8\""
	}
	if a.Zone() != "" {
		return "has an IPv6 zone, which a certificate cannot carry"
	}
	return ""
}

func validateDuration(base *field.Path, d v1alpha1.DurationPolicy) field.ErrorList {
	var errs field.ErrorList
	if d.Min.Duration <= 0 {
		errs = append(errs, invalid(base.Child("min"), d.Min.Duration.String(), "min %s must be greater than zero", d.Min.Duration))
	}
	if d.Max.Duration <= 0 {
		errs = append(errs, invalid(base.Child("max"), d.Max.Duration.String(), "max %s must be greater than zero", d.Max.Duration))
	}
	if d.Min.Duration > d.Max.Duration {
		errs = append(errs, invalid(base.Child("min"), d.Min.Duration.String(), "min %s is greater than max %s", d.Min.Duration, d.Max.Duration))
	}
	if d.Default != nil && (d.Default.Duration < d.Min.Duration || d.Default.Duration > d.Max.Duration || d.Default.Duration <= 0) {
		errs = append(errs, invalid(base.Child("default"), d.Default.Duration.String(),
			"default %s must lie between min %s and max %s", d.Default.Duration, d.Min.Duration, d.Max.Duration))
	}
	return errs
}

// validateKeyUsages checks that every entry is a usage cert-manager knows and
// of the right kind: key usages in keyUsages, extended ones in extKeyUsages.
func validateKeyUsages(path *field.Path, usages []cmapi.KeyUsage, extended bool) field.ErrorList {
	errs := duplicates(path, usages)
	for i, u := range usages {
		_, isKU := apiutil.KeyUsageType(u)
		_, isEKU := apiutil.ExtKeyUsageType(u)
		switch {
		case !isKU && !isEKU:
			errs = append(errs, violation(field.ErrorTypeNotSupported, path.Index(i), string(u),
				"%s is not a usage cert-manager knows", quote(string(u))))
		case extended && !isEKU:
			errs = append(errs, invalid(path.Index(i), string(u),
				"%s is a key usage, not an extended key usage; list it in keyUsages", quote(string(u))))
		case !extended && !isKU:
			errs = append(errs, invalid(path.Index(i), string(u),
				"%s is an extended key usage, not a key usage; list it in extKeyUsages.allowed", quote(string(u))))
		}
	}
	return errs
}

func validatePrivateKey(base *field.Path, k v1alpha1.PrivateKeyPolicy) field.ErrorList {
	path := base.Child("algorithms")
	errs := duplicates(path, k.Algorithms)
	if len(k.Algorithms) == 0 {
		errs = append(errs, violation(field.ErrorTypeRequired, path, nil, "no key algorithm is allowed, so no request can be allowed"))
	}
	for i, a := range k.Algorithms {
		switch a {
		case v1alpha1.RSAKeyAlgorithm, v1alpha1.ECDSAKeyAlgorithm, v1alpha1.Ed25519KeyAlgorithm:
		default:
			errs = append(errs, violation(field.ErrorTypeNotSupported, path.Index(i), string(a),
				"%s is not a key algorithm (supported: \"RSA\", \"ECDSA\", \"Ed25519\")", quote(string(a))))
		}
	}
	minSize, maxSize := *k.MinRSASize, *k.MaxRSASize
	if minSize < 2048 || minSize > 16384 {
		errs = append(errs, invalid(base.Child("minRSASize"), minSize, "%d is outside 2048 to 16384", minSize))
	}
	if maxSize < 2048 || maxSize > 16384 {
		errs = append(errs, invalid(base.Child("maxRSASize"), maxSize, "%d is outside 2048 to 16384", maxSize))
	}
	if minSize > maxSize {
		errs = append(errs, invalid(base.Child("minRSASize"), minSize, "minRSASize %d is greater than maxRSASize %d", minSize, maxSize))
	}
	path = base.Child("ecdsaCurves")
	errs = append(errs, duplicates(path, k.ECDSACurves)...)
	for i, c := range k.ECDSACurves {
		switch c {
		case v1alpha1.CurveP256, v1alpha1.CurveP384, v1alpha1.CurveP521:
		default:
			errs = append(errs, violation(field.ErrorTypeNotSupported, path.Index(i), string(c),
				"%s is not a curve (supported: \"P-256\", \"P-384\", \"P-521\")", quote(string(c))))
		}
	}
	if len(k.ECDSACurves) == 0 && slices.Contains(k.Algorithms, v1alpha1.ECDSAKeyAlgorithm) {
		errs = append(errs, violation(field.ErrorTypeRequired, path, nil, "ECDSA keys are allowed but no curve is"))
	}
	return errs
}

func validateDomains(path *field.Path, domains []string) field.ErrorList {
	errs := duplicates(path, domains)
	for i, d := range domains {
		if problem := domainProblem(d); problem != "" {
			errs = append(errs, invalid(path.Index(i), d, "domain %s %s", quote(d), problem))
		}
	}
	return errs
}
