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
	"fmt"
	"strings"
	"time"

	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// report records the outcome of a signing and returns what issuer-lib
// delivers: the chain when the certificate passed the check, or the reason
// it is withheld. A withheld certificate stays valid in Vault: the issuer
// never revokes (its Vault role cannot), so the outcome tells the security
// team which serial to revoke.
func (s *Signer) report(ctx context.Context, sg *signing, got *issuance, v verification) (libsigner.PEMBundle, error) {
	rec := s.recorder()
	resp := got.resp
	if !v.onlyPin() {
		rec.VaultState(ctx, sg.iss, nil) // Vault proved it can sign
	}
	if len(resp.Warnings) > 0 {
		warnings := make([]string, 0, len(resp.Warnings))
		for _, w := range resp.Warnings {
			warnings = append(warnings, vault.Sanitize(w))
		}
		rec.VaultWarnings(ctx, sg.iss, sg.ref, warnings)
	}

	out := Outcome{Request: sg.ref, PolicyDigest: sg.digest, SerialNumber: resp.SerialNumber,
		Fingerprint: vault.Fingerprint(resp.Certificate), NotAfter: resp.Certificate.NotAfter,
		VaultRequestID: resp.RequestID, Recovered: got.recovered}
	describeRequest(&out, sg.decision)
	out.Subject = resp.Certificate.Subject.String()

	if v.ok() {
		out.Decision = DecisionIssued
		if !got.replay {
			rec.Decided(ctx, sg.iss, out)
		}
		s.journal().delivered(sg.ref, resp.SerialNumber)
		sg.log.V(1).Info("signed intermediate", "serial", resp.SerialNumber, "vaultRequestID", resp.RequestID,
			"notAfter", resp.Certificate.NotAfter.UTC().Format(time.RFC3339))
		// Delivered: the certificate Vault returned to this call, or the
		// request's own recovered one, after the post-issuance check.
		return libsigner.PEMBundle{
			ChainPEM: vault.EncodePEM(v.chain.Intermediates...),
			CAPEM:    vault.EncodePEM(v.chain.Root),
		}, nil
	}

	out.Decision = DecisionVerificationFailed
	out.Violations, out.RuleNames = v.report()
	rec.Decided(ctx, sg.iss, out)
	err := fmt.Errorf("the certificate Vault issued (serial %s) failed the post-issuance check and was not delivered; "+
		"it remains valid in Vault until the security team revokes it (the issuer never revokes):\n%s",
		resp.SerialNumber, strings.Join(out.Violations, "\n"))
	if v.onlyPin() {
		rec.VaultState(ctx, sg.iss, v.pinErr)
		// Issuer: Vault signs under another root than the pinned one. The
		// issuer goes not Ready (its check compares the root too) and the
		// request waits until the pin or Vault is corrected.
		return libsigner.PEMBundle{}, libsigner.IssuerError{Err: err}
	}
	s.journal().failedWith(sg.ref, err)
	// Permanent: Vault did not issue what the policy allows; signing the
	// same request again would produce the same certificate.
	return libsigner.PEMBundle{}, libsigner.PermanentError{Err: err}
}
