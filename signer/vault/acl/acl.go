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

package acl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// maxOptional bounds the values a policy may allow without requiring them,
// per parameter: every allowed combination of them is listed, 2^n for n
// optional values, so 8 of them are 256 entries.
const maxOptional = 8

// Capabilities.
const (
	capCreate = "create"
	capUpdate = "update"
	capList   = "list"
)

// Options tune the generated policy's instructions; they never change what
// it allows.
type Options struct {
	// Name is what the instructions in the header call the Vault policy and
	// the AppRole role; DefaultName(issuer) when empty.
	Name string
}

// DefaultName is the name the instructions give the Vault policy and the
// AppRole role when Options.Name is empty.
func DefaultName(iss *v1alpha1.VaultIntermediateClusterIssuer) string {
	return "vault-intermediate-issuer-" + iss.Name
}

// Policy is a generated ACL policy. HCL renders it.
type Policy struct {
	// Header is the leading comment, one line per entry, without "# ".
	Header []string
	// Paths are the path rules, in order.
	Paths []Path
}

// Path is one path rule.
type Path struct {
	// Comment precedes the rule, one line per entry.
	Comment []string
	// Path is the Vault path, relative to the issuer's Vault namespace.
	Path string
	// Capabilities granted on Path.
	Capabilities []string
	// RequiredParameters must be present in every request.
	RequiredParameters []string
	// AllowedParameters, when not empty, are the only parameters a request
	// may carry, each restricted to its values.
	AllowedParameters []Parameter
}

// Parameter is one entry of allowed_parameters.
type Parameter struct {
	// Name of the parameter.
	Name string
	// Comment precedes the entry.
	Comment string
	// Values are the allowed values, each a string, a bool or a []string
	// (a JSON list). Empty means any value, which is what Vault's empty
	// list means.
	Values []any
}

// Param returns the allowed_parameters entry named name, if any.
func (p *Path) Param(name string) (Parameter, bool) {
	for _, param := range p.AllowedParameters {
		if param.Name == name {
			return param, true
		}
	}
	return Parameter{}, false
}

// Error is the refusal to generate: every rule of the issuer's policy that
// an ACL cannot express without allowing more than the policy.
type Error struct {
	// Issuer is the issuer's name.
	Issuer string
	// Problems are the rules, each with its field path and why.
	Problems field.ErrorList
}

func (e *Error) Error() string {
	return fmt.Sprintf("no Vault ACL policy can hold VaultIntermediateClusterIssuer %q to its policy: %d rule(s) cannot be expressed without allowing more than the policy allows:\n%s",
		e.Issuer, len(e.Problems), policy.FormatViolations(e.Problems))
}

// Generate returns the ACL policy for the AppRole of iss. It refuses, with
// an *Error naming every such rule, when a rule of the policy cannot be
// expressed exactly; and with another error when the policy is invalid.
func Generate(iss *v1alpha1.VaultIntermediateClusterIssuer, opts Options) (*Policy, error) {
	if iss == nil {
		return nil, errors.New("no issuer")
	}
	if errs := policy.Validate(&iss.Spec.Policy); len(errs) > 0 {
		return nil, fmt.Errorf("the policy of VaultIntermediateClusterIssuer %q is invalid, so the issuer signs nothing:\n%s",
			iss.Name, policy.FormatViolations(errs))
	}
	if opts.Name == "" {
		opts.Name = DefaultName(iss)
	}
	if err := validateNames(iss, opts.Name); err != nil {
		return nil, err
	}
	pol := policy.Default(&iss.Spec.Policy)
	g := &generator{base: field.NewPath("spec", "policy")}
	sign := g.signPath(iss, pol)
	if len(g.problems) > 0 {
		return nil, &Error{Issuer: iss.Name, Problems: g.problems}
	}
	mount := mountOf(iss)
	return &Policy{
		Header: g.header(iss, pol, opts.Name),
		Paths: []Path{
			sign,
			{
				Comment: []string{
					"LIST the serials of the certificates the mount issued: crash recovery looks",
					"for the certificate of a signing whose answer was lost, and the audit scan",
					"reports every certificate the controller did not deliver. The certificates",
					"themselves (" + mount + "/cert/<serial>) and the issuer (" + mount + "/issuer/<ref>/json) are",
					"read without a token: the PKI engine serves them unauthenticated.",
				},
				Path:         vault.CertsPath(mount),
				Capabilities: []string{capList},
			},
			{
				Comment:      []string{"The readiness check asks which capabilities the token has."},
				Path:         "sys/capabilities-self",
				Capabilities: []string{capUpdate},
			},
			{
				Comment:      []string{"The cached token is renewed while it may be, and revoked on shutdown."},
				Path:         "auth/token/renew-self",
				Capabilities: []string{capUpdate},
			},
			{
				Path:         "auth/token/revoke-self",
				Capabilities: []string{capUpdate},
			},
		},
	}, nil
}

