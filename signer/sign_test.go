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
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// earlier is what a test case finds before Sign runs: the request as
// earlier attempts (or someone else) left it, the serial Sign must deliver
// ("" for a new one), and serials that must still be unrevoked afterwards.
type earlier struct {
	cr        *cmapi.CertificateRequest
	want      string
	unrevoked []string
}

// TestSign runs Sign against OpenBao in each situation a request can be in.
// Every case counts the certificates the mount holds before and after, so a
// second signing cannot go unnoticed.
func TestSign(t *testing.T) {
	tests := []struct {
		name        string
		maxLeaseTTL string
		issuer      func(*v1alpha1.VaultIntermediateClusterIssuer)
		subject     *cmapiSubject
		before      func(t *testing.T, f *fixture, k key) earlier
		journalErr  error
		budget      vault.IndexBudget
		// calls is how many times Sign is called; all but the last must
		// be pending.
		calls        int
		wantClass    string
		wantErr      string
		wantNewCerts int
		wantDecision string
		wantRecover  bool
		wantMismatch string
		wantIntents  int
	}{
		{
			name: "an allowed request is signed once, after its intent is journaled",
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: f.request("fresh", k, time.Now())}
			},
			wantNewCerts: 1, wantDecision: DecisionIssued, wantIntents: 1,
		},
		{
			name:    "a denied request never reaches Vault",
			subject: &cmapiSubject{O: "Evil Corp"},
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: f.request("denied", k, time.Now())}
			},
			wantClass: "permanent", wantErr: "Vault was not called", wantDecision: DecisionDenied,
		},
		{
			name: "without the intent on the request, Vault is not asked",
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: f.request("no-intent", k, time.Now())}
			},
			journalErr: errors.New("the API server is unavailable"),
			wantClass:  "pending", wantErr: "could not journal the intent",
		},
		{
			name: "the certificate of an attempt whose answer was lost is delivered, not signed again",
			before: func(t *testing.T, f *fixture, k key) earlier {
				intent := time.Now()
				serial := f.signDirect(t, k.csr, nil) // Vault answered; the controller died
				cr := withJournal(f.request("lost-answer", k, intent.Add(-time.Second)), cmmeta.ConditionUnknown, JournalReasonIntent, "", intent)
				return earlier{cr: cr, want: serial}
			},
			wantDecision: DecisionIssued, wantRecover: true,
		},
		{
			name: "an intent without a certificate in Vault is signed once, without a second intent",
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: withJournal(f.request("intent-only", k, time.Now()), cmmeta.ConditionUnknown, JournalReasonIntent, "", time.Now())}
			},
			wantNewCerts: 1, wantDecision: DecisionIssued,
		},
		{
			name: "a search that runs out of budget is pending, resumes where it stopped, and then signs",
			before: func(t *testing.T, f *fixture, _ key) earlier {
				filler := newKey(t, bankSubject)
				for range 50 {
					f.signDirect(t, filler.csr, nil)
				}
				k := newKey(t, bankSubject)
				return earlier{cr: withJournal(f.request("budget", k, time.Now()), cmmeta.ConditionUnknown, JournalReasonIntent, "", time.Now())}
			},
			budget:       vault.IndexBudget{Reads: 20, Parallel: 4},
			calls:        3, // 51 certificates (50 and the root), 20 per call
			wantNewCerts: 1, wantDecision: DecisionIssued,
		},
		{
			name: "a lost answer among more certificates than one round reads is found after the whole mount was read, not signed again",
			before: func(t *testing.T, f *fixture, k key) earlier {
				filler := newKey(t, bankSubject)
				for range 50 {
					f.signDirect(t, filler.csr, nil)
				}
				intent := time.Now()
				serial := f.signDirect(t, k.csr, nil)
				cr := withJournal(f.request("budget-lost", k, intent.Add(-time.Second)), cmmeta.ConditionUnknown, JournalReasonIntent, "", intent)
				return earlier{cr: cr, want: serial}
			},
			budget:       vault.IndexBudget{Reads: 20, Parallel: 4},
			calls:        3, // 52 certificates, 20 per call
			wantDecision: DecisionIssued, wantRecover: true,
		},
		{
			name: "a VaultSerial record naming another key's certificate is ignored and reported; it is not revoked",
			before: func(t *testing.T, f *fixture, k key) earlier {
				other := newKey(t, bankSubject)
				victim := f.signDirect(t, other.csr, nil)
				cr := withJournal(f.request("forged", k, time.Now()), cmmeta.ConditionTrue, JournalReasonIssued, victim, time.Now())
				return earlier{cr: cr, unrevoked: []string{victim}}
			},
			wantNewCerts: 1, wantDecision: DecisionIssued, wantMismatch: "public key", wantIntents: 1,
		},
		{
			name: "a record naming the certificate the request's key had before the request existed is ignored",
			before: func(t *testing.T, f *fixture, k key) earlier {
				// cert-manager's rotationPolicy Never: the renewal's CSR
				// reuses the key of the certificate it replaces.
				previous := f.signDirect(t, k.csr, map[string]any{"not_before_duration": "2h"})
				cr := withJournal(f.request("predecessor", k, time.Now()), cmmeta.ConditionTrue, JournalReasonIssued, previous, time.Now())
				return earlier{cr: cr, unrevoked: []string{previous}}
			},
			wantNewCerts: 1, wantDecision: DecisionIssued, wantMismatch: "before the request was created", wantIntents: 1,
		},
		{
			name: "a record that is no serial never shapes a Vault path",
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: withJournal(f.request("not-a-serial", k, time.Now()), cmmeta.ConditionTrue, JournalReasonIssued, "../../sys/seal", time.Now())}
			},
			wantNewCerts: 1, wantDecision: DecisionIssued, wantMismatch: "not a certificate serial", wantIntents: 1,
		},
		{
			name: "a record by an earlier version naming the request's own certificate is delivered",
			before: func(t *testing.T, f *fixture, k key) earlier {
				created := time.Now()
				serial := f.signDirect(t, k.csr, nil)
				cr := withJournal(f.request("legacy", k, created), cmmeta.ConditionTrue, JournalReasonIssued, serial, time.Now())
				return earlier{cr: cr, want: serial}
			},
			wantDecision: DecisionIssued, wantRecover: true,
		},
		{
			name: "a record naming a certificate with the request's key but another subject is ignored",
			before: func(t *testing.T, f *fixture, k key) earlier {
				serial := f.signDirect(t, k.csr, map[string]any{"organization": "Evil Corp"})
				cr := withJournal(f.request("wrong-subject", k, time.Now().Add(-time.Second)), cmmeta.ConditionTrue, JournalReasonIssued, serial, time.Now())
				return earlier{cr: cr, unrevoked: []string{serial}}
			},
			wantNewCerts: 1, wantDecision: DecisionIssued, wantMismatch: "post-issuance check", wantIntents: 1,
		},
		{
			name:        "a certificate that fails the post-issuance check is not delivered and not revoked",
			maxLeaseTTL: "12h", // below the policy's 24h minimum: Vault shortens the TTL
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: f.request("short", k, time.Now())}
			},
			wantClass: "permanent", wantErr: "remains valid in Vault until the security team revokes it",
			wantNewCerts: 1, wantDecision: DecisionVerificationFailed, wantIntents: 1,
		},
		{
			name: "a policy needing a parameter OpenBao lacks makes the issuer wait instead of issuing",
			issuer: func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Policy.NameConstraints = &v1alpha1.NameConstraintsPolicy{ExcludedDNSDomains: []string{"evil.example"}}
			},
			before: func(_ *testing.T, f *fixture, k key) earlier {
				return earlier{cr: f.request("excluded", k, time.Now())}
			},
			wantClass: "issuer", wantErr: "excluded_dns_domains",
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			maxTTL := tc.maxLeaseTTL
			if maxTTL == "" {
				maxTTL = "87600h"
			}
			f := newFixture(t, fmt.Sprintf("sign-%d", i), maxTTL)
			if tc.issuer != nil {
				tc.issuer(f.iss)
			}
			subject := bankSubject
			if tc.subject != nil {
				subject.Organization = []string{tc.subject.O}
			}
			k := newKey(t, subject)
			prior := tc.before(t, f, k)
			certsBefore := len(bao.Serials(t, f.mount))
			j := &testJournal{fail: tc.journalErr}
			rec := &testRecorder{}
			obs := &countingObserver{}
			s := f.signer(j, rec, obs)
			s.RecoveryBudget = tc.budget
			calls := max(tc.calls, 1)
			var (
				bundle libsigner.PEMBundle
				err    error
			)
			for call := 1; call <= calls; call++ {
				bundle, err = s.Sign(t.Context(), wrap(prior.cr), f.iss)
				if call < calls {
					var pending libsigner.PendingError
					if !errors.As(err, &pending) || !strings.Contains(err.Error(), "certificates read so far") {
						t.Fatalf("call %d: %v, want a pending search", call, err)
					}
					t.Logf("call %d: %v", call, err)
				}
			}
			if got := errorClass(err); got != tc.wantClass {
				t.Fatalf("Sign: %s error %v, want %q", got, err, tc.wantClass)
			}
			if tc.wantErr != "" && !strings.Contains(fmt.Sprint(err), tc.wantErr) {
				t.Errorf("the error does not say %q: %v", tc.wantErr, err)
			}
			if got := len(bao.Serials(t, f.mount)) - certsBefore; got != tc.wantNewCerts {
				t.Errorf("Vault issued %d certificates, want %d", got, tc.wantNewCerts)
			}
			if got := j.count(); got != tc.wantIntents {
				t.Errorf("%d intents journaled, want %d", got, tc.wantIntents)
			}
			var decision Outcome
			if len(rec.decisions) > 0 {
				decision = rec.decisions[len(rec.decisions)-1]
			}
			if len(rec.decisions) > 1 {
				t.Errorf("%d decisions recorded, want at most one: %+v", len(rec.decisions), rec.decisions)
			}
			if decision.Decision != tc.wantDecision {
				t.Errorf("decision %q, want %q", decision.Decision, tc.wantDecision)
			}
			if decision.Recovered != tc.wantRecover {
				t.Errorf("decision recovered=%v, want %v", decision.Recovered, tc.wantRecover)
			}
			if tc.wantDecision == DecisionIssued {
				chain, perr := vault.ParseCertificates(bundle.ChainPEM)
				roots, rerr := vault.ParseCertificates(bundle.CAPEM)
				if perr != nil || rerr != nil || len(chain) != 1 || len(roots) != 1 || !roots[0].Equal(f.root) {
					t.Fatalf("bundle: %d certificates (%v), ca %d (%v)", len(chain), perr, len(roots), rerr)
				}
				if serial := colonHex(chain[0].SerialNumber.Bytes()); serial != decision.SerialNumber {
					t.Errorf("delivered serial %s, decision names %s", serial, decision.SerialNumber)
				}
				if prior.want != "" && decision.SerialNumber != prior.want {
					t.Errorf("delivered %s, want the earlier attempt's %s", decision.SerialNumber, prior.want)
				}
			}
			switch {
			case tc.wantMismatch == "" && len(rec.mismatches) > 0:
				t.Errorf("unexpected mismatch reports: %+v", rec.mismatches)
			case tc.wantMismatch != "" && (len(rec.mismatches) != 1 || !strings.Contains(rec.mismatches[0].Reason, tc.wantMismatch)):
				t.Errorf("mismatch reports %+v, want one saying %q", rec.mismatches, tc.wantMismatch)
			}
			for _, serial := range prior.unrevoked {
				if f.revoked(t, serial) {
					t.Errorf("certificate %s was revoked", serial)
				}
			}
			if tc.wantDecision == DecisionVerificationFailed && f.revoked(t, decision.SerialNumber) {
				t.Errorf("the certificate that failed the check (%s) was revoked; the issuer never revokes", decision.SerialNumber)
			}
			if tc.budget.Reads > 0 {
				// Each certificate once, and the one found once more to
				// deliver it.
				if reads, listed := obs.count("read-certificate"), certsBefore; reads < listed || reads > listed+1 {
					t.Errorf("the search read %d certificates for the %d the mount held: some were read twice, or not at all", reads, listed)
				}
			}

			// issuer-lib may hand the same request to Sign again before its
			// cache shows the outcome: the same answer, no second decision,
			// no second certificate.
			if tc.wantDecision == DecisionIssued || tc.wantDecision == DecisionVerificationFailed {
				decisions, serials := len(rec.decisions), len(bao.Serials(t, f.mount))
				again, err2 := s.Sign(t.Context(), wrap(prior.cr), f.iss)
				if errorClass(err2) != tc.wantClass || string(again.ChainPEM) != string(bundle.ChainPEM) {
					t.Errorf("a repeated Sign answered %v (%s), not the same outcome", err2, errorClass(err2))
				}
				if len(rec.decisions) != decisions || len(bao.Serials(t, f.mount)) != serials {
					t.Errorf("a repeated Sign recorded a decision or signed again")
				}
			}
		})
	}
}

// cmapiSubject overrides the CSR's organization.
type cmapiSubject struct{ O string }

// errorClass names issuer-lib's class of err: "", "permanent", "pending",
// "issuer" or "retryable".
func errorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.As(err, &libsigner.PermanentError{}):
		return "permanent"
	case errors.As(err, &libsigner.PendingError{}):
		return "pending"
	case errors.As(err, &libsigner.IssuerError{}):
		return "issuer"
	default:
		return "retryable"
	}
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}
