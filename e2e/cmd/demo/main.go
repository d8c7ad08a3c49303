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

// Command demo runs the bank's flow end to end on loopback: kube-apiserver +
// etcd, OpenBao configured as the bank's runbook does, cert-manager, and the
// issuer; it applies the shipped bank issuer and the Istio cacerts
// Certificate, waits for the Secret and prints the chain and the issuer's
// conditions. Then it does what anyone who can read the AppRole Secret could
// try, with the role ID and secret ID from it, and shows Vault refuse it.
// With -keep (or DEMO_KEEP=1) it leaves everything running and
// prints a kubeconfig for exploring with kubectl until interrupted.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

func main() {
	keep := flag.Bool("keep", os.Getenv("DEMO_KEEP") == "1", "keep the stack running after the demo and print a kubeconfig")
	flag.Parse()
	if err := run(*keep, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(keep bool, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}

	step("starting etcd, kube-apiserver, OpenBao, cert-manager (controllers and webhook) and vault-intermediate-issuer on loopback")
	stack, err := env.Start(ctx, env.Options{})
	if err != nil {
		return err
	}
	defer stack.Stop()
	step("OpenBao %s at %s: PKI mount %q with root %q, max lease TTL 720h; AppRole %q whose only ACL policy is the one "+
		"\"vault-intermediate-issuer policy vault-acl\" generates from deploy/examples/issuer-bank.yaml",
		stack.Vault.Version, stack.Vault.Address, stack.PKI.Mount, stack.PKI.Root.Subject.CommonName, stack.PKI.RoleName)
	step("cert-manager's webhook serves at https://%s (registered with the API server); the controllers act as %s",
		stack.Webhook.Address, env.CertManagerUser)

	const issuerName = "vault-intermediate"
	if _, err := stack.ApplyBankIssuer(ctx, issuerName, nil); err != nil {
		return err
	}
	step("applied deploy/examples/issuer-bank.yaml (spec.vault.server set to %s, with insecureAllowHTTP: the demo's OpenBao serves plain HTTP on loopback)", stack.Vault.Address)
	if _, err := stack.WaitForIssuerCondition(ctx, issuerName, metav1.ConditionTrue, 60*time.Second); err != nil {
		return err
	}
	step("issuer %s is Ready", issuerName)

	objs, err := env.LoadYAML(stack.Example("certificate-istio-ca.yaml"))
	if err != nil {
		return err
	}
	if err := stack.Apply(ctx, objs...); err != nil {
		return err
	}
	step("applied deploy/examples/certificate-istio-ca.yaml (istio-system/istio-ca, secretName cacerts)")

	var secret corev1.Secret
	if err := env.WaitFor(ctx, 90*time.Second, 250*time.Millisecond, "Secret istio-system/cacerts", func(ctx context.Context) (bool, error) {
		cert := &cmapi.Certificate{}
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istio-ca"}, cert); err != nil {
			return false, err
		}
		if !env.CertificateReady(cert) {
			return false, nil
		}
		return true, stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "cacerts"}, &secret)
	}); err != nil {
		return err
	}
	step("Certificate istio-system/istio-ca is Ready; Secret istio-system/cacerts written by cert-manager")

	fmt.Fprintln(out, "\n== istio-system/cacerts: tls.crt (intermediate first) ==")
	chain, err := vault.ParseCertificates(secret.Data[corev1.TLSCertKey])
	if err != nil {
		return err
	}
	for _, c := range chain {
		printCert(out, c)
	}
	fmt.Fprintln(out, "== istio-system/cacerts: ca.crt ==")
	roots, err := vault.ParseCertificates(secret.Data["ca.crt"])
	if err != nil {
		return err
	}
	for _, c := range roots {
		printCert(out, c)
	}
	fmt.Fprintf(out, "tls.key: %d bytes of PEM (not shown)\n", len(secret.Data[corev1.TLSPrivateKeyKey]))

	if err := istioSignsWithIt(ctx, stack, secret, out); err != nil {
		return err
	}

	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: issuerName}, iss); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== VaultIntermediateClusterIssuer %s: conditions ==\n", issuerName)
	for _, c := range iss.Status.Conditions {
		fmt.Fprintf(out, "%s=%s reason=%s observedGeneration=%d message=%q\n", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message)
	}
	if li := iss.Status.LastIssued; li != nil {
		fmt.Fprintf(out, "lastIssued: %s %s/%s requested by %q, serial %s, policy %s\n", li.Request.Kind, li.Request.Namespace,
			li.Request.Name, li.Request.Requester, li.SerialNumber, li.PolicyDigest)
		if a := li.Request.Approval; a != nil {
			fmt.Fprintf(out, "            approved: reason %q, message %q\n", a.Reason, a.Message)
		}
	}

	if err := stolenCredentials(ctx, out, stack, step); err != nil {
		return err
	}

	if keep {
		fmt.Fprintf(out, "\nThe stack keeps running. Explore it with:\n  export KUBECONFIG=%s\n  kubectl get vici,certificates,certificaterequests -A\nLogs: %s\nPress Ctrl-C to stop.\n", stack.Kubeconfig, stack.Artifacts)
		<-ctx.Done()
	}
	step("stopping everything the demo started")
	return nil
}

