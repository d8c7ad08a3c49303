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
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// soak scales the drills up for `make test-soak`.
var soak = os.Getenv("FAULTS_SOAK") == "1"

func scaled(n, soakN int) int {
	if soak {
		return soakN
	}
	return n
}

// TestDrill01VaultStopped stops Vault for 60 seconds while requests wait,
// then starts it again on the same storage.
func TestDrill01VaultStopped(t *testing.T) {
	before := serialCount(t)
	start := time.Now()
	if err := stack.Vault.Process.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	b := createBatch(t, "vault-stopped", scaled(20, 50), bankIssuer)
	if _, err := stack.WaitForVaultReady(t.Context(), bankIssuer, "VaultUnreachable", 60*time.Second); err != nil {
		t.Error(err)
	}
	time.Sleep(60*time.Second - time.Since(start))
	t.Logf("%s: Vault down for %s; starting it again", time.Now().Format(time.TimeOnly), time.Since(start).Round(time.Second))
	if err := stack.Vault.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	o := b.wait(t, 3*time.Minute)
	check(t, "1. Vault stopped 60s", b, o, before, len(b.created), 0, "issuer VaultUnreachable while down")
}

// TestDrill02VaultSealed seals Vault while requests wait, then unseals it.
func TestDrill02VaultSealed(t *testing.T) {
	before := serialCount(t)
	if err := stack.Vault.Seal(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := createBatch(t, "vault-sealed", scaled(10, 50), bankIssuer)
	if _, err := stack.WaitForVaultReady(t.Context(), bankIssuer, "VaultSealed", 60*time.Second); err != nil {
		t.Error(err)
	}
	time.Sleep(5 * time.Second)
	if err := stack.Vault.Unseal(t.Context()); err != nil {
		t.Fatal(err)
	}
	o := b.wait(t, 2*time.Minute)
	check(t, "2. Vault sealed, unsealed", b, o, before, len(b.created), 0, "issuer VaultSealed while sealed")
}

// TestDrill03APIServerRestart restarts kube-apiserver (same etcd) in the
// middle of 50 requests.
func TestDrill03APIServerRestart(t *testing.T) {
	before := serialCount(t)
	b := createBatch(t, "apiserver-restart", scaled(50, 200), bankIssuer)
	time.Sleep(time.Second)
	if err := stack.RestartAPIServer(t.Context(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	o := b.wait(t, 3*time.Minute)
	check(t, "3. kube-apiserver restarted", b, o, before, len(b.created), 0, "down 5s mid-batch")
}

// TestDrill04KilledInTheCrashWindow kills the controller (SIGKILL) at each
// end of the window in which a signing can be lost, for every request: right
// after the intent is journaled on the request (Vault not asked yet), and
// right after Vault answered (certificate not delivered yet). The restarted
// controller finds the intent, searches Vault for a certificate with the
// request's public key, and delivers the one Vault already issued, or signs
// once when there is none. There is no write after Vault's answer any more,
// so there is no point "after the journal record" to kill at.
func TestDrill04KilledInTheCrashWindow(t *testing.T) {
	for _, point := range []string{"kill-after-intent", "kill-after-vault-answer"} {
		t.Run(point, func(t *testing.T) {
			before := serialCount(t)
			if err := stack.Issuer.Stop(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := stack.StartIssuer(); err != nil {
					t.Error(err)
				}
			})
			sv := supervise(t, env.IssuerOptions{Name: "issuer-" + point, Binary: "vault-intermediate-issuer-faultinjection",
				Args: []string{"--concurrent-signings", "1"}, Env: []string{"VAULT_INTERMEDIATE_ISSUER_FAULT=" + point}})
			b := createBatch(t, "killed-"+strings.TrimPrefix(point, "kill-after-"), scaled(6, 20), bankIssuer)
			o := b.wait(t, 4*time.Minute)
			sv.stop()
			check(t, "4. SIGKILL "+point, b, o, before, len(b.created), 0, fmt.Sprintf("%d crashes", sv.crashes.Load()))
			if int(sv.crashes.Load()) < len(b.created) {
				t.Errorf("%d crashes for %d requests: the fault point was not reached for every request", sv.crashes.Load(), len(b.created))
			}
		})
	}
}

// supervisor runs a controller and starts it again whenever it dies, like a
// Deployment would, until stop is called. It counts the deaths.
type supervisor struct {
	crashes atomic.Int32
	mu      sync.Mutex
	p       *env.IssuerProcess
	done    chan struct{}
	wg      sync.WaitGroup
}

func supervise(t *testing.T, opts env.IssuerOptions) *supervisor {
	t.Helper()
	sv := &supervisor{done: make(chan struct{})}
	p, err := stack.StartIssuerWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	sv.p = p
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		for {
			select {
			case <-sv.done:
				_ = sv.current().Stop(10 * time.Second)
				return
			case <-time.After(100 * time.Millisecond):
			}
			if sv.current().Exited() {
				sv.crashes.Add(1)
				p, err := stack.StartIssuerWith(opts)
				if err != nil {
					t.Error(err)
					return
				}
				sv.mu.Lock()
				sv.p = p
				sv.mu.Unlock()
			}
		}
	}()
	return sv
}

// current is the controller process running now.
func (sv *supervisor) current() *env.IssuerProcess {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.p
}

// stop stops the supervision and the controller.
func (sv *supervisor) stop() {
	close(sv.done)
	sv.wg.Wait()
}

// TestDrill05LeaderFailover runs two controllers with leader election under
// load and kills the leader: the other takes over and every request is
// issued once.
func TestDrill05LeaderFailover(t *testing.T) {
	before := serialCount(t)
	if err := stack.Issuer.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.StartIssuer(); err != nil {
			t.Error(err)
		}
	})
	args := []string{"--leader-elect", "--leader-election-namespace", env.ClusterResourceNamespace}
	a, err := stack.StartIssuerWith(env.IssuerOptions{Name: "issuer-replica-a", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Stop(10 * time.Second) }()
	bProc, err := stack.StartIssuerWith(env.IssuerOptions{Name: "issuer-replica-b", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bProc.Stop(10 * time.Second) }()
	var leader, follower *env.IssuerProcess
	err = env.WaitFor(t.Context(), 60*time.Second, 250*time.Millisecond, "a leader", func(ctx context.Context) (bool, error) {
		for _, p := range []*env.IssuerProcess{a, bProc} {
			samples, err := env.Scrape(ctx, "http://"+p.MetricsAddr+"/metrics")
			if err != nil {
				continue
			}
			if env.Sum(samples, "leader_election_master_status", nil) == 1 {
				leader = p
			}
		}
		return leader != nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	follower = a
	if leader == a {
		follower = bProc
	}
	b := createBatch(t, "leader-failover", scaled(30, 100), bankIssuer)
	// Kill the leader once it is busy.
	_ = env.WaitFor(t.Context(), 30*time.Second, 100*time.Millisecond, "the leader to sign", func(ctx context.Context) (bool, error) {
		samples, err := env.Scrape(ctx, "http://"+leader.MetricsAddr+"/metrics")
		if err != nil {
			return false, nil
		}
		return env.Sum(samples, "vault_intermediate_issuer_requests_total", nil) >= 3, nil
	})
	t.Logf("%s: killing the leader %s", time.Now().Format(time.TimeOnly), leader.Name)
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	o := b.wait(t, 3*time.Minute)
	check(t, "5. leader killed under load", b, o, before, len(b.created), 0, follower.Name+" took over")
}

// TestDrill06SecretIDRotated rotates the secret ID in its Secret and
// destroys the old one in Vault: the next signings work without a restart.
func TestDrill06SecretIDRotated(t *testing.T) {
	ctx := t.Context()
	before := serialCount(t)
	newID, err := stack.Vault.NewSecretID(ctx, stack.PKI.RoleName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Vault.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+stack.PKI.RoleName+"/secret-id/destroy",
		map[string]any{"secret_id": stack.PKI.SecretID}); err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteAppRoleSecret(ctx, stack.PKI.RoleID, newID); err != nil {
		t.Fatal(err)
	}
	stack.PKI.SecretID = newID
	b := createBatch(t, "secret-rotated", scaled(10, 50), bankIssuer)
	o := b.wait(t, 2*time.Minute)
	check(t, "6. secret ID rotated", b, o, before, len(b.created), 0, "old secret ID destroyed")
}

// TestDrill07ShortTokens gives an issuer 10-second tokens that cannot be
// renewed beyond their TTL: signings keep working across expiries.
func TestDrill07ShortTokens(t *testing.T) {
	ctx := t.Context()
	bank, err := stack.BankIssuer("vault-short-tokens", nil)
	if err != nil {
		t.Fatal(err)
	}
	role, err := stack.Vault.CreateIssuerAppRole(ctx, "short-tokens", "10s", "10s", bank)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, "vault-approle-short", map[string][]byte{
		"roleId": []byte(role.RoleID), "secretId": []byte(role.SecretID)}); err != nil {
		t.Fatal(err)
	}
	const issuer = "vault-short-tokens"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = "vault-approle-short"
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = "vault-approle-short"
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	before := serialCount(t)
	all := &batch{drill: "short-tokens", created: map[string]time.Time{}}
	end := time.Now().Add(scaledDuration(35*time.Second, 3*time.Minute))
	for i := 0; time.Now().Before(end); i++ {
		cr := request("short-tokens", i, issuer, bankCSR(t))
		if err := stack.Client.Create(ctx, cr); err != nil {
			t.Fatal(err)
		}
		all.created[cr.Name] = time.Now()
		time.Sleep(3 * time.Second)
	}
	o := all.wait(t, time.Minute)
	samples, err := env.Scrape(ctx, "http://"+stack.IssuerMetricsAddr+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	logins := env.Sum(samples, "vault_intermediate_issuer_vault_logins_total", map[string]string{"issuer": issuer, "result": "success"})
	check(t, "7. 10s non-renewable tokens", all, o, before, len(all.created), 0, fmt.Sprintf("%v logins", logins))
	if logins < 3 {
		t.Errorf("%v logins over more than three token lifetimes: the short tokens were not replaced", logins)
	}
}

func scaledDuration(d, soakD time.Duration) time.Duration {
	if soak {
		return soakD
	}
	return d
}

// TestDrill08ManyRequestsAndAForeignIssuer creates 200 requests for our
// issuer and 200 for another issuer at once: ours are all issued, the
// others untouched.
func TestDrill08ManyRequestsAndAForeignIssuer(t *testing.T) {
	ctx := t.Context()
	before := serialCount(t)
	n := scaled(200, 500)
	foreign := &batch{drill: "foreign", created: map[string]time.Time{}}
	// cert-manager's approver tries to approve the foreign requests too,
	// and its webhook refuses every try (no API serves their issuer kind),
	// so cert-manager retries them with backoff for as long as they exist,
	// spending its API rate limit: delete them afterwards, so the later
	// drills measure this issuer, not that queue.
	t.Cleanup(func() {
		if err := stack.Client.DeleteAllOf(context.Background(), &cmapi.CertificateRequest{}, client.InNamespace(namespace),
			client.MatchingLabels{drillLabel: "foreign"}); err != nil {
			t.Errorf("deleting the foreign requests: %v", err)
		}
	})
	var wg sync.WaitGroup
	var ours *batch
	wg.Add(1)
	go func() {
		defer wg.Done()
		ours = createBatch(t, "many", n, bankIssuer)
	}()
	csr := bankCSR(t)
	for i := range n {
		cr := request("foreign", i, "someone-else", csr)
		cr.Spec.IssuerRef = cmmeta.IssuerReference{Group: "example.com", Kind: "OtherIssuer", Name: "someone-else"}
		if err := stack.Client.Create(ctx, cr); err != nil {
			t.Fatal(err)
		}
		foreign.created[cr.Name] = time.Now()
	}
	wg.Wait()
	o := ours.wait(t, 5*time.Minute)
	check(t, "8. 200 ours + 200 foreign", ours, o, before, n, 0, "foreign untouched")
	var list cmapi.CertificateRequestList
	if err := stack.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{drillLabel: "foreign"}); err != nil {
		t.Fatal(err)
	}
	for _, cr := range list.Items {
		for _, c := range cr.Status.Conditions {
			if c.Type != cmapi.CertificateRequestConditionApproved {
				t.Errorf("foreign request %s got condition %s=%s (%s) from someone", cr.Name, c.Type, c.Status, c.Message)
			}
		}
		if len(cr.Status.Certificate) > 0 {
			t.Errorf("foreign request %s got a certificate", cr.Name)
		}
	}
}

// TestDrill09SlowVault puts a proxy that delays every connection by 2s in
// front of Vault: requests wait longer, nothing fails.
func TestDrill09SlowVault(t *testing.T) {
	ctx := t.Context()
	proxy := startDelayProxy(t, strings.TrimPrefix(stack.Vault.Address, "http://"), 2*time.Second)
	const issuer = "vault-slow"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Server = "http://" + proxy
		iss.Spec.Vault.RequestTimeout = &metav1.Duration{Duration: 10 * time.Second}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	before := serialCount(t)
	b := createBatch(t, "slow-vault", scaled(10, 40), issuer)
	o := b.wait(t, 3*time.Minute)
	check(t, "9. Vault behind a 2s delay", b, o, before, len(b.created), 0, "every connection delayed 2s")
}

// startDelayProxy forwards loopback TCP connections to target, each after
// delay.
func startDelayProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				time.Sleep(delay)
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, conn) }()
				_, _ = io.Copy(conn, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestDrill10IssuerDeletedAndRecreated deletes the issuer while requests
// wait for it and creates it again: the requests proceed.
func TestDrill10IssuerDeletedAndRecreated(t *testing.T) {
	ctx := t.Context()
	const issuer = "vault-recreated"
	if _, err := stack.ApplyBankIssuer(ctx, issuer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stack.Client.Delete(ctx, &v1alpha1.VaultIntermediateClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: issuer}}); err != nil {
		t.Fatal(err)
	}
	before := serialCount(t)
	b := createBatch(t, "issuer-recreated", scaled(10, 40), issuer)
	// While the issuer is gone, every request says why it waits.
	err := env.WaitFor(ctx, 30*time.Second, 250*time.Millisecond, "requests to say they wait for the issuer", func(ctx context.Context) (bool, error) {
		var list cmapi.CertificateRequestList
		if err := stack.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{drillLabel: "issuer-recreated"}); err != nil {
			return false, err
		}
		for _, cr := range list.Items {
			c := env.CertificateRequestCondition(&cr, cmapi.CertificateRequestConditionReady)
			if c == nil || c.Status != cmmeta.ConditionFalse || !strings.Contains(c.Message, "not found") {
				return false, nil
			}
		}
		return len(list.Items) == len(b.created), nil
	})
	if err != nil {
		t.Error(err)
	}
	if _, err := stack.ApplyBankIssuer(ctx, issuer, nil); err != nil {
		t.Fatal(err)
	}
	o := b.wait(t, 2*time.Minute)
	check(t, "10. issuer deleted, re-created", b, o, before, len(b.created), 0, "requests said the issuer was missing")
}
