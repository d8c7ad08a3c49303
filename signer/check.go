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

package signer

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/url"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// Check proves the issuer can sign whatever its policy allows, so that Ready
// means Sign will work: the policy is valid, the AppRole login works, the
// PKI mount and issuer exist, the issuer's chain ends in a self-signed root
// (the pinned one, if pinned), the token holds every capability a signing
// may need, and the server defines every sign parameter the policy makes the
// issuer send. The result is reported to the Recorder as well as returned
// to issuer-lib.
func (s *Signer) Check(ctx context.Context, obj issuerapi.Issuer) error {
	iss, err := asIssuer(obj)
	if err != nil {
		return libsigner.PermanentError{Err: err} // Permanent: a type we do not own cannot become valid.
	}
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout(iss))
	defer cancel()
	err = s.check(ctx, iss)
	s.recorder().VaultState(ctx, iss, err)
	return err
}

func (s *Signer) check(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer) error {
	if errs := policy.Validate(&iss.Spec.Policy); len(errs) > 0 {
		// Permanent: only an edit of the policy can fix it, and an edit
		// changes the generation, which makes issuer-lib check again.
		return libsigner.PermanentError{Err: withReason(ReasonPolicyInvalid, fmt.Errorf(
			"the policy cannot be evaluated, so nothing will be signed: %s", policy.FormatViolations(errs)))}
	}
	vc, creds, err := s.connect(ctx, iss)
	if err != nil {
		return err // Retryable: a missing Secret or bundle may be created.
	}
	if err := vc.Login(ctx, creds); err != nil {
		return err // Retryable: Vault may come back, the secret ID may be rotated.
	}
	info, err := vc.ReadIssuer(ctx)
	if err != nil {
		return err // Retryable: the mount or issuer may be configured later.
	}
	root, err := vault.RootOf(info.Certificate, info.Chain)
	if err != nil {
		// Retryable: the root may be imported into the mount later.
		return withReason(ReasonIncompleteChain, fmt.Errorf(
			"the chain of the Vault issuer %q does not end in a self-signed root, so ca.crt could not be filled: %w",
			info.Certificate.Subject.String(), err))
	}
	if err := checkRootPin(iss, root); err != nil {
		return err // Retryable: the pin or Vault's issuer may be corrected.
	}
	if err := vc.CheckCapabilities(ctx, creds); err != nil {
		return err // Retryable: the Vault policy may be fixed.
	}
	if err := s.checkSignParameters(ctx, vc, creds, policyParams(&iss.Spec.Policy)); err != nil {
		return err // Retryable: the server may be upgraded; a policy edit checks again anyway.
	}
	return nil
}

// policyParams are the sign parameters the policy can make the issuer send,
// whatever the request: those every signing sends, and one for each subject
// attribute, kind of name and name constraint the policy can allow. They are
// built by SignRequest.Params, the code that builds every real signing's.
func policyParams(p *v1alpha1.IntermediatePolicy) map[string]any {
	allows := func(v *v1alpha1.ValuePolicy) []string {
		if v == nil || len(v.Required)+len(v.Allowed) == 0 {
			return nil
		}
		return []string{"x"}
	}
	sub := p.Subject
	req := vault.SignRequest{
		Subject: pkix.Name{
			CommonName:         "x",
			Organization:       allows(sub.Organizations),
			OrganizationalUnit: allows(sub.OrganizationalUnits),
			Country:            allows(sub.Countries),
			Locality:           allows(sub.Localities),
			Province:           allows(sub.Provinces),
			StreetAddress:      allows(sub.StreetAddresses),
			PostalCode:         allows(sub.PostalCodes),
		},
	}
	if allows(sub.SerialNumber) != nil {
		req.Subject.SerialNumber = "x"
	}
	sans := p.SubjectAltNames
	if len(sans.DNSNames) > 0 {
		req.DNSNames = []string{"x"}
	}
	if len(sans.EmailAddresses) > 0 {
		req.EmailAddresses = []string{"x"}
	}
	if len(sans.IPAddresses) > 0 {
		req.IPAddresses = []net.IP{net.IPv4zero}
	}
	if len(sans.URIs) > 0 {
		req.URIs = []*url.URL{{Scheme: "x"}}
	}
	if nc := p.NameConstraints; nc != nil {
		req.PermittedDNSDomains = nc.PermittedDNSDomains
		req.ExcludedDNSDomains = nc.ExcludedDNSDomains
	}
	return req.Params()
}
