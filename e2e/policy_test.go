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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestDenialNamesEveryViolation asks for three things the bank's policy
// forbids at once and checks the failed request names all three.
func TestDenialNamesEveryViolation(t *testing.T) {
	ctx := t.Context()
	before, err := stack.Vault.IssuedSerials(ctx, stack.PKI.Mount)
	if err != nil {
		t.Fatal(err)
	}
	cert := bankCertificate("default", "three-violations", "Evil Corp")
	cert.Spec.Duration = &metav1.Duration{Duration: 100 * 365 * 24 * time.Hour}
	cert.Spec.RenewBefore = nil
	if err := stack.Client.Create(ctx, cert); err != nil {
		t.Fatal(err)
	}
	cr, err := stack.WaitForFinalRequest(ctx, "default", cert.Name, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
	if ready.Reason != cmapi.CertificateRequestReasonFailed {
		t.Fatalf("request %s: reason %s, want Failed", cr.Name, ready.Reason)
	}
	for _, want := range []string{"allowedNamespaces:", "subject.organizations:", "duration.max:", "Vault was not called"} {
		if !strings.Contains(ready.Message, want) {
			t.Errorf("message does not contain %q:\n%s", want, ready.Message)
		}
	}
	after, err := stack.Vault.IssuedSerials(ctx, stack.PKI.Mount)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("Vault issued %d certificates for a denied request", len(after)-len(before))
	}
}

// TestPolicyEditTakesEffect denies a namespace, lets the security team add it
// to the policy, and checks the next request from it is issued.
func TestPolicyEditTakesEffect(t *testing.T) {
	ctx := t.Context()
	const issuerName, namespace = "policy-edit", "team-a"
	if err := stack.EnsureNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.ApplyBankIssuer(ctx, issuerName, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuerName, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	request := func(name string) *cmapi.Certificate {
		cert := bankCertificate(namespace, name, "Golem Trust")
		cert.Spec.IssuerRef.Name = issuerName
		if err := stack.Client.Create(ctx, cert); err != nil {
			t.Fatal(err)
		}
		return cert
	}

	denied := request("before-edit")
	cr, err := stack.WaitForFinalRequest(ctx, namespace, denied.Name, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady); ready.Reason != cmapi.CertificateRequestReasonFailed ||
		!strings.Contains(ready.Message, "allowedNamespaces") {
		t.Fatalf("before the edit: got %s %q, want Failed naming allowedNamespaces", ready.Reason, ready.Message)
	}

	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: issuerName}, iss); err != nil {
		t.Fatal(err)
	}
	iss.Spec.Policy.AllowedNamespaces = append(iss.Spec.Policy.AllowedNamespaces, namespace)
	if err := stack.Client.Update(ctx, iss); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuerName, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	allowed := request("after-edit")
	cr, err = stack.WaitForFinalRequest(ctx, namespace, allowed.Name, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady); ready.Status != cmmeta.ConditionTrue {
		t.Fatalf("after the edit: Ready=%s %s %q, want issued", ready.Status, ready.Reason, ready.Message)
	}
}

// TestSPIREExampleIsAccepted applies the shipped SPIRE issuer: the API
// server's schema and CEL rules must accept it as written.
func TestSPIREExampleIsAccepted(t *testing.T) {
	ctx := t.Context()
	objs, err := env.LoadYAML(stack.Example("issuer-spire.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.Apply(ctx, objs...); err != nil {
		t.Fatalf("the API server rejects deploy/examples/issuer-spire.yaml: %v", err)
	}
	for _, obj := range objs {
		t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), obj) })
	}
}

// TestInvalidPolicyMakesIssuerNotReady applies a policy the schema accepts but
// the evaluator cannot use (an IP SAN entry that is neither an address nor a
// CIDR): the issuer must say PolicyInvalid and never sign with it.
func TestInvalidPolicyMakesIssuerNotReady(t *testing.T) {
	ctx := t.Context()
	if _, err := stack.ApplyBankIssuer(ctx, "invalid-policy", func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Policy.SubjectAltNames.IPAddresses = []string{"not-an-ip"}
	}); err != nil {
		t.Fatal(err)
	}
	cond, err := stack.WaitForIssuerCondition(ctx, "invalid-policy", metav1.ConditionFalse, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cond.Message, "PolicyInvalid") || !strings.Contains(cond.Message, "subjectAltNames.ipAddresses") {
		t.Errorf("not-Ready message %q does not say the policy is invalid and where", cond.Message)
	}
}