// The forms of the CRD's own patterns: an issuer read from a file never went
// through the API server, and these strings end up in the policy's paths
// and in the commands of its header.
var (
	vaultPathPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)
	issuerRefPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
)

// validateNames checks every name the policy's paths and header quote.
func validateNames(iss *v1alpha1.VaultIntermediateClusterIssuer, name string) error {
	var problems []string
	if errs := validation.IsDNS1123Subdomain(iss.Name); len(errs) > 0 {
		problems = append(problems, fmt.Sprintf("metadata.name %q: %s", iss.Name, strings.Join(errs, "; ")))
	}
	v := iss.Spec.Vault
	if v.Mount != "" && !isVaultPath(v.Mount) {
		problems = append(problems, fmt.Sprintf("spec.vault.mount %q is not a Vault path such as \"pki\"", v.Mount))
	}
	if v.IssuerRef != "" && !issuerRefPattern.MatchString(v.IssuerRef) {
		problems = append(problems, fmt.Sprintf("spec.vault.issuerRef %q is not an issuer name or ID", v.IssuerRef))
	}
	if p := v.Auth.AppRole.Path; p != "" && !isVaultPath(p) {
		problems = append(problems, fmt.Sprintf("spec.vault.auth.appRole.path %q is not a Vault path such as \"approle\"", p))
	}
	if !namePattern.MatchString(name) {
		problems = append(problems, fmt.Sprintf("the policy and role name %q must be letters, digits, \"_\", \".\" and \"-\", at most 128", name))
	}
	if len(problems) > 0 {
		return fmt.Errorf("VaultIntermediateClusterIssuer %q cannot be written into a Vault policy: %s", iss.Name, strings.Join(problems, "; "))
	}
	return nil
}

// isVaultPath reports whether p is a mount path: the CRD's pattern, without
// "." or ".." segments.
func isVaultPath(p string) bool {
	if !vaultPathPattern.MatchString(p) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func mountOf(iss *v1alpha1.VaultIntermediateClusterIssuer) string {
	if m := strings.Trim(iss.Spec.Vault.Mount, "/"); m != "" {
		return m
	}
	return "pki"
}

func appRolePathOf(iss *v1alpha1.VaultIntermediateClusterIssuer) string {
	if p := strings.Trim(iss.Spec.Vault.Auth.AppRole.Path, "/"); p != "" {
		return p
	}
	return "approle"
}

type generator struct {
	base     *field.Path
	problems field.ErrorList
	// serialFromCSR is set when a request may lack serial_number, in
	// which case Vault copies the CSR's subject serialNumber.
	serialFromCSR bool
}

func (g *generator) problem(path *field.Path, value any, format string, args ...any) {
	g.problems = append(g.problems, &field.Error{Type: field.ErrorTypeForbidden, Field: path.String(), BadValue: value,
		Detail: fmt.Sprintf(format, args...)})
}

// subjectParams are the subject attributes in the order the signer sends
// them, with their sign-intermediate parameter.
var subjectParams = []struct {
	field, param string
	single       bool
	get          func(*v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy
}{
	{"commonName", "common_name", true, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.CommonName }},
	{"serialNumber", "serial_number", true, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.SerialNumber }},
	{"organizations", "organization", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.Organizations }},
	{"organizationalUnits", "ou", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.OrganizationalUnits }},
	{"countries", "country", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.Countries }},
	{"localities", "locality", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.Localities }},
	{"provinces", "province", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.Provinces }},
	{"streetAddresses", "street_address", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.StreetAddresses }},
	{"postalCodes", "postal_code", false, func(s *v1alpha1.SubjectPolicy) *v1alpha1.ValuePolicy { return s.PostalCodes }},
}

