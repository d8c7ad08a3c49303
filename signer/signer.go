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
	"strings"
	"sync"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// transientRetry is how long a request waits before retrying after a
// transient Vault failure (rate limiting, 5xx).
const transientRetry = 10 * time.Second

// callsPerReconcile bounds one check or signing: at most this many Vault
// calls of spec.vault.requestTimeout each (login, sign, revoke, ...).
const callsPerReconcile = 4

// maxDeniedViolations caps the violations an Outcome carries.
const maxDeniedViolations = 16

// Signer signs intermediate CA requests for VaultIntermediateClusterIssuers.
// Its fields are set by the caller; the zero value is not usable.
type Signer struct {
	// Secrets reads the AppRole and CA bundle Secrets.
	Secrets client.Reader
	// ClusterResourceNamespace is the namespace the issuer's Secrets live in.
	ClusterResourceNamespace string
	// Recorder is told every check result and decision; nil records nothing.
	Recorder Recorder
	// VaultObserver is told about every Vault call, for metrics; nil
	// observes nothing.
	VaultObserver vault.Observer
	// Journal remembers the serial Vault issued for each request, so that a
	// request is never signed twice; nil keeps it in memory only.
	Journal Journal
	// Now returns the current time; the post-issuance check compares
	// validity against it.
	Now func() time.Time

	clients     clientCache
	journalOnce sync.Once
	memJournal  *memoryJournal
}

