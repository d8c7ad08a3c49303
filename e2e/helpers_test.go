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
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// createRequest creates an isCA CertificateRequest in istio-system for the
// issuer, with the given CSR and duration.
func createRequest(t *testing.T, name, issuer string, csr []byte, duration time.Duration) { //nolint:unparam // each call states the duration it requests, though all ask for 720h today
	t.Helper()
	cr := env.IntermediateRequest("istio-system", name, issuer, csr, duration)
	if err := stack.Client.Create(t.Context(), cr); err != nil {
		t.Fatal(err)
	}
}

// getRequest reads a CertificateRequest of istio-system.
func getRequest(ctx context.Context, name string) (*cmapi.CertificateRequest, error) {
	cr := &cmapi.CertificateRequest{}
	err := stack.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: name}, cr)
	return cr, err
}

// waitForFinal waits until the request is issued, denied or failed.
func waitForFinal(t *testing.T, name string, timeout time.Duration) *cmapi.CertificateRequest {
	t.Helper()
	var out *cmapi.CertificateRequest
	err := env.WaitFor(t.Context(), timeout, 200*time.Millisecond, "CertificateRequest "+name, func(ctx context.Context) (bool, error) {
		cr, err := getRequest(ctx, name)
		if err != nil {
			return false, err
		}
		out = cr
		return env.IsFinal(cr), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireIssued fails unless the request's Ready condition is True.
func requireIssued(t *testing.T, cr *cmapi.CertificateRequest) {
	t.Helper()
	ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
	if ready == nil || ready.Status != cmmeta.ConditionTrue {
		t.Fatalf("request %s was not issued: %+v", cr.Name, ready)
	}
}

// eventsFor lists the events.k8s.io Events whose regarding object is name in
// namespace.
func eventsFor(ctx context.Context, namespace, name string) ([]eventsv1.Event, error) {
	var list eventsv1.EventList
	if err := stack.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var out []eventsv1.Event
	for _, ev := range list.Items {
		if ev.Regarding.Name == name {
			out = append(out, ev)
		}
	}
	return out, nil
}

// waitForEvent waits for an Event with the reason on the object and returns
// it.
func waitForEvent(t *testing.T, namespace, name, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	err := env.WaitFor(t.Context(), 30*time.Second, 250*time.Millisecond, "Event "+reason+" on "+name, func(ctx context.Context) (bool, error) {
		evs, err := eventsFor(ctx, namespace, name)
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if ev.Reason == reason {
				found = ev
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// testCA is a throwaway CA for TLS serving certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serve writes a serving certificate for 127.0.0.1 and its key into dir and
// returns their paths.
func (ca *testCA) serve(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "vault.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"vault.test", "localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// colonFingerprint renders a "sha256:<hex>" fingerprint the way openssl
// prints it: upper case, colon-separated.
func colonFingerprint(fp string) string {
	hexDigits := strings.ToUpper(strings.TrimPrefix(fp, "sha256:"))
	var parts []string
	for i := 0; i+1 < len(hexDigits); i += 2 {
		parts = append(parts, hexDigits[i:i+2])
	}
	return strings.Join(parts, ":")
}
