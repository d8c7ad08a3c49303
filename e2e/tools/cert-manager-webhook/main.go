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

// Command cert-manager-webhook runs cert-manager's real admission webhook,
// built from the github.com/cert-manager/cert-manager module on the Go module
// proxy: the same admission chain as cert-manager's own webhook binary (the
// CertificateRequest identity plugin that fills in spec.username, groups, uid
// and extra; the approval plugin that lets only users with "approve" on the
// signer set the Approved or Denied condition; and the validation of every
// cert-manager resource), served over TLS by cert-manager's webhook server.
//
// cert-manager's webhook binary lives in a module of its own that is not
// published, and the admission chain lives in internal/webhook of the root
// module. Go's internal-package rule is by import path, so this module's
// path, github.com/cert-manager/cert-manager/e2e-tools/webhook, lies under
// the root module's path: that lets it import internal/webhook, and the
// e2e-tools element keeps it apart from every module cert-manager publishes
// (its own webhook binary's module is .../webhook-binary). Nothing of
// cert-manager is copied or patched; this file only replaces the binary's
// main, with the same flags (cert-manager's pkg/webhook/options).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"
)

func main() {
	logf.InitLogs()
	defer logf.FlushLogs()

	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		logf.FlushLogs()
		os.Exit(1)
	}
}

func run() error {
	cfg, err := options.NewWebhookConfiguration()
	if err != nil {
		return fmt.Errorf("building the default webhook configuration: %w", err)
	}
	fs := pflag.NewFlagSet("cert-manager-webhook", pflag.ExitOnError)
	options.AddConfigFlags(fs, cfg)
	_ = fs.Parse(os.Args[1:]) // ExitOnError: never returns an error.

	if err := validation.ValidateWebhookConfiguration(cfg, nil).ToAggregate(); err != nil {
		return fmt.Errorf("invalid webhook configuration: %w", err)
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
		return fmt.Errorf("setting the feature gates: %w", err)
	}
	if err := logf.ValidateAndApply(&cfg.Logging); err != nil {
		return fmt.Errorf("applying the logging configuration: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := logf.Log.WithName("webhook")
	ctx = logf.NewContext(ctx, log)

	srv, err := cmwebhook.NewCertManagerWebhookServer(log, *cfg)
	if err != nil {
		return fmt.Errorf("building the webhook server: %w", err)
	}
	if err := srv.Run(ctx); err != nil {
		return fmt.Errorf("running the webhook server: %w", err)
	}
	return nil
}