// Check proves the issuer can sign: its policy is valid, the AppRole login
// works, the PKI mount and issuer exist, the issuer's root is the pinned one,
// and the token may call the sign path. The result is reported to the
// Recorder as well as returned to issuer-lib.
func (s *Signer) Check(ctx context.Context, obj issuerapi.Issuer) error {
	iss, err := asIssuer(obj)
	if err != nil {
		return signer.PermanentError{Err: err} // Permanent: a type we do not own cannot become valid.
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
		return signer.PermanentError{Err: withReason(ReasonPolicyInvalid, fmt.Errorf(
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
	if err := checkRootPin(iss, info.Certificate, info.Chain); err != nil {
		return err // Retryable: the pin or Vault's issuer may be corrected.
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
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout(iss))
	defer cancel()
	rec := s.recorder()
	digest := policy.Digest(&iss.Spec.Policy)
	req, ref, err := policyRequest(cr)
	if err != nil {
		err = fmt.Errorf("reading the request: %w", err)
		rec.Decided(ctx, iss, Outcome{Decision: DecisionFailed, Request: ref, PolicyDigest: digest, Err: err})
		// Permanent: the request's own fields are malformed; only a new
		// request can fix that.
		return signer.PEMBundle{}, signer.PermanentError{Err: err}
	}
	logger = logger.WithValues("issuer", iss.Name, "requestKind", ref.Kind, "requester", ref.Requester)

	decision := policy.Evaluate(&iss.Spec.Policy, req)
	if !decision.Allowed() {
		out := Outcome{Decision: DecisionDenied, Request: ref, PolicyDigest: digest}
		describeRequest(&out, decision)
		out.Violations, out.RuleNames = violations(decision.Violations)
		rec.Decided(ctx, iss, out)
		// Permanent: the CSR and the request fields are immutable, so the
		// same request would be denied again. Vault was not called.
		return signer.PEMBundle{}, signer.PermanentError{Err: fmt.Errorf(
			"denied by the policy of VaultIntermediateClusterIssuer %q (policy %s); Vault was not called:\n%s",
			iss.Name, digest, decision.Message())}
	}

	vc, creds, err := s.connect(ctx, iss)
	if err != nil {
		rec.VaultState(ctx, iss, err)
		// Issuer: the issuer's configuration (Secrets, bundle) is unusable;
		// the issuer goes not Ready and the request waits for it.
		return signer.PEMBundle{}, signer.IssuerError{Err: err}
	}
	entry := s.journal().lookup(ref)
	alreadyDelivered := entry.delivered
	resp, recovered, err := s.recoverFromJournal(ctx, vc, creds, ref, entry, decision)
	if err == nil && resp == nil {
		s.journal().Intent(ctx, ref, s.now())
		resp, err = vc.SignIntermediate(ctx, creds, signRequest(req.CSR, decision))
		if err == nil {
			faultPoint("kill-after-vault-answer")
			s.journal().Record(ctx, ref, resp.SerialNumber)
			faultPoint("kill-after-journal-record")
		}
	}
	if err != nil {
		classified := classifySignError(err)
		var permanent signer.PermanentError
		if errors.As(classified, &permanent) {
			rec.Decided(ctx, iss, Outcome{Decision: DecisionFailed, Request: ref, PolicyDigest: digest, Err: err})
		} else {
			rec.VaultState(ctx, iss, err)
		}
		return signer.PEMBundle{}, classified
	}
	rec.VaultState(ctx, iss, nil)
	logger = logger.WithValues("serial", resp.SerialNumber, "vaultRequestID", resp.RequestID)
	if recovered && !alreadyDelivered {
		logger.Info("reusing the certificate Vault issued for this request in an earlier attempt whose answer was lost, instead of signing again")
	}
	if len(resp.Warnings) > 0 {
		warnings := make([]string, 0, len(resp.Warnings))
		for _, w := range resp.Warnings {
			warnings = append(warnings, vault.Sanitize(w))
		}
		rec.VaultWarnings(ctx, iss, ref, warnings)
	}

	out := Outcome{Request: ref, PolicyDigest: digest, SerialNumber: resp.SerialNumber,
		Fingerprint: vault.Fingerprint(resp.Certificate), NotAfter: resp.Certificate.NotAfter,
		VaultRequestID: resp.RequestID}
	describeRequest(&out, decision)
	out.Subject = resp.Certificate.Subject.String()

	chain, chainErr := vault.BuildChain(resp.Certificate, resp.CAs)
	var issuingCA *x509.Certificate
	if chainErr == nil {
		issuingCA = chain.IssuingCA()
	}
	var pinErr error
	if chainErr == nil {
		pinErr = checkRootPin(iss, chain.Root, nil)
	}
	failed := policy.Verify(&iss.Spec.Policy, decision, resp.Certificate, issuingCA, s.now())
	if len(failed) == 0 && chainErr == nil && pinErr == nil {
		out.Decision = DecisionIssued
		if !alreadyDelivered {
			rec.Decided(ctx, iss, out)
		}
		s.journal().delivered(ref, resp.SerialNumber)
		logger.V(1).Info("signed intermediate", "notAfter", resp.Certificate.NotAfter.UTC().Format(time.RFC3339))
		return signer.PEMBundle{
			ChainPEM: vault.EncodePEM(chain.Intermediates...),
			CAPEM:    vault.EncodePEM(chain.Root),
		}, nil
	}

	// Vault issued something that must not be delivered: revoke it so it
	// cannot be used even if it leaked from memory.
	out.Decision = DecisionVerificationFailed
	out.Violations, out.RuleNames = violations(failed)
	switch {
	case chainErr != nil:
		out.Violations = append(out.Violations, "chain: "+chainErr.Error())
		out.RuleNames = append(out.RuleNames, "chain")
	case pinErr != nil:
		out.Violations = append(out.Violations, "spec.vault.rootFingerprint: "+pinErr.Error())
		out.RuleNames = append(out.RuleNames, "spec.vault.rootFingerprint")
	}
	revokeErr := vc.RevokeCertificate(ctx, creds, resp.SerialNumber)
	out.Revoked = revokeErr == nil
	rec.Decided(ctx, iss, out)
	msg := fmt.Sprintf("the certificate Vault issued (serial %s) failed the post-issuance check", resp.SerialNumber)
	if revokeErr != nil {
		msg += fmt.Sprintf(" and could NOT be revoked (%v): revoke it by hand", revokeErr)
	} else {
		msg += " and was revoked"
	}
	err = fmt.Errorf("%s:\n%s", msg, strings.Join(out.Violations, "\n"))
	if pinErr != nil && len(failed) == 0 && chainErr == nil {
		rec.VaultState(ctx, iss, pinErr)
		// Issuer: Vault signs under another root than the pinned one. The
		// issuer goes not Ready (its check compares the root too) and the
		// request waits until the pin or Vault is corrected.
		return signer.PEMBundle{}, signer.IssuerError{Err: err}
	}
	// Permanent: Vault did not issue what the policy allows; signing the
	// same request again would produce the same certificate.
	return signer.PEMBundle{}, signer.PermanentError{Err: err}
}

// checkRootPin compares the root above cert (cert itself when it is
// self-signed) with spec.vault.rootFingerprint, if set.
func checkRootPin(iss *v1alpha1.VaultIntermediateClusterIssuer, cert *x509.Certificate, chain []*x509.Certificate) error {
	pin := normalizeFingerprint(iss.Spec.Vault.RootFingerprint)
	if pin == "" {
		return nil
	}
	root, err := vault.RootOf(cert, chain)
	if err != nil {
		return withReason(ReasonRootMismatch, fmt.Errorf("spec.vault.rootFingerprint is set but %w", err))
	}
	if got := vault.Fingerprint(root); got != "sha256:"+pin {
		return withReason(ReasonRootMismatch, fmt.Errorf("the Vault issuer chains to root %q with fingerprint %s, not to the root pinned by spec.vault.rootFingerprint (sha256:%s)",
			root.Subject.String(), got, pin))
	}
	return nil
}

func normalizeFingerprint(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
}

// describeRequest fills the subject and SANs of o from the request's CSR.
func describeRequest(o *Outcome, d policy.Decision) {
	if d.CSR == nil {
		return
	}
	o.Subject = d.CSR.Subject.String()
	o.SANs = append(o.SANs, d.CSR.DNSNames...)
	for _, ip := range d.CSR.IPAddresses {
		o.SANs = append(o.SANs, ip.String())
	}
	for _, u := range d.CSR.URIs {
		o.SANs = append(o.SANs, u.String())
	}
	o.SANs = append(o.SANs, d.CSR.EmailAddresses...)
}

// violations renders errs as "<field>: <detail>", capped, and returns the
// rule name of every one of them (metrics count them all).
func violations(errs field.ErrorList) (lines, rules []string) {
	for _, e := range errs {
		if e == nil {
			continue
		}
		rules = append(rules, policy.Rule(e))
		if len(lines) < maxDeniedViolations {
			lines = append(lines, policy.FormatViolations(field.ErrorList{e}))
		}
	}
	if extra := len(rules) - len(lines); extra > 0 {
		lines[len(lines)-1] = fmt.Sprintf("... and %d more", extra+1)
	}
	return lines, rules
}

func reconcileTimeout(iss *v1alpha1.VaultIntermediateClusterIssuer) time.Duration {
	per := defaultRequestTimeout
	if t := iss.Spec.Vault.RequestTimeout; t != nil && t.Duration > 0 {
		per = t.Duration
	}
	return callsPerReconcile * per
}

// recoveryWindow is how far before the journaled intent a certificate's
// NotBefore may lie and still be taken for the lost answer: Vault backdates
// NotBefore (30s by default), and clocks differ.
const recoveryWindow = 5 * time.Minute

// recoverFromJournal returns the certificate Vault already issued for the
// request in an earlier attempt whose answer was never delivered: read back
// by the journaled serial, or found by the request's public key when only the
// intent was journaled. nil means the request must be signed.
func (s *Signer) recoverFromJournal(ctx context.Context, vc *vault.Client, creds vault.Credentials, ref RequestRef,
	entry journalEntry, d policy.Decision) (*vault.SignResponse, bool, error) {
	logger := log.FromContext(ctx)
	var (
		serial string
		issued *vault.IssuedCertificate
		err    error
	)
	switch {
	case entry.serial != "":
		serial = entry.serial
		issued, err = vc.ReadCertificate(ctx, serial)
		if vault.ClassOf(err) == vault.ClassNotFound {
			return nil, false, nil // not in this mount (the issuer was re-pointed): sign anew
		}
	case !entry.intent.IsZero() && d.CSR != nil:
		serial, issued, err = vc.FindIssued(ctx, creds, d.CSR.RawSubjectPublicKeyInfo, entry.intent.Add(-recoveryWindow))
		if c := vault.ClassOf(err); c == vault.ClassPermissionDenied || c == vault.ClassTransient {
			// Without list on <mount>/certs, or with too many certificates
			// to search, a lost answer cannot be found: sign again, and
			// say so.
			logger.Info("an earlier signing of this request may have been lost; signing again, which may leave a second certificate in Vault",
				"reason", err.Error())
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if issued == nil || issued.Revoked {
		return nil, false, nil // never issued, or unusable: a new certificate replaces it
	}
	info, err := vc.ReadIssuer(ctx)
	if err != nil {
		return nil, false, err
	}
	if entry.serial == "" {
		s.journal().Record(ctx, ref, serial) // found by the search: journal it
	}
	return &vault.SignResponse{
		Certificate:  issued.Certificate,
		CAs:          append([]*x509.Certificate{info.Certificate}, info.Chain...),
		SerialNumber: serial,
	}, true, nil
}

func (s *Signer) journal() *memoryJournal {
	s.journalOnce.Do(func() {
		s.memJournal = &memoryJournal{next: s.Journal, entries: map[types.UID]journalEntry{}}
	})
	return s.memJournal
}

func (s *Signer) recorder() Recorder {
	if s.Recorder != nil {
		return s.Recorder
	}
	return nopRecorder{}
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
