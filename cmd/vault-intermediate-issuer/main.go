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

// Command vault-intermediate-issuer runs the controller that signs
// intermediate CA certificates with Vault for cert-manager, after checking
// every request against its issuer's policy. "vault-intermediate-issuer
// policy check" judges a request offline, without Vault or a cluster;
// "vault-intermediate-issuer policy vault-acl" prints the Vault ACL policy
// for the issuer's AppRole.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/controllers"
	"github.com/golemtrust/vault-intermediate-issuer/signer"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// fieldOwner is the server-side apply field manager and the Event reporter.
const fieldOwner = "vault-intermediate-issuer"

func main() {
	if len(os.Args) > 2 && os.Args[1] == "policy" && os.Args[2] == "check" {
		os.Exit(runPolicyCheck(os.Args[3:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 2 && os.Args[1] == "policy" && os.Args[2] == "vault-acl" {
		os.Exit(runVaultACL(os.Args[3:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "policy" {
		fmt.Fprintln(os.Stderr, "usage: vault-intermediate-issuer policy check --issuer ISSUER.yaml (--request REQUEST.yaml | --csr CSR.pem --namespace NS)")
		fmt.Fprintln(os.Stderr, "       vault-intermediate-issuer policy vault-acl --issuer ISSUER.yaml [--name NAME]")
		os.Exit(2)
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type options struct {
	metricsAddr              string
	probeAddr                string
	leaderElect              bool
	leaderElectionNamespace  string
	clusterResourceNamespace string
	maxRetryDuration         time.Duration
	concurrentSignings       int
	checkInterval            time.Duration
	pprofAddr                string
	showVersion              bool
	zap                      zap.Options
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("vault-intermediate-issuer", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; \"0\" disables it.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica signs at a time.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the cluster resource namespace.")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", "vault-intermediate-issuer", "Namespace holding the Secrets (AppRole secret ID, CA bundles) that issuers reference, one of the issuer's own. Only the Secrets issuers name are read, and from nowhere else.")
	fs.DurationVar(&o.maxRetryDuration, "max-retry-duration", 10*time.Minute, "How long a request failing with an unclassified error is retried before it is marked Failed. Vault outages never fail a request.")
	fs.IntVar(&o.concurrentSignings, "concurrent-signings", 4, "Requests processed in parallel.")
	fs.DurationVar(&o.checkInterval, "check-interval", 5*time.Minute, "How often every issuer is checked against Vault even when nothing changed (the VaultReady condition); 0 disables it.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address to serve Go's pprof profiles on, for example 127.0.0.1:6060; empty disables them.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.leaderElectionNamespace == "" {
		o.leaderElectionNamespace = o.clusterResourceNamespace
	}
	return o, nil
}

func run(args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "vault-intermediate-issuer", version)
		return nil
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	logger := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("building the scheme: %w", err)
		}
	}

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the Kubernetes client configuration: %w", err)
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              "vault-intermediate-issuer-leader",
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		// Secrets never go through the manager's cache, which would
		// list and watch every Secret of a namespace: the controller
		// reads only the Secrets issuers name, each through an informer
		// of its own (controllers/secrets.go).
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Cache: cache.Options{
			// Requests for other issuers are cached without what is
			// never read of them (see controllers/cache.go).
			DefaultTransform: controllers.StripManagedFields,
			ByObject: map[client.Object]cache.ByObject{
				&cmapi.CertificateRequest{}:                 {Transform: controllers.StripForeignCertificateRequest},
				&certificatesv1.CertificateSigningRequest{}: {Transform: controllers.StripForeignCertificateSigningRequest},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}

	s := &signer.Signer{ClusterResourceNamespace: o.clusterResourceNamespace}
	ctx := ctrl.SetupSignalHandler()
	if err := (&controllers.Issuer{
		FieldOwner:              fieldOwner,
		MaxRetryDuration:        o.maxRetryDuration,
		MaxConcurrentReconciles: o.concurrentSignings,
		CheckInterval:           o.checkInterval,
		Signer:                  s,
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	// Revoke the cached Vault tokens when the manager stops, so they do not
	// outlive the process.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(closeCtx); err != nil {
			logger.Error(err, "revoking Vault tokens on shutdown")
		}
		return nil
	})); err != nil {
		return fmt.Errorf("registering the token revoker: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}

	logger.Info("starting", "version", version, "clusterResourceNamespace", o.clusterResourceNamespace, "leaderElect", o.leaderElect)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the controller manager: %w", err)
	}
	return nil
}
