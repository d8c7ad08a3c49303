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
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestDualControl runs the dual-control mode of docs/install.md: the chart
// installed with approveSignerForCertManager=false, so cert-manager's
// approver may not approve requests for the issuers, and a member of the
// security team approves or denies each one with cmctl. cert-manager's
// webhook refuses every other approval: cert-manager's own and that of a
// user without "approve" on the issuer's signer name. The officer's approval
// leads to issuance and is in the audit trail with its reason and message;
// a denial ends the request without anything sent to Vault.
func TestDualControl(t *testing.T) {
	ctx := t.Context()
	const issuer = "vault-dual-control"
	signerName := v1alpha1.IssuerTypeIdentifier + "/" + issuer

	// The chart with approveSignerForCertManager=false renders no
	// approver RBAC; an upgrade to it deletes what the default install
	// created. Put it back afterwards for the other tests.
	_, objs, err := stack.RenderChart(ctx, "vault-intermediate-issuer", env.CertManagerNamespace,
		"--set", "approveSignerForCertManager=false")
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		if strings.HasSuffix(obj.GetName(), ":approver") {
			t.Fatalf("approveSignerForCertManager=false still renders %s %s", obj.GetKind(), obj.GetName())
		}
	}
	approver, err := stack.ApproverRBAC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range approver {
		if err := stack.Client.Delete(ctx, obj.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		applier, err := stack.NewApplier("e2e-cert-manager-chart")
		if err == nil {
			err = applier.Apply(context.Background(), false, approver...)
		}
		if err != nil {
			t.Errorf("restoring cert-manager's approval RBAC: %v", err)
		}
	})
	if err := env.WaitFor(ctx, 30*time.Second, 200*time.Millisecond, "cert-manager to lose approve on "+signerName, func(ctx context.Context) (bool, error) {
		allowed, err := canApprove(ctx, env.CertManagerUser, signerName)
		return !allowed, err
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := stack.ApplyBankIssuer(ctx, issuer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	// The security team approves for this issuer only; a platform engineer
	// may write request status (for example through a broad role) but not
	// approve.
	statusRules := []rbacv1.PolicyRule{
		{APIGroups: []string{"cert-manager.io"}, Resources: []string{"certificaterequests"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"cert-manager.io"}, Resources: []string{"certificaterequests/status"}, Verbs: []string{"update", "patch"}},
	}
	if err := stack.Grant(ctx, "e2e-request-status", "", statusRules, securityOfficer, platformEngineer); err != nil {
		t.Fatal(err)
	}
	if err := stack.Grant(ctx, "e2e-security-team-approver", "", []rbacv1.PolicyRule{{
		APIGroups: []string{"cert-manager.io"}, Resources: []string{"signers"}, Verbs: []string{"approve"},
		ResourceNames: []string{signerName},
	}}, securityOfficer); err != nil {
		t.Fatal(err)
	}
	officerKubeconfig, err := stack.ImpersonatingKubeconfig(securityOfficer)
	if err != nil {
		t.Fatal(err)
	}
	engineerKubeconfig, err := stack.ImpersonatingKubeconfig(platformEngineer)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ApprovedBySecurityTeam", func(t *testing.T) {
		before := issuedSerials(t)
		createRequest(t, "dual-approved", issuer, bankCSR(t), 720*time.Hour)
		requireUnapproved(t, "dual-approved")

		res, err := stack.Cmctl(ctx, engineerKubeconfig, "approve", "-n", "istio-system", "dual-approved",
			"--reason", "LooksFine", "--message", "approved by someone without approve")
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("user %q does not have permissions to set approved/denied conditions for issuer", platformEngineer)
		if res.ExitCode == 0 || !strings.Contains(res.Stdout+res.Stderr, want) {
			t.Fatalf("cmctl approve as %s: exit %d, output %s%s; want a refusal by cert-manager's webhook", platformEngineer,
				res.ExitCode, res.Stdout, res.Stderr)
		}
		requireUnapproved(t, "dual-approved")
		if got := issuedSerials(t); len(got) != len(before) {
			t.Fatalf("Vault signed before the security team approved")
		}

		const reason, message = "SecurityTeamApproved", "intermediate for mesh prod-eu-1, change SEC-4711"
		res, err = stack.Cmctl(ctx, officerKubeconfig, "approve", "-n", "istio-system", "dual-approved",
			"--reason", reason, "--message", message)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "Approved CertificateRequest 'istio-system/dual-approved'") {
			t.Fatalf("cmctl approve as %s: exit %d: %s%s", securityOfficer, res.ExitCode, res.Stdout, res.Stderr)
		}
		final := waitForFinal(t, "dual-approved", 60*time.Second)
		requireIssued(t, final)
		if got := issuedSerials(t); len(got) != len(before)+1 {
			t.Errorf("Vault issued %d certificates for one approved request", len(got)-len(before))
		}

		li := getIssuer(t, issuer).Status.LastIssued
		if li == nil || li.Request.Name != "dual-approved" || li.Request.Approval == nil ||
			li.Request.Approval.Reason != reason || li.Request.Approval.Message != message {
			t.Errorf("lastIssued = %+v; want the approval's reason %q and message %q", li, reason, message)
		}
		found := false
		for _, line := range auditLines(t, issuer) {
			if line["request"] == "istio-system/dual-approved" && line["decision"] == "issued" {
				found = true
				if line["approvedReason"] != reason || line["approvedMessage"] != message {
					t.Errorf("audit line: approvedReason %v, approvedMessage %v", line["approvedReason"], line["approvedMessage"])
				}
			}
		}
		if !found {
			t.Error("no audit line for the approved request")
		}
		ev := waitForEvent(t, "istio-system", "dual-approved", "Issued")
		if !strings.Contains(ev.Note, reason) || !strings.Contains(ev.Note, message) {
			t.Errorf("Issued Event %q does not say how the request was approved", ev.Note)
		}
	})

	t.Run("DeniedBySecurityTeam", func(t *testing.T) {
		before := issuedSerials(t)
		createRequest(t, "dual-denied", issuer, bankCSR(t), 720*time.Hour)
		requireUnapproved(t, "dual-denied")
		res, err := stack.Cmctl(ctx, officerKubeconfig, "deny", "-n", "istio-system", "dual-denied",
			"--reason", "SecurityTeamDenied", "--message", "no change ticket")
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "Denied CertificateRequest 'istio-system/dual-denied'") {
			t.Fatalf("cmctl deny as %s: exit %d: %s%s", securityOfficer, res.ExitCode, res.Stdout, res.Stderr)
		}
		// Denied is final: cert-manager's webhook refuses a later approval,
		// even by the officer.
		res, err = stack.Cmctl(ctx, officerKubeconfig, "approve", "-n", "istio-system", "dual-denied",
			"--reason", "SecurityTeamApproved", "--message", "changed my mind")
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode == 0 || !strings.Contains(res.Stdout+res.Stderr, "already denied") {
			t.Errorf("cmctl approve of a denied request: exit %d: %s%s", res.ExitCode, res.Stdout, res.Stderr)
		}
		// Give the issuer every chance to act on the denied request: an
		// approved request created after it is signed first.
		createRequest(t, "dual-after-denial", issuer, bankCSR(t), 720*time.Hour)
		res, err = stack.Cmctl(ctx, officerKubeconfig, "approve", "-n", "istio-system", "dual-after-denial",
			"--reason", "SecurityTeamApproved", "--message", "mesh prod-eu-1, change SEC-4712")
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("cmctl approve: %v: %s%s", err, res.Stdout, res.Stderr)
		}
		requireIssued(t, waitForFinal(t, "dual-after-denial", 60*time.Second))

		denied, err := getRequest(ctx, "dual-denied")
		if err != nil {
			t.Fatal(err)
		}
		cond := env.CertificateRequestCondition(denied, cmapi.CertificateRequestConditionDenied)
		if cond == nil || cond.Status != cmmeta.ConditionTrue || cond.Reason != "SecurityTeamDenied" || cond.Message != "no change ticket" {
			t.Errorf("Denied condition: %+v", cond)
		}
		if ready := env.CertificateRequestCondition(denied, cmapi.CertificateRequestConditionReady); ready != nil && ready.Status == cmmeta.ConditionTrue {
			t.Errorf("the denied request is Ready: %+v", ready)
		}
		if len(denied.Status.Certificate) != 0 {
			t.Error("the denied request carries a certificate")
		}
		if got := issuedSerials(t); len(got) != len(before)+1 {
			t.Errorf("Vault issued %d certificates for a denied and an approved request, want 1", len(got)-len(before))
		}
		for _, line := range auditLines(t, issuer) {
			if line["request"] == "istio-system/dual-denied" {
				t.Errorf("the issuer made a decision on the denied request: %v", line)
			}
		}
	})
}

// requireUnapproved checks that the request stays without an Approved or
// Denied condition for a few seconds: cert-manager's approver, which tries
// at once, is refused by the webhook.
func requireUnapproved(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		cr, err := getRequest(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cr.Status.Conditions {
			if c.Type == cmapi.CertificateRequestConditionApproved || c.Type == cmapi.CertificateRequestConditionDenied {
				t.Fatalf("%s got %s (reason %s, message %q) without the security team", name, c.Type, c.Reason, c.Message)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// canApprove asks the API server whether user may approve for the
// cert-manager signer name.
func canApprove(ctx context.Context, user, signerName string) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group: "cert-manager.io", Resource: "signers", Verb: "approve", Name: signerName,
		},
	}}
	if user == env.CertManagerUser {
		sar.Spec.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + env.CertManagerNamespace, "system:authenticated"}
	}
	if err := stack.Client.Create(ctx, sar); err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}