// signPath is the rule of the sign path: every parameter the signer sends
// (vault.SignRequest.Params), pinned to what the policy allows.
func (g *generator) signPath(iss *v1alpha1.VaultIntermediateClusterIssuer, pol *v1alpha1.IntermediatePolicy) Path {
	p := Path{
		Comment: []string{
			"Signing. Every parameter the controller sends is listed, pinned to the values",
			"the issuer's policy allows, in the form the controller sends them: single values",
			"as strings, several values as one sorted comma-separated string (a list when a",
			"value holds a comma). Any other parameter or value is refused with 403.",
		},
		Path:         vault.SignPath(mountOf(iss), iss.Spec.Vault.IssuerRef),
		Capabilities: []string{capCreate, capUpdate},
	}
	add := func(required bool, param Parameter) {
		if required {
			p.RequiredParameters = append(p.RequiredParameters, param.Name)
		}
		p.AllowedParameters = append(p.AllowedParameters, param)
	}
	add(true, Parameter{Name: "csr", Comment: "any CSR: with use_csr_values false only its public key is used"})

	subject := g.base.Child("subject")
	for _, sp := range subjectParams {
		path := subject.Child(sp.field)
		if vp := sp.get(&pol.Subject); sp.single && sp.param != "common_name" && anyValue(vp) {
			// Any value at all (SPIRE's random subject serialNumber): an
			// empty list of values, which Vault reads as "any value". A
			// lone "*" would not do: Vault's glob needs a prefix or suffix
			// and compares a one-character value literally.
			if sp.param == "serial_number" {
				g.serialFromCSR = true
			}
			add(false, Parameter{Name: sp.param, Comment: "subject." + sp.field + " (optional, any value)"})
			continue
		}
		sets, optional, ok := g.valueSets(path, sp.get(&pol.Subject), sp.single)
		if !ok {
			continue
		}
		switch {
		case sp.param == "common_name" && optional:
			// The signer sends an empty common_name for a CSR without
			// one, and Vault then copies the CSR's CN.
			g.problem(path, nil, "the policy lets a request come without a common name; the controller then sends an empty common_name, and for that Vault's sign-intermediate copies the common name of the CSR, which no ACL can look into, so any common name would pass. Require exactly one common name (subject.commonName.required) to have the ACL pin it")
			continue
		case sp.param == "serial_number" && optional:
			g.serialFromCSR = true
		}
		if len(sets) == 0 {
			continue // the attribute must be absent: the parameter is not allowed
		}
		param := Parameter{Name: sp.param, Comment: "subject." + sp.field}
		for _, set := range sets {
			if sp.single {
				param.Values = append(param.Values, set[0])
			} else {
				param.Values = append(param.Values, vault.ListValue(set))
			}
		}
		if optional {
			param.Comment += " (optional)"
		}
		add(!optional, param)
	}

	g.subjectAltNames(pol, add)

	add(true, Parameter{Name: "ttl", Comment: "any: an ACL cannot bound a range, see the header"})
	add(true, Parameter{Name: "max_path_length", Comment: "maxPathLength", Values: []any{strconv.Itoa(int(*pol.MaxPathLength))}})
	add(true, Parameter{Name: "format", Values: []any{"pem"}})
	add(true, Parameter{Name: "exclude_cn_from_sans", Comment: "the common name never becomes a DNS SAN", Values: []any{true}})
	add(true, Parameter{Name: "use_csr_values", Comment: "nothing but the public key is taken from the CSR", Values: []any{false}})
	if nc := pol.NameConstraints; nc != nil {
		if len(nc.PermittedDNSDomains) > 0 {
			add(true, Parameter{Name: "permitted_dns_domains", Comment: "nameConstraints.permittedDNSDomains",
				Values: []any{vault.ListValue(nc.PermittedDNSDomains)}})
		}
		if len(nc.ExcludedDNSDomains) > 0 {
			add(true, Parameter{Name: "excluded_dns_domains", Comment: "nameConstraints.excludedDNSDomains",
				Values: []any{vault.ListValue(nc.ExcludedDNSDomains)}})
		}
	}
	return p
}

