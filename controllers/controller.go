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
	"fmt"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	issuerlib "github.com/cert-manager/issuer-lib/controllers"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// The permissions the controller needs, next to the code that needs them.
//
// +kubebuilder:rbac:groups=pki.golemtrust.am,resources=vaultintermediateclusterissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pki.golemtrust.am,resources=vaultintermediateclusterissuers/status,verbs=patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests/status,verbs=patch;update
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/status,verbs=patch;update
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=vaultintermediateclusterissuers.pki.golemtrust.am/*
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch

// Issuer reconciles VaultIntermediateClusterIssuers and the requests that
// reference them. Its fields are set by the caller from flags.
type Issuer struct {
	// FieldOwner is the server-side apply field manager of status patches.
	FieldOwner string
	// MaxRetryDuration is how long a request that fails with a plain error
	// is retried before it is marked Failed. Vault outages do not count: they
	// park the request until the issuer is Ready again.
	MaxRetryDuration time.Duration
	// MaxConcurrentReconciles is the number of requests signed in parallel.
	MaxConcurrentReconciles int
	// Check and Sign are the signer's functions.
	Check signer.Check
	Sign  signer.Sign
}

// SetupWithManager registers the controllers with mgr.
func (r *Issuer) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	combined := &issuerlib.CombinedController{
		ClusterIssuerTypes: []issuerapi.Issuer{&v1alpha1.VaultIntermediateClusterIssuer{}},
		FieldOwner:         r.FieldOwner,
		MaxRetryDuration:   r.MaxRetryDuration,
		Check:              r.Check,
		Sign:               r.Sign,
		EventRecorder:      mgr.GetEventRecorder(r.FieldOwner),
		// Istio reads the root from ca.crt of its cacerts Secret, and a
		// multi-cluster mesh breaks unless it is the real root: ask
		// cert-manager to write the CA the signer returns.
		SetCAOnCertificateRequest: true,
		ControllerOptions: controller.Options{
			MaxConcurrentReconciles: r.MaxConcurrentReconciles,
		},
	}
	if err := combined.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up the issuer controllers: %w", err)
	}
	return nil
}
