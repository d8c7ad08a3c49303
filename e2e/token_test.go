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

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestOneLoginPerTokenLifetime signs 20 raw CertificateRequests (the way
// SPIRE's upstream authority asks, without a Certificate) and counts AppRole
// logins in Vault's own metrics: the issuer's cached token serves them all,
// where cert-manager's in-tree Vault issuer logs in once per request.
func TestOneLoginPerTokenLifetime(t *testing.T) {
	ctx := t.Context()
	const signings = 20
	before, err := appRoleLogins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, signings)
	for i := range signings {
		cr := &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: fmt.Sprintf("token-reuse-%02d", i)},
			Spec: cmapi.CertificateRequestSpec{
				Request:  bankCSR(t),
				IsCA:     true,
				Duration: &metav1.Duration{Duration: 720 * time.Hour},
				IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group,
					Kind: "VaultIntermediateClusterIssuer", Name: bankIssuer},
			},
		}
		if err := stack.Client.Create(ctx, cr); err != nil {
			t.Fatal(err)
		}
		names = append(names, cr.Name)
	}
	for _, name := range names {
		err := env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "CertificateRequest "+name, func(ctx context.Context) (bool, error) {
			cr := &cmapi.CertificateRequest{}
			if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: name}, cr); err != nil {
				return false, err
			}
			if !env.IsFinal(cr) {
				return false, nil
			}
			if ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady); ready.Status != cmmeta.ConditionTrue {
				return true, fmt.Errorf("request %s was not issued: %s %s", name, ready.Reason, ready.Message)
			}
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	after, err := appRoleLogins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AppRole logins in Vault: %d before, %d after %d signings", before, after, signings)
	if after != before {
		t.Errorf("%d signings caused %d AppRole logins; the cached token should have served them all", signings, after-before)
	}
}

// bankCSR returns a PEM CSR with the subject the bank's policy requires.
func bankCSR(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}, Country: []string{"AM"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// appRoleLogins reads the number of AppRole logins from Vault's own metrics.
func appRoleLogins(ctx context.Context) (int, error) {
	return stack.Vault.AppRoleLogins(ctx)
}
