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

package vault

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// MaxIndexedCertificates bounds a CertificateIndex: at about 250 bytes per
// certificate, 200,000 certificates take about 50 MiB. A PKI mount that signs
// intermediates holds a few hundred; one with more than this needs a tidy
// (<mount>/tidy), and its index refuses to grow instead of exhausting memory.
const MaxIndexedCertificates = 200_000

// IndexBudget bounds one CertificateIndex.Sync, so that a mount with many
// certificates is read over several calls instead of in one that outlasts
// its caller's deadline.
type IndexBudget struct {
	// Reads is the most certificates one Sync reads.
	Reads int
	// Time is the longest one Sync spends reading.
	Time time.Duration
	// Parallel is how many reads are in flight at once.
	Parallel int
}

// The budget of a Sync when the caller sets none.
const (
	DefaultIndexReads    = 2000
	DefaultIndexTime     = 20 * time.Second
	DefaultIndexParallel = 8
)

func (b IndexBudget) withDefaults() IndexBudget {
	if b.Reads <= 0 {
		b.Reads = DefaultIndexReads
	}
	if b.Time <= 0 {
		b.Time = DefaultIndexTime
	}
	if b.Parallel <= 0 {
		b.Parallel = DefaultIndexParallel
	}
	return b
}

// IndexedCertificate is what the index keeps of one certificate of the
// mount: enough to find a certificate by its public key and validity, and to
// tell which CA signed it, without keeping the certificate itself.
type IndexedCertificate struct {
	// Serial is Vault's colon-separated serial.
	Serial string
	// PublicKeySHA256 is the SHA-256 of the DER SubjectPublicKeyInfo.
	PublicKeySHA256 [32]byte
	// IssuerSHA256 is the SHA-256 of the DER issuer name.
	IssuerSHA256 [32]byte
	NotBefore    time.Time
	NotAfter     time.Time
	IsCA         bool
}

// PublicKeyHash is the hash IndexedCertificate.PublicKeySHA256 holds, for a
// DER SubjectPublicKeyInfo.
func PublicKeyHash(spki []byte) [32]byte { return sha256.Sum256(spki) }

// SyncProgress says how much of a mount a CertificateIndex holds.
type SyncProgress struct {
	// Listed is how many certificates the mount lists.
	Listed int
	// Indexed is how many of them the index holds.
	Indexed int
	// Read is how many certificates this Sync read from Vault.
	Read int
}

// Complete reports whether every listed certificate is indexed.
func (p SyncProgress) Complete() bool { return p.Indexed >= p.Listed }

// CertificateIndex remembers what it read of one PKI mount's certificates,
// so that a search reads from Vault only the certificates it has not read
// before: a search interrupted by its budget resumes where it stopped, and
// the next one reads only what was issued since. It is safe for concurrent
// use; one Sync runs at a time, and others wait for it (their context
// bounds the wait) and then find its work done.
type CertificateIndex struct {
	syncing chan struct{}

	mu      sync.Mutex
	entries map[string]IndexedCertificate
}

// NewCertificateIndex returns an empty index.
func NewCertificateIndex() *CertificateIndex {
	return &CertificateIndex{syncing: make(chan struct{}, 1), entries: map[string]IndexedCertificate{}}
}

// Len is how many certificates the index holds.
func (x *CertificateIndex) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.entries)
}

