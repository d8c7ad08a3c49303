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

package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// Event reasons: stable API, documented in docs/auditing.md.
const (
	EventIssued             = "Issued"
	EventPolicyDenied       = "PolicyDenied"
	EventVerificationFailed = "VerificationFailed"
	EventVaultWarning       = "VaultWarning"
	EventSigningFailed      = "SigningFailed"
	EventJournalMismatch    = "JournalMismatch"
)

// maxEventNote keeps Event notes under the events.k8s.io limit of 1 KiB.
const maxEventNote = 1000

// AuditRecorder records every check and decision of the signer in the
// issuer's status, in Events on the request and on the issuer, in exactly
// one audit log line per decision, and in metrics. It implements
// signer.Recorder.
type AuditRecorder struct {
	log     logr.Logger
	events  events.EventRecorder
	status  *statusWriter
	metrics *Metrics
	now     func() time.Time

	mu        sync.Mutex
	lastVault map[string]string // issuer name -> "<uid>/<generation>/<reason>" last written
}

var _ signer.Recorder = (*AuditRecorder)(nil)

// VaultState implements signer.Recorder: it keeps the VaultReady condition,
// the observed generation and the policy digest up to date.
func (r *AuditRecorder) VaultState(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, err error) {
	reason := signer.Reason(err)
	ok := err == nil
	if ok {
		r.metrics.issuerVaultOK.WithLabelValues(iss.Name).Set(1)
	} else {
		r.metrics.issuerVaultOK.WithLabelValues(iss.Name).Set(0)
	}
	// One entry per issuer name, so the map stays as small as the set of
	// issuers however often they are edited.
	state := fmt.Sprintf("%s/%d/%s", iss.UID, iss.Generation, reason)
	r.mu.Lock()
	unchanged := r.lastVault[iss.Name] == state && ok
	r.mu.Unlock()
	if unchanged {
		return // the common case of a healthy issuer signing: nothing to write
	}
	status, message := metav1.ConditionTrue, "Vault accepted the AppRole login and the token may call the sign path"
	if !ok {
		status, message = metav1.ConditionFalse, vault.Sanitize(err.Error())
	}
	digest := policy.Digest(&iss.Spec.Policy)
	werr := r.status.update(ctx, iss.Name, iss.UID, func(live *v1alpha1.VaultIntermediateClusterIssuer, st *ownedStatus) {
		if live.Generation != iss.Generation {
			return // judged an older spec; the newer one gets its own check
		}
		conds := []metav1.Condition{}
		if st.VaultReady != nil {
			conds = append(conds, *st.VaultReady)
		}
		meta.SetStatusCondition(&conds, metav1.Condition{
			Type: ConditionVaultReady, Status: status, Reason: reason, Message: message,
			ObservedGeneration: live.Generation, LastTransitionTime: metav1.NewTime(r.now()),
		})
		st.VaultReady = &conds[0]
		st.InsecureTransport = insecureTransport(live, st.InsecureTransport, r.now())
		st.ObservedGeneration = live.Generation
		st.PolicyDigest = digest
	})
	if werr != nil {
		r.log.Error(werr, "could not record the Vault state", "issuer", iss.Name)
		return
	}
	r.mu.Lock()
	r.lastVault[iss.Name] = state
	r.mu.Unlock()
}

// VaultWarnings implements signer.Recorder.
func (r *AuditRecorder) VaultWarnings(_ context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, req signer.RequestRef, warnings []string) {
	note := capNote("Vault warned while signing: " + strings.Join(warnings, "; "))
	if req.Object != nil {
		r.events.Eventf(req.Object, iss, corev1.EventTypeWarning, EventVaultWarning, "Sign", "%s", note)
	}
	r.events.Eventf(iss, req.Object, corev1.EventTypeWarning, EventVaultWarning, "Sign", "%s", note)
}

