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

package controllers

import (
	"context"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// periodicCheck checks every issuer at an interval. issuer-lib checks an
// issuer only when its spec changes or a signing fails, so without this an
// idle issuer would show VaultReady=True long after its Vault went away.
// It runs on the leader only (the default for a manager Runnable).
type periodicCheck struct {
	client   client.Client
	check    func(context.Context, issuerapi.Issuer) error
	interval time.Duration
	log      logr.Logger
}

// Start implements manager.Runnable.
func (p *periodicCheck) Start(ctx context.Context) error {
	wait.JitterUntilWithContext(ctx, func(ctx context.Context) {
		var list v1alpha1.VaultIntermediateClusterIssuerList
		if err := p.client.List(ctx, &list); err != nil {
			p.log.Error(err, "listing issuers")
			return
		}
		for i := range list.Items {
			iss := &list.Items[i]
			// The result is recorded in the VaultReady condition by the
			// signer's Recorder; issuer-lib's Ready follows at the next
			// signing or spec change.
			if err := p.check(ctx, iss); err != nil {
				p.log.V(1).Info("periodic check failed", "issuer", iss.Name, "reason", err.Error())
			}
		}
	}, p.interval, 0.1, false)
	return nil
}
