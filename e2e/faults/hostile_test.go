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

package faults

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// TestHostileRequests sends requests no one should send. Each ends Failed
// with a reason, without a Vault call, without a crash or a panic. Most of
// them cert-manager's webhook would refuse at the API server (see
// TestHostileInputRejectedByTheAPIServer); the issuer must hold without it
// too, so the webhook is unregistered while they are created, as in a
// cluster where it is missing or bypassed.
func TestHostileRequests(t *testing.T) {
	restore, err := stack.UnregisterWebhook(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := restore(context.Background()); err != nil {
			t.Error(err)
		}
	})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := bankCSR(t)
	block, _ := pem.Decode(good)
	subject := pkix.Name{CommonName: "Golem Trust Istio CA", Organization: []string{"Golem Trust"}, Country: []string{"AM"}}
	csrWith := func(tmpl *x509.CertificateRequest) []byte {
		t.Helper()
		der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	manySANs := make([]string, 5000)
	for i := range manySANs {
		manySANs[i] = fmt.Sprintf("host-%d.example.com", i)
	}
	pathLen100, _ := asn1.Marshal(struct {
		IsCA       bool `asn1:"optional"`
		MaxPathLen int  `asn1:"optional,default:-1"`
	}{true, 100})
	badSig := bytes.Clone(block.Bytes)
	badSig[len(badSig)-5] ^= 0xff

	cases := []struct {
		name     string
		csr      []byte
		duration time.Duration
		want     string // in the Ready message
	}{
		{"csr-oversized", bytes.Repeat([]byte("A"), 900<<10), 720 * time.Hour, "bytes"},
		{"pem-blocks-1000", bytes.Repeat(good, 1000), 720 * time.Hour, "bytes"},
		{"certificate-not-csr", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}), 720 * time.Hour, "CERTIFICATE"},
		{"base64-garbage", []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xde, 0xad}, 512))), 720 * time.Hour, "PEM"},
		{"bad-signature", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: badSig}), 720 * time.Hour, "signature"},
		{"sans-5000", csrWith(&x509.CertificateRequest{Subject: subject, DNSNames: manySANs}), 720 * time.Hour, "bytes"},
		{"cn-64k", csrWith(&x509.CertificateRequest{Subject: pkix.Name{CommonName: strings.Repeat("x", 64<<10)}}), 720 * time.Hour, "bytes"},
		{"nul-in-subject", csrWith(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "Golem Trust\x00Istio CA",
			Organization: []string{"Golem Trust"}, Country: []string{"AM"}}}), 720 * time.Hour, "commonName"},
		{"invalid-utf8-in-subject", csrWith(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "Golem Trust Istio CA",
			Country: []string{"AM"}, ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 10},
				Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("Golem \xff\xfe Trust")}}}}}), 720 * time.Hour, "UTF-8"},
		{"duplicated-extensions", csrWith(&x509.CertificateRequest{Subject: subject, ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: pathLen100},
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: pathLen100}}}), 720 * time.Hour, ""},
		{"pathlen-100", csrWith(&x509.CertificateRequest{Subject: subject, ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: pathLen100}}}), 720 * time.Hour, "ath"},
		{"rsa-16384", hugeRSACSR(t, subject), 720 * time.Hour, "16384"},
		{"negative-duration", good, -720 * time.Hour, "duration"},
		{"huge-duration", good, 2562047 * time.Hour, "duration"},
	}

	before := serialCount(t)
	signCalls := vaultSignCalls(t)
	b := &batch{drill: "hostile", created: map[string]time.Time{}}
	for i, tc := range cases {
		cr := request("hostile", i, bankIssuer, tc.csr)
		cr.Name = "hostile-" + tc.name
		cr.Spec.Duration = &metav1.Duration{Duration: tc.duration}
		if err := stack.Client.Create(t.Context(), cr); err != nil {
			t.Errorf("%s: the API server refused the request: %v", tc.name, err)
			continue
		}
		b.created[cr.Name] = time.Now()
	}
	o := b.wait(t, 2*time.Minute)
	check(t, "hostile requests", b, o, before, 0, len(b.created), "all refused before Vault")
	for _, tc := range cases {
		cr := &cmapi.CertificateRequest{}
		if err := stack.Client.Get(t.Context(), keyOf("hostile-"+tc.name), cr); err != nil {
			continue
		}
		ready := env.CertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
		if ready == nil || ready.Status != cmmeta.ConditionFalse || ready.Reason != cmapi.CertificateRequestReasonFailed {
			t.Errorf("%s: not refused: %+v", tc.name, ready)
			continue
		}
		if !strings.Contains(ready.Message, "Vault was not called") || !strings.Contains(ready.Message, tc.want) {
			t.Errorf("%s: the reason does not say what is wrong (want %q): %.400s", tc.name, tc.want, ready.Message)
		}
		_, why, _ := strings.Cut(ready.Message, "Vault was not called:")
		t.Logf("%s: %.200s", tc.name, strings.ReplaceAll(strings.TrimSpace(why), "\n", " | "))
	}
	if got := vaultSignCalls(t); got != signCalls {
		t.Errorf("Vault was asked to sign %v times for hostile requests", got-signCalls)
	}
	assertNoPanic(t)
}

