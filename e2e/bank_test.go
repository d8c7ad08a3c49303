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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestBankIstioCACerts runs the bank's flow: the shipped Certificate for
// Istio's intermediate is issued through the shipped bank issuer, and the
// cacerts Secret holds what istiod needs. Then a manual renewal re-issues it
// under the same root.
func TestBankIstioCACerts(t *testing.T) {
	ctx := t.Context()
	objs, err := env.LoadYAML(stack.Example("certificate-istio-ca.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.Apply(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	issued := waitForSecretCert(t, "istio-system", "cacerts", nil)
	assertIstioCACerts(t, issued)

	// Istio's own CA, given the files of cacerts mapped as istiod maps a
	// kubernetes.io/tls Secret, signs a workload certificate that
	// verifies to ca.crt.
	firstDir := writeCACertsDir(t, "cacerts-first")
	oldWorkload := filepath.Join(t.TempDir(), "workload-before-renewal.pem")
	var signed istioVerdict
	runIstioCA(t, &signed, "sign-workload", "--cacerts", firstDir, "--spiffe-id", istioWorkloadID, "--out", oldWorkload)
	if signed.CA.Serial != fmt.Sprintf("%x", issued.leaf.SerialNumber) || signed.Workload.ChainLength != 3 ||
		len(signed.Workload.URIs) != 1 || signed.Workload.URIs[0] != istioWorkloadID {
		t.Errorf("Istio's CA: %+v", signed)
	}

	firstSerial := issued.leaf.SerialNumber
	key := client.ObjectKey{Namespace: "istio-system", Name: "istio-ca"}
	// Wait until cert-manager has finished the first issuance (Ready, and
	// its Issuing condition gone): a trigger set before that is removed by
	// cert-manager's own status update of the finished issuance.
	if err := env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "Certificate istio-ca issued and idle", func(ctx context.Context) (bool, error) {
		cert := &cmapi.Certificate{}
		if err := stack.Client.Get(ctx, key, cert); err != nil {
			return false, err
		}
		for _, c := range cert.Status.Conditions {
			if c.Type == cmapi.CertificateConditionIssuing {
				return false, nil
			}
		}
		return env.CertificateReady(cert) && cert.Status.Revision != nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// What docs/istio.md and docs/runbook.md tell an operator to run.
	status := cmctl(t, "status", "certificate", "istio-ca", "-n", "istio-system")
	// cmctl describes the Certificate, its Secret and its request; it does
	// not look into issuers outside cert-manager.io and says so.
	for _, want := range []string{"Name: istio-ca", "Ready: True", "Issuer Common Name: Golem Trust Root CA",
		"Serial Number: " + fmt.Sprintf("%x", issued.leaf.SerialNumber.Bytes()), "this command currently does not support third party issuers"} {
		if !strings.Contains(status, want) {
			t.Errorf("cmctl status certificate does not show %q:\n%s", want, status)
		}
	}
	inspect := cmctl(t, "inspect", "secret", "cacerts", "-n", "istio-system")
	for _, want := range []string{"Golem Trust Istio CA", "Golem Trust Root CA", "Is a CA certificate: true"} {
		if !strings.Contains(inspect, want) {
			t.Errorf("cmctl inspect secret does not show %q:\n%s", want, inspect)
		}
	}
	renew := cmctl(t, "renew", "istio-ca", "-n", "istio-system")
	if !strings.Contains(renew, "Manually triggered issuance of Certificate istio-system/istio-ca") {
		t.Errorf("cmctl renew: %s", renew)
	}
	renewed := waitForSecretCert(t, "istio-system", "cacerts", func(c *x509.Certificate) bool {
		return c.SerialNumber.Cmp(firstSerial) != 0
	})
	assertIstioCACerts(t, renewed)
	if !renewed.root.Equal(issued.root) {
		t.Errorf("the renewed intermediate chains to another root")
	}
	t.Logf("renewed: serial %x -> %x under root %q", firstSerial, renewed.leaf.SerialNumber, renewed.root.Subject)

	// istiod's reload of a changed cacerts (same root, new intermediate)
	// accepts the renewed files, signs with the new intermediate, and the
	// workload certificate signed before still verifies to the root.
	var reloaded istioVerdict
	runIstioCA(t, &reloaded, "reload", "--old", firstDir, "--new", writeCACertsDir(t, "cacerts-renewed"),
		"--old-workload", oldWorkload, "--spiffe-id", istioWorkloadID)
	if reloaded.RootChanged == nil || *reloaded.RootChanged || reloaded.OldWorkloadVerified == nil || !*reloaded.OldWorkloadVerified ||
		reloaded.CA.Serial != fmt.Sprintf("%x", renewed.leaf.SerialNumber) {
		t.Errorf("Istio's reload: %+v", reloaded)
	}
}

// istioWorkloadID is the identity of the default ServiceAccount's workloads
// in Istio's default trust domain.
const istioWorkloadID = "spiffe://cluster.local/ns/default/sa/default"

// istioVerdict is what bin/istio-ca prints (e2e/tools/istio-ca).
type istioVerdict struct {
	Accepted bool   `json:"accepted"`
	Stage    string `json:"stage"`
	Error    string `json:"error"`
	CA       struct {
		Serial string `json:"serial"`
	} `json:"ca"`
	Workload struct {
		URIs        []string `json:"uris"`
		ChainLength int      `json:"chainLength"`
	} `json:"workload"`
	RootChanged         *bool `json:"rootChanged"`
	OldWorkloadVerified *bool `json:"oldWorkloadVerified"`
}

// runIstioCA runs bin/istio-ca and fails the test unless Istio's code
// accepted.
func runIstioCA(t *testing.T, v *istioVerdict, args ...string) {
	t.Helper()
	res, err := stack.RunJSONTool(t.Context(), v, "istio-ca", args...)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || !v.Accepted {
		t.Fatalf("Istio's CA refused (%s, exit %d): %s\n%s", v.Stage, res.ExitCode, v.Error, res.Stderr)
	}
}

// writeCACertsDir writes the keys of istio-system/cacerts into a directory,
// one file per key, as the kubelet mounts the Secret into istiod.
func writeCACertsDir(t *testing.T, name string) string {
	t.Helper()
	secret := &corev1.Secret{}
	if err := stack.Client.Get(t.Context(), client.ObjectKey{Namespace: "istio-system", Name: "cacerts"}, secret); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range secret.Data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cmctl runs bin/cmctl as the admin and returns its output; a non-zero exit
// fails the test.
func cmctl(t *testing.T, args ...string) string {
	t.Helper()
	res, err := stack.Cmctl(t.Context(), stack.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("cmctl %s: exit %d\n%s%s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout + res.Stderr
}

type cacerts struct {
	leaf  *x509.Certificate
	chain []*x509.Certificate
	root  *x509.Certificate
	key   []byte
	pem   []byte
}

// waitForSecretCert waits until the Secret holds a certificate for which
// accept (nil: any) returns true.
func waitForSecretCert(t *testing.T, namespace, name string, accept func(*x509.Certificate) bool) cacerts { //nolint:unparam // a Secret is named by namespace and name; every caller's is Istio's istio-system today
	t.Helper()
	var out cacerts
	err := env.WaitFor(t.Context(), 90*time.Second, 250*time.Millisecond, "Secret "+namespace+"/"+name, func(ctx context.Context) (bool, error) {
		secret := &corev1.Secret{}
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		chain, err := vault.ParseCertificates(secret.Data[corev1.TLSCertKey])
		if err != nil || len(chain) == 0 {
			return false, nil
		}
		if accept != nil && !accept(chain[0]) {
			return false, nil
		}
		roots, err := vault.ParseCertificates(secret.Data["ca.crt"])
		if err != nil || len(roots) != 1 {
			return false, err
		}
		out = cacerts{leaf: chain[0], chain: chain, root: roots[0], key: secret.Data[corev1.TLSPrivateKeyKey], pem: secret.Data[corev1.TLSCertKey]}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertIstioCACerts(t *testing.T, c cacerts) {
	t.Helper()
	leaf := c.leaf
	if !leaf.IsCA || !leaf.BasicConstraintsValid {
		t.Errorf("tls.crt is not a CA certificate")
	}
	if leaf.MaxPathLen != 0 || !leaf.MaxPathLenZero {
		t.Errorf("path length: got MaxPathLen=%d MaxPathLenZero=%v, want 0", leaf.MaxPathLen, leaf.MaxPathLenZero)
	}
	if leaf.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("key usage %b lacks keyCertSign", leaf.KeyUsage)
	}
	if got := leaf.Subject.CommonName; got != "Golem Trust Istio CA" {
		t.Errorf("CN = %q", got)
	}
	if got := leaf.Subject.Organization; len(got) != 1 || got[0] != "Golem Trust" {
		t.Errorf("O = %q", got)
	}
	if got := leaf.Subject.Country; len(got) != 1 || got[0] != "AM" {
		t.Errorf("C = %q", got)
	}
	if want := time.Now().Add(720 * time.Hour); leaf.NotAfter.Sub(want).Abs() > 5*time.Minute {
		t.Errorf("NotAfter %s is not within 5 minutes of now+720h (%s)", leaf.NotAfter, want)
	}
	if _, err := tls.X509KeyPair(c.pem, c.key); err != nil {
		t.Errorf("tls.key does not match tls.crt: %v", err)
	}
	if !bytes.Equal(c.root.RawSubject, c.root.RawIssuer) || c.root.CheckSignatureFrom(c.root) != nil {
		t.Errorf("ca.crt is not self-signed: %q issued by %q", c.root.Subject, c.root.Issuer)
	}
	if !c.root.Equal(stack.PKI.Root) {
		t.Errorf("ca.crt is not Vault's root CA")
	}
	for _, cert := range c.chain[1:] {
		if cert.Equal(c.root) {
			t.Errorf("tls.crt contains the root; it must hold only the intermediate and non-root CAs")
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.root)
	intermediates := x509.NewCertPool()
	for _, cert := range c.chain[1:] {
		intermediates.AddCert(cert)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the chain does not verify to ca.crt: %v", err)
	}
}

// TestDeniedRequestsNeverReachVault asks for what the bank's policy forbids,
// a foreign organisation and a foreign namespace, and checks both requests
// fail naming the rule while Vault issues nothing.
func TestDeniedRequestsNeverReachVault(t *testing.T) {
	ctx := t.Context()
	before, err := stack.Vault.IssuedSerials(ctx, stack.PKI.Mount)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, namespace, org string
		wantInMessage        []string
	}{
		{name: "evil-ca", namespace: "istio-system", org: "Evil Corp",
			wantInMessage: []string{"subject.organizations", `"Evil Corp"`}},
		{name: "default-ca", namespace: "default", org: "Golem Trust",
			wantInMessage: []string{"allowedNamespaces", `"default"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cert := bankCertificate(tc.namespace, tc.name, tc.org)
			if err := stack.Client.Create(ctx, cert); err != nil {
				t.Fatal(err)
			}
			cr, err := stack.WaitForFinalRequest(ctx, tc.namespace, tc.name, 60*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
			if ready.Status != cmmeta.ConditionFalse || ready.Reason != cmapi.CertificateRequestReasonFailed {
				t.Fatalf("request %s: Ready=%s reason %s, want False/Failed", cr.Name, ready.Status, ready.Reason)
			}
			for _, want := range tc.wantInMessage {
				if !strings.Contains(ready.Message, want) {
					t.Errorf("message %q does not name %s", ready.Message, want)
				}
			}
			if len(cr.Status.Certificate) != 0 {
				t.Errorf("a denied request carries a certificate")
			}
		})
	}
	after, err := stack.Vault.IssuedSerials(ctx, stack.PKI.Mount)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("Vault issued %d certificates for denied requests", len(after)-len(before))
	}
}

func bankCertificate(namespace, name, org string) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName:  name,
			Duration:    &metav1.Duration{Duration: 720 * time.Hour},
			RenewBefore: &metav1.Duration{Duration: 168 * time.Hour},
			IsCA:        true,
			CommonName:  "Golem Trust Istio CA",
			Subject:     &cmapi.X509Subject{Organizations: []string{org}, Countries: []string{"AM"}},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group,
				Kind: "VaultIntermediateClusterIssuer", Name: bankIssuer},
		},
	}
}

// TestIssuerReadiness checks that Ready means the issuer can log in: a wrong
// secret ID makes it not Ready with a reason that says so.
func TestIssuerReadiness(t *testing.T) {
	ctx := t.Context()
	cond, err := stack.IssuerReady(ctx, bankIssuer)
	if err != nil || cond == nil || cond.Status != metav1.ConditionTrue {
		t.Fatalf("the bank issuer with a good secret ID is not Ready: %+v %v", cond, err)
	}

	// A role of its own: Vault locks a role ID out after repeated failed
	// logins, and the retries of this issuer must not lock out the role
	// the other issuers share.
	const role = "wrong-secret-id"
	if _, err := stack.Vault.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+role, map[string]any{
		"token_policies": []string{stack.PKI.PolicyName}, "token_no_default_policy": true,
	}); err != nil {
		t.Fatal(err)
	}
	roleID, err := stack.Vault.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/"+role+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	wrong := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: env.ClusterResourceNamespace, Name: "vault-approle-wrong"},
		Data: map[string][]byte{"roleId": []byte(roleID.Data["role_id"].(string)),
			"secretId": []byte("00000000-0000-0000-0000-000000000000")},
	}
	if err := stack.Client.Create(ctx, wrong); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stack.Client.Delete(context.Background(), &v1alpha1.VaultIntermediateClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "wrong-secret-id"}})
	})
	if _, err := stack.ApplyBankIssuer(ctx, "wrong-secret-id", func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = wrong.Name
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = wrong.Name
	}); err != nil {
		t.Fatal(err)
	}
	cond, err = stack.WaitForIssuerCondition(ctx, "wrong-secret-id", metav1.ConditionFalse, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cond.Message, "AuthFailed") || !strings.Contains(cond.Message, "login") {
		t.Errorf("not-Ready message %q does not say the AppRole login failed", cond.Message)
	}
	if strings.Contains(cond.Message, "00000000-0000-0000-0000-000000000000") {
		t.Errorf("the condition leaks the secret ID: %q", cond.Message)
	}
	vaultReady, err := stack.WaitForVaultReady(ctx, "wrong-secret-id", "AuthFailed", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VaultReady: %s: %s", vaultReady.Reason, vaultReady.Message)

	// Rejected credentials are not retried at the pace of issuer-lib's
	// requeues: the login backoff (5s, 10s, 20s, ...) keeps the attempts
	// few, so that Vault's AppRole lockout is not tripped.
	time.Sleep(12 * time.Second)
	samples, err := stack.IssuerMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	attempts := env.Sum(samples, "vault_intermediate_issuer_vault_logins_total", map[string]string{"issuer": "wrong-secret-id"})
	t.Logf("login attempts with the wrong secret ID in the first ~12s: %v", attempts)
	if attempts < 1 || attempts > 3 {
		t.Errorf("%v login attempts with rejected credentials in ~12s; the backoff allows at most 3", attempts)
	}
}
