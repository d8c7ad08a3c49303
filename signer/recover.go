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
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"time"

	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// recoveryWindow is how far before the journaled intent (or the request's
// creation) a certificate's NotBefore may lie and still be taken for the
// request's: Vault backdates NotBefore (30s by default), and clocks differ.
const recoveryWindow = 5 * time.Minute

// searchRequeue is how soon a search that ran out of its budget continues.
const searchRequeue = time.Second

// recoverHinted judges the certificate a VaultSerial record on the request
// names. The record is someone else's field: the certificate is returned
// only if it is the request's (its public key, issued after the request was
// created), unrevoked, and passes the post-issuance check. Anything else is
// reported as a mismatch and ignored, and the request proceeds as if it had
// no record: nil, nil.
func (s *Signer) recoverHinted(ctx context.Context, sg *signing, serial string) (*issuance, error) {
	mismatch := func(reason string) (*issuance, error) {
		s.journal().ignoreHint(sg.ref)
		sg.log.Info("ignoring the VaultSerial record on the request: it names a certificate that is not the request's",
			"serial", vault.Sanitize(serial), "reason", reason)
		s.recorder().JournalMismatch(ctx, sg.iss, Mismatch{Request: sg.ref, Serial: vault.Sanitize(serial),
			Reason: reason, PolicyDigest: sg.digest})
		return nil, nil // no error: the request proceeds as if it had no record
	}
	got, err := s.readIssued(ctx, sg, serial)
	switch c := vault.ClassOf(err); {
	case c == vault.ClassInvalidRequest:
		return mismatch("it is not a certificate serial number")
	case c == vault.ClassNotFound:
		return mismatch(fmt.Sprintf("mount %s holds no certificate with this serial", sg.iss.Spec.Vault.Mount))
	case err != nil:
		return nil, s.vaultFailure(ctx, sg, err) // classified by vaultFailure
	}
	if why := notTheRequests(sg, got.resp.Certificate); why != "" {
		return mismatch(why)
	}
	if got.revoked {
		s.journal().ignoreHint(sg.ref)
		sg.log.Info("the certificate the VaultSerial record names is revoked; a new one is signed instead", "serial", serial)
		return nil, nil // no error: a revoked certificate is never delivered; sign anew
	}
	if v := s.verify(sg, got); !v.ok() {
		return mismatch("it fails the post-issuance check against the policy in force: " + strings.Join(v.lines(), "; "))
	}
	got.recovered = true
	sg.log.Info("delivering the certificate a VaultSerial record names: it carries the request's public key and passes the post-issuance check",
		"serial", serial)
	return got, nil
}

// notTheRequests says why cert cannot be the certificate of the request, or
// "" when it can be: it must carry the CSR's public key and have been issued
// after the request was created. With cert-manager's rotationPolicy Never a
// renewal's CSR reuses the key of the certificate it replaces, so the key
// alone does not tell a renewal from its predecessor.
func notTheRequests(sg *signing, cert *x509.Certificate) string {
	if !bytes.Equal(cert.RawSubjectPublicKeyInfo, sg.decision.CSR.RawSubjectPublicKeyInfo) {
		return "its public key is not the one of the request's CSR"
	}
	if !sg.ref.Created.IsZero() && cert.NotBefore.Before(sg.ref.Created.Add(-recoveryWindow)) {
		return fmt.Sprintf("it was issued (NotBefore %s) before the request was created (%s)",
			cert.NotBefore.UTC().Format(time.RFC3339), sg.ref.Created.UTC().Format(time.RFC3339))
	}
	return ""
}

