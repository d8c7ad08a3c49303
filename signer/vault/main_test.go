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

package vault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/golemtrust/vault-intermediate-issuer/internal/openbaotest"
)

// bao is the real OpenBao (bin/openbao, see openbaotest.Binary) every test
// of this package that talks to Vault uses; each test sets up mounts and
// roles of its own on it.
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

// signPolicy is the Vault policy of a role that may sign on mount and list
// its certificates: what the issuer needs.
func signPolicy(mount string) string {
	return fmt.Sprintf("path %q {\n  capabilities = [\"create\", \"update\"]\n}\npath %q {\n  capabilities = [\"list\"]\n}\n",
		mount+"/root/sign-intermediate", mount+"/certs")
}

// newTestClient returns a client for mount on the test server, observed by
// obs, with credentials of a new role with the given policy and settings.
func newTestClient(t *testing.T, mount, role, policyHCL string, settings map[string]any, obs *countingObserver) (*Client, Credentials) {
	t.Helper()
	roleID, secretID := bao.AppRole(t, role, policyHCL, settings)
	c, err := NewClient(Config{Address: bao.Address, Mount: mount, AppRolePath: "approle", Timeout: 10 * time.Second},
		WithObserver(role, obs))
	if err != nil {
		t.Fatal(err)
	}
	return c, Credentials{RoleID: roleID, SecretID: secretID}
}

// testCSR is a PEM CSR of a fresh P-256 key, and the key's DER
// SubjectPublicKeyInfo.
func testCSR(t *testing.T, cn string) ([]byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), spki
}

// countingObserver counts Vault calls by operation and logins by result.
type countingObserver struct {
	mu     sync.Mutex
	calls  map[string]int
	logins map[string]int
}

func newCountingObserver() *countingObserver {
	return &countingObserver{calls: map[string]int{}, logins: map[string]int{}}
}

func (o *countingObserver) VaultCall(_, op string, _ int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls[op]++
}

func (o *countingObserver) VaultLogin(_, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.logins[result]++
}

func (o *countingObserver) VaultTokenTTL(string, time.Duration) {}

func (o *countingObserver) count(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[op]
}

func (o *countingObserver) loginsOf(result string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.logins[result]
}
