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

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

// Leader election timings and Lease name: cert-manager's defaults.
const (
	leaseName          = "cert-manager-controller"
	leaseDuration      = 60 * time.Second
	leaseRenewDeadline = 40 * time.Second
	leaseRetryPeriod   = 15 * time.Second
)

func run(ctx context.Context, opts *options) error {
	log := logf.FromContext(ctx)

	factory, err := controller.NewContextFactory(ctx, contextOptions(opts))
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}
	// The base context shares its informer factories and metrics with the
	// contexts that each controller builds from the factory.
	base, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}

	g, ctx := errgroup.WithContext(ctx)
	if opts.metricsListenAddress != "0" && opts.metricsListenAddress != "" {
		ln, err := net.Listen("tcp", opts.metricsListenAddress)
		if err != nil {
			return fmt.Errorf("listening for metrics: %w", err)
		}
		server := base.Metrics.NewServer(ln)
		log.Info("serving metrics", "address", ln.Addr().String())
		g.Go(func() error {
			if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return server.Shutdown(shutdownCtx)
		})
	}

	g.Go(func() error {
		if !opts.leaderElect {
			return runControllers(ctx, factory, base, opts)
		}
		return runAsLeader(ctx, base, opts.clusterResourceNamespace, func(ctx context.Context) error {
			return runControllers(ctx, factory, base, opts)
		})
	})
	return g.Wait()
}

// contextOptions sets every cert-manager controller option explicitly. Values
// marked "cert-manager's default" are those of cert-manager's own main
// (internal/apis/config/controller/v1alpha1/defaults.go).
func contextOptions(opts *options) controller.ContextOptions {
	return controller.ContextOptions{
		// The API server comes from the kubeconfig.
		APIServerHost:      "",
		Kubeconfig:         opts.kubeconfig,
		KubernetesAPIQPS:   opts.kubeAPIQPS,
		KubernetesAPIBurst: opts.kubeAPIBurst,
		// Watch all namespaces: cert-manager's default.
		Namespace: "",
		IssuerOptions: controller.IssuerOptions{
			// cert-manager's default is kube-system; its Helm chart and
			// these tests use the release namespace, cert-manager.
			ClusterResourceNamespace: opts.clusterResourceNamespace,
			// cert-manager's defaults; only the ACME and Venafi issuers
			// read these.
			ClusterIssuerAmbientCredentials: true,
			IssuerAmbientCredentials:        false,
		},
		CertificateOptions: controller.CertificateOptions{
			// Do not make the Certificate the owner of its Secret:
			// cert-manager's default.
			EnableOwnerRef: false,
			// Copy every annotation to CertificateRequests except those of
			// kubectl, Flux and Argo CD: cert-manager's default.
			CopiedAnnotationPrefixes: []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			// Back off an hour after a failed issuance: cert-manager's
			// default.
			CertificateRequestMinimumBackoffDuration: time.Hour,
		},
		// No Gateway API support: cert-manager's default.
		ConfigOptions: controller.ConfigOptions{EnableGatewayAPI: false},
		// ACMEOptions, IngressShimOptions and SchedulerOptions configure
		// the ACME and ingress-shim controllers, which are not built in.
	}
}

// runControllers constructs the selected controllers, starts the informers
// they asked for, and runs them until ctx is done or one of them fails.
func runControllers(ctx context.Context, factory *controller.ContextFactory, base *controller.Context, opts *options) error {
	log := logf.FromContext(ctx)

	// Every controller registers its informers while it is constructed, so
	// all of them are constructed before the informer factories start.
	controllers := make(map[string]controller.Interface, len(opts.controllers))
	for _, name := range opts.controllers {
		c, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
		controllers[name] = c
	}

	g, ctx := errgroup.WithContext(ctx)
	for name, c := range controllers {
		g.Go(func() error {
			log.Info("starting controller", "controller", name)
			// A controller stopped before its caches synced returns an
			// error; that is no failure when we are shutting down.
			if err := c.Run(opts.concurrentWorkers, ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("controller %s: %w", name, err)
			}
			return nil
		})
	}

	log.V(logf.DebugLevel).Info("starting informer factories")
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	err := g.Wait()
	base.SharedInformerFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	log.Info("controllers stopped")
	return err
}

// runAsLeader runs fn while this process holds cert-manager's leader election
// Lease in namespace. It returns when ctx is done, or with an error when the
// Lease is lost, as cert-manager then exits.
func runAsLeader(ctx context.Context, base *controller.Context, namespace string, fn func(context.Context) error) error {
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(base.RESTConfig, "leader-election"))
	if err != nil {
		return fmt.Errorf("creating leader election client: %w", err)
	}
	hostname, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("getting hostname: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, namespace, leaseName,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{
			// cert-manager uses the bare hostname; the UUID tells apart
			// several instances on one test machine.
			Identity:      hostname + "_" + string(uuid.NewUUID()),
			EventRecorder: base.Recorder,
		})
	if err != nil {
		return fmt.Errorf("creating leader election lock: %w", err)
	}

	elected := make(chan context.Context)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   leaseRenewDeadline,
		RetryPeriod:     leaseRetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				select {
				case elected <- leaderCtx:
				case <-leaderCtx.Done():
				}
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return fmt.Errorf("creating leader elector: %w", err)
	}

	// Stop campaigning, and release the Lease, once fn has returned.
	electionCtx, stopElection := context.WithCancel(ctx)
	defer stopElection()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		elector.Run(electionCtx)
	}()
	log := logf.FromContext(ctx)
	log.Info("waiting for leader election", "lease", namespace+"/"+leaseName)

	select {
	case leaderCtx := <-elected:
		log.Info("elected leader")
		err = fn(leaderCtx)
		stopElection()
		<-stopped
	case <-stopped:
	}
	if err == nil && ctx.Err() == nil {
		err = errors.New("leader election lost")
	}
	return err
}
