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

package chart

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestOnlyNamedSecretsAreRead puts a Secret no issuer names next to the
// AppRole Secret, rotates the AppRole secret ID (destroying the old one in
// Vault) and has a request signed with the new one. kube-apiserver's audit
// log of every request on Secrets then shows what the two controller
// replicas, acting as the chart's ServiceAccount, asked for: lists and
// watches of the AppRole Secret by its name, and nothing else: never the
// other Secret, never the namespace's Secrets as a whole, never a get. The
// chart's RBAC would refuse anything else (TestChartRBACAuthorizations);
// the log shows nothing else was even tried.
func TestOnlyNamedSecretsAreRead(t *testing.T) {
	ctx := t.Context()
	const decoy = "not-named-by-any-issuer"
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: env.ClusterResourceNamespace, Name: decoy},
		StringData: map[string]string{"secretId": "decoy"}}
	if err := stack.Client.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Client.Delete(context.Background(), other) })

	newID, err := stack.Vault.NewSecretID(ctx, stack.PKI.RoleName)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteAppRoleSecret(ctx, stack.PKI.RoleID, newID); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Vault.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+stack.PKI.RoleName+"/secret-id/destroy",
		map[string]any{"secret_id": stack.PKI.SecretID}); err != nil {
		t.Fatal(err)
	}
	stack.PKI.SecretID = newID
	// A change to the other Secret, which no controller may notice.
	other.StringData = map[string]string{"secretId": "decoy, changed"}
	if err := stack.Client.Update(ctx, other); err != nil {
		t.Fatal(err)
	}

	csr, err := env.CSR(&x509.CertificateRequest{Subject: env.BankSubject})
	if err != nil {
		t.Fatal(err)
	}
	const name = "after-rotation"
	if err := stack.Client.Create(ctx, env.IntermediateRequest("istio-system", name, bankIssuer, csr, 720*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var cr cmapi.CertificateRequest
	if err := env.WaitFor(ctx, 90*time.Second, 250*time.Millisecond, "CertificateRequest "+name, func(ctx context.Context) (bool, error) {
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: name}, &cr); err != nil {
			return false, err
		}
		return env.IsFinal(&cr), nil
	}); err != nil {
		t.Fatal(err)
	}
	if c := env.CertificateRequestCondition(&cr, cmapi.CertificateRequestConditionReady); c == nil || c.Status != cmmeta.ConditionTrue {
		t.Fatalf("the request after the rotation was not issued: %+v", c)
	}

	events, err := stack.ReadAuditLog()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range events {
		// The controllers, not the tests acting as their ServiceAccount
		// to prove what it may not do.
		if ev.Actor() != controllerUser || !strings.HasPrefix(ev.UserAgent, "vault-intermediate-issuer/") ||
			ev.ObjectRef == nil || ev.ObjectRef.Resource != "secrets" {
			continue
		}
		ref := ev.ObjectRef
		switch {
		case ref.Name == "":
			t.Errorf("the controller asked to %s every Secret of namespace %q: %s", ev.Verb, ref.Namespace, ev.RequestURI)
		case ref.Namespace != env.ClusterResourceNamespace || ref.Name != env.AppRoleSecretName:
			t.Errorf("the controller asked to %s Secret %s/%s, which no issuer names: %s", ev.Verb, ref.Namespace, ref.Name, ev.RequestURI)
		case ev.Verb != "list" && ev.Verb != "watch":
			t.Errorf("the controller asked to %s the AppRole Secret: %s", ev.Verb, ev.RequestURI)
		case ev.ResponseStatus != nil && ev.ResponseStatus.Code >= 300:
			t.Errorf("the controller's %s of the AppRole Secret was answered %d: %s", ev.Verb, ev.ResponseStatus.Code, ev.RequestURI)
		default:
			seen[ev.Verb]++
		}
	}
	// client-go lists through a watch (sendInitialEvents) where the API
	// server supports it, so a watch alone is a complete read.
	if seen["list"]+seen["watch"] == 0 {
		t.Errorf("the audit log holds no request of the controller on the AppRole Secret: it proves nothing")
	}
	t.Logf("the controller's requests on Secrets: %v, all on %s/%s by name", seen, env.ClusterResourceNamespace, env.AppRoleSecretName)
}
