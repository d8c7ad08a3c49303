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
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// signerWildcard is the resource name the chart's sign and approve rules
// grant: every VaultIntermediateClusterIssuer.
const signerWildcard = "vaultintermediateclusterissuers.pki.golemtrust.am/*"

// TestIstioCACertsUnderChartRBAC runs the bank's Istio flow with the
// controller confined to the chart's RBAC: the shipped Certificate is
// issued into the cacerts Secret, chained to Vault's root, and the
// controller's Events were recorded.
func TestIstioCACertsUnderChartRBAC(t *testing.T) {
	ctx := t.Context()
	objs, err := env.LoadYAML(stack.Example("certificate-istio-ca.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.Apply(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	err = env.WaitFor(ctx, 90*time.Second, 250*time.Millisecond, "Secret istio-system/cacerts", func(ctx context.Context) (bool, error) {
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "cacerts"}, &secret); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return len(secret.Data[corev1.TLSCertKey]) > 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := vault.ParseCertificates(secret.Data[corev1.TLSCertKey])
	if err != nil {
		t.Fatal(err)
	}
	roots, err := vault.ParseCertificates(secret.Data["ca.crt"])
	if err != nil || len(roots) != 1 || !roots[0].Equal(stack.PKI.Root) {
		t.Fatalf("ca.crt is not Vault's root CA (%d certificates, %v)", len(roots), err)
	}
	leaf := chain[0]
	if !leaf.IsCA || leaf.Subject.CommonName != "Golem Trust Istio CA" || len(secret.Data[corev1.TLSPrivateKeyKey]) == 0 {
		t.Errorf("tls.crt is not the Istio intermediate CA: CA=%v subject %q", leaf.IsCA, leaf.Subject)
	}
	pool := x509.NewCertPool()
	pool.AddCert(roots[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the intermediate does not verify against ca.crt: %v", err)
	}

	// The Issued Event went through events.k8s.io as the ServiceAccount.
	err = env.WaitFor(ctx, 30*time.Second, 250*time.Millisecond, "an Issued Event from vault-intermediate-issuer", func(ctx context.Context) (bool, error) {
		var events eventsv1.EventList
		if err := stack.Client.List(ctx, &events, client.InNamespace("istio-system")); err != nil {
			return false, err
		}
		for _, ev := range events.Items {
			if ev.ReportingController == "vault-intermediate-issuer" && ev.Reason == "Issued" && ev.Regarding.Kind == "CertificateRequest" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestSecretsOutsideClusterResourceNamespaceForbidden reads Secrets as the
// chart's ServiceAccount: the AppRole Secret in the cluster resource
// namespace can be listed by its name (what the controller does); getting
// it, listing the namespace's Secrets, the Istio CA key in istio-system and
// a cluster-wide list are forbidden (HTTP 403).
func TestSecretsOutsideClusterResourceNamespaceForbidden(t *testing.T) {
	ctx := t.Context()
	sa, err := stack.ImpersonatingClient(controllerUser)
	if err != nil {
		t.Fatal(err)
	}
	var approle corev1.SecretList
	if err := sa.List(ctx, &approle, client.InNamespace(env.ClusterResourceNamespace),
		client.MatchingFields{"metadata.name": env.AppRoleSecretName}); err != nil || len(approle.Items) != 1 {
		t.Fatalf("the ServiceAccount cannot list the AppRole Secret by its name in %s: %d items, %v", env.ClusterResourceNamespace, len(approle.Items), err)
	}
	assertForbidden(t, "get the AppRole Secret", sa.Get(ctx,
		client.ObjectKey{Namespace: env.ClusterResourceNamespace, Name: env.AppRoleSecretName}, &corev1.Secret{}))
	assertForbidden(t, "list every Secret of the cluster resource namespace",
		sa.List(ctx, &corev1.SecretList{}, client.InNamespace(env.ClusterResourceNamespace)))

	outside := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "not-for-the-issuer"},
		StringData: map[string]string{"key": "value"}}
	if err := stack.Client.Create(ctx, outside); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	assertForbidden(t, "get Secret istio-system/not-for-the-issuer",
		sa.Get(ctx, client.ObjectKeyFromObject(outside), &corev1.Secret{}))
	assertForbidden(t, "list Secrets in every namespace", sa.List(ctx, &corev1.SecretList{}))
	assertForbidden(t, "list Secrets in istio-system", sa.List(ctx, &corev1.SecretList{}, client.InNamespace("istio-system")))
}

func assertForbidden(t *testing.T, what string, err error) {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != http.StatusForbidden || !apierrors.IsForbidden(err) {
		t.Errorf("%s as the controller's ServiceAccount: got %v, want HTTP 403 Forbidden", what, err)
	}
}

// TestChartRBACAuthorizations asks kube-apiserver, as the chart's
// ServiceAccount and as cert-manager's, what they may do: exactly what the
// controller needs, and nothing around it.
func TestChartRBACAuthorizations(t *testing.T) {
	certManagerUser := env.ServiceAccountUser("cert-manager", "cert-manager")
	cases := []struct {
		name  string
		user  string
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{"watch issuers", controllerUser, ra("pki.golemtrust.am", "vaultintermediateclusterissuers", "", "watch", "", ""), true},
		{"patch issuer status", controllerUser, ra("pki.golemtrust.am", "vaultintermediateclusterissuers", "status", "patch", "", ""), true},
		{"update issuers", controllerUser, ra("pki.golemtrust.am", "vaultintermediateclusterissuers", "", "update", "", ""), false},
		{"watch CertificateRequests", controllerUser, ra("cert-manager.io", "certificaterequests", "", "watch", "", ""), true},
		{"patch CertificateRequest status", controllerUser, ra("cert-manager.io", "certificaterequests", "status", "patch", "istio-system", ""), true},
		{"update CertificateRequest status", controllerUser, ra("cert-manager.io", "certificaterequests", "status", "update", "istio-system", ""), false},
		{"create CertificateRequests", controllerUser, ra("cert-manager.io", "certificaterequests", "", "create", "istio-system", ""), false},
		{"watch CertificateSigningRequests", controllerUser, ra("certificates.k8s.io", "certificatesigningrequests", "", "watch", "", ""), true},
		{"patch CertificateSigningRequest status", controllerUser, ra("certificates.k8s.io", "certificatesigningrequests", "status", "patch", "", ""), true},
		{"approve CertificateSigningRequests", controllerUser, ra("certificates.k8s.io", "certificatesigningrequests", "approval", "update", "", ""), false},
		{"sign for our signer", controllerUser, ra("certificates.k8s.io", "signers", "", "sign", "", signerWildcard), true},
		{"sign for another signer", controllerUser, ra("certificates.k8s.io", "signers", "", "sign", "", "kubernetes.io/kube-apiserver-client"), false},
		{"approve for our signer", controllerUser, ra("cert-manager.io", "signers", "", "approve", "", signerWildcard), false},
		{"create events.k8s.io Events", controllerUser, ra("events.k8s.io", "events", "", "create", "istio-system", ""), true},
		{"create core Events", controllerUser, ra("", "events", "", "create", releaseNamespace, ""), true},
		{"list the AppRole Secret by its name", controllerUser, ra("", "secrets", "", "list", env.ClusterResourceNamespace, env.AppRoleSecretName), true},
		{"watch the AppRole Secret by its name", controllerUser, ra("", "secrets", "", "watch", env.ClusterResourceNamespace, env.AppRoleSecretName), true},
		{"get the AppRole Secret", controllerUser, ra("", "secrets", "", "get", env.ClusterResourceNamespace, env.AppRoleSecretName), false},
		{"list every Secret of the cluster resource namespace", controllerUser, ra("", "secrets", "", "list", env.ClusterResourceNamespace, ""), false},
		{"list another Secret of the cluster resource namespace", controllerUser, ra("", "secrets", "", "list", env.ClusterResourceNamespace, "sh.helm.release.v1.vault-intermediate-issuer.v1"), false},
		{"write Secrets in the cluster resource namespace", controllerUser, ra("", "secrets", "", "update", env.ClusterResourceNamespace, env.AppRoleSecretName), false},
		{"read Secrets in kube-system", controllerUser, ra("", "secrets", "", "get", "kube-system", ""), false},
		{"create the Lease", controllerUser, ra("coordination.k8s.io", "leases", "", "create", releaseNamespace, ""), true},
		{"renew the Lease", controllerUser, ra("coordination.k8s.io", "leases", "", "update", releaseNamespace, leaseName), true},
		{"renew another Lease", controllerUser, ra("coordination.k8s.io", "leases", "", "update", releaseNamespace, "kube-controller-manager"), false},
		{"take a Lease elsewhere", controllerUser, ra("coordination.k8s.io", "leases", "", "update", "kube-system", leaseName), false},
		{"cert-manager approves for our signer", certManagerUser, ra("cert-manager.io", "signers", "", "approve", "", signerWildcard), true},
		{"cert-manager approves for another signer", certManagerUser, ra("cert-manager.io", "signers", "", "approve", "", "issuers.example.com/*"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := stack.ImpersonatingClient(tc.user)
			if err != nil {
				t.Fatal(err)
			}
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &tc.attrs}}
			if err := c.Create(t.Context(), review); err != nil {
				t.Fatal(err)
			}
			if review.Status.Allowed != tc.want {
				t.Errorf("%s may %s %s/%s %q in %q: allowed=%v, want %v (%s)", tc.user, tc.attrs.Verb, tc.attrs.Group,
					tc.attrs.Resource+"/"+tc.attrs.Subresource, tc.attrs.Name, tc.attrs.Namespace, review.Status.Allowed, tc.want, review.Status.Reason)
			}
		})
	}
}

func ra(group, resource, subresource, verb, namespace, name string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Group: group, Resource: resource, Subresource: subresource,
		Verb: verb, Namespace: namespace, Name: name}
}