// anyValue reports whether the rules of an attribute allow any value and
// require none: allowed is exactly ["*"].
func anyValue(vp *v1alpha1.ValuePolicy) bool {
	return vp != nil && len(vp.Required) == 0 && len(vp.Allowed) == 1 && vp.Allowed[0] == "*"
}

// valueSets returns every set of values the policy allows one subject
// attribute to have, each sorted, and whether the attribute may be absent.
// ok is false when the attribute's rules cannot be listed (the problem is
// recorded).
func (g *generator) valueSets(path *field.Path, vp *v1alpha1.ValuePolicy, single bool) (sets [][]string, optional, ok bool) {
	if vp == nil {
		return nil, true, true
	}
	ok = true
	for _, list := range []struct {
		name    string
		entries []string
	}{{"required", vp.Required}, {"allowed", vp.Allowed}} {
		for i, e := range list.entries {
			if strings.Contains(e, "*") {
				g.problem(path.Child(list.name).Index(i), e, "%q is a pattern; Vault's ACL knows only a \"*\" at the start or end of a whole parameter value, matching any characters, so no ACL admits exactly the values this pattern admits: list the exact values instead", e)
				ok = false
			}
		}
	}
	if !ok {
		return nil, false, false
	}
	required := dedupe(vp.Required)
	if single {
		switch len(required) {
		case 0:
			for _, a := range dedupe(vp.Allowed) {
				sets = append(sets, []string{a})
			}
			return sets, true, true
		case 1:
			return [][]string{required}, false, true
		default:
			g.problem(path.Child("required"), required, "the policy requires %d different values of an attribute a certificate carries once, so no request can satisfy it", len(required))
			return nil, false, false
		}
	}
	var extra []string
	for _, a := range dedupe(vp.Allowed) {
		if !slices.Contains(required, a) {
			extra = append(extra, a)
		}
	}
	if len(extra) > maxOptional {
		g.problem(path.Child("allowed"), len(extra), "the policy allows %d values besides the required ones; the ACL lists every allowed combination of them, and more than %d values have too many (2^%d) to list: allow fewer", len(extra), maxOptional, len(extra))
		return nil, false, false
	}
	for _, subset := range subsets(extra) {
		set := append(slices.Clone(required), subset...)
		if len(set) == 0 {
			continue
		}
		slices.Sort(set)
		sets = append(sets, set)
	}
	return sets, len(required) == 0, true
}

