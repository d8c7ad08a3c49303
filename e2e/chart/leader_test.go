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

package chart

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestLeaderFailover parks requests on the leader, kills it with SIGKILL
// (no Lease release, as when a node dies), and checks the other replica
// takes the Lease over and completes every parked request.
//
// The requests are parked by sealing Vault: the leader's signing attempt
// fails, the issuer goes not Ready and the requests wait for it. Vault is
// unsealed right after the kill, before the Lease expires, so only the new
// leader can complete them.
func TestLeaderFailover(t *testing.T) {
	ctx := t.Context()
	leader, follower := findLeader(t)
	lease := &coordinationv1.Lease{}
	if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: leaseName}, lease); err != nil {
		t.Fatalf("the leader election Lease is not in the release namespace: %v", err)
	}
	oldHolder := *lease.Spec.HolderIdentity
	t.Logf("leader %s (Lease holder %s), follower %s", leader.Name, oldHolder, follower.Name)

	if err := stack.Vault.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	sealed := true
	t.Cleanup(func() {
		if sealed {
			_ = stack.Vault.Unseal(context.Background())
		}
	})

	names := []string{"failover-0", "failover-1", "failover-2"}
	for _, name := range names {
		if err := stack.Client.Create(ctx, failoverCertificate(name)); err != nil {
			t.Fatal(err)
		}
	}
	// Every request is parked: our controller has marked it Pending,
	// waiting for the issuer, and none is final.
	err := env.WaitFor(ctx, 90*time.Second, 250*time.Millisecond, "the requests to be parked", func(ctx context.Context) (bool, error) {
		for _, name := range names {
			crs, err := stack.CertificateRequestsFor(ctx, "istio-system", name)
			if err != nil || len(crs) != 1 {
				return false, err
			}
			ready := env.CertificateRequestCondition(&crs[0], cmapi.CertificateRequestConditionReady)
			if ready == nil || ready.Reason != cmapi.CertificateRequestReasonPending || !strings.Contains(ready.Message, "Waiting for issuer to become ready") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cond, err := stack.IssuerReady(ctx, bankIssuer); err != nil || cond == nil || cond.Status != metav1.ConditionFalse {
		t.Fatalf("with Vault sealed the issuer is not marked not Ready: %+v %v", cond, err)
	}
	// The failing checks show in the series the chart's
	// VaultIntermediateIssuerNotReady alert watches.
	if v, ok, err := leader.MetricValue(ctx, "controller_runtime_reconcile_errors_total", `controller="vaultintermediateclusterissuer"`); err != nil || !ok || v == 0 {
		t.Errorf("controller_runtime_reconcile_errors_total{controller=\"vaultintermediateclusterissuer\"} on the leader = %v (present %v, %v), want > 0", v, ok, err)
	}

	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := stack.Vault.Unseal(ctx); err != nil {
		t.Fatal(err)
	}
	sealed = false

	err = env.WaitFor(ctx, 120*time.Second, 250*time.Millisecond, "every parked Certificate to be issued", func(ctx context.Context) (bool, error) {
		for _, name := range names {
			cert := &cmapi.Certificate{}
			if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: name}, cert); err != nil {
				return false, err
			}
			if !env.CertificateReady(cert) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("every parked request issued %s after the leader was killed", time.Since(killed).Round(time.Millisecond))

	if err := stack.Client.Get(ctx, client.ObjectKeyFromObject(lease), lease); err != nil {
		t.Fatal(err)
	}
	if *lease.Spec.HolderIdentity == oldHolder {
		t.Errorf("the Lease is still held by the killed leader %s", oldHolder)
	}
	if v, ok, err := follower.MetricValue(ctx, "leader_election_master_status"); err != nil || !ok || v != 1 {
		t.Errorf("the follower does not report itself leader: %v %v %v", v, ok, err)
	}
	// Leader election records its Events through the core API, which the
	// chart's ClusterRole allows besides events.k8s.io.
	var events corev1.EventList
	if err := stack.Client.List(ctx, &events, client.InNamespace(releaseNamespace)); err != nil {
		t.Fatal(err)
	}
	became := false
	for _, ev := range events.Items {
		if ev.Reason == "LeaderElection" && ev.InvolvedObject.Name == leaseName && strings.Contains(ev.Message, *lease.Spec.HolderIdentity) {
			became = true
		}
	}
	if !became {
		t.Errorf("no LeaderElection Event for the new leader %s in %s", *lease.Spec.HolderIdentity, releaseNamespace)
	}
	for _, name := range names {
		crs, err := stack.CertificateRequestsFor(ctx, "istio-system", name)
		if err != nil || len(crs) != 1 {
			t.Fatalf("Certificate %s has %d requests (%v), want the one parked", name, len(crs), err)
		}
		if !strings.Contains(string(crs[0].Status.Certificate), "BEGIN CERTIFICATE") {
			t.Errorf("request %s carries no certificate", crs[0].Name)
		}
	}
}

// findLeader waits until exactly one replica reports itself leader through
// controller-runtime's leader_election_master_status metric.
func findLeader(t *testing.T) (leader, follower *env.Controller) {
	t.Helper()
	err := env.WaitFor(t.Context(), 60*time.Second, 250*time.Millisecond, "one leader", func(ctx context.Context) (bool, error) {
		leader, follower = nil, nil
		for _, c := range controllers {
			if c.Exited() {
				return false, fmt.Errorf("%s exited; see %s", c.Name, c.LogPath)
			}
			v, ok, err := c.MetricValue(ctx, "leader_election_master_status")
			if err != nil {
				return false, err
			}
			if ok && v == 1 {
				if leader != nil {
					return false, fmt.Errorf("both %s and %s report themselves leader", leader.Name, c.Name)
				}
				leader = c
			} else {
				follower = c
			}
		}
		return leader != nil && follower != nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return leader, follower
}

// failoverCertificate is an intermediate the bank's policy allows.
func failoverCertificate(name string) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName:  name,
			Duration:    &metav1.Duration{Duration: 720 * time.Hour},
			RenewBefore: &metav1.Duration{Duration: 168 * time.Hour},
			IsCA:        true,
			CommonName:  "Golem Trust Istio CA",
			Subject:     &cmapi.X509Subject{Organizations: []string{"Golem Trust"}, Countries: []string{"AM"}},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group,
				Kind: "VaultIntermediateClusterIssuer", Name: bankIssuer},
		},
	}
}
