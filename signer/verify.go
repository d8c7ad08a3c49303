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
	"crypto/x509"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// verification is the post-issuance check of one certificate: its chain up
// to a self-signed root, the root pin, and the policy and decision it was
// signed under.
type verification struct {
	chain *vault.Chain
	// policy lists what differs from the policy and the decision.
	policy field.ErrorList
	// chainErr: the chain does not end in a self-signed root.
	chainErr error
	// pinErr: the root is not spec.vault.rootFingerprint.
	pinErr error
}

// ok reports whether the certificate may be delivered.
func (v verification) ok() bool {
	return len(v.policy) == 0 && v.chainErr == nil && v.pinErr == nil
}

// onlyPin reports whether the root pin is the only failure: Vault signs
// under another root than the pinned one, an issuer-level problem.
func (v verification) onlyPin() bool {
	return v.pinErr != nil && len(v.policy) == 0 && v.chainErr == nil
}

// report renders every failure as "<rule>: <detail>", with the rule names.
func (v verification) report() (lines, rules []string) {
	lines, rules = violations(v.policy)
	switch {
	case v.chainErr != nil:
		lines = append(lines, "chain: "+v.chainErr.Error())
		rules = append(rules, "chain")
	case v.pinErr != nil:
		lines = append(lines, "spec.vault.rootFingerprint: "+v.pinErr.Error())
		rules = append(rules, "spec.vault.rootFingerprint")
	}
	return lines, rules
}

// lines renders every failure as "<rule>: <detail>".
func (v verification) lines() []string {
	lines, _ := v.report()
	return lines
}

// verify checks what Vault issued before anyone gets it. It calls nothing:
// the chain is what Vault returned (or, for a recovered certificate, the
// issuer's chain as Vault stores it).
func (s *Signer) verify(sg *signing, got *issuance) verification {
	var v verification
	var issuingCA *x509.Certificate
	v.chain, v.chainErr = vault.BuildChain(got.resp.Certificate, got.resp.CAs)
	if v.chainErr == nil {
		issuingCA = v.chain.IssuingCA()
		v.pinErr = checkRootPin(sg.iss, v.chain.Root)
	}
	v.policy = policy.Verify(&sg.iss.Spec.Policy, sg.decision, got.resp.Certificate, issuingCA, s.now())
	return v
}

// checkRootPin compares root with spec.vault.rootFingerprint, if set.
func checkRootPin(iss *v1alpha1.VaultIntermediateClusterIssuer, root *x509.Certificate) error {
	pin := normalizeFingerprint(iss.Spec.Vault.RootFingerprint)
	if pin == "" {
		return nil
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
