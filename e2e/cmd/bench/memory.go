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

package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// foreignLabel marks the requests of the memory measurement. They carry no
// runLabel, so the bench's own watch does not hold them.
const foreignLabel = "bench.golemtrust.am/foreign"

// settleTime is how long the controllers run before their memory is read.
const settleTime = 30 * time.Second

// memorySample is one controller's memory at one moment: from /proc, and
// from the Go runtime through its metrics endpoint (zero when absent).
type memorySample struct {
	RSSKiB, HWMKiB       int64
	HeapInuse, HeapAlloc float64 // bytes
	GoSys                float64 // bytes the Go runtime obtained from the OS
	Goroutines           float64
}

// memoryResult compares the controllers' memory without and with foreign
// requests in the cluster.
type memoryResult struct {
	Foreign int
	// CreateSpan is how long creating and approving the requests took.
	CreateSpan time.Duration
	// Idle: both controllers freshly started, no request in the cluster.
	Idle map[string]memorySample
	// Watched: the same processes after they watched every foreign
	// request being created and approved.
	Watched map[string]memorySample
	// Restarted: both controllers freshly started with the foreign
	// requests present, as after an upgrade or a rescheduled Pod. Their
	// peak includes the initial list.
	Restarted map[string]memorySample
	// ObjectBytes is the JSON size of one foreign request as the API
	// server returns it, and ManagedFieldsBytes the part of it that
	// metadata.managedFields takes.
	ObjectBytes, ManagedFieldsBytes int
}

var memoryMetrics = []string{
	"go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes", "go_goroutines",
}

func (b *bench) sampleMemory(ctx context.Context) (map[string]memorySample, error) {
	out := map[string]memorySample{}
	for name, url := range map[string]string{
		procOurs:        "http://" + b.stack.IssuerMetricsAddr + "/metrics",
		procCertManager: "http://" + b.cmMetricsAddr + "/metrics",
	} {
		p, err := readProc(b.pids()[name])
		if err != nil {
			return nil, err
		}
		s := memorySample{RSSKiB: p.RSSKiB, HWMKiB: p.HWMKiB}
		if m, err := scrapeMetrics(ctx, url, memoryMetrics...); err == nil {
			s.HeapInuse, s.HeapAlloc = m["go_memstats_heap_inuse_bytes"], m["go_memstats_heap_alloc_bytes"]
			s.GoSys, s.Goroutines = m["go_memstats_sys_bytes"], m["go_goroutines"]
		} else {
			logf("  reading the metrics of %s: %v", name, err)
		}
		out[name] = s
	}
	return out, nil
}

// restartIssuer stops and starts our controller, with b.issuerArgs, and
// waits until it serves metrics and its issuer is Ready.
func (b *bench) restartIssuer(ctx context.Context) error {
	_ = b.stack.Issuer.Stop(10 * time.Second)
	if err := b.stack.StartIssuer(b.issuerArgs...); err != nil {
		return err
	}
	url := "http://" + b.stack.IssuerMetricsAddr + "/metrics"
	return env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, url, func(ctx context.Context) (bool, error) {
		_, err := scrapeMetrics(ctx, url)
		return err == nil, err
	})
}

// restartControllers stops and starts both controllers and lets them settle.
func (b *bench) restartControllers(ctx context.Context) error {
	_ = b.stack.Issuer.Stop(10 * time.Second)
	_ = b.stack.CertManager.Stop(10 * time.Second)
	if err := b.stack.StartCertManager(); err != nil {
		return err
	}
	if err := b.stack.StartIssuer(b.issuerArgs...); err != nil {
		return err
	}
	for _, url := range []string{"http://" + b.stack.IssuerMetricsAddr + "/metrics", "http://" + b.cmMetricsAddr + "/metrics"} {
		if err := env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, url, func(ctx context.Context) (bool, error) {
			_, err := scrapeMetrics(ctx, url)
			return err == nil, err
		}); err != nil {
			return err
		}
	}
	return sleep(ctx, settleTime)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// memoryAtScale measures both controllers idle, then with count approved
