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
	"slices"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	issuerlib "github.com/cert-manager/issuer-lib/controllers"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer"
)

// The permissions the controller needs, next to the code that needs them.
//
// +kubebuilder:rbac:groups=pki.golemtrust.am,resources=vaultintermediateclusterissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pki.golemtrust.am,resources=vaultintermediateclusterissuers/status,verbs=patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=vaultintermediateclusterissuers.pki.golemtrust.am/*
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=list;watch,resourceNames=vault-approle,namespace=vault-intermediate-issuer
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=create,namespace=vault-intermediate-issuer
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;update,resourceNames=vault-intermediate-issuer-leader,namespace=vault-intermediate-issuer
//
// Every status write (issuer-lib's and this controller's: the audit status
// and the signing journal's intent) is a server-side apply patch, never an
// update.
// The core events are leader election's. Secrets are read only in the
// cluster resource namespace, and only those an issuer names, each with a
// list and watch whose field selector is its name (controllers/secrets.go),
// so RBAC can list those names (the chart's secretNames). The Helm chart's RBAC
// (deploy/charts/vault-intermediate-issuer/templates/rbac.yaml) is written
// from these markers and proven by e2e/chart, which runs the controller
// under it.

// Issuer reconciles VaultIntermediateClusterIssuers and the requests that
// reference them. Its fields are set by the caller from flags.
type Issuer struct {
	// FieldOwner is the server-side apply field manager of issuer-lib's
	// status patches; this controller's own status fields are applied as
	// FieldOwner + "-audit".
	FieldOwner string
	// MaxRetryDuration is how long a request that fails with a plain error
	// is retried before it is marked Failed. Vault outages do not count: they
	// park the request until the issuer is Ready again.
	MaxRetryDuration time.Duration
	// MaxConcurrentReconciles is the number of requests signed in parallel.
	MaxConcurrentReconciles int
	// CheckInterval is how often every issuer is checked again even when
	// nothing changed, so that VaultReady notices an idle issuer's Vault
	// going away. 0 disables the periodic check.
	CheckInterval time.Duration
	// Signer checks issuers and signs requests. Its Recorder and
	// VaultObserver are set here.
	Signer *signer.Signer
	// Metrics receives the controller's metrics; created and registered
	// with controller-runtime's registry when nil.
	Metrics *Metrics

	secrets *referencedSecrets
}

// SetupWithManager registers the controllers with mgr.
func (r *Issuer) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.Metrics == nil {
		r.Metrics = NewMetrics()
		if err := r.Metrics.Register(nil); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client for Secrets: %w", err)
	}
	r.secrets = newReferencedSecrets(r.Signer.ClusterResourceNamespace, clientset.CoreV1(), mgr.GetCache(),
		mgr.GetLogger().WithName("secrets"))
	if err := mgr.Add(r.secrets); err != nil {
		return fmt.Errorf("adding the Secret watches: %w", err)
	}
	r.Signer.Secrets = r.secrets
	eventRecorder := mgr.GetEventRecorder(r.FieldOwner)
	r.Signer.Recorder = &AuditRecorder{
		log:       mgr.GetLogger().WithName("audit"),
		events:    eventRecorder,
		status:    newStatusWriter(mgr.GetClient(), mgr.GetAPIReader(), r.FieldOwner+"-audit"),
		metrics:   r.Metrics,
		now:       time.Now,
		lastVault: map[string]string{},
	}
	r.Signer.VaultObserver = r.Metrics
	r.Signer.Journal = &requestJournal{client: mgr.GetClient(), fieldOwner: r.FieldOwner + "-journal"}

	combined := &issuerlib.CombinedController{
		ClusterIssuerTypes: []issuerapi.Issuer{&v1alpha1.VaultIntermediateClusterIssuer{}},
		FieldOwner:         r.FieldOwner,
		MaxRetryDuration:   r.MaxRetryDuration,
		Check:              r.Signer.Check,
		Sign:               r.Signer.Sign,
		EventRecorder:      eventRecorder,
		// Istio reads the root from ca.crt of its cacerts Secret, and a
		// multi-cluster mesh breaks unless it is the real root: ask
		// cert-manager to write the CA the signer returns.
		SetCAOnCertificateRequest: true, //nolint:staticcheck // SA1019: deliberate, see above
		ControllerOptions: controller.Options{
			MaxConcurrentReconciles: r.MaxConcurrentReconciles,
		},
		PreSetupWithManager: r.watchSecrets,
	}
	if err := combined.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up the issuer controllers: %w", err)
	}
	if r.CheckInterval > 0 {
		if err := mgr.Add(&periodicCheck{client: mgr.GetClient(), check: r.Signer.Check, interval: r.CheckInterval,
			log: mgr.GetLogger().WithName("periodic-check")}); err != nil {
			return fmt.Errorf("adding the periodic issuer check: %w", err)
		}
	}
	return nil
}

// watchSecrets makes the issuer controller check an issuer again when a
// Secret it names changes: a rotated secret ID is then used at once, and a
// Secret created after its issuer makes the issuer Ready without waiting for
// a backoff. The changes come from the informers of referencedSecrets, one
// per Secret an issuer names.
func (r *Issuer) watchSecrets(_ context.Context, gvk schema.GroupVersionKind, mgr ctrl.Manager, b *builder.Builder) error {
	if gvk.Kind != "VaultIntermediateClusterIssuer" {
		return nil
	}
	c := mgr.GetClient()
	b.WatchesRawSource(source.Channel(r.secrets.events, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list v1alpha1.VaultIntermediateClusterIssuerList
		if err := c.List(ctx, &list); err != nil {
			mgr.GetLogger().Error(err, "listing issuers for a Secret change", "secret", obj.GetName())
			return nil
		}
		var reqs []reconcile.Request
		for _, iss := range list.Items {
			if referencesSecret(&iss, obj.GetName()) {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: iss.Name}})
			}
		}
		return reqs
	})))
	return nil
}

func referencesSecret(iss *v1alpha1.VaultIntermediateClusterIssuer, name string) bool {
	return slices.Contains(secretNames(iss), name)
}
