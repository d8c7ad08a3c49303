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
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// ReasonPolicyInvalid prefixes the Ready condition message of an issuer whose
// policy cannot be evaluated.
const ReasonPolicyInvalid = "PolicyInvalid"

// transientRetry is how long a request waits before retrying after a
// transient Vault failure (rate limiting, 5xx).
const transientRetry = 10 * time.Second

// Signer signs intermediate CA requests for VaultIntermediateClusterIssuers.
// Its fields are set by the caller; the zero value is not usable.
type Signer struct {
	// Secrets reads the AppRole and CA bundle Secrets.
	Secrets client.Reader
	// ClusterResourceNamespace is the namespace the issuer's Secrets live in.
	ClusterResourceNamespace string
	// Now returns the current time; the post-issuance check compares
	// validity against it.
	Now func() time.Time

	clients clientCache
}

// Check proves the issuer can sign: its policy is valid, the AppRole login
// works, the PKI mount and issuer exist, and the token may call the sign
// path.
func (s *Signer) Check(ctx context.Context, obj issuerapi.Issuer) error {
	iss, err := asIssuer(obj)
	if err != nil {
		return signer.PermanentError{Err: err} // Permanent: a type we do not own cannot become valid.
	}
	if errs := policy.Validate(&iss.Spec.Policy); len(errs) > 0 {
		// Permanent: only an edit of the policy can fix it, and an edit
		// changes the generation, which makes issuer-lib check again.
		return signer.PermanentError{Err: fmt.Errorf("%s: the policy cannot be evaluated, so nothing will be signed: %s",
			ReasonPolicyInvalid, policy.FormatViolations(errs))}
	}
	vc, creds, err := s.connect(ctx, iss)
	if err != nil {
		return err // Retryable: a missing Secret or bundle may be created.
	}
	if err := vc.Login(ctx, creds); err != nil {
		return err // Retryable: Vault may come back, the secret ID may be rotated.
	}
	if _, err := vc.ReadIssuer(ctx); err != nil {
		return err // Retryable: the mount or issuer may be configured later.
	}
	if err := vc.CheckSignCapability(ctx, creds); err != nil {
		return err // Retryable: the Vault policy may be fixed.
	}
	return nil
}

