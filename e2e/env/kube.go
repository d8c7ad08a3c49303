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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault/acl"
)

// LoadYAML reads every object of a multi-document YAML file.
func LoadYAML(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := decoder.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, u)
	}
}

// Apply creates each object, or replaces the spec of an existing one.
func (e *Env) Apply(ctx context.Context, objs ...*unstructured.Unstructured) error {
	for _, obj := range objs {
		err := e.Client.Create(ctx, obj.DeepCopy())
		if apierrors.IsAlreadyExists(err) {
			existing := &unstructured.Unstructured{}
			existing.SetGroupVersionKind(obj.GroupVersionKind())
			if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
				return fmt.Errorf("reading %s %s: %w", obj.GetKind(), obj.GetName(), err)
			}
			updated := obj.DeepCopy()
			updated.SetResourceVersion(existing.GetResourceVersion())
			err = e.Client.Update(ctx, updated)
		}
		if err != nil {
			return fmt.Errorf("applying %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

// Example is the path of a file under deploy/examples.
func (e *Env) Example(name string) string {
	return filepath.Join(e.RepoRoot, "deploy", "examples", name)
}

// BankIssuer returns the issuer of deploy/examples/issuer-bank.yaml under
// the given name, with spec.vault.server pointing at the test Vault (and
// insecureAllowHTTP set when that is plain HTTP), edited by mutate if not
// nil. It is not applied.
func (e *Env) BankIssuer(name string, mutate func(*v1alpha1.VaultIntermediateClusterIssuer)) (*v1alpha1.VaultIntermediateClusterIssuer, error) {
	return e.ExampleIssuer("issuer-bank.yaml", name, mutate)
}

// ExampleIssuer returns the VaultIntermediateClusterIssuer of a file under
// deploy/examples under the given name, as BankIssuer does; a literal role
// ID in the example is replaced by the test AppRole's. It is not applied.
func (e *Env) ExampleIssuer(file, name string, mutate func(*v1alpha1.VaultIntermediateClusterIssuer)) (*v1alpha1.VaultIntermediateClusterIssuer, error) {
	objs, err := LoadYAML(e.Example(file))
	if err != nil {
		return nil, err
	}
	for _, obj := range objs {
		if obj.GetKind() != "VaultIntermediateClusterIssuer" {
			continue
		}
		iss := &v1alpha1.VaultIntermediateClusterIssuer{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, iss); err != nil {
			return nil, fmt.Errorf("converting the example issuer: %w", err)
		}
		iss.Name = name
		if e.Vault != nil {
			iss.Spec.Vault.Server = e.Vault.Address
			// The test OpenBao serves plain HTTP on loopback: an
			// explicit opt-in, which the issuer reports with its
			// InsecureTransport condition.
			iss.Spec.Vault.InsecureAllowHTTP = strings.HasPrefix(e.Vault.Address, "http://")
			if iss.Spec.Vault.Auth.AppRole.RoleID != "" && e.PKI != nil {
				iss.Spec.Vault.Auth.AppRole.RoleID = e.PKI.RoleID
			}
		}
		if mutate != nil {
			mutate(iss)
		}
		return iss, nil
	}
	return nil, fmt.Errorf("%s holds no VaultIntermediateClusterIssuer", file)
}

// ApplyBankIssuer applies deploy/examples/issuer-bank.yaml under the given
// name, pointing spec.vault.server at the test Vault. mutate, if not nil,
// edits the issuer before it is applied.
//
// The shared AppRole (Secret AppRoleSecretName) carries the generated ACL
// policy of the unchanged bank issuer. An issuer that still names that
// Secret but whose edits change its generated ACL policy (another subject,
// SANs, path length, mount, ...) gets an AppRole role and Secret of its own
// with its own generated policy, as docs/install.md asks: one role per
// issuer. An issuer for which no ACL can be generated keeps the shared
// role, so Vault holds it to the bank's policy.
func (e *Env) ApplyBankIssuer(ctx context.Context, name string, mutate func(*v1alpha1.VaultIntermediateClusterIssuer)) (*v1alpha1.VaultIntermediateClusterIssuer, error) {
	iss, err := e.BankIssuer(name, mutate)
	if err != nil {
		return nil, err
	}
	if err := e.ensureOwnAppRole(ctx, iss); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, iss); err != nil {
		return nil, fmt.Errorf("creating issuer %s: %w", name, err)
	}
	return iss, nil
}

// ApplyExampleIssuer applies the issuer of a file under deploy/examples as
// ApplyBankIssuer applies the bank's: with an AppRole role of its own when
// its generated ACL policy differs from the bank issuer's.
func (e *Env) ApplyExampleIssuer(ctx context.Context, file, name string, mutate func(*v1alpha1.VaultIntermediateClusterIssuer)) (*v1alpha1.VaultIntermediateClusterIssuer, error) {
	iss, err := e.ExampleIssuer(file, name, mutate)
	if err != nil {
		return nil, err
	}
	if err := e.ensureOwnAppRole(ctx, iss); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, iss); err != nil {
		return nil, fmt.Errorf("creating issuer %s: %w", name, err)
	}
	return iss, nil
}

// ensureOwnAppRole gives iss a role and Secret of its own when it names the
// shared AppRole Secret but its generated ACL policy differs from the shared
// role's.
func (e *Env) ensureOwnAppRole(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer) error {
	appRole := &iss.Spec.Vault.Auth.AppRole
	if e.Vault == nil || e.bankACL == nil || appRole.SecretRef.Name != AppRoleSecretName || iss.Spec.Vault.Server != e.Vault.Address {
		return nil
	}
	own, err := acl.Generate(iss, acl.Options{})
	if err != nil || reflect.DeepEqual(own.Paths, e.bankACL.Paths) {
		return nil
	}
	role, err := e.Vault.CreateIssuerAppRole(ctx, acl.DefaultName(iss), "1h", "2h", iss)
	if err != nil {
		return err
	}
	secretName := AppRoleSecretName + "-" + iss.Name
	if err := e.WriteSecret(ctx, secretName, map[string][]byte{"roleId": []byte(role.RoleID), "secretId": []byte(role.SecretID)}); err != nil {
		return err
	}
	appRole.SecretRef.Name = secretName
	if appRole.RoleIDSecretRef != nil {
		appRole.RoleIDSecretRef.Name = secretName
	} else {
		appRole.RoleID = role.RoleID
	}
	return nil
}

// IssuerCondition returns the issuer's condition of type t observed for its
// current generation, or nil.
func (e *Env) IssuerCondition(ctx context.Context, name, t string) (*metav1.Condition, error) {
	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: name}, iss); err != nil {
		return nil, err
	}
	for i := range iss.Status.Conditions {
		if iss.Status.Conditions[i].Type == t && iss.Status.Conditions[i].ObservedGeneration == iss.Generation {
			return &iss.Status.Conditions[i], nil
		}
	}
	return nil, nil
}