// Matching returns the indexed certificates for which keep is true.
func (x *CertificateIndex) Matching(keep func(IndexedCertificate) bool) []IndexedCertificate {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []IndexedCertificate
	for _, e := range x.entries {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Sync lists the mount's certificates, forgets those no longer listed
// (tidied), and reads those it has not read yet, within budget. What it read
// is kept even when it fails or runs out of budget.
func (x *CertificateIndex) Sync(ctx context.Context, vc *Client, creds Credentials, budget IndexBudget) (SyncProgress, error) {
	budget = budget.withDefaults()
	select {
	case x.syncing <- struct{}{}:
		defer func() { <-x.syncing }()
	case <-ctx.Done():
		return SyncProgress{}, &Error{Class: ClassUnreachable, Op: opListCerts,
			Message: "no time left to search the mount's certificates while another search runs"}
	}
	serials, err := vc.ListCertificates(ctx, creds)
	if err != nil {
		return SyncProgress{}, err
	}
	if len(serials) > MaxIndexedCertificates {
		return SyncProgress{Listed: len(serials)}, &Error{Class: ClassTransient, Op: opListCerts,
			Message: fmt.Sprintf("%s holds %d certificates, more than the %d a search indexes; tidy the mount (%s/tidy with tidy_cert_store)",
				vc.cfg.Mount, len(serials), MaxIndexedCertificates, vc.cfg.Mount)}
	}

	listed := make(map[string]bool, len(serials))
	for _, s := range serials {
		listed[s] = true
	}
	x.mu.Lock()
	for s := range x.entries {
		if !listed[s] {
			delete(x.entries, s)
		}
	}
	var unread []string
	for _, s := range serials {
		if _, ok := x.entries[s]; !ok {
			unread = append(unread, s)
		}
	}
	x.mu.Unlock()

	read, gone, err := x.read(ctx, vc, unread, budget)
	x.mu.Lock()
	progress := SyncProgress{Listed: len(serials) - gone, Indexed: len(x.entries), Read: read}
	x.mu.Unlock()
	return progress, err
}

// read reads up to budget.Reads of serials, budget.Parallel at a time, until
// budget.Time has passed, and indexes each. gone counts certificates tidied
// between the list and the read.
func (x *CertificateIndex) read(ctx context.Context, vc *Client, serials []string, budget IndexBudget) (read, gone int, err error) {
	if len(serials) > budget.Reads {
		serials = serials[:budget.Reads]
	}
	deadline := time.Now().Add(budget.Time)
	if d, ok := ctx.Deadline(); ok {
		// Leave half of what remains to the caller, who still has to act
		// on what was found.
		if half := time.Now().Add(time.Until(d) / 2); half.Before(deadline) {
			deadline = half
		}
	}
	work := make(chan string)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(budget.Parallel, len(serials)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for serial := range work {
				issued, err := vc.ReadCertificate(ctx, serial)
				mu.Lock()
				switch {
				case err == nil:
					read++
					x.add(serial, issued.Certificate)
				case ClassOf(err) == ClassNotFound:
					gone++
				case firstErr == nil:
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, s := range serials {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || time.Now().After(deadline) {
			break
		}
		select {
		case work <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	// Running out of budget is not a failure: the caller sees an incomplete
	// progress and comes back. The reads in flight at the deadline had
	// their own request timeout, well inside the caller's context.
	return read, gone, firstErr
}

func (x *CertificateIndex) add(serial string, cert *x509.Certificate) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries[serial] = IndexedCertificate{
		Serial:          serial,
		PublicKeySHA256: sha256.Sum256(cert.RawSubjectPublicKeyInfo),
		IssuerSHA256:    sha256.Sum256(cert.RawIssuer),
		NotBefore:       cert.NotBefore,
		NotAfter:        cert.NotAfter,
		IsCA:            cert.IsCA,
	}
}

// ListCertificates lists the serials of every certificate the mount stores
// (<mount>/certs, which needs the list capability).
func (c *Client) ListCertificates(ctx context.Context, creds Credentials) ([]string, error) {
	path := c.cfg.Mount + "/certs"
	var serials []string
	err := c.withToken(ctx, creds, opListCerts, func(ctx context.Context, api *vaultapi.Client) error {
		secret, err := api.Logical().ListWithContext(ctx, path)
		if err != nil {
			return err
		}
		if secret == nil || secret.Data == nil {
			return nil
		}
		keys, _ := secret.Data["keys"].([]any)
		serials = make([]string, 0, len(keys))
		for _, k := range keys {
			if s, ok := k.(string); ok {
				serials = append(serials, s)
			}
		}
		return nil
	})
	return serials, err
}
