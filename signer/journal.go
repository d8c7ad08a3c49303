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
	"k8s.io/apimachinery/pkg/types"
)

// ConditionVaultSerial is the type of the CertificateRequest condition that
// journals a signing, so that a request is never signed twice even when the
// controller dies mid-way:
//
//   - status Unknown, reason SigningRequested: written just before Vault is
//     asked to sign; its lastTransitionTime is when. A retry that finds it
//     searches Vault for a certificate with the request's public key issued
//     since then before asking again.
//   - status True, reason VaultIssued: written the moment Vault answers,
//     before the certificate is checked and delivered; the message is the
//     serial (colon-separated, as Vault prints it). A retry that finds it
//     reads the certificate back from Vault instead of signing again.
const ConditionVaultSerial = "pki.golemtrust.am/VaultSerial"

// Journal records the progress of a signing on the request. Implementations
// must be safe for concurrent use and must not fail the signing: errors are
// theirs to log.
type Journal interface {
	// Intent records that Vault is about to be asked to sign, at time at.
	Intent(ctx context.Context, req RequestRef, at time.Time)
	// Record stores the serial Vault issued.
	Record(ctx context.Context, req RequestRef, serial string)
}

// journalEntry is what is known about an earlier attempt on a request.
type journalEntry struct {
	serial string
	intent time.Time
	// delivered: this process already returned the certificate for the
	// request (and recorded the decision). issuer-lib may call Sign again
	// before its cache shows the request Ready; the answer is then the same
	// certificate, without a second decision.
	delivered bool
}

// memoryJournal answers from memory first (the request object issuer-lib
// passes may come from a cache that has not seen the record yet), then from
// the condition on the request object, and passes writes on to next.
type memoryJournal struct {
	next Journal

	mu      sync.Mutex
	entries map[types.UID]journalEntry
}

// lookup returns what the journal knows about the request.
func (j *memoryJournal) lookup(req RequestRef) journalEntry {
	j.mu.Lock()
	e, ok := j.entries[req.UID]
	j.mu.Unlock()
	if ok {
		return e
	}
	if cr, ok := req.Object.(*cmapi.CertificateRequest); ok {
		for _, c := range cr.Status.Conditions {
			if string(c.Type) != ConditionVaultSerial {
				continue
			}
			switch {
			case c.Status == cmmeta.ConditionTrue && c.Message != "":
				return journalEntry{serial: c.Message}
			case c.Status == cmmeta.ConditionUnknown && c.LastTransitionTime != nil:
				return journalEntry{intent: c.LastTransitionTime.Time}
			}
		}
	}
	return journalEntry{}
}

func (j *memoryJournal) set(req RequestRef, e journalEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) > 100_000 {
		// Bounded: the conditions on the request objects remain.
		clear(j.entries)
	}
	j.entries[req.UID] = e
}

// delivered marks the request's certificate as returned by this process.
func (j *memoryJournal) delivered(req RequestRef, serial string) {
	j.set(req, journalEntry{serial: serial, delivered: true})
}

// Intent implements Journal.
func (j *memoryJournal) Intent(ctx context.Context, req RequestRef, at time.Time) {
	j.set(req, journalEntry{intent: at})
	if j.next != nil {
		j.next.Intent(ctx, req, at)
	}
}

// Record implements Journal.
func (j *memoryJournal) Record(ctx context.Context, req RequestRef, serial string) {
	j.set(req, journalEntry{serial: serial})
	if j.next != nil {
		j.next.Record(ctx, req, serial)
	}
}
