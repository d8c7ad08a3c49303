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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// fillerCertificates is how many certificates the recovery drill puts into
// its mount before it signs anything.
const fillerCertificates = 10_000

// TestDrill11RecoveryAmong10000Certificates fills a PKI mount of its own
// with 10,000 certificates, then kills the controller (SIGKILL) right after
// Vault answered, for every request. Each restarted controller must find
// the lost answer among the 10,000: its search reads the whole mount in
// rounds bounded per reconcile (2,000 certificates), the request says so in
// its Ready condition while the issuer stays Ready, each round continues
// where the last stopped, and once the mount is read the certificate Vault
// already issued is delivered. Nothing is signed twice. It runs against
// OpenBao and against HashiCorp Vault 1.13.
func TestDrill11RecoveryAmong10000Certificates(t *testing.T) {
	t.Run("OpenBao", func(t *testing.T) {
		recoveryDrill(t, stack.Vault, "11. SIGKILL after Vault's answer, 10,000 certificates in the mount (OpenBao)", "10k")
	})
	t.Run("HashiCorpVault", func(t *testing.T) {
		v, err := env.StartVaultWith(t.Context(), stack.BinDir, stack.Artifacts, env.VaultOptions{Server: env.ServerHashiCorp})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = v.Stop() })
		recoveryDrill(t, v, "11. the same against HashiCorp Vault "+v.Version, "10k-hashicorp")
	})
}

// recoveryDrill is the drill of TestDrill11RecoveryAmong10000Certificates
// against v; name tells its mount, role, Secret and issuer from others.
func recoveryDrill(t *testing.T, v *env.Vault, row, name string) {
	ctx := t.Context()
	mount, issuer, secret := "pki-"+name, "vault-"+name, "vault-approle-"+name
	admin := v.Admin
	if err := admin.Sys().MountWithContext(ctx, mount, &vaultapi.MountInput{Type: "pki",
		Config: vaultapi.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		t.Fatal(err)
	}
	// An EC root signs about three times as fast as an RSA one: the filling
	// is the drill's preparation, not what it measures.
	if _, err := admin.Logical().WriteWithContext(ctx, mount+"/root/generate/internal", map[string]any{
		"common_name": "Golem Trust Root CA (" + name + ")", "ttl": "87600h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	iss, err := stack.BankIssuer(issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Server = v.Address
		iss.Spec.Vault.InsecureAllowHTTP = strings.HasPrefix(v.Address, "http://")
		iss.Spec.Vault.CABundle = v.CACert
		iss.Spec.Vault.Mount = mount
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = secret
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = secret
	})
	if err != nil {
		t.Fatal(err)
	}
	// The role carries the issuer's generated ACL policy, as installed.
	role, err := v.CreateIssuerAppRole(ctx, "recovery-"+name, "1h", "2h", iss)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, secret, map[string][]byte{"roleId": []byte(role.RoleID), "secretId": []byte(role.SecretID)}); err != nil {
		t.Fatal(err)
	}
	if err := stack.Client.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	fillStart := time.Now()
	fillMount(t, v, mount, fillerCertificates)
	filled := mountSerials(t, v, mount)
	t.Logf("%d certificates signed into %s in %s (16 parallel direct signings with the root token)",
		filled, mount, time.Since(fillStart).Round(100*time.Millisecond))
	if filled < fillerCertificates {
		t.Fatalf("the mount holds %d certificates, want at least %d", filled, fillerCertificates)
	}

	if err := stack.Issuer.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.StartIssuer(); err != nil {
			t.Error(err)
		}
	})
	sv := supervise(t, env.IssuerOptions{Name: "issuer-recovery-" + name, Binary: "vault-intermediate-issuer-faultinjection",
		Args: []string{"--concurrent-signings", "1"}, Env: []string{"VAULT_INTERMEDIATE_ISSUER_FAULT=kill-after-vault-answer"}})
	start := time.Now()
	b := createBatch(t, "recovery-"+name, scaled(2, 5), issuer)

	// Watch, while the drill runs, what the requests and the issuer say.
	watch := watchRecovery(t, b.drill, issuer)
	o := b.wait(t, 10*time.Minute)
	watch.stop()
	recovery := time.Since(start)
	// Within one process the rounds resume: the last controller read each
	// certificate once (and the few it delivered again), not once per round.
	samples, scrapeErr := env.Scrape(ctx, "http://"+sv.current().MetricsAddr+"/metrics")
	sv.stop()

	issuedNow := mountSerials(t, v, mount) - filled
	duplicates := issuedNow - o.issued
	results.add(drillResult{Drill: row, Requests: len(b.created),
		Issued: o.issued, Denied: o.denied, Lost: o.pending, Duplicates: duplicates, MaxReady: o.maxReady,
		Note: fmt.Sprintf("%d crashes; search up to %d/%d; issuer never not Ready", sv.crashes.Load(), watch.maxRead.Load(), filled)})
	t.Logf("%d requests issued in %s after %d crashes; the requests reported searches of up to %d of %d certificates; issuer Ready=False seen %d times",
		o.issued, recovery.Round(time.Second), sv.crashes.Load(), watch.maxRead.Load(), filled, watch.notReady.Load())
	if o.pending > 0 || o.issued != len(b.created) {
		t.Errorf("issued %d of %d requests; still pending: %v", o.issued, len(b.created), o.pendingWhy)
	}
	if duplicates != 0 {
		t.Errorf("Vault issued %d certificates for %d requests: %d signed twice", issuedNow, o.issued, duplicates)
	}
	if int(sv.crashes.Load()) < len(b.created) {
		t.Errorf("%d crashes for %d requests: the fault point was not reached for every request", sv.crashes.Load(), len(b.created))
	}
	if watch.rounds.Load() == 0 {
		t.Errorf("no request reported a search in progress: the search did not run in bounded rounds")
	}
	if watch.notReady.Load() != 0 {
		t.Errorf("the issuer was seen not Ready %d times while searching: a search out of budget must not mark it not Ready", watch.notReady.Load())
	}
	if scrapeErr != nil {
		t.Fatalf("reading the last controller's metrics: %v", scrapeErr)
	}
	reads := env.Sum(samples, "vault_intermediate_issuer_vault_requests_total", map[string]string{"issuer": issuer, "operation": "read-certificate"})
	t.Logf("certificate reads by the last controller: %v for a mount of %d", reads, filled+issuedNow)
	if reads > float64(filled+issuedNow+10*len(b.created)) {
		t.Errorf("the last controller read %v certificates from a mount of %d: the search restarted from zero", reads, filled+issuedNow)
	}
	if reads < float64(filled) {
		t.Errorf("the last controller read %v certificates of a mount of %d: it decided before the search was complete", reads, filled+issuedNow)
	}
}

