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
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault/acl"
)

// ClusterResourceNamespace is where the issuer reads its Secrets in the test
// environment, as in a default install: a namespace of the issuer's own.
const ClusterResourceNamespace = "vault-intermediate-issuer"

// CertManagerNamespace is cert-manager's own namespace, where it reads the
// Secrets of its ClusterIssuers.
const CertManagerNamespace = "cert-manager"

// AppRoleSecretName is the Secret holding the AppRole credentials, as the
// shipped examples name it.
const AppRoleSecretName = "vault-approle"

// Options configure Start.
type Options struct {
	// RepoRoot is the repository checkout; found from the working directory
	// when empty.
	RepoRoot string
	// Artifacts is where logs and kubeconfigs go; a new directory under
	// e2e/_artifacts when empty.
	Artifacts string
	// RestartableVault keeps OpenBao's storage on disk and its port fixed,
	// so that Vault.Restart brings it back under the same address.
	RestartableVault bool
	// AuthorizationMode is kube-apiserver's --authorization-mode, for
	// example "Node,RBAC"; envtest's default (RBAC) when empty.
	AuthorizationMode string
	// NoIssuer leaves the vault-intermediate-issuer controller to the test,
	// which starts its own (StartIssuer, StartIssuerWith or StartController).
	NoIssuer bool
	// CertManagerArgs are appended to the cert-manager controller's command
	// line, e.g. --controllers to run the in-tree Vault issuer beside ours.
	CertManagerArgs []string
	// AuditSecrets makes kube-apiserver write an audit log of every
	// request on Secrets to Env.AuditLog.
	AuditSecrets bool
	// IssuerBinary is the file in bin/ that StartIssuer, and StartIssuerWith
	// when its options name none, run: "vault-intermediate-issuer" when
	// empty, RaceIssuerBinary for a suite that checks the controller for
	// data races (see DataRaces).
	IssuerBinary string
}

// RaceIssuerBinary is the controller built with the race detector (make
// build writes it beside the normal one).
const RaceIssuerBinary = "vault-intermediate-issuer-race"

// Env is the running stack.
type Env struct {
	RepoRoot   string
	BinDir     string
	Artifacts  string
	Kubeconfig string
	// AuditLog is kube-apiserver's audit log (Options.AuditSecrets).
	AuditLog   string
	RestConfig *rest.Config
	Client     client.Client
	Scheme     *runtime.Scheme

	Vault       *Vault
	PKI         *PKI
	CertManager *Process
	// Webhook is cert-manager's admission webhook, registered with the API
	// server for cert-manager's resources.
	Webhook *Webhook
	// CertManagerKubeconfig is the kubeconfig the cert-manager controllers
	// use: it acts as cert-manager's ServiceAccount (CertManagerUser).
	CertManagerKubeconfig string
	Issuer                *Process
	// IssuerMetricsAddr is where the issuer serves Prometheus metrics.
	IssuerMetricsAddr string
	// IssuerEnv is added to the issuer's environment by StartIssuer, e.g.
	// GOMEMLIMIT, which must not reach the other processes.
	IssuerEnv []string

	testEnv *envtest.Environment
	// apiServer replaces envtest's kube-apiserver after RestartAPIServer.
	apiServer       *Process
	certManagerArgs []string
	issuerBinary    string
	// bankACL is the generated ACL policy of the shared AppRole role, that
	// of the unchanged bank issuer.
	bankACL *acl.Policy
}