// Decided implements signer.Recorder.
func (r *AuditRecorder) Decided(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, o signer.Outcome) {
	now := r.now()
	r.auditLog(iss, o)
	r.metrics.requests.WithLabelValues(iss.Name, o.Decision).Inc()
	for _, rule := range o.RuleNames {
		r.metrics.violations.WithLabelValues(iss.Name, rule).Inc()
	}
	ref := v1alpha1.RequestReference{Kind: o.Request.Kind, Namespace: o.Request.Namespace, Name: o.Request.Name,
		UID: string(o.Request.UID), Requester: o.Request.Requester}
	if a := o.Request.Approval; a != nil {
		ref.Approval = &v1alpha1.ApprovalRecord{Reason: a.Reason, Message: a.Message}
	}

	var (
		eventType, reason, note string
		mutate                  func(live *v1alpha1.VaultIntermediateClusterIssuer, st *ownedStatus)
	)
	switch o.Decision {
	case signer.DecisionIssued:
		owner := o.Request.Certificate
		if owner == "" {
			owner = o.Request.Name
		}
		r.metrics.notAfter.WithLabelValues(iss.Name, o.Request.Namespace, owner).Set(float64(o.NotAfter.Unix()))
		eventType, reason = corev1.EventTypeNormal, EventIssued
		note = fmt.Sprintf("Issued intermediate %q, serial %s, notAfter %s, to %s%s under policy %s (Vault request %s)",
			o.Subject, o.SerialNumber, o.NotAfter.UTC().Format(time.RFC3339), requesterText(o.Request.Requester),
			approvalText(o.Request.Approval), o.PolicyDigest, o.VaultRequestID)
		notAfter := metav1.NewTime(o.NotAfter)
		rec := &v1alpha1.IssuedRecord{Request: ref, Subject: o.Subject, SerialNumber: o.SerialNumber,
			Fingerprint: o.Fingerprint, NotAfter: &notAfter, Time: metav1.NewTime(now),
			PolicyDigest: o.PolicyDigest, VaultRequestID: o.VaultRequestID}
		mutate = func(_ *v1alpha1.VaultIntermediateClusterIssuer, st *ownedStatus) {
			st.LastIssued = rec
			st.IssuedCount++
		}
	case signer.DecisionDenied, signer.DecisionVerificationFailed:
		eventType, reason = corev1.EventTypeWarning, EventPolicyDenied
		note = fmt.Sprintf("Denied the request of %s under policy %s; Vault was not called: %s",
			requesterText(o.Request.Requester), o.PolicyDigest, strings.Join(o.Violations, "; "))
		if o.Decision == signer.DecisionVerificationFailed {
			reason = EventVerificationFailed
			note = fmt.Sprintf("The certificate Vault issued (serial %s) for %s failed the post-issuance check under policy %s and was not delivered; "+
				"it remains valid in Vault: revoke it by hand (runbook): %s",
				o.SerialNumber, requesterText(o.Request.Requester), o.PolicyDigest, strings.Join(o.Violations, "; "))
		}
		rec := &v1alpha1.DeniedRecord{Request: ref, Decision: o.Decision, Violations: o.Violations,
			Time: metav1.NewTime(now), PolicyDigest: o.PolicyDigest}
		mutate = func(_ *v1alpha1.VaultIntermediateClusterIssuer, st *ownedStatus) {
			st.LastDenied = rec
			st.DeniedCount++
		}
	default:
		eventType, reason = corev1.EventTypeWarning, EventSigningFailed
		note = "Signing failed"
		if o.Err != nil {
			note += ": " + vault.Sanitize(o.Err.Error())
		}
	}
	note = capNote(note)
	if o.Request.Object != nil {
		r.events.Eventf(o.Request.Object, iss, eventType, reason, "Sign", "%s", note)
	}
	r.events.Eventf(iss, o.Request.Object, eventType, reason, "Sign", "%s", note)
	if mutate != nil {
		if err := r.status.update(ctx, iss.Name, iss.UID, mutate); err != nil {
			r.log.Error(err, "could not record the decision in the issuer status", "issuer", iss.Name, "decision", o.Decision)
		}
	}
}