// fillMount signs n certificates into mount of v with the root token, 16 at
// a time, all for one throwaway key.
func fillMount(t *testing.T, v *env.Vault, mount string, n int) {
	t.Helper()
	csr, err := env.CSR(&x509.CertificateRequest{Subject: env.BankSubject})
	if err != nil {
		t.Fatal(err)
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				_, err := v.Admin.Logical().WriteWithContext(t.Context(), mount+"/root/sign-intermediate",
					map[string]any{"csr": string(csr), "common_name": "Filler CA", "ttl": "1h"})
				if err != nil {
					errOnce.Do(func() { failed = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
}

func mountSerials(t *testing.T, v *env.Vault, mount string) int {
	t.Helper()
	serials, err := v.IssuedSerials(t.Context(), mount)
	if err != nil {
		t.Fatal(err)
	}
	return len(serials)
}

// recoveryWatch polls the drill's requests and the issuer while the drill
// runs.
type recoveryWatch struct {
	rounds   atomic.Int64 // distinct "N of M certificates read so far" messages seen
	maxRead  atomic.Int64
	notReady atomic.Int64
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

var searchProgress = regexp.MustCompile(`(\d+) of (\d+) certificates read so far`)

func watchRecovery(t *testing.T, drill, issuer string) *recoveryWatch {
	w := &recoveryWatch{done: make(chan struct{})}
	t.Cleanup(w.stop) // never log after the test ended
	seen := map[string]bool{}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-w.done:
				return
			case <-time.After(250 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var list cmapi.CertificateRequestList
			if err := stack.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{drillLabel: drill}); err == nil {
				for _, cr := range list.Items {
					c := env.CertificateRequestCondition(&cr, cmapi.CertificateRequestConditionReady)
					if c == nil {
						continue
					}
					if m := searchProgress.FindStringSubmatch(c.Message); m != nil {
						if !seen[cr.Name+m[1]] {
							seen[cr.Name+m[1]] = true
							w.rounds.Add(1)
							t.Logf("%s: %s", cr.Name, strings.TrimPrefix(c.Message, "Signing still in progress. Reason: "))
						}
						if n, _ := strconv.ParseInt(m[1], 10, 64); n > w.maxRead.Load() {
							w.maxRead.Store(n)
						}
					}
				}
			}
			if cond, err := stack.IssuerCondition(ctx, issuer, "Ready"); err == nil && cond != nil && cond.Status == metav1.ConditionFalse {
				w.notReady.Add(1)
				t.Logf("issuer %s not Ready: %s", issuer, cond.Message)
			}
			cancel()
		}
	}()
	return w
}

func (w *recoveryWatch) stop() {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
}
