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
	"fmt"
	"slices"
	"strings"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// evaluateExtensions checks the extensions the CSR requests. Vault is
// called with use_csr_values=false and takes none of them, but a CSR that
// asks for something else than the request (other usages, a CA flag the
// request does not have, a longer path) is a request this issuer does not
// understand, and is denied. cert-manager writes keyUsage and extKeyUsage
// (and, behind a feature gate, basicConstraints) from the request, so the
// CSRs it generates agree by construction.
func evaluateExtensions(pol *v1alpha1.IntermediatePolicy, req Request, csr *x509.CertificateRequest, ru requestedUsages) field.ErrorList {
	base := field.NewPath("csr", "extensions")
	var errs field.ErrorList
	seen := make(map[string]struct{}, len(csr.Extensions))
	r := reporter{path: base, what: "extensions"}
	for _, ext := range csr.Extensions {
		id := ext.Id.String()
		if _, dup := seen[id]; dup {
			r.add(invalid(base, id, "the CSR requests extension %s more than once", id))
			continue
		}
		seen[id] = struct{}{}
		switch {
		case isSANExtension(ext.Id):
			// Judged by evaluateSubjectAltNames.
		case isOID(ext.Id, 2, 5, 29, 15):
			errs = append(errs, evaluateKeyUsageExtension(base.Child("keyUsage"), ext.Value, ru)...)
		case isOID(ext.Id, 2, 5, 29, 37):
			errs = append(errs, evaluateExtKeyUsageExtension(base.Child("extKeyUsage"), ext.Value, ru)...)
		case isOID(ext.Id, 2, 5, 29, 19):
			errs = append(errs, evaluateBasicConstraintsExtension(base.Child("basicConstraints"), ext.Value, req, int(*pol.MaxPathLength))...)
		default:
			name := id
			if known := knownExtensionName(ext.Id); known != "" {
				name = fmt.Sprintf("%s (%s)", id, known)
			}
			r.add(forbidden(base, id,
				"the CSR requests extension %s, which is not accepted: only subjectAltName, keyUsage, extKeyUsage and basicConstraints may be requested", name))
		}
	}
	return append(r.result(), errs...)
}

func evaluateKeyUsageExtension(path *field.Path, value []byte, ru requestedUsages) field.ErrorList {
	bits, err := pki.UnmarshalKeyUsage(value)
	if err != nil {
		return field.ErrorList{invalid(path, nil, "the CSR's keyUsage extension does not parse: %v", err)}
	}
	if bits != ru.keyUsage {
		return field.ErrorList{forbidden(path, keyUsageNames(bits),
			"the CSR asks for key usages [%s] but the request for [%s]; they must agree",
			keyUsageNames(bits), keyUsageNames(ru.keyUsage))}
	}
	return nil
}

func evaluateExtKeyUsageExtension(path *field.Path, value []byte, ru requestedUsages) field.ErrorList {
	ekus, unknown, err := pki.UnmarshalExtKeyUsage(value)
	if err != nil {
		return field.ErrorList{invalid(path, nil, "the CSR's extKeyUsage extension does not parse: %v", err)}
	}
	if len(unknown) == 0 && sameExtKeyUsages(ekus, ru.extKeyUsage) {
		return nil
	}
	seen := extKeyUsageNames(ekus)
	for _, oid := range unknown {
		if seen != "" {
			seen += ", "
		}
		seen += oid.String()
	}
	return field.ErrorList{forbidden(path, seen,
		"the CSR asks for extended key usages [%s] but the request for [%s]; they must agree",
		seen, extKeyUsageNames(ru.extKeyUsage))}
}

func evaluateBasicConstraintsExtension(path *field.Path, value []byte, req Request, maxPathLength int) field.ErrorList {
	isCA, pathLen, err := pki.UnmarshalBasicConstraints(value)
	if err != nil {
		return field.ErrorList{invalid(path, nil, "the CSR's basicConstraints extension does not parse: %v", err)}
	}
	var errs field.ErrorList
	if isCA != req.IsCA {
		errs = append(errs, forbidden(path, isCA, "the CSR's basicConstraints say CA=%t but the request has isCA=%t", isCA, req.IsCA))
	}
	if pathLen != nil && *pathLen > maxPathLength {
		errs = append(errs, forbidden(field.NewPath("maxPathLength"), *pathLen,
			"the CSR asks for path length %d; at most %d is allowed", *pathLen, maxPathLength))
	}
	return errs
}

// sameExtKeyUsages compares two lists of extended key usages as sets.
func sameExtKeyUsages(a, b []x509.ExtKeyUsage) bool {
	for _, u := range a {
		if !slices.Contains(b, u) {
			return false
		}
	}
	for _, u := range b {
		if !slices.Contains(a, u) {
			return false
		}
	}
	return true
}

// keyUsageNames renders key usage bits with cert-manager's names.
func keyUsageNames(bits x509.KeyUsage) string {
	names := make([]string, 0, 9)
	for _, u := range apiutil.KeyUsageStrings(bits) {
		names = append(names, string(u))
	}
	return strings.Join(names, ", ")
}

// extKeyUsageNames renders extended key usages with cert-manager's names.
func extKeyUsageNames(ekus []x509.ExtKeyUsage) string {
	names := make([]string, 0, len(ekus))
	for _, u := range apiutil.ExtKeyUsageStrings(ekus) {
		names = append(names, string(u))
	}
	return strings.Join(names, ", ")
}

// knownExtensionName names extensions that CSRs sometimes carry, so that a
// denial message says more than an OID.
func knownExtensionName(oid asn1.ObjectIdentifier) string {
	switch oid.String() {
	case "2.5.29.14":
		return "subjectKeyIdentifier"
	case "2.5.29.30":
		return "nameConstraints; name constraints come from the policy"
	case "2.5.29.32":
		return "certificatePolicies"
	case "2.5.29.35":
		return "authorityKeyIdentifier"
	case "2.5.29.31":
		return "cRLDistributionPoints"
	case "1.3.6.1.5.5.7.1.1":
		return "authorityInfoAccess"
	case "1.3.6.1.5.5.7.1.24":
		return "TLS feature (OCSP must-staple)"
	}
	return ""
}