// CertificateRequests for an issuer nobody serves.
func (b *bench) memoryAtScale(ctx context.Context, count int) (*memoryResult, error) {
	m := &memoryResult{Foreign: count}
	logf("  restarting both controllers for an idle baseline")
	if err := b.restartControllers(ctx); err != nil {
		return nil, err
	}
	var err error
	if m.Idle, err = b.sampleMemory(ctx); err != nil {
		return nil, err
	}

	// Leaf CSRs, as most foreign requests are: RSA-2048 (cert-manager's
	// default key), one key for all, a name and a DNS SAN each.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	logf("  creating and approving %d foreign requests", count)
	start := time.Now()
	work := make(chan int)
	errs := make(chan error, createWorkers)
	var wg sync.WaitGroup
	for range createWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := b.createForeign(ctx, key, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
feed:
	for i := range count {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	if err != nil {
		return nil, err
	}
	m.CreateSpan = time.Since(start)
	if m.ObjectBytes, m.ManagedFieldsBytes, err = b.objectSize(ctx); err != nil {
		return nil, err
	}
	if err := sleep(ctx, settleTime); err != nil {
		return nil, err
	}
	if m.Watched, err = b.sampleMemory(ctx); err != nil {
		return nil, err
	}
	logf("  restarting both controllers with the foreign requests present")
	if err := b.restartControllers(ctx); err != nil {
		return nil, err
	}
	if m.Restarted, err = b.sampleMemory(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// createForeign creates request i for an issuer nobody serves and approves
// it, as cert-manager's approver would (it races us; whoever wins, the
// request ends up approved).
func (b *bench) createForeign(ctx context.Context, key *rsa.PrivateKey, i int) error {
	name := fmt.Sprintf("svc-%04d.apps.example.com", i)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
	}, key)
	if err != nil {
		return err
	}
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("foreign-%04d", i),
			Labels: map[string]string{foreignLabel: "true"}},
		Spec: cmapi.CertificateRequestSpec{
			Request:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			Duration:  &metav1.Duration{Duration: 2160 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
			IssuerRef: cmmeta.IssuerReference{Group: "foreign.example.com", Kind: "ForeignIssuer", Name: "nobody"},
		},
	}
	if err := b.createWithRetry(ctx, cr); err != nil {
		return err
	}
	for range 5 {
		current := &cmapi.CertificateRequest{}
		if err := b.client.Get(ctx, client.ObjectKeyFromObject(cr), current); err != nil {
			return fmt.Errorf("reading %s: %w", cr.Name, err)
		}
		for _, c := range current.Status.Conditions {
			if c.Type == cmapi.CertificateRequestConditionApproved {
				return nil
			}
		}
		now := metav1.Now()
		current.Status.Conditions = append(current.Status.Conditions, cmapi.CertificateRequestCondition{
			Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue,
			Reason: "cert-manager.io", Message: "Certificate request has been approved by cert-manager.io",
			LastTransitionTime: &now,
		})
		err := b.client.Status().Update(ctx, current)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("approving %s: %w", cr.Name, err)
		}
	}
	return fmt.Errorf("approving %s: conflicts on every attempt", cr.Name)
}

// objectSize measures one foreign request as the controllers' caches
// receive it.
func (b *bench) objectSize(ctx context.Context) (total, managedFields int, err error) {
	cr := &cmapi.CertificateRequest{}
	if err := b.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "foreign-0000"}, cr); err != nil {
		return 0, 0, fmt.Errorf("reading foreign-0000: %w", err)
	}
	full, err := json.Marshal(cr)
	if err != nil {
		return 0, 0, err
	}
	cr.ManagedFields = nil
	stripped, err := json.Marshal(cr)
	if err != nil {
		return 0, 0, err
	}
	return len(full), len(full) - len(stripped), nil
}
