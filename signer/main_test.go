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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/internal/openbaotest"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// bao is the real OpenBao (bin/openbao, see openbaotest.Binary) the tests of
// this package sign with; each test sets up a mount and a role of its own.
var bao *openbaotest.Server

func TestMain(m *testing.M) {
	s, stop, err := openbaotest.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting OpenBao for the tests:", err)
		os.Exit(1)
	}
	bao = s
	code := m.Run()
	stop()
	os.Exit(code)
}

// secretNamespace is where the test issuers' Secrets live.
const secretNamespace = "cert-manager"

// bankSubject is the subject the bank policy requires.
var bankSubject = pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}, Country: []string{"AM"}}

// fixture is one PKI mount with a root, an AppRole role that may sign on it
// and list its certificates, and an issuer for it with the bank's policy.
type fixture struct {
	mount  string
	root   *x509.Certificate
	iss    *v1alpha1.VaultIntermediateClusterIssuer
	secret *corev1.Secret
}

func newFixture(t *testing.T, name, maxLeaseTTL string) *fixture {
	t.Helper()
	f := &fixture{mount: "pki-" + name}
	f.root = bao.Root(t, f.mount, "Golem Trust Root CA "+name, maxLeaseTTL, "ec")
	roleID, secretID := bao.AppRole(t, name, signPolicy(f.mount), map[string]any{"token_ttl": "1h"})
	f.secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secretNamespace, Name: "approle-" + name},
		Data: map[string][]byte{"roleId": []byte(roleID), "secretId": []byte(secretID)}}
	f.iss = &v1alpha1.VaultIntermediateClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Generation: 1},
		Spec: v1alpha1.VaultIntermediateClusterIssuerSpec{
			Vault: v1alpha1.VaultConnection{Server: bao.Address, InsecureAllowHTTP: true, Mount: f.mount,
				Auth: v1alpha1.VaultAuth{AppRole: v1alpha1.VaultAppRole{Path: "approle",
					RoleIDSecretRef: &v1alpha1.SecretKeySelector{Name: f.secret.Name, Key: "roleId"},
					SecretRef:       v1alpha1.SecretKeySelector{Name: f.secret.Name, Key: "secretId"}}}},
			Policy: bankPolicy(),
		},
	}
	return f
}

// signPolicy is the Vault policy of the issuer's role: sign on the mount and
// list its certificates, nothing else.
func signPolicy(mount string) string {
	return fmt.Sprintf("path %q {\n  capabilities = [\"create\", \"update\"]\n}\npath %q {\n  capabilities = [\"list\"]\n}\n",
		mount+"/root/sign-intermediate", mount+"/certs")
}

// bankPolicy is the policy of deploy/examples/issuer-bank.yaml.
func bankPolicy() v1alpha1.IntermediatePolicy {
	zero := int32(0)
	return v1alpha1.IntermediatePolicy{
		AllowedNamespaces: []string{"istio-system"},
		Subject: v1alpha1.SubjectPolicy{
			CommonName:    &v1alpha1.ValuePolicy{Required: []string{"Golem Trust Istio CA"}},
			Organizations: &v1alpha1.ValuePolicy{Required: []string{"Golem Trust"}},
			Countries:     &v1alpha1.ValuePolicy{Required: []string{"AM"}},
		},
		SubjectAltNames: v1alpha1.SubjectAltNamesPolicy{DNSNames: []string{"istiod.istio-system.svc"}},
		Duration:        v1alpha1.DurationPolicy{Min: metav1.Duration{Duration: 24 * time.Hour}, Max: metav1.Duration{Duration: 720 * time.Hour}},
		MaxPathLength:   &zero,
	}
}

// signer returns a Signer for the fixture, as a fresh process would have it.
func (f *fixture) signer(j Journal, rec *testRecorder, obs vault.Observer) *Signer {
	secrets := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(f.secret.DeepCopy()).Build()
	return &Signer{Secrets: secrets, ClusterResourceNamespace: secretNamespace, Journal: j, Recorder: rec, VaultObserver: obs}
}

