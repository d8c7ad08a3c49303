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
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ConditionVaultSerial is the type of the request condition that journals a
// signing, so that a request is never signed twice even when the controller
// dies between Vault's answer and the delivery of the certificate.
//
// The controller writes it once per request, with status Unknown and reason
// SigningRequested, before Vault is asked to sign; its lastTransitionTime is
// when. A retry that finds it searches Vault for a certificate with the
// request's public key issued since then before it asks again.
//
// Versions before this one also wrote status True, reason VaultIssued, with
// the serial in the message, once Vault had answered. Anyone allowed to write
// the request's status can write that too, so such a record is read as a
// hint only: the certificate it names is delivered only if it carries the
// request's public key, was issued after the request was created, and passes
// the post-issuance check. Anything else is reported (JournalMismatch) and
// ignored. Nothing the journal names is ever revoked.
const ConditionVaultSerial = "pki.golemtrust.am/VaultSerial"

// The reasons of the ConditionVaultSerial condition.
const (
	// JournalReasonIntent: Vault is about to be asked to sign.
	JournalReasonIntent = "SigningRequested"
	// JournalReasonIssued: Vault answered with the serial in the message
	// (written by earlier versions only; read as a hint).
	JournalReasonIssued = "VaultIssued"
)

// Journal records, on the request, that Vault is about to be asked to sign
// it. Implementations must be safe for concurrent use.
type Journal interface {
	// Intent records that Vault is about to be asked to sign the request,
	// at time at. An error means the record may be missing: Vault must
	// then not be called.
	Intent(ctx context.Context, req RequestRef, at time.Time) error
}

// journalEntry is what is known about earlier attempts at a request.
type journalEntry struct {
	// intent is when Vault was last about to be asked to sign; zero if it
	// never was (as far as the journal knows).
	intent time.Time
	// hint is a serial a VaultSerial record on the request names: someone
	// else's field, to be checked before anything is done with it.
	hint string
	// delivered is the serial of the certificate this process already
	// returned for the request. issuer-lib may call Sign again before its
	// cache shows the request Ready; the answer is then the same
	// certificate, without a second decision.
	delivered string
	// failed is the error this process already failed the request with,
	// returned again for the same reason.
	failed error
}

// memoryJournal answers from memory first (the request object issuer-lib
// passes may come from a cache that has not seen the intent yet), then from
// the condition on the request object, and writes intents through next.
type memoryJournal struct {
	next Journal

	mu      sync.Mutex
	entries map[types.UID]journalEntry
}

// maxJournalEntries bounds the memory journal. Clearing it loses nothing
// that matters: the intents are on the request objects, and a request that
// was delivered or failed is not handed to Sign again once the cache has
// caught up.
const maxJournalEntries = 100_000

// lookup returns what the journal knows about the request.
func (j *memoryJournal) lookup(req RequestRef) journalEntry {
	j.mu.Lock()
	e, ok := j.entries[req.UID]
	j.mu.Unlock()
	if ok {
		return e
	}
	return entryFromRequest(req)
}

// entryFromRequest reads the VaultSerial condition of a CertificateRequest
// or a Kubernetes CertificateSigningRequest.
func entryFromRequest(req RequestRef) journalEntry {
	var status, reason, message string
	var at time.Time
	switch o := req.Object.(type) {
	case *cmapi.CertificateRequest:
		for _, c := range o.Status.Conditions {
			if string(c.Type) == ConditionVaultSerial {
				status, reason, message = string(c.Status), c.Reason, c.Message
				if c.LastTransitionTime != nil {
					at = c.LastTransitionTime.Time
				}
			}
		}
	case *certificatesv1.CertificateSigningRequest:
		for _, c := range o.Status.Conditions {
			if string(c.Type) == ConditionVaultSerial {
				status, reason, message = string(c.Status), c.Reason, c.Message
				at = c.LastTransitionTime.Time
			}
		}
	}
	switch {
	case status == string(cmmeta.ConditionTrue) && message != "":
		return journalEntry{hint: message}
	case status == string(corev1.ConditionUnknown) && reason == JournalReasonIntent && !at.IsZero():
		return journalEntry{intent: at}
	}
	return journalEntry{}
}

func (j *memoryJournal) update(req RequestRef, change func(*journalEntry)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[req.UID]
	if !ok {
		e = entryFromRequest(req)
	}
	change(&e)
	if len(j.entries) >= maxJournalEntries {
		clear(j.entries)
	}
	j.entries[req.UID] = e
}

// intent writes the intent through next; only once that succeeded is it
// remembered.
func (j *memoryJournal) intent(ctx context.Context, req RequestRef, at time.Time) error {
	if j.next != nil {
		if err := j.next.Intent(ctx, req, at); err != nil {
			return err
		}
	}
	j.update(req, func(e *journalEntry) { e.intent, e.hint = at, "" })
	return nil
}

// delivered remembers that the certificate with serial was returned for the
// request.
func (j *memoryJournal) delivered(req RequestRef, serial string) {
	j.update(req, func(e *journalEntry) { e.delivered, e.hint = serial, "" })
}

// failedWith remembers that the request was failed for good with err.
func (j *memoryJournal) failedWith(req RequestRef, err error) {
	j.update(req, func(e *journalEntry) { e.failed = err })
}

// ignoreHint forgets the request's hint once it was judged, so that it is
// judged (and reported) once per process, not at every retry.
func (j *memoryJournal) ignoreHint(req RequestRef) {
	j.update(req, func(e *journalEntry) { e.hint = "" })
}
