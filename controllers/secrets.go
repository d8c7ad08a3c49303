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
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// secretEventBuffer is how many Secret changes wait for the issuer
// controller; a change that finds the buffer full is dropped, and the
// periodic check picks its Secret up.
const secretEventBuffer = 1024

// referencedSecrets reads and watches the Secrets that issuers reference
// (AppRole secret IDs and role IDs, CA bundles), and no other Secret of the
// cluster resource namespace: each referenced name gets an informer of its
// own whose list and watch carry the field selector metadata.name=<name>,
// so the API server sends nothing else, and RBAC can restrict the
// controller to those names (resourceNames). An informer starts when an
// issuer names its Secret, or when the signer first asks for it, and stops
// when no issuer names it any more.
//
// A change of a watched Secret is sent on events, so that the issuers naming
// it are checked again at once: a rotated secret ID is used without waiting
// for a signing or a restart.
type referencedSecrets struct {
	namespace string
	secrets   corev1client.SecretsGetter
	issuers   client.Reader
	informers crcache.Informers
	events    chan event.GenericEvent
	log       logr.Logger

	mu sync.Mutex
	// base stops every informer when the manager stops.
	base    context.Context
	cancel  context.CancelFunc
	watches map[string]*secretWatch
}

type secretWatch struct {
	informer cache.SharedIndexInformer
	stop     context.CancelFunc

	mu sync.Mutex
	// listErr is the last error of the informer's list or watch, for
	// example a Forbidden from RBAC, until it synced.
	listErr error
}

// newReferencedSecrets reads Secrets of namespace through secrets, for the
// issuers of the manager's cache c.
func newReferencedSecrets(namespace string, secrets corev1client.SecretsGetter, c crcache.Cache, log logr.Logger) *referencedSecrets {
	base, cancel := context.WithCancel(context.Background())
	return &referencedSecrets{
		namespace: namespace, secrets: secrets, issuers: c, informers: c, log: log,
		events: make(chan event.GenericEvent, secretEventBuffer),
		base:   base, cancel: cancel, watches: map[string]*secretWatch{},
	}
}

var _ client.Reader = (*referencedSecrets)(nil)

// Get implements client.Reader for Secrets of the cluster resource
// namespace, from the Secret's own informer (started if needed).
func (r *referencedSecrets) Get(ctx context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return fmt.Errorf("only Secrets are read here, not %T", obj)
	}
	if key.Namespace != r.namespace {
		return fmt.Errorf("secrets are read only in the cluster resource namespace %q, not in %q", r.namespace, key.Namespace)
	}
	w := r.ensure(key.Name)
	for !w.informer.HasSynced() {
		w.mu.Lock()
		err := w.listErr
		w.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for Secret %s: %w", key, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	item, exists, err := w.informer.GetStore().GetByKey(key.Namespace + "/" + key.Name)
	if err != nil {
		return err
	}
	if !exists {
		return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
	}
	item.(*corev1.Secret).DeepCopyInto(secret)
	return nil
}

// List implements client.Reader; listing Secrets is what this type exists
// to avoid.
func (r *referencedSecrets) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("secrets are read one by one, by the name an issuer gives, never listed")
}

// ensure returns the informer of the Secret name, starting it if needed.
func (r *referencedSecrets) ensure(name string) *secretWatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.watches[name]; ok {
		return w
	}
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	secrets := r.secrets.Secrets(r.namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = selector
			return secrets.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector
			return secrets.Watch(ctx, opts)
		},
	}
	informer := cache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, cache.Indexers{})
	_ = informer.SetTransform(StripManagedFields)
	w := &secretWatch{informer: informer}
	_ = informer.SetWatchErrorHandlerWithContext(func(ctx context.Context, reflector *cache.Reflector, err error) {
		w.mu.Lock()
		w.listErr = err
		w.mu.Unlock()
		cache.DefaultWatchErrorHandler(ctx, reflector, err)
	})
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, isInInitialList bool) {
			if !isInInitialList {
				r.changed(obj)
			}
		},
		UpdateFunc: func(_, obj any) { r.changed(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			r.changed(obj)
		},
	})
	ctx, stop := context.WithCancel(r.base)
	w.stop = stop
	r.watches[name] = w
	go informer.RunWithContext(ctx)
	r.log.V(1).Info("watching Secret", "secret", name, "namespace", r.namespace)
	return w
}

// changed queues the Secret for the issuers that name it.
func (r *referencedSecrets) changed(obj any) {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	select {
	case r.events <- event.GenericEvent{Object: secret}:
	default:
		r.log.Info("dropped a Secret change: too many are waiting; the periodic check will use it", "secret", secret.Name)
	}
}

// sync starts an informer for every Secret an issuer names and stops those
// no issuer names any more.
func (r *referencedSecrets) sync(ctx context.Context) error {
	var list v1alpha1.VaultIntermediateClusterIssuerList
	if err := r.issuers.List(ctx, &list); err != nil {
		return fmt.Errorf("listing issuers: %w", err)
	}
	var names []string
	for i := range list.Items {
		names = append(names, secretNames(&list.Items[i])...)
	}
	for _, name := range names {
		r.ensure(name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, w := range r.watches {
		if !slices.Contains(names, name) {
			w.stop()
			delete(r.watches, name)
			r.log.V(1).Info("stopped watching Secret", "secret", name, "namespace", r.namespace)
		}
	}
	return nil
}

// Start implements manager.Runnable: it follows the issuers, from the
// manager's cache, until ctx ends, then stops every informer.
func (r *referencedSecrets) Start(ctx context.Context) error {
	defer r.cancel()
	informer, err := r.informers.GetInformer(ctx, &v1alpha1.VaultIntermediateClusterIssuer{})
	if err != nil {
		return fmt.Errorf("getting the issuer informer: %w", err)
	}
	resync := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case resync <- struct{}{}:
		default:
		}
	}
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, obj any) { poke(obj) }, DeleteFunc: poke,
	})
	if err != nil {
		return fmt.Errorf("following issuers for their Secrets: %w", err)
	}
	defer func() { _ = informer.RemoveEventHandler(reg) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resync:
			if err := r.sync(ctx); err != nil {
				r.log.Error(err, "updating the watched Secrets")
			}
		}
	}
}

// secretNames lists the Secrets an issuer names.
func secretNames(iss *v1alpha1.VaultIntermediateClusterIssuer) []string {
	v := iss.Spec.Vault
	names := []string{v.Auth.AppRole.SecretRef.Name}
	if ref := v.Auth.AppRole.RoleIDSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	if ref := v.CABundleSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	return names
}