// auditLog writes the one audit line of a decision. Its keys are stable API,
// documented in docs/auditing.md.
func (r *AuditRecorder) auditLog(iss *v1alpha1.VaultIntermediateClusterIssuer, o signer.Outcome) {
	request := o.Request.Name
	if o.Request.Namespace != "" {
		request = o.Request.Namespace + "/" + o.Request.Name
	}
	kv := []any{
		"audit", true,
		"decision", o.Decision,
		"issuer", iss.Name,
		"requestKind", o.Request.Kind,
		"request", request,
		"namespace", o.Request.Namespace,
		"requestUID", string(o.Request.UID),
		"requester", o.Request.Requester,
		"approvedReason", approvalReason(o.Request.Approval),
		"approvedMessage", approvalMessage(o.Request.Approval),
		"subject", o.Subject,
		"sans", o.SANs,
		"serial", o.SerialNumber,
		"fingerprint", o.Fingerprint,
		"notAfter", formatTime(o.NotAfter),
		"violations", o.Violations,
		"policyDigest", o.PolicyDigest,
		"vaultRequestID", o.VaultRequestID,
	}
	if o.Recovered {
		kv = append(kv, "recovered", true)
	}
	if o.Err != nil {
		kv = append(kv, "error", vault.Sanitize(o.Err.Error()))
	}
	r.log.Info("decision", kv...)
}

// requesterText names the requester in an Event note.
func requesterText(requester string) string {
	if requester == "" {
		return "an unknown requester (no spec.username: cert-manager's webhook did not record one)"
	}
	return fmt.Sprintf("requester %q", requester)
}

// approvalText describes the approval in an Event note.
func approvalText(a *signer.Approval) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf(", approved (reason %q, message %q),", a.Reason, a.Message)
}

func approvalReason(a *signer.Approval) string {
	if a == nil {
		return ""
	}
	return a.Reason
}

func approvalMessage(a *signer.Approval) string {
	if a == nil {
		return ""
	}
	return a.Message
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func capNote(s string) string {
	if len(s) <= maxEventNote {
		return s
	}
	cut := maxEventNote - len(" [truncated]")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + " [truncated]"
}

// JournalMismatch implements signer.Recorder: a VaultSerial record on a
// request named a certificate that is not the request's. It gets its own
// audit line (message "journal mismatch"), a Warning Event on the request
// and on the issuer, and a count in journal_mismatches_total: someone with
// write access to request status may have tried to steer the issuer.
func (r *AuditRecorder) JournalMismatch(_ context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, m signer.Mismatch) {
	request := m.Request.Name
	if m.Request.Namespace != "" {
		request = m.Request.Namespace + "/" + m.Request.Name
	}
	r.log.Info("journal mismatch",
		"audit", true,
		"issuer", iss.Name,
		"requestKind", m.Request.Kind,
		"request", request,
		"namespace", m.Request.Namespace,
		"requestUID", string(m.Request.UID),
		"serial", m.Serial,
		"reason", m.Reason,
		"policyDigest", m.PolicyDigest,
	)
	r.metrics.journalMismatches.WithLabelValues(iss.Name).Inc()
	note := capNote(fmt.Sprintf("Ignored the %s record naming serial %s: %s. Nothing was delivered or revoked because of it; the request is signed as if the record were absent. Find out who wrote it (the request's managedFields).",
		signer.ConditionVaultSerial, m.Serial, m.Reason))
	if m.Request.Object != nil {
		r.events.Eventf(m.Request.Object, iss, corev1.EventTypeWarning, EventJournalMismatch, "Sign", "%s", note)
	}
	r.events.Eventf(iss, m.Request.Object, corev1.EventTypeWarning, EventJournalMismatch, "Sign", "%s", note)
}
