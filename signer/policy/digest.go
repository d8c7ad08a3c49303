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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// Digest returns "sha256:<hex>" of the canonical form of the policy: the
// defaulted policy with every set-list sorted, serialised as JSON. Two
// policies that differ only in the order of set-lists, or in whether a
// default is written out, have the same digest; any change of meaning changes
// it. Only the policy enters it, never the issuer's metadata or Vault
// connection, so auditors can prove which rules allowed a certificate.
func Digest(p *v1alpha1.IntermediatePolicy) string {
	c := canonical(p)
	// Marshalling plain structs of strings, numbers and durations cannot
	// fail.
	data, _ := json.Marshal(c)
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// canonical is the defaulted policy with every set-list sorted.
func canonical(p *v1alpha1.IntermediatePolicy) *v1alpha1.IntermediatePolicy {
	c := Default(p)
	slices.Sort(c.AllowedNamespaces)
	if rp := c.Requesters; rp != nil {
		slices.Sort(rp.Usernames)
		slices.Sort(rp.Groups)
		slices.SortFunc(rp.ServiceAccounts, func(a, b v1alpha1.ServiceAccountReference) int {
			return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
		})
	}
	for attr := range numAttrs {
		if vp := attrPolicy(&c.Subject, attr); vp != nil {
			slices.Sort(vp.Required)
			slices.Sort(vp.Allowed)
		}
	}
	// An attribute policy without entries allows no value, exactly like an
	// absent one.
	s := &c.Subject
	for _, vp := range []**v1alpha1.ValuePolicy{
		&s.CommonName, &s.Organizations, &s.OrganizationalUnits, &s.Countries, &s.Localities,
		&s.Provinces, &s.StreetAddresses, &s.PostalCodes, &s.SerialNumber,
	} {
		if *vp != nil && len((*vp).Required) == 0 && len((*vp).Allowed) == 0 {
			*vp = nil
		}
	}
	slices.Sort(c.SubjectAltNames.DNSNames)
	slices.Sort(c.SubjectAltNames.URIs)
	slices.Sort(c.SubjectAltNames.IPAddresses)
	slices.Sort(c.SubjectAltNames.EmailAddresses)
	slices.Sort(c.KeyUsages.Allowed)
	slices.Sort(c.KeyUsages.Required)
	slices.Sort(c.ExtKeyUsages.Allowed)
	slices.Sort(c.PrivateKey.Algorithms)
	slices.Sort(c.PrivateKey.ECDSACurves)
	if nc := c.NameConstraints; nc != nil {
		slices.Sort(nc.PermittedDNSDomains)
		slices.Sort(nc.ExcludedDNSDomains)
		if len(nc.PermittedDNSDomains) == 0 && len(nc.ExcludedDNSDomains) == 0 {
			c.NameConstraints = nil
		}
	}
	return c
}