// subjectAltNames adds alt_names, ip_sans and uri_sans: every non-empty
// combination of the names the policy allows, in the signer's encoding. No
// SAN is ever required.
func (g *generator) subjectAltNames(pol *v1alpha1.IntermediatePolicy, add func(bool, Parameter)) {
	base := g.base.Child("subjectAltNames")
	sp := pol.SubjectAltNames
	ok := true
	exact := func(path *field.Path, entries []string, kind string) {
		for i, e := range entries {
			if strings.Contains(e, "*") {
				g.problem(path.Index(i), e, "%q is a pattern; Vault's ACL knows only a \"*\" at the start or end of a whole parameter value, which matches any characters including the dots of a DNS name and the commas that separate %s, so no ACL admits exactly the names this pattern admits: list the exact names instead", e, kind)
				ok = false
			}
		}
	}
	exact(base.Child("dnsNames"), sp.DNSNames, "names")
	exact(base.Child("emailAddresses"), sp.EmailAddresses, "names")
	exact(base.Child("uris"), sp.URIs, "URIs")
	var ips []string
	for i, e := range sp.IPAddresses {
		addr, err := singleAddress(e)
		if err != nil {
			g.problem(base.Child("ipAddresses").Index(i), e, "%q %v; an ACL can only list single addresses", e, err)
			ok = false
			continue
		}
		ips = append(ips, addr)
	}
	if !ok {
		return
	}

	// alt_names carries DNS names and email addresses together.
	type name struct {
		value string
		email bool
	}
	var names []name
	for _, d := range dedupe(sp.DNSNames) {
		names = append(names, name{value: d})
	}
	for _, e := range dedupe(sp.EmailAddresses) {
		names = append(names, name{value: e, email: true})
	}
	if len(names) > maxOptional {
		g.problem(base, len(names), "the policy allows %d DNS names and email addresses, which Vault takes in one parameter (alt_names); the ACL lists every combination of them, and more than %d have too many (2^%d) to list: allow fewer", len(names), maxOptional, len(names))
		ok = false
	} else if len(names) > 0 {
		param := Parameter{Name: "alt_names", Comment: "subjectAltNames.dnsNames and .emailAddresses (optional)"}
		for _, subset := range subsets(names) {
			if len(subset) == 0 {
				continue
			}
			var dns, emails []string
			for _, n := range subset {
				if n.email {
					emails = append(emails, n.value)
				} else {
					dns = append(dns, n.value)
				}
			}
			param.Values = appendNew(param.Values, vault.AltNamesValue(dns, emails))
		}
		add(false, param)
	}
	for _, kind := range []struct {
		param, field string
		entries      []string
	}{{"ip_sans", "ipAddresses", ips}, {"uri_sans", "uris", sp.URIs}} {
		entries := dedupe(kind.entries)
		if len(entries) == 0 {
			continue
		}
		if len(entries) > maxOptional {
			g.problem(base.Child(kind.field), len(entries), "the policy allows %d of them; the ACL lists every combination, and more than %d have too many (2^%d) to list: allow fewer", len(entries), maxOptional, len(entries))
			continue
		}
		param := Parameter{Name: kind.param, Comment: "subjectAltNames." + kind.field + " (optional)"}
		for _, subset := range subsets(entries) {
			if len(subset) > 0 {
				param.Values = appendNew(param.Values, vault.ListValue(subset))
			}
		}
		add(false, param)
	}
}

// singleAddress returns the canonical text of an IP entry of the policy that
// names one address (an address, or a prefix as long as the address).
func singleAddress(entry string) (string, error) {
	var addr netip.Addr
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return "", errors.New("is not an IP address")
		}
		if p.Bits() != p.Addr().BitLen() {
			n := p.Addr().BitLen() - p.Bits()
			return "", fmt.Errorf("is a range of 2^%d addresses", n)
		}
		addr = p.Addr()
	} else {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return "", errors.New("is not an IP address")
		}
		addr = a
	}
	return vault.IPStrings([]net.IP{addr.AsSlice()})[0], nil
}

// subsets returns every subset of items (2^len(items) of them, the empty
// one first), each in the order of items.
func subsets[T any](items []T) [][]T {
	out := make([][]T, 0, 1<<len(items))
	for mask := 0; mask < 1<<len(items); mask++ {
		var s []T
		for i, it := range items {
			if mask&(1<<i) != 0 {
				s = append(s, it)
			}
		}
		out = append(out, s)
	}
	return out
}

// dedupe returns values without repeats, in their first order.
func dedupe(values []string) []string {
	var out []string
	for _, v := range values {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// appendNew appends v unless an equal value is already in values.
func appendNew(values []any, v any) []any {
	for _, e := range values {
		if sameValue(e, v) {
			return values
		}
	}
	return append(values, v)
}

// sameValue compares two allowed values (string, bool or []string) as
// Vault's ACL would: equal type and content.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case []string:
		b, ok := b.([]string)
		return ok && slices.Equal(a, b)
	}
	return false
}

