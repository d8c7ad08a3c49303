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

package env

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The identities cert-manager runs under in the test environment: the
// ServiceAccounts of cert-manager's own Helm chart (release cert-manager in
// namespace cert-manager), with the RBAC that chart grants them.
const (
	// CertManagerServiceAccount is the controller's ServiceAccount.
	CertManagerServiceAccount = "cert-manager"
	// WebhookServiceAccount is the webhook's ServiceAccount.
	WebhookServiceAccount = "cert-manager-webhook"
)

// CertManagerUser is the user name the cert-manager controllers act as, and
// so the requester cert-manager's webhook records on every
// CertificateRequest created for a Certificate.
var CertManagerUser = ServiceAccountUser(CertManagerNamespace, CertManagerServiceAccount)

// certManagerRBACKinds are the kinds taken from cert-manager's rendered
// chart: its identities and their permissions. Its Deployments, Services and
// Jobs are not run (the binaries run as processes instead).
var certManagerRBACKinds = map[string]bool{
	"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
}

// Webhook is cert-manager's admission webhook as it runs in the test
// environment.
type Webhook struct {
	Process *Process
	// Address is where it serves TLS, host:port.
	Address string
	// CABundle is the PEM CA its serving certificate chains to, the
	// caBundle of its webhook configurations.
	CABundle []byte
}

// renderCertManagerChart renders cert-manager's own Helm chart (copied from
// the module into bin/charts/cert-manager by make tools) for the release
// cert-manager in namespace cert-manager, with the webhook reached at
// webhookHost, and returns its objects.
func (e *Env) renderCertManagerChart(ctx context.Context, webhookHost string) ([]*unstructured.Unstructured, error) {
	chart := filepath.Join(e.BinDir, "charts", "cert-manager")
	if _, err := os.Stat(filepath.Join(chart, "Chart.yaml")); err != nil {
		return nil, fmt.Errorf("cert-manager's chart is missing from %s: run `make tools` first", chart)
	}
	args := []string{"template", "cert-manager", chart, "--namespace", CertManagerNamespace,
		"--set", "webhook.url.host=" + webhookHost}
	cmd := exec.CommandContext(ctx, filepath.Join(e.BinDir, "helm"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm %v: %w: %s", args, err, stderr.String())
	}
	if err := os.WriteFile(filepath.Join(e.Artifacts, "cert-manager-chart-rendered.yaml"), out, 0o600); err != nil {
		return nil, fmt.Errorf("saving cert-manager's rendered chart: %w", err)
	}
	return DecodeYAML(out)
}

// setUpCertManager gives cert-manager its identities and permissions from
// its chart, starts its webhook under its own ServiceAccount and registers
// the webhook with the API server through the chart's webhook
// configurations. The cert-manager controllers are started afterwards, by
// StartCertManager, under their own ServiceAccount.
func (e *Env) setUpCertManager(ctx context.Context) error {
	if err := e.EnsureNamespace(ctx, CertManagerNamespace); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	objs, err := e.renderCertManagerChart(ctx, address)
	if err != nil {
		return err
	}
	applier, err := e.NewApplier("e2e-cert-manager-chart")
	if err != nil {
		return err
	}
	var configurations []*unstructured.Unstructured
	for _, obj := range objs {
		switch kind := obj.GetKind(); {
		case certManagerRBACKinds[kind]:
			if err := applier.Apply(ctx, false, obj); err != nil {
				return err
			}
		case kind == "MutatingWebhookConfiguration" || kind == "ValidatingWebhookConfiguration":
			configurations = append(configurations, obj)
		}
	}
	if len(configurations) != 2 {
		return fmt.Errorf("cert-manager's chart rendered %d webhook configurations, want a mutating and a validating one", len(configurations))
	}
	if err := e.applyIssuerApproverRBAC(ctx, applier); err != nil {
		return err
	}

	e.Webhook, err = e.startWebhook(ctx, port)
	if err != nil {
		return err
	}
	// What cert-manager's cainjector does for the chart's configurations:
	// put the serving CA into every webhook's clientConfig.caBundle.
	for _, cfg := range configurations {
		webhooks, _, _ := unstructured.NestedSlice(cfg.Object, "webhooks")
		for i := range webhooks {
			wh := webhooks[i].(map[string]any)
			// caBundle is []byte in the typed API: base64 in JSON.
			if err := unstructured.SetNestedField(wh, base64.StdEncoding.EncodeToString(e.Webhook.CABundle), "clientConfig", "caBundle"); err != nil {
				return fmt.Errorf("setting the caBundle of %s: %w", cfg.GetName(), err)
			}
			webhooks[i] = wh
		}
		if err := unstructured.SetNestedSlice(cfg.Object, webhooks, "webhooks"); err != nil {
			return fmt.Errorf("setting the webhooks of %s: %w", cfg.GetName(), err)
		}
		if err := applier.Apply(ctx, false, cfg); err != nil {
			return err
		}
	}
	return e.WaitForWebhook(ctx)
}

// applyIssuerApproverRBAC applies this project's chart's approver
// ClusterRole and binding (templates/approver-rbac.yaml, rendered with the
// chart's defaults): cert-manager's ServiceAccount may approve requests for
// every VaultIntermediateClusterIssuer, as in a default install. Tests of
// the dual-control mode remove them (ApproverRBAC).
func (e *Env) applyIssuerApproverRBAC(ctx context.Context, applier *Applier) error {
	objs, err := e.ApproverRBAC(ctx)
	if err != nil {
		return err
	}
	return applier.Apply(ctx, false, objs...)
}

// ApproverRBAC renders the objects of this project's chart that let
// cert-manager's ServiceAccount approve requests for the issuers
// (approveSignerForCertManager=true, the default).
func (e *Env) ApproverRBAC(ctx context.Context) ([]*unstructured.Unstructured, error) {
	_, objs, err := e.RenderChart(ctx, "vault-intermediate-issuer", CertManagerNamespace,
		"--show-only", "templates/approver-rbac.yaml")
	if err != nil {
		return nil, fmt.Errorf("rendering the chart's approver RBAC: %w", err)
	}
	if len(objs) == 0 {
		return nil, errors.New("the chart rendered no approver RBAC")
	}
	return objs, nil
}

// startWebhook runs cert-manager's webhook on 127.0.0.1:port with a serving
// certificate of a CA made for this run, acting as its ServiceAccount.
func (e *Env) startWebhook(ctx context.Context, port int) (*Webhook, error) {
	dir := filepath.Join(e.Artifacts, "webhook-tls")
	caPEM, err := writeServingCertificate(dir)
	if err != nil {
		return nil, err
	}
	healthz, err := freePort()
	if err != nil {
		return nil, err
	}
	kubeconfig, err := e.ImpersonatingKubeconfig(ServiceAccountUser(CertManagerNamespace, WebhookServiceAccount))
	if err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig", kubeconfig,
		"--secure-port", strconv.Itoa(port),
		"--healthz-port", strconv.Itoa(healthz),
		"--tls-cert-file", filepath.Join(dir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(dir, "tls.key"),
		"--metrics-listen-address", "0",
		"--v", "2",
	}
	p, err := StartProcess("cert-manager-webhook", e.Artifacts, filepath.Join(e.BinDir, "cert-manager-webhook"), args, nil)
	if err != nil {
		return nil, err
	}
	w := &Webhook{Process: p, Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), CABundle: caPEM}
	healthzURL := "http://127.0.0.1:" + strconv.Itoa(healthz) + "/healthz"
	err = WaitFor(ctx, 60*time.Second, 100*time.Millisecond, "cert-manager's webhook to serve", func(ctx context.Context) (bool, error) {
		if p.Exited() {
			return true, fmt.Errorf("cert-manager's webhook exited; see %s", p.LogPath)
		}
		if err := probe(ctx, healthzURL); err != nil {
			return false, err
		}
		return true, w.dialTLS()
	})
	if err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	return w, nil
}

