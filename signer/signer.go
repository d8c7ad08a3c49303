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
	"errors"
	"sync"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// callsPerReconcile bounds one check or signing: at most this many Vault
// calls of spec.vault.requestTimeout each (login, sign, ...).
const callsPerReconcile = 4

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
	// Journal writes the intent of a signing on the request before Vault is
	// called, so that a request is never signed twice; nil keeps it in
	// memory only.
	Journal Journal
	// RecoveryBudget bounds, per reconcile, the search of Vault for the
	// certificate of a signing whose answer was lost; zero fields take the
	// vault package's defaults.
	RecoveryBudget vault.IndexBudget
	// Now returns the current time; the post-issuance check compares
	// validity against it.
	Now func() time.Time

	clients     clientCache
	indexes     indexCache
	journalOnce sync.Once
	memJournal  *memoryJournal
}

// Sign judges the request against the issuer's policy and, if it is allowed,
// obtains the certificate from Vault (signed now, or recovered from an
// earlier attempt whose answer was lost), checks it and returns the chain.
// Each step classifies its own failures; see decide, signOrRecover, verify
// and report.
func (s *Signer) Sign(ctx context.Context, cr libsigner.CertificateRequestObject, obj issuerapi.Issuer) (libsigner.PEMBundle, error) {
	iss, err := asIssuer(obj)
	if err != nil {
		return libsigner.PEMBundle{}, libsigner.PermanentError{Err: err} // Permanent: not our issuer type.
	}
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout(iss))
	defer cancel()

	sg, err := s.decide(ctx, iss, cr)
	if err != nil {
		return libsigner.PEMBundle{}, err // classified by decide
	}
	got, err := s.signOrRecover(ctx, sg)
	if err != nil {
		return libsigner.PEMBundle{}, err // classified by signOrRecover
	}
	return s.report(ctx, sg, got, s.verify(sg, got)) // classified by report
}

func reconcileTimeout(iss *v1alpha1.VaultIntermediateClusterIssuer) time.Duration {
	per := defaultRequestTimeout
	if t := iss.Spec.Vault.RequestTimeout; t != nil && t.Duration > 0 {
		per = t.Duration
	}
	return callsPerReconcile * per
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