// key is a request's private key and its CSR.
type key struct {
	priv *ecdsa.PrivateKey
	csr  []byte
}

func newKey(t *testing.T, subject pkix.Name) key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return key{priv: priv, csr: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})}
}

// request is an approved isCA CertificateRequest for the fixture's issuer,
// created at created.
func (f *fixture) request(name string, k key, created time.Time) *cmapi.CertificateRequest {
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(created)},
		Spec: cmapi.CertificateRequestSpec{
			Request: k.csr, IsCA: true, Duration: &metav1.Duration{Duration: 720 * time.Hour},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "VaultIntermediateClusterIssuer", Name: f.iss.Name},
		},
	}
}

// withJournal adds a VaultSerial condition to the request, as a journal
// write (or someone else) left it.
func withJournal(cr *cmapi.CertificateRequest, status cmmeta.ConditionStatus, reason, message string, at time.Time) *cmapi.CertificateRequest {
	t := metav1.NewTime(at)
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: ConditionVaultSerial, Status: status, Reason: reason, Message: message, LastTransitionTime: &t})
	return cr
}

func wrap(cr *cmapi.CertificateRequest) libsigner.CertificateRequestObject {
	return libsigner.CertificateRequestObjectFromCertificateRequest(cr)
}

// signDirect signs csr on the fixture's mount with the root token and the
// parameters the issuer sends for the bank policy (plus extra), as an
// earlier attempt of the issuer, or someone with its credentials, would.
func (f *fixture) signDirect(t *testing.T, csr []byte, extra map[string]any) string {
	t.Helper()
	params := vault.SignRequest{CSRPEM: csr, Subject: bankSubject, TTL: 720 * time.Hour}.Params()
	for k, v := range extra {
		params[k] = v
	}
	s, err := bao.Admin.Logical().WriteWithContext(t.Context(), f.mount+"/root/sign-intermediate", params)
	if err != nil {
		t.Fatal(err)
	}
	return s.Data["serial_number"].(string)
}

// revoked reports whether Vault has revoked serial.
func (f *fixture) revoked(t *testing.T, serial string) bool {
	t.Helper()
	s, err := bao.Admin.Logical().ReadWithContext(t.Context(), f.mount+"/cert/"+serial)
	if err != nil || s == nil {
		t.Fatalf("reading %s: %v", serial, err)
	}
	n, _ := s.Data["revocation_time"].(json.Number).Int64()
	return n > 0
}

// testJournal records intents, or fails to.
type testJournal struct {
	mu      sync.Mutex
	intents int
	fail    error
}

func (j *testJournal) Intent(context.Context, RequestRef, time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		return j.fail
	}
	j.intents++
	return nil
}

func (j *testJournal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.intents
}

// testRecorder keeps what the signer reported.
type testRecorder struct {
	mu         sync.Mutex
	decisions  []Outcome
	states     []error
	mismatches []Mismatch
	warnings   [][]string
}

func (r *testRecorder) VaultState(_ context.Context, _ *v1alpha1.VaultIntermediateClusterIssuer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, err)
}

func (r *testRecorder) Decided(_ context.Context, _ *v1alpha1.VaultIntermediateClusterIssuer, o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decisions = append(r.decisions, o)
}

func (r *testRecorder) VaultWarnings(_ context.Context, _ *v1alpha1.VaultIntermediateClusterIssuer, _ RequestRef, w []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, w)
}

func (r *testRecorder) JournalMismatch(_ context.Context, _ *v1alpha1.VaultIntermediateClusterIssuer, m Mismatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mismatches = append(r.mismatches, m)
}

// countingObserver counts Vault calls by operation.
type countingObserver struct {
	mu    sync.Mutex
	calls map[string]int
}

func (o *countingObserver) VaultCall(_, op string, _ int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[op]++
}
func (o *countingObserver) VaultLogin(string, string)           {}
func (o *countingObserver) VaultTokenTTL(string, time.Duration) {}
func (o *countingObserver) count(op string) int                 { o.mu.Lock(); defer o.mu.Unlock(); return o.calls[op] }