func printCert(out io.Writer, c *x509.Certificate) {
	fp := sha256.Sum256(c.Raw)
	pathLen := "none"
	switch {
	case c.MaxPathLen > 0 || c.MaxPathLenZero:
		pathLen = fmt.Sprint(c.MaxPathLen)
	}
	fmt.Fprintf(out, "  subject:    %s\n  issuer:     %s\n  serial:     %s\n  notBefore:  %s\n  notAfter:   %s\n  CA:         %v  pathLen: %s\n  sha256:     %s\n\n",
		c.Subject, c.Issuer, colonHex(c.SerialNumber.Bytes()), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339),
		c.IsCA, pathLen, colonHex(fp[:]))
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// istioSignsWithIt hands cacerts to Istio's own plugged-in CA code
// (bin/istio-ca), which signs a workload certificate with it.
func istioSignsWithIt(ctx context.Context, stack *env.Env, secret corev1.Secret, out io.Writer) error {
	dir, err := os.MkdirTemp("", "demo-cacerts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for k, v := range secret.Data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			return err
		}
	}
	var verdict struct {
		Accepted bool   `json:"accepted"`
		Error    string `json:"error"`
		Workload struct {
			Serial      string   `json:"serial"`
			URIs        []string `json:"uris"`
			ChainLength int      `json:"chainLength"`
		} `json:"workload"`
	}
	if _, err := stack.RunJSONTool(ctx, &verdict, "istio-ca", "sign-workload", "--cacerts", dir); err != nil {
		return err
	}
	if !verdict.Accepted {
		return fmt.Errorf("Istio's CA refused cacerts: %s", verdict.Error)
	}
	fmt.Fprintf(out, "\n== Istio's own CA (istio.io/istio security/pkg/pki/ca) loaded cacerts as istiod does ==\n"+
		"signed workload certificate %s for %v; its chain of %d certificates verifies to ca.crt\n",
		verdict.Workload.Serial, verdict.Workload.URIs, verdict.Workload.ChainLength)
	return nil
}

// stolenCredentials reads the role ID and secret ID from the AppRole Secret,
// logs in to Vault directly and asks for what an attacker would: an "Evil CA"
// without a path length, valid past the root, and a CA with the CSR's own
// subject (use_csr_values). Vault's ACL must refuse both.
func stolenCredentials(ctx context.Context, out io.Writer, stack *env.Env, step func(string, ...any)) error {
	var secret corev1.Secret
	if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: env.ClusterResourceNamespace, Name: env.AppRoleSecretName}, &secret); err != nil {
		return err
	}
	step("read the role ID and secret ID from Secret %s/%s, as anyone who may read it could, and logged in to Vault with them",
		env.ClusterResourceNamespace, env.AppRoleSecretName)
	c, err := stack.Vault.AppRoleClient(ctx, string(secret.Data["roleId"]), string(secret.Data["secretId"]))
	if err != nil {
		return err
	}
	evil := pkix.Name{CommonName: "Evil CA", Organization: []string{"Evil Corp"}}
	csr, err := env.CSR(&x509.CertificateRequest{Subject: evil})
	if err != nil {
		return err
	}
	pastRoot := time.Until(stack.PKI.Root.NotAfter.Add(365*24*time.Hour)) / time.Second
	attempts := []struct {
		what   string
		params map[string]any
	}{
		{"CN=Evil CA,O=Evil Corp, no path length, valid a year past the root", map[string]any{
			"csr": string(csr), "common_name": "Evil CA", "organization": "Evil Corp",
			"ttl": fmt.Sprintf("%ds", int64(pastRoot)), "format": "pem"}},
		{"a CA with the CSR's own subject (use_csr_values=true)", map[string]any{
			"csr": string(csr), "common_name": "Evil CA", "use_csr_values": true, "format": "pem"}},
	}
	path := stack.PKI.Mount + "/root/sign-intermediate"
	for _, a := range attempts {
		_, err := c.Logical().WriteWithContext(ctx, path, a.params)
		var re *vaultapi.ResponseError
		if err == nil {
			return fmt.Errorf("Vault did not refuse %s: it signed it", a.what)
		}
		if !errors.As(err, &re) || re.StatusCode != 403 {
			return fmt.Errorf("Vault did not refuse %s with 403: %w", a.what, err)
		}
		fmt.Fprintf(out, "  POST %s: %s\n    -> Vault: %d %s\n", path, a.what, re.StatusCode, strings.Join(strings.Fields(strings.Join(re.Errors, "; ")), " "))
	}
	step("Vault refused both: its ACL allows this AppRole only what the issuer's policy allows")
	return nil
}