// Start brings the whole stack up: kube-apiserver + etcd with the
// cert-manager and issuer CRDs, OpenBao configured with the bank's PKI and
// AppRole, the AppRole Secret, cert-manager's RBAC from its own chart,
// cert-manager's webhook (registered through the chart's webhook
// configurations), the cert-manager controllers under their own
// ServiceAccount, and the issuer.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	e := &Env{RepoRoot: opts.RepoRoot, Artifacts: opts.Artifacts, certManagerArgs: opts.CertManagerArgs,
		issuerBinary: opts.IssuerBinary}
	if e.issuerBinary == "" {
		e.issuerBinary = "vault-intermediate-issuer"
	}
	if e.RepoRoot == "" {
		if e.RepoRoot, err = findRepoRoot(); err != nil {
			return nil, err
		}
	}
	e.BinDir = filepath.Join(e.RepoRoot, "bin")
	for _, tool := range []string{"etcd", "kube-apiserver", "openbao", "cert-manager-controller", "cert-manager-webhook",
		"helm", e.issuerBinary} {
		if _, err := os.Stat(filepath.Join(e.BinDir, tool)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make tools build` first", tool, e.BinDir)
		}
	}
	if e.Artifacts == "" {
		e.Artifacts = filepath.Join(e.RepoRoot, "e2e", "_artifacts", time.Now().UTC().Format("20060102T150405.000"))
	}
	if err := os.MkdirAll(e.Artifacts, 0o700); err != nil {
		return nil, fmt.Errorf("creating the artifacts directory: %w", err)
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()

	if err := e.startKube(opts.AuthorizationMode, opts.AuditSecrets); err != nil {
		return nil, err
	}
	vaultOpts := VaultOptions{}
	if opts.RestartableVault {
		if vaultOpts.Port, err = freePort(); err != nil {
			return nil, err
		}
		vaultOpts.DataDir = filepath.Join(e.Artifacts, "openbao-data")
	}
	if e.Vault, err = StartVaultWith(ctx, e.BinDir, e.Artifacts, vaultOpts); err != nil {
		return nil, err
	}
	bank, err := e.BankIssuer("vault-intermediate", nil)
	if err != nil {
		return nil, err
	}
	if e.bankACL, err = acl.Generate(bank, acl.Options{}); err != nil {
		return nil, fmt.Errorf("generating the bank issuer's ACL policy: %w", err)
	}
	if e.PKI, err = e.Vault.SetUpBankPKI(ctx, "pki", "vault-intermediate-issuer", bank); err != nil {
		return nil, err
	}
	for _, ns := range []string{ClusterResourceNamespace, CertManagerNamespace, "istio-system"} {
		if err := e.EnsureNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	if err := e.WriteAppRoleSecret(ctx, e.PKI.RoleID, e.PKI.SecretID); err != nil {
		return nil, err
	}
	if err := e.setUpCertManager(ctx); err != nil {
		return nil, err
	}
	if err := e.StartCertManager(); err != nil {
		return nil, err
	}
	if !opts.NoIssuer {
		if err := e.StartIssuer(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Env) startKube(authorizationMode string, auditSecrets bool) error {
	e.Scheme = runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(e.Scheme); err != nil {
			return fmt.Errorf("building the scheme: %w", err)
		}
	}
	e.testEnv = &envtest.Environment{
		BinaryAssetsDirectory: e.BinDir,
		CRDDirectoryPaths: []string{
			filepath.Join(e.RepoRoot, "deploy", "crds"),
			filepath.Join(e.BinDir, "crds", "cert-manager"),
		},
		ErrorIfCRDPathMissing: true,
		Scheme:                e.Scheme,
		// envtest's 20s is too short for kube-apiserver's start on two
		// cores shared with builds; a healthy start takes a few seconds.
		ControlPlaneStartTimeout: 90 * time.Second,
	}
	if authorizationMode != "" {
		e.testEnv.ControlPlane.GetAPIServer().Configure().Set("authorization-mode", authorizationMode)
	}
	if auditSecrets {
		policy := filepath.Join(e.Artifacts, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditSecretsPolicy), 0o600); err != nil {
			return fmt.Errorf("writing the audit policy: %w", err)
		}
		e.AuditLog = filepath.Join(e.Artifacts, "audit.log")
		e.testEnv.ControlPlane.GetAPIServer().Configure().
			Set("audit-policy-file", policy).Set("audit-log-path", e.AuditLog).Set("audit-log-format", "json")
	}
	cfg, err := e.testEnv.Start()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	admin, err := e.testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering the admin kubeconfig: %w", err)
	}
	e.Kubeconfig = filepath.Join(e.Artifacts, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	e.RestConfig = cfg
	e.RestConfig.QPS = 200
	e.RestConfig.Burst = 400
	if e.Client, err = client.New(e.RestConfig, client.Options{Scheme: e.Scheme}); err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	return nil
}

// StartCertManager starts the cert-manager controllers with the arguments
// given in Options.CertManagerArgs, acting as cert-manager's ServiceAccount
// with the permissions cert-manager's chart gives it (impersonated through
// the admin kubeconfig, so the API server authorizes every call as that
// ServiceAccount and cert-manager's webhook records it as the requester of
// the CertificateRequests it creates). Stop e.CertManager first to restart
// it.
func (e *Env) StartCertManager() error {
	var err error
	if e.CertManagerKubeconfig == "" {
		if e.CertManagerKubeconfig, err = e.ImpersonatingKubeconfig(CertManagerUser); err != nil {
			return err
		}
	}
	args := append([]string{"--kubeconfig", e.CertManagerKubeconfig, "--cluster-resource-namespace", CertManagerNamespace},
		e.certManagerArgs...)
	e.CertManager, err = StartProcess("cert-manager", e.Artifacts, filepath.Join(e.BinDir, "cert-manager-controller"), args, nil)
	return err
}

// StartIssuer starts the vault-intermediate-issuer controller process.
func (e *Env) StartIssuer(extraArgs ...string) error {
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	probePort, err := freePort()
	if err != nil {
		return err
	}
	e.IssuerMetricsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort))
	args := append([]string{
		"--cluster-resource-namespace", ClusterResourceNamespace,
		"--metrics-bind-address", e.IssuerMetricsAddr,
		"--health-probe-bind-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
	}, extraArgs...)
	e.Issuer, err = StartProcess("vault-intermediate-issuer", e.Artifacts, filepath.Join(e.BinDir, e.issuerBinary),
		args, append([]string{"KUBECONFIG=" + e.Kubeconfig}, e.IssuerEnv...))
	return err
}

// Stop stops everything Start started, in reverse order.
func (e *Env) Stop() {
	for _, p := range []*Process{e.Issuer, e.CertManager} {
		if p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
	if e.Webhook != nil {
		_ = e.Webhook.Process.Stop(10 * time.Second)
	}
	if e.Vault != nil {
		_ = e.Vault.Stop()
	}
	if e.apiServer != nil {
		_ = e.apiServer.Stop(10 * time.Second)
	}
	if e.testEnv != nil {
		_ = e.testEnv.Stop()
	}
}

// EnsureNamespace creates the namespace if it does not exist.
func (e *Env) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// WriteAppRoleSecret creates or updates the AppRole Secret the examples
// reference: keys roleId and secretId in the cluster resource namespace.
func (e *Env) WriteAppRoleSecret(ctx context.Context, roleID, secretID string) error {
	return e.WriteSecret(ctx, AppRoleSecretName, map[string][]byte{"roleId": []byte(roleID), "secretId": []byte(secretID)})
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) { return freePort() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findRepoRoot walks up from the working directory to the directory whose
// go.mod declares the main module.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && len(data) > 0 && containsModuleLine(string(data)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod of github.com/golemtrust/vault-intermediate-issuer) above the working directory")
		}
		dir = parent
	}
}

func containsModuleLine(gomod string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		if strings.TrimSpace(line) == "module github.com/golemtrust/vault-intermediate-issuer" {
			return true
		}
	}
	return false
}