// header is the policy's leading comment: what it is, how to install it,
// what it enforces and what no ACL can.
func (g *generator) header(iss *v1alpha1.VaultIntermediateClusterIssuer, pol *v1alpha1.IntermediatePolicy, name string) []string {
	mount := mountOf(iss)
	h := []string{
		fmt.Sprintf("Vault ACL policy for the AppRole of VaultIntermediateClusterIssuer %q,", iss.Name),
		"generated by \"vault-intermediate-issuer policy vault-acl\" from the issuer's spec, whose",
		"policy digest is " + policy.Digest(&iss.Spec.Policy) + ".",
		"Generate and write it again whenever the policy, mount or issuerRef changes: until then",
		"Vault refuses what the new policy allows and the old one did not.",
		"",
	}
	if ns := iss.Spec.Vault.Namespace; ns != "" {
		h = append(h, fmt.Sprintf("Write it in the Vault namespace %q (spec.vault.namespace): the paths are relative to it.", ns), "")
	}
	h = append(h,
		"Install it on an AppRole role of its own, with this policy alone:",
		fmt.Sprintf("  vault policy write %s policy.hcl", name),
		fmt.Sprintf("  vault write auth/%s/role/%s \\", appRolePathOf(iss), name),
		fmt.Sprintf("    token_policies=%s token_no_default_policy=true \\", name),
		"    token_ttl=1h token_max_ttl=2h secret_id_ttl=<rotation period> \\",
		"    secret_id_bound_cidrs=<cluster egress CIDRs> token_bound_cidrs=<cluster egress CIDRs>",
		"One role per issuer and cluster: Vault merges the allowed_parameters of all the",
		"policies of a token on one path into their union, and a lockout or revocation of one",
		"cluster's secret ID must not touch another's. token_no_default_policy drops Vault's",
		"default policy; the paths the controller needs from it are granted below.",
		"",
		"Enforced by Vault, also for whoever calls it with the role ID and a stolen secret ID:",
		"signing only through "+vault.SignPath(mount, iss.Spec.Vault.IssuerRef)+", with the subject, SANs,",
		"path length and name constraints the issuer's policy allows, use_csr_values false and",
		"exclude_cn_from_sans true; not_after, not_before_duration, other_sans, signature_bits,",
		"use_pss, skid, issuer_ref, key_usage and ext_key_usage are refused; no revocation, no",
		"other path.",
		"",
		"Beyond any ACL, and bounded otherwise:",
		fmt.Sprintf("- The validity. Any ttl passes: the policy's range, %s to %s, is no list of values.",
			vaultDuration(pol.Duration.Min.Duration), vaultDuration(pol.Duration.Max.Duration)),
		"  Vault shortens a ttl above the mount's max lease TTL to it, with a warning only, so",
		"  tune the mount to the policy's maximum:",
		fmt.Sprintf("    vault secrets tune -max-lease-ttl=%s %s", vaultDuration(pol.Duration.Max.Duration), mount),
		"  sign-intermediate ignores the issuer's leaf_not_after_behavior (OpenBao 2.4 and",
		"  Vault 1.13 force \"permit\" there), so a certificate may outlive the CA that signed",
		"  it: the controller refuses such a certificate for its requests, and its audit scan",
		"  reports every certificate of the mount it did not deliver.",
		"- The key in the CSR: algorithm, size and curve (privateKey). Vault itself refuses only",
		"  RSA keys under 2048 bits.",
	)
	if g.serialFromCSR {
		h = append(h,
			"- The subject serialNumber: a request without serial_number gets the CSR's, if any",
			"  (Vault copies it whenever the parameter is empty or absent).",
		)
	}
	h = append(h,
		"- Namespaces, isCA, usages and the request's duration: Kubernetes fields Vault never sees.",
		"",
		"Parameter values are compared whole, as OpenBao 2.4 and Vault up to 1.20 compare them.",
		"Vault 1.21 (and patch releases of earlier lines with VAULT_NEW_PER_ELEMENT_MATCHING_ON_LIST",
		"set) matches list values element by element instead: there an allowed set of several",
		"values no longer pins which of them a request carries.",
	)
	return h
}

// vaultDuration renders d in Vault's duration syntax, in the largest whole
// unit.
func vaultDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
}