// TestHostileInputRejectedByTheAPIServer: input that never reaches the
// issuer because the API server refuses it, with a message saying why.
func TestHostileInputRejectedByTheAPIServer(t *testing.T) {
	ctx := t.Context()
	t.Run("csr-10MiB", func(t *testing.T) {
		cr := request("hostile-api", 0, bankIssuer, bytes.Repeat([]byte("A"), 10<<20))
		err := stack.Client.Create(ctx, cr)
		if err == nil {
			t.Fatal("a 10 MiB request was stored")
		}
		t.Logf("refused: %.200v", err)
	})
	t.Run("garbage-csr-refused-by-cert-managers-webhook", func(t *testing.T) {
		cr := request("hostile-api", 2, bankIssuer, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xde, 0xad}, 512))))
		err := stack.Client.Create(ctx, cr)
		if err == nil || !strings.Contains(err.Error(), `admission webhook "webhook.cert-manager.io" denied the request`) ||
			!strings.Contains(err.Error(), "spec.request") {
			t.Fatalf("a CertificateRequest whose CSR is not PEM was not refused by cert-manager's webhook: %v", err)
		}
		t.Logf("refused: %.200v", err)
	})
	t.Run("unknown-usage", func(t *testing.T) {
		cr := request("hostile-api", 1, bankIssuer, bankCSR(t))
		cr.Spec.Usages = []cmapi.KeyUsage{"launch missiles"}
		err := stack.Client.Create(ctx, cr)
		if err == nil || !strings.Contains(err.Error(), "launch missiles") {
			t.Fatalf("an unknown usage was not refused by name: %v", err)
		}
		t.Logf("refused: %.200v", err)
	})
	t.Run("policy-with-10000-values", func(t *testing.T) {
		values := make([]string, 10000)
		for i := range values {
			values[i] = fmt.Sprintf("ns-%d", i)
		}
		_, err := stack.ApplyBankIssuer(ctx, "hostile-huge-policy", func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Policy.AllowedNamespaces = values
		})
		if err == nil || !strings.Contains(err.Error(), "allowedNamespaces") {
			t.Fatalf("an issuer with 10,000 allowed namespaces was not refused: %.300v", err)
		}
		t.Logf("refused: %.200v", err)
	})
}

// TestHostileVaultServers points issuers at a server that answers HTML and
// at a port that accepts connections and never answers.
func TestHostileVaultServers(t *testing.T) {
	ctx := t.Context()
	html := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body><h1>Welcome to nginx!</h1></body></html>"))
	}), ReadHeaderTimeout: 5 * time.Second}
	htmlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = html.Serve(htmlLn) }()
	t.Cleanup(func() { _ = html.Close() })

	hangLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hangLn.Close() })
	go func() {
		for {
			conn, err := hangLn.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(time.Minute); _ = conn.Close() }()
		}
	}()

	for _, tc := range []struct {
		name, addr, reason string
	}{
		{"hostile-html-server", htmlLn.Addr().String(), "VaultError"},
		{"hostile-hanging-port", hangLn.Addr().String(), "VaultUnreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := stack.ApplyBankIssuer(ctx, tc.name, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
				iss.Spec.Vault.Server = "http://" + tc.addr
				iss.Spec.Vault.RequestTimeout = &metav1.Duration{Duration: 2 * time.Second}
			}); err != nil {
				t.Fatal(err)
			}
			cond, err := stack.WaitForVaultReady(ctx, tc.name, tc.reason, 60*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("VaultReady %s: %.200s", cond.Reason, cond.Message)
			if _, err := stack.WaitForIssuerCondition(ctx, tc.name, metav1.ConditionFalse, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
	assertNoPanic(t)
}

// hugeRSACSR builds a CSR with a 16384-bit RSA public key without
// generating such a key (which takes minutes): the modulus is random and the
// signature is garbage. The policy must refuse the size before it spends
// time on the signature.
func hugeRSACSR(t *testing.T, subject pkix.Name) []byte {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 16384))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, 16383, 1)
	n.SetBit(n, 0, 1)
	pub, err := asn1.Marshal(struct {
		N *big.Int
		E int
	}{n, 65537})
	if err != nil {
		t.Fatal(err)
	}
	rawSubject, err := asn1.Marshal(subject.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	rsaOID := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	type spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	type tbs struct {
		Version       int
		Subject       asn1.RawValue
		PublicKey     spki
		RawAttributes []asn1.RawValue `asn1:"tag:0"`
	}
	tb := tbs{Subject: asn1.RawValue{FullBytes: rawSubject},
		PublicKey: spki{Algorithm: pkix.AlgorithmIdentifier{Algorithm: rsaOID, Parameters: asn1.NullRawValue},
			PublicKey: asn1.BitString{Bytes: pub, BitLength: len(pub) * 8}}}
	der, err := asn1.Marshal(struct {
		TBS       tbs
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{tb, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue},
		asn1.BitString{Bytes: make([]byte, 2048), BitLength: 2048 * 8}})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func vaultSignCalls(t *testing.T) float64 {
	t.Helper()
	samples, err := env.Scrape(t.Context(), "http://"+stack.IssuerMetricsAddr+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return env.Sum(samples, "vault_intermediate_issuer_vault_requests_total", map[string]string{"operation": "sign-intermediate"})
}

// assertNoPanic fails if any issuer process of the run logged a panic.
func assertNoPanic(t *testing.T) {
	t.Helper()
	if stack.Issuer.Exited() {
		t.Error("the issuer process died")
	}
	data, err := os.ReadFile(stack.Issuer.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("panic")) {
		t.Error("the issuer logged a panic")
	}
}
