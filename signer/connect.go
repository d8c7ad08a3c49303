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

package signer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// defaultRequestTimeout applies when the issuer was never defaulted by an
// API server (e.g. in the offline dry-run).
const defaultRequestTimeout = 30 * time.Second

// clientCache keeps one Vault client, and so one token, per issuer. A client
// is replaced when the issuer's connection settings or CA bundle change;
// credential changes are handled inside the client, which logs in again when
// the secret ID it is given differs from the one its token came from.
type clientCache struct {
	mu      sync.Mutex
	entries map[types.UID]cacheEntry
}

type cacheEntry struct {
	configFP [32]byte
	client   *vault.Client
}

func (c *clientCache) get(iss *v1alpha1.VaultIntermediateClusterIssuer, cfg vault.Config, obs vault.Observer) (*vault.Client, error) {
	fp, err := configFingerprint(cfg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[iss.UID]; ok && e.configFP == fp {
		return e.client, nil
	}
	vc, err := vault.NewClient(cfg, vault.WithObserver(iss.Name, obs))
	if err != nil {
		return nil, err
	}
	if c.entries == nil {
		c.entries = map[types.UID]cacheEntry{}
	}
	// The replaced client's token expires on its own; revoking it here
	// would need Vault reachable under the old settings, which is often why
	// they changed.
	c.entries[iss.UID] = cacheEntry{configFP: fp, client: vc}
	return vc, nil
}

func (c *clientCache) closeAll(ctx context.Context) error {
	c.mu.Lock()
	entries := c.entries
	c.entries = nil
	c.mu.Unlock()
	var errs []error
	for _, e := range entries {
		if err := e.client.RevokeToken(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func configFingerprint(cfg vault.Config) ([32]byte, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return [32]byte{}, fmt.Errorf("fingerprinting the Vault configuration: %w", err)
	}
	return sha256.Sum256(data), nil
}

// connect returns the issuer's Vault client and the AppRole credentials read
// from their Secrets now, so a rotated secret ID is used at once.
func (s *Signer) connect(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer) (*vault.Client, vault.Credentials, error) {
	spec := iss.Spec.Vault
	if u, err := url.Parse(spec.Server); err == nil && u.Scheme == "http" && !spec.InsecureAllowHTTP {
		// The CRD refuses this; an issuer stored before that rule, or read
		// from a file, is refused here, before a secret ID is sent.
		return nil, vault.Credentials{}, withReason(ReasonConfigInvalid, fmt.Errorf(
			"spec.vault.server %q is plain http, which would send the AppRole secret ID and the Vault token in clear text: use https, or set spec.vault.insecureAllowHTTP for tests and demos", spec.Server))
	}
	cfg := vault.Config{
		Address:     spec.Server,
		CABundle:    spec.CABundle,
		ServerName:  spec.ServerName,
		Namespace:   spec.Namespace,
		Mount:       strings.Trim(spec.Mount, "/"),
		IssuerRef:   spec.IssuerRef,
		AppRolePath: strings.Trim(spec.Auth.AppRole.Path, "/"),
		Timeout:     defaultRequestTimeout,
	}
	if cfg.Mount == "" {
		cfg.Mount = "pki"
	}
	if cfg.AppRolePath == "" {
		cfg.AppRolePath = "approle"
	}
	if spec.RequestTimeout != nil && spec.RequestTimeout.Duration > 0 {
		cfg.Timeout = spec.RequestTimeout.Duration
	}
	if ref := spec.CABundleSecretRef; ref != nil {
		bundle, err := s.secretValue(ctx, *ref, "spec.vault.caBundleSecretRef")
		if err != nil {
			return nil, vault.Credentials{}, err
		}
		cfg.CABundle = bundle
	}
	creds := vault.Credentials{RoleID: spec.Auth.AppRole.RoleID}
	if ref := spec.Auth.AppRole.RoleIDSecretRef; ref != nil {
		roleID, err := s.secretValue(ctx, *ref, "spec.vault.auth.appRole.roleIdSecretRef")
		if err != nil {
			return nil, vault.Credentials{}, err
		}
		creds.RoleID = strings.TrimSpace(string(roleID))
	}
	secretID, err := s.secretValue(ctx, spec.Auth.AppRole.SecretRef, "spec.vault.auth.appRole.secretRef")
	if err != nil {
		return nil, vault.Credentials{}, err
	}
	creds.SecretID = strings.TrimSpace(string(secretID))

	vc, err := s.clients.get(iss, cfg, s.VaultObserver)
	if err != nil {
		return nil, vault.Credentials{}, withReason(ReasonConfigInvalid, err)
	}
	return vc, creds, nil
}

func (s *Signer) secretValue(ctx context.Context, ref v1alpha1.SecretKeySelector, field string) ([]byte, error) {
	var secret corev1.Secret
	key := types.NamespacedName{Namespace: s.ClusterResourceNamespace, Name: ref.Name}
	if err := s.Secrets.Get(ctx, key, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, withReason(ReasonSecretNotFound, fmt.Errorf("Secret %s named in %s does not exist (Secrets are read from the cluster resource namespace %q)",
				key, field, s.ClusterResourceNamespace))
		}
		return nil, fmt.Errorf("reading Secret %s named in %s: %w", key, field, err)
	}
	value, ok := secret.Data[ref.Key]
	if !ok || len(value) == 0 {
		return nil, withReason(ReasonSecretNotFound, fmt.Errorf("Secret %s named in %s has no key %q", key, field, ref.Key))
	}
	return value, nil
}