// TestCertificateSigningRequestUnderChartRBAC sends a Kubernetes
// CertificateSigningRequest to the bank's issuer and approves it: the
// controller, as the chart's ServiceAccount, must be able to judge it and
// write its status (the bank's policy allows no cluster-scoped requests, so
// it fails).
func TestCertificateSigningRequestUnderChartRBAC(t *testing.T) {
	ctx := t.Context()
	csrPEM, err := env.CSR(&x509.CertificateRequest{Subject: env.BankSubject})
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "chart-rbac-csr",
			Annotations: map[string]string{experimentalapi.CertificateSigningRequestIsCAAnnotationKey: "true"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           csrPEM,
			SignerName:        "vaultintermediateclusterissuers.pki.golemtrust.am/" + bankIssuer,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageCertSign, certificatesv1.UsageCRLSign},
			ExpirationSeconds: ptr.To[int32](int32((720 * time.Hour).Seconds())),
		},
	}
	if err := stack.Client.Create(ctx, csr); err != nil {
		t.Fatal(err)
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "E2EApproved", Message: "approved by the chart e2e suite",
	})
	if err := stack.Client.SubResource("approval").Update(ctx, csr); err != nil {
		t.Fatal(err)
	}
	var failed *certificatesv1.CertificateSigningRequestCondition
	err = env.WaitFor(ctx, 60*time.Second, 250*time.Millisecond, "the CSR's Failed condition", func(ctx context.Context) (bool, error) {
		if err := stack.Client.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
			return false, err
		}
		for i, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed {
				failed = &csr.Status.Conditions[i]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CSR %s: %s: %s", csr.Name, failed.Reason, failed.Message)
	if len(csr.Status.Certificate) != 0 {
		t.Errorf("a denied CSR carries a certificate")
	}
}
