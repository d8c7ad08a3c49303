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

// Command cert-manager-controller runs the real cert-manager controllers,
// built from the github.com/cert-manager/cert-manager module on the Go module
// proxy, so that the end-to-end tests exercise the real thing rather than a
// fake.
//
// cert-manager's own controller binary lives in a separate module
// (cmd/controller) that is not published, so this is a thin replacement for
// its main: it builds a controller.ContextFactory from a kubeconfig and runs
// the controllers that the blank imports below register. Only the
// certificates controllers, the CertificateRequest approver and the in-tree
// Vault issuer are built in; the ACME, CA, SelfSigned and Venafi issuers,
// ingress-shim and the webhook are not.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// The in-tree Vault issuer, for side-by-side comparison. Not enabled by
	// default: the "issuers", "clusterissuers" and
	// "certificaterequests-issuer-vault" controllers must be named in
	// --controllers.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/vault"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/vault"
)

// defaultControllers is what a default cert-manager install runs for
// Certificates issued by an external issuer: the certificates controllers and
// the approver, which approves every CertificateRequest.
var defaultControllers = []string{
	trigger.ControllerName,
	issuing.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	approver.ControllerName,
}

type options struct {
	kubeconfig               string
	controllers              []string
	clusterResourceNamespace string
	leaderElect              bool
	metricsListenAddress     string
	kubeAPIQPS               float32
	kubeAPIBurst             int
	concurrentWorkers        int
	logging                  *logsapi.LoggingConfiguration
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "",
		"Path to the kubeconfig used to reach the API server (required).")
	fs.StringSliceVar(&o.controllers, "controllers", defaultControllers,
		"Comma-separated cert-manager controller names to run. Built in: "+strings.Join(knownControllers(), ", ")+".")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", "cert-manager",
		"Namespace holding the Secrets referenced by ClusterIssuers, and the leader election Lease.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Run only while holding the cert-manager-controller Lease in --cluster-resource-namespace.")
	fs.StringVar(&o.metricsListenAddress, "metrics-listen-address", "0",
		`Address of the Prometheus metrics server, e.g. 127.0.0.1:9402; "0" disables it.`)
	// cert-manager's defaults: 20 QPS, burst 50, 5 workers per controller.
	fs.Float32Var(&o.kubeAPIQPS, "kube-api-qps", 20, "Maximum queries per second to the API server.")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 50, "Maximum burst of queries to the API server.")
	fs.IntVar(&o.concurrentWorkers, "concurrent-workers", 5, "Number of workers per controller.")
	// -v, --vmodule, --logging-format and --log-flush-frequency, as cert-manager has them.
	logf.AddFlagsNonDeprecated(o.logging, fs)
}

func (o *options) validate() error {
	if o.kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	if len(o.controllers) == 0 {
		return fmt.Errorf("--controllers must name at least one controller")
	}
	for _, name := range o.controllers {
		if _, ok := controller.Known()[name]; !ok {
			return fmt.Errorf("unknown controller %q in --controllers; built in: %s", name, strings.Join(knownControllers(), ", "))
		}
	}
	return nil
}

// knownControllers lists the controllers registered by the imports above.
func knownControllers() []string {
	var names []string
	for name := range controller.Known() {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func main() {
	logf.InitLogs()
	defer logf.FlushLogs()

	opts := &options{logging: logsapi.NewLoggingConfiguration()}
	fs := pflag.NewFlagSet("cert-manager-controller", pflag.ExitOnError)
	opts.addFlags(fs)
	_ = fs.Parse(os.Args[1:]) // ExitOnError: never returns an error.

	if err := logf.ValidateAndApply(opts.logging); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	if err := opts.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")

	if err := run(ctx, opts); err != nil {
		logf.FromContext(ctx).Error(err, "cert-manager controller failed")
		logf.FlushLogs()
		os.Exit(1)
	}
	logf.FromContext(ctx).Info("cert-manager controller stopped")
}
