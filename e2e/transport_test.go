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

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestInsecureTransportCondition checks the warning an issuer carries while
// it talks to Vault over plain HTTP: the suite's OpenBao serves HTTP on
// loopback, which the bank issuer opts into (spec.vault.insecureAllowHTTP),
// so it carries InsecureTransport=True; switched to an https:// server the
// condition goes away. (Without the opt-in the API server refuses an http://
// server: e2e/chart's CRD test.)
func TestInsecureTransportCondition(t *testing.T) {
	ctx := t.Context()
	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: bankIssuer}, iss); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(iss.Spec.Vault.Server, "http://") || !iss.Spec.Vault.InsecureAllowHTTP {
		t.Fatalf("the bank issuer of this suite is expected on plain HTTP with the opt-in: %s, %v", iss.Spec.Vault.Server, iss.Spec.Vault.InsecureAllowHTTP)
	}
	cond := waitForIssuerConditionOf(t, bankIssuer, func(c *metav1.Condition) bool { return c != nil })
	if cond.Status != metav1.ConditionTrue || cond.Reason != "PlainHTTP" {
		t.Errorf("InsecureTransport = %s/%s, want True/PlainHTTP", cond.Status, cond.Reason)
	}
	for _, want := range []string{iss.Spec.Vault.Server, "clear text", "secret ID", "https://"} {
		if !strings.Contains(cond.Message, want) {
			t.Errorf("the InsecureTransport message does not say %q: %q", want, cond.Message)
		}
	}
	t.Logf("InsecureTransport: %s", cond.Message)

	const name = "transport-https"
	if _, err := stack.ApplyBankIssuer(ctx, name, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Server = "https://" + strings.TrimPrefix(stack.Vault.Address, "http://")
		iss.Spec.Vault.InsecureAllowHTTP = false
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stack.Client.Delete(context.Background(), &v1alpha1.VaultIntermediateClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	// OpenBao answers a TLS handshake in plain HTTP, so this issuer is not
	// Ready; what matters is that its check ran and left no
	// InsecureTransport condition.
	if err := env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "VaultReady on "+name, func(ctx context.Context) (bool, error) {
		c, err := stack.IssuerCondition(ctx, name, "VaultReady")
		return c != nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if c, err := stack.IssuerCondition(ctx, name, "InsecureTransport"); err != nil || c != nil {
		t.Errorf("an https:// issuer carries InsecureTransport %+v (%v)", c, err)
	}
}

// waitForIssuerConditionOf waits until the bank issuer's InsecureTransport
// condition, for its current generation, satisfies ok.
func waitForIssuerConditionOf(t *testing.T, name string, ok func(*metav1.Condition) bool) *metav1.Condition {
	t.Helper()
	var out *metav1.Condition
	if err := env.WaitFor(t.Context(), 60*time.Second, 200*time.Millisecond, "InsecureTransport on "+name, func(ctx context.Context) (bool, error) {
		c, err := stack.IssuerCondition(ctx, name, "InsecureTransport")
		if err != nil {
			return false, err
		}
		out = c
		return ok(c), nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