// WaitForVaultReady waits until the issuer's VaultReady condition has the
// given reason ("Checked" when it can sign).
func (e *Env) WaitForVaultReady(ctx context.Context, name, reason string, timeout time.Duration) (*metav1.Condition, error) {
	var cond *metav1.Condition
	err := WaitFor(ctx, timeout, 200*time.Millisecond, fmt.Sprintf("issuer %s VaultReady reason %s", name, reason), func(ctx context.Context) (bool, error) {
		c, err := e.IssuerCondition(ctx, name, "VaultReady")
		if err != nil || c == nil {
			return false, err
		}
		cond = c
		if c.Reason != reason {
			return false, fmt.Errorf("VaultReady is %s: %s", c.Reason, c.Message)
		}
		return true, nil
	})
	return cond, err
}

// IssuerReady returns the issuer's Ready condition, or nil.
func (e *Env) IssuerReady(ctx context.Context, name string) (*metav1.Condition, error) {
	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: name}, iss); err != nil {
		return nil, err
	}
	for i := range iss.Status.Conditions {
		if iss.Status.Conditions[i].Type == "Ready" && iss.Status.Conditions[i].ObservedGeneration == iss.Generation {
			return &iss.Status.Conditions[i], nil
		}
	}
	return nil, nil
}

// WaitFor polls check every interval until it returns true or timeout
// passes. An error with false is remembered and polling goes on (the object
// may not exist yet); an error with true ends the wait with that error.
func WaitFor(ctx context.Context, timeout, interval time.Duration, what string, check func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastErr error
	for {
		done, err := check(ctx)
		if done {
			return err
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr == nil {
				return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
			}
			return fmt.Errorf("timed out after %s waiting for %s (last error: %w)", timeout, what, lastErr)
		case <-ticker.C:
		}
	}
}