// recoverLost looks for the certificate of an earlier attempt whose intent
// is journaled and whose answer never reached delivery: a certificate of
// the mount with the request's public key, issued since the intent. The
// search reads the mount's certificates through the mount's index, within
// the signer's RecoveryBudget per call; a search that runs out of budget
// keeps what it read and returns a PendingError, and the next call reads
// only the rest. Only a complete search decides. nil, nil: Vault never
// signed, sign now.
func (s *Signer) recoverLost(ctx context.Context, sg *signing, intent time.Time) (*issuance, error) {
	since := intent
	if sg.ref.Created.After(since) {
		since = sg.ref.Created
	}
	since = since.Add(-recoveryWindow)
	key := vault.PublicKeyHash(sg.decision.CSR.RawSubjectPublicKeyInfo)
	idx := s.indexes.get(sg.vc.MountID())
	progress, err := idx.Sync(ctx, sg.vc, sg.creds, s.RecoveryBudget)
	if err != nil {
		return nil, s.vaultFailure(ctx, sg, err) // classified by vaultFailure
	}
	if !progress.Complete() {
		// Pending: the search ran out of its budget for this reconcile. What
		// it read is kept, so the next attempt reads only the rest; the
		// issuer stays Ready, since nothing is wrong with it. The decision
		// waits for the whole mount, so that it sees every certificate with
		// the request's key, not the first one read.
		return nil, libsigner.PendingError{RequeueAfter: searchRequeue, Err: fmt.Errorf(
			"an earlier attempt to sign this request (at %s) may have been signed by Vault without its answer reaching the controller; "+
				"searching %s for a certificate with this request's public key before signing again: %d of %d certificates read so far",
			intent.UTC().Format(time.RFC3339), sg.iss.Spec.Vault.Mount, progress.Indexed, progress.Listed)}
	}
	candidates := idx.Matching(func(c vault.IndexedCertificate) bool {
		return c.PublicKeySHA256 == key && !c.NotBefore.Before(since)
	})
	var failing *issuance
	for _, c := range candidates {
		got, err := s.readIssued(ctx, sg, c.Serial)
		switch {
		case vault.ClassOf(err) == vault.ClassNotFound:
			continue // tidied since it was indexed
		case err != nil:
			return nil, s.vaultFailure(ctx, sg, err) // classified by vaultFailure
		case got.revoked:
			sg.log.Info("a certificate Vault issued for an earlier attempt is revoked and is not reused", "serial", c.Serial)
			continue
		}
		got.recovered = true
		if s.verify(sg, got).ok() {
			sg.log.Info("reusing the certificate Vault issued for an earlier attempt whose answer was lost, instead of signing again",
				"serial", c.Serial, "intent", intent.UTC().Format(time.RFC3339))
			return got, nil
		}
		if failing == nil {
			failing = got
		}
	}
	if failing != nil {
		// What Vault issued for the request fails the check: report and
		// verify fail it like a fresh answer, instead of signing twice.
		return failing, nil
	}
	sg.log.V(1).Info("no certificate was issued for the earlier attempt; signing now", "intent", intent.UTC().Format(time.RFC3339),
		"certificatesSearched", progress.Listed)
	return nil, nil // no error: nothing was issued for the request; sign now
}

// readIssued reads a certificate of the mount by serial, with the issuer's
// chain, as a SignResponse.
func (s *Signer) readIssued(ctx context.Context, sg *signing, serial string) (*issuance, error) {
	issued, err := sg.vc.ReadCertificate(ctx, serial)
	if err != nil {
		return nil, err // a Vault error, classified by the caller
	}
	info, err := sg.vc.ReadIssuer(ctx)
	if err != nil {
		return nil, err // a Vault error, classified by the caller
	}
	return &issuance{revoked: issued.Revoked, resp: &vault.SignResponse{
		Certificate:  issued.Certificate,
		CAs:          append([]*x509.Certificate{info.Certificate}, info.Chain...),
		SerialNumber: serial,
	}}, nil
}

// indexCache keeps one certificate index per PKI mount (server, namespace,
// mount), shared by every issuer that signs from the mount, for the life of
// the process.
type indexCache struct {
	mu      sync.Mutex
	entries map[string]*vault.CertificateIndex
}

func (c *indexCache) get(mount string) *vault.CertificateIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*vault.CertificateIndex{}
	}
	idx, ok := c.entries[mount]
	if !ok {
		idx = vault.NewCertificateIndex()
		c.entries[mount] = idx
	}
	return idx
}