// dialTLS checks that the webhook serves its certificate, trusted by its
// CA bundle, on its address.
func (w *Webhook) dialTLS() error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.CABundle)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", w.Address,
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return fmt.Errorf("connecting to cert-manager's webhook: %w", err)
	}
	return conn.Close()
}

func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// WaitForWebhook waits until the API server sends CertificateRequests
// through the webhook: a dry-run create comes back with spec.username
// filled in by cert-manager's identity plugin.
func (e *Env) WaitForWebhook(ctx context.Context) error {
	csr, err := CSR(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "webhook probe"}})
	if err != nil {
		return err
	}
	return WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "the API server to call cert-manager's webhook", func(ctx context.Context) (bool, error) {
		if e.Webhook.Process.Exited() {
			return true, fmt.Errorf("cert-manager's webhook exited; see %s", e.Webhook.Process.LogPath)
		}
		cr := IntermediateRequest(CertManagerNamespace, "webhook-probe", "webhook-probe", csr, time.Hour)
		if err := e.Client.Create(ctx, cr, client.DryRunAll); err != nil {
			return false, fmt.Errorf("dry-run create of a CertificateRequest: %w", err)
		}
		if cr.Spec.Username == "" {
			return false, errors.New("the dry-run CertificateRequest came back without spec.username: the webhook is not called yet")
		}
		return true, nil
	})
}

// writeServingCertificate makes a CA and a serving certificate for
// 127.0.0.1 signed by it, writes tls.crt and tls.key into dir and returns
// the CA's PEM.
func writeServingCertificate(dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e cert-manager webhook CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the webhook CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cert-manager-webhook"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(48 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the webhook serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// UnregisterWebhook deletes cert-manager's webhook configurations, as in a
// cluster where the webhook is missing or bypassed, and returns a function
// that registers them again and waits until the API server calls the
// webhook.
func (e *Env) UnregisterWebhook(ctx context.Context) (restore func(context.Context) error, err error) {
	var saved []client.Object
	for _, obj := range []client.Object{&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{}} {
		if err := e.Client.Get(ctx, client.ObjectKey{Name: webhookConfigurationName}, obj); err != nil {
			return nil, fmt.Errorf("reading cert-manager's webhook configuration: %w", err)
		}
		saved = append(saved, obj.DeepCopyObject().(client.Object))
		if err := e.Client.Delete(ctx, obj); err != nil {
			return nil, fmt.Errorf("deleting cert-manager's webhook configuration: %w", err)
		}
	}
	return func(ctx context.Context) error {
		for _, obj := range saved {
			obj.SetResourceVersion("")
			if err := e.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("registering cert-manager's webhook again: %w", err)
			}
		}
		return e.WaitForWebhook(ctx)
	}, nil
}

// webhookConfigurationName is the name cert-manager's chart gives both
// webhook configurations (release cert-manager).
const webhookConfigurationName = "cert-manager-webhook"