// WaitForIssuerCondition waits until the issuer's current Ready condition has
// the given status.
func (e *Env) WaitForIssuerCondition(ctx context.Context, name string, status metav1.ConditionStatus, timeout time.Duration) (*metav1.Condition, error) {
	var cond *metav1.Condition
	err := WaitFor(ctx, timeout, 200*time.Millisecond, fmt.Sprintf("issuer %s Ready=%s", name, status), func(ctx context.Context) (bool, error) {
		c, err := e.IssuerReady(ctx, name)
		if err != nil || c == nil {
			return false, err
		}
		cond = c
		return c.Status == status, nil
	})
	return cond, err
}

// CertificateRequestCondition returns the request's condition of the given
// type, or nil.
func CertificateRequestCondition(cr *cmapi.CertificateRequest, t cmapi.CertificateRequestConditionType) *cmapi.CertificateRequestCondition {
	for i := range cr.Status.Conditions {
		if cr.Status.Conditions[i].Type == t {
			return &cr.Status.Conditions[i]
		}
	}
	return nil
}

// CertificateRequestsFor lists the CertificateRequests cert-manager created
// for a Certificate.
func (e *Env) CertificateRequestsFor(ctx context.Context, namespace, certificate string) ([]cmapi.CertificateRequest, error) {
	var list cmapi.CertificateRequestList
	if err := e.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var out []cmapi.CertificateRequest
	for _, cr := range list.Items {
		for _, ref := range cr.OwnerReferences {
			if ref.Kind == "Certificate" && ref.Name == certificate {
				out = append(out, cr)
			}
		}
	}
	return out, nil
}

// WaitForFinalRequest waits until a CertificateRequest of the Certificate is
// Ready=True or has failed (Ready=False with reason Failed or Denied), and
// returns it.
func (e *Env) WaitForFinalRequest(ctx context.Context, namespace, certificate string, timeout time.Duration) (*cmapi.CertificateRequest, error) {
	var final *cmapi.CertificateRequest
	err := WaitFor(ctx, timeout, 200*time.Millisecond, fmt.Sprintf("a final CertificateRequest of %s/%s", namespace, certificate), func(ctx context.Context) (bool, error) {
		crs, err := e.CertificateRequestsFor(ctx, namespace, certificate)
		if err != nil {
			return false, err
		}
		for i := range crs {
			if IsFinal(&crs[i]) {
				final = &crs[i]
				return true, nil
			}
		}
		return false, nil
	})
	return final, err
}

// IsFinal reports whether the request is issued, failed or denied.
func IsFinal(cr *cmapi.CertificateRequest) bool {
	ready := CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
	if ready == nil {
		return false
	}
	if ready.Status == cmmeta.ConditionTrue {
		return true
	}
	return ready.Reason == cmapi.CertificateRequestReasonFailed || ready.Reason == cmapi.CertificateRequestReasonDenied
}

// CertificateReady reports whether the Certificate's Ready condition is True
// for its current generation.
func CertificateReady(cert *cmapi.Certificate) bool {
	for _, c := range cert.Status.Conditions {
		if c.Type == cmapi.CertificateConditionReady {
			return c.Status == cmmeta.ConditionTrue && c.ObservedGeneration == cert.Generation
		}
	}
	return false
}
