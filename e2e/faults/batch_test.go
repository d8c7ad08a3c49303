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

package faults

import (
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// drillLabel labels every request of a drill with the drill's name.
const drillLabel = "faults.pki.golemtrust.am/drill"

// bankCSR returns a PEM CSR the bank's policy allows.
func bankCSR(t testing.TB) []byte {
	t.Helper()
	csr, err := env.CSR(&x509.CertificateRequest{Subject: env.BankSubject})
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// request builds an isCA CertificateRequest of the drill for issuer.
func request(drill string, i int, issuer string, csr []byte) *cmapi.CertificateRequest {
	cr := env.IntermediateRequest(namespace, fmt.Sprintf("%s-%03d", drill, i), issuer, csr, 720*time.Hour)
	cr.Labels = map[string]string{drillLabel: drill}
	return cr
}

// batch is the requests of one drill and when each was created.
type batch struct {
	drill   string
	created map[string]time.Time
}

// createBatch creates n allowed requests for issuer, a few at a time.
func createBatch(t *testing.T, drill string, n int, issuer string) *batch {
	t.Helper()
	b := &batch{drill: drill, created: map[string]time.Time{}}
	csrs := make([][]byte, n)
	for i := range n {
		csrs[i] = bankCSR(t)
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cr := request(drill, i, issuer, csrs[i])
			err := stack.Client.Create(t.Context(), cr)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			b.created[cr.Name] = time.Now()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return b
}

// outcome counts the final states of a batch.
type outcome struct {
	issued, denied, pending int
	maxReady                time.Duration
	pendingWhy              []string
}

// wait polls the batch until every request is final or timeout passes, and
// returns the counts. A request that is not final at the end is lost unless
// its Ready condition says why it waits.
func (b *batch) wait(t *testing.T, timeout time.Duration) outcome {
	t.Helper()
	readyAt := map[string]time.Time{}
	var out outcome
	_ = env.WaitFor(t.Context(), timeout, 500*time.Millisecond, "drill "+b.drill, func(ctx context.Context) (bool, error) {
		var list cmapi.CertificateRequestList
		if err := stack.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{drillLabel: b.drill}); err != nil {
			return false, err
		}
		out = outcome{}
		for i := range list.Items {
			cr := &list.Items[i]
			if !env.IsFinal(cr) {
				out.pending++
				if c := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady); c != nil {
					out.pendingWhy = append(out.pendingWhy, cr.Name+": "+c.Reason+": "+c.Message)
				} else {
					out.pendingWhy = append(out.pendingWhy, cr.Name+": no Ready condition")
				}
				continue
			}
			if _, seen := readyAt[cr.Name]; !seen {
				readyAt[cr.Name] = time.Now()
			}
			if c := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady); c != nil && c.Status == cmmeta.ConditionTrue {
				out.issued++
			} else {
				out.denied++
			}
		}
		return out.pending == 0 && len(list.Items) == len(b.created), nil
	})
	for name, at := range readyAt {
		if d := at.Sub(b.created[name]); d > out.maxReady {
			out.maxReady = d
		}
	}
	return out
}

// serialCount is how many certificates the bank's mount has issued.
func serialCount(t *testing.T) int {
	t.Helper()
	var n int
	err := env.WaitFor(t.Context(), 60*time.Second, 500*time.Millisecond, "Vault's list of serials", func(ctx context.Context) (bool, error) {
		serials, err := stack.Vault.IssuedSerials(ctx, stack.PKI.Mount)
		if err != nil {
			return false, err
		}
		n = len(serials)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// check asserts the drill's invariants and records its row: every allowed
// request issued exactly once, nothing lost.
func check(t *testing.T, drill string, b *batch, o outcome, serialsBefore int, wantIssued, wantDenied int, note string) {
	t.Helper()
	duplicates := serialCount(t) - serialsBefore - o.issued
	results.add(drillResult{Drill: drill, Requests: len(b.created), Issued: o.issued, Denied: o.denied,
		Lost: o.pending, Duplicates: duplicates, MaxReady: o.maxReady, Note: note})
	if o.pending > 0 {
		t.Errorf("%d requests are not final: %v", o.pending, o.pendingWhy)
	}
	if o.issued != wantIssued || o.denied != wantDenied {
		t.Errorf("issued %d, denied %d; want %d and %d", o.issued, o.denied, wantIssued, wantDenied)
	}
	if duplicates != 0 {
		t.Errorf("Vault issued %d certificates more than the %d requests issued", duplicates, o.issued)
	}
}

func keyOf(name string) client.ObjectKey { return client.ObjectKey{Namespace: namespace, Name: name} }
