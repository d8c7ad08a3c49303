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

	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// maxDeniedViolations caps the violations an Outcome carries.
const maxDeniedViolations = 16

// signing is one allowed request on its way through Sign.
type signing struct {
	iss      *v1alpha1.VaultIntermediateClusterIssuer
	ref      RequestRef
	req      policy.Request
	decision policy.Decision
	digest   string
	log      logr.Logger

	// Set by signOrRecover once connected.
	vc    *vault.Client
	creds vault.Credentials
}

// decide reads the request and judges it against the issuer's policy. A
// request it returns is allowed; a denied or unreadable one is recorded and
// ends here, before anything is asked of Vault.
func (s *Signer) decide(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, cr libsigner.CertificateRequestObject) (*signing, error) {
	digest := policy.Digest(&iss.Spec.Policy)
	req, ref, err := policyRequest(cr)
	if err != nil {
		err = fmt.Errorf("reading the request: %w", err)
		s.recorder().Decided(ctx, iss, Outcome{Decision: DecisionFailed, Request: ref, PolicyDigest: digest, Err: err})
		// Permanent: the request's own fields are malformed; only a new
		// request can fix that.
		return nil, libsigner.PermanentError{Err: err}
	}
	decision := policy.Evaluate(&iss.Spec.Policy, req)
	if !decision.Allowed() {
		out := Outcome{Decision: DecisionDenied, Request: ref, PolicyDigest: digest}
		describeRequest(&out, decision)
		out.Violations, out.RuleNames = violations(decision.Violations)
		s.recorder().Decided(ctx, iss, out)
		// Permanent: the CSR and the request fields are immutable, so the
		// same request would be denied again. Vault was not called.
		return nil, libsigner.PermanentError{Err: fmt.Errorf(
			"denied by the policy of VaultIntermediateClusterIssuer %q (policy %s); Vault was not called:\n%s",
			iss.Name, digest, decision.Message())}
	}
	logger := log.FromContext(ctx).WithValues("issuer", iss.Name, "requestKind", ref.Kind, "requester", ref.Requester)
	return &signing{iss: iss, ref: ref, req: req, decision: decision, digest: digest, log: logger}, nil
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