// Sign judges the request against the issuer's policy and, if it is allowed,
// has Vault sign it, checks the result and returns the chain.
func (s *Signer) Sign(ctx context.Context, cr signer.CertificateRequestObject, obj issuerapi.Issuer) (signer.PEMBundle, error) {
	logger := log.FromContext(ctx)
	iss, err := asIssuer(obj)
	if err != nil {
		return signer.PEMBundle{}, signer.PermanentError{Err: err} // Permanent: not our issuer type.
	}
	req, info, err := policyRequest(cr)
	if err != nil {
		// Permanent: the request's own fields are malformed; only a new
		// request can fix that.
		return signer.PEMBundle{}, signer.PermanentError{Err: fmt.Errorf("reading the request: %w", err)}
	}
	logger = logger.WithValues("issuer", iss.Name, "requestKind", info.kind, "requester", info.requester)

	decision := policy.Evaluate(&iss.Spec.Policy, req)
	if !decision.Allowed() {
		logger.Info("request denied by policy", "decision", "denied", "violations", len(decision.Violations))
		// Permanent: the CSR and the request fields are immutable, so the
		// same request would be denied again. Vault was not called.
		return signer.PEMBundle{}, signer.PermanentError{Err: fmt.Errorf(
			"denied by the policy of VaultIntermediateClusterIssuer %q; Vault was not called:\n%s", iss.Name, decision.Message())}
	}

	vc, creds, err := s.connect(ctx, iss)
	if err != nil {
		// Issuer: the issuer's configuration (Secrets, bundle) is unusable;
		// the issuer goes not Ready and the request waits for it.
		return signer.PEMBundle{}, signer.IssuerError{Err: err}
	}
	resp, err := vc.SignIntermediate(ctx, creds, signRequest(req.CSR, decision))
	if err != nil {
		return signer.PEMBundle{}, classifySignError(err)
	}
	logger = logger.WithValues("serial", resp.SerialNumber, "vaultRequestID", resp.RequestID)
	for _, w := range resp.Warnings {
		logger.Info("Vault returned a warning", "warning", vault.Sanitize(w))
	}

	now := s.now()
	chain, chainErr := vault.BuildChain(resp.Certificate, resp.CAs)
	var issuingCA *x509.Certificate
	if chainErr == nil {
		issuingCA = chain.IssuingCA()
	}
	violations := policy.Verify(&iss.Spec.Policy, decision, resp.Certificate, issuingCA, now)
	if len(violations) > 0 || chainErr != nil {
		reason := policy.FormatViolations(violations)
		if chainErr != nil {
			reason = chainErr.Error()
		}
		revokeErr := vc.RevokeCertificate(ctx, creds, resp.SerialNumber)
		logger.Info("issued certificate failed the post-issuance check", "decision", "verification_failed", "revoked", revokeErr == nil)
		msg := fmt.Sprintf("the certificate Vault issued (serial %s) failed the post-issuance check", resp.SerialNumber)
		if revokeErr != nil {
			msg += fmt.Sprintf(" and could NOT be revoked (%v): revoke it by hand", revokeErr)
		} else {
			msg += " and was revoked"
		}
		// Permanent: Vault did not issue what the policy allows; signing
		// the same request again would produce the same certificate.
		return signer.PEMBundle{}, signer.PermanentError{Err: fmt.Errorf("%s:\n%s", msg, reason)}
	}

	logger.Info("signed intermediate", "decision", "issued", "notAfter", resp.Certificate.NotAfter.UTC().Format(time.RFC3339))
	return signer.PEMBundle{
		ChainPEM: vault.EncodePEM(chain.Intermediates...),
		CAPEM:    vault.EncodePEM(chain.Root),
	}, nil
}

// classifySignError maps a Vault failure to issuer-lib's error classes.
func classifySignError(err error) error {
	switch vault.ClassOf(err) {
	case vault.ClassInvalidRequest:
		// Permanent: Vault rejected this CSR as invalid (HTTP 400); the
		// same request would be rejected again.
		return signer.PermanentError{Err: fmt.Errorf("Vault rejected the request: %w", err)}
	case vault.ClassUnreachable, vault.ClassTLS, vault.ClassSealed, vault.ClassAuthFailed,
		vault.ClassPermissionDenied, vault.ClassNotFound:
		// Issuer: Vault cannot sign for anyone right now; the issuer goes
		// not Ready, re-checks with backoff, and the request waits for it
		// instead of failing.
		return signer.IssuerError{Err: err}
	default:
		// Pending: rate limiting or a server error; waiting helps, and a
		// PendingError is never turned into a failure by MaxRetryDuration.
		return signer.PendingError{Err: err, RequeueAfter: transientRetry}
	}
}

func signRequest(csrPEM []byte, d policy.Decision) vault.SignRequest {
	return vault.SignRequest{
		CSRPEM:              csrPEM,
		Subject:             d.Subject,
		DNSNames:            d.CSR.DNSNames,
		IPAddresses:         d.CSR.IPAddresses,
		URIs:                d.CSR.URIs,
		EmailAddresses:      d.CSR.EmailAddresses,
		TTL:                 d.Duration,
		MaxPathLength:       d.MaxPathLength,
		PermittedDNSDomains: d.PermittedDNSDomains,
		ExcludedDNSDomains:  d.ExcludedDNSDomains,
	}
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Close revokes every cached Vault token. Called on shutdown.
func (s *Signer) Close(ctx context.Context) error {
	return s.clients.closeAll(ctx)
}

func asIssuer(obj issuerapi.Issuer) (*v1alpha1.VaultIntermediateClusterIssuer, error) {
	iss, ok := obj.(*v1alpha1.VaultIntermediateClusterIssuer)
	if !ok {
		return nil, errors.New("not a VaultIntermediateClusterIssuer")
	}
	return iss, nil
}
