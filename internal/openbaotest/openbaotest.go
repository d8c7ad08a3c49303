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

// Package openbaotest runs the real OpenBao server for the unit tests of the
// code that talks to Vault, so that no test fakes Vault's HTTP API.
//
// The server is bin/openbao, the binary the end-to-end tests run (built by
// `make tools`, and by `make test-unit` before the tests): OpenBao 2.4.0's
// own core, HTTP handler, PKI engine and AppRole auth method, with storage in
// memory, listening on a free loopback port. Binary says how it is found.
// Everything else (mounts, roots, policies, roles) is set up through the
// HTTP API with the root token, as a user would.
package openbaotest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// BinaryEnv names the environment variable that, when set, is the path of
// the OpenBao binary to run instead of bin/openbao.
const BinaryEnv = "VAULT_INTERMEDIATE_ISSUER_OPENBAO"

// module is the main module, whose directory holds bin/.
const module = "github.com/golemtrust/vault-intermediate-issuer"

// Binary returns the OpenBao binary the tests run: $VAULT_INTERMEDIATE_ISSUER_OPENBAO
// if set, else bin/openbao in the repository root, the directory (the test's
// working directory or one above it) whose go.mod declares this module.
func Binary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module "+module+"\n") {
			bin := filepath.Join(dir, "bin", "openbao")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("%s is missing: run `make tools` (or `make test-unit`, which builds it), or set %s", bin, BinaryEnv)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory: set %s to the OpenBao binary", module, BinaryEnv)
		}
		dir = parent
	}
}

// Server is a running OpenBao and a client authenticated with its root
// token.
type Server struct {
	Address   string
	RootToken string
	Version   string
	// Admin uses the root token; the code under test never does.
	Admin *vaultapi.Client
}

// Start runs OpenBao for the test (or the test binary, when t is the one of
// TestMain's helper) and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, stop, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// StartServer runs OpenBao and returns a function that stops it, for
// TestMain, where there is no testing.TB.
func StartServer() (*Server, func(), error) {
	bin, err := Binary()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "openbaotest-")
	if err != nil {
		return nil, nil, err
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, nil, err
	}
	ready := filepath.Join(dir, "ready.json")
	logFile, err := os.Create(filepath.Join(dir, "openbao.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--ready-file", ready,
		"--root-token", "root-"+hex.EncodeToString(tok), "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited: //nolint:errcheck // a wait for the exit; stopping does not care how it ended
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited //nolint:errcheck // a wait for the exit; killed is how it ended
		}
		_ = logFile.Close()
		_ = os.RemoveAll(dir)
	}
	info, err := waitReady(ready, exited)
	if err != nil {
		log, _ := os.ReadFile(logFile.Name())
		stop()
		return nil, nil, fmt.Errorf("%w; its log:\n%s", err, log)
	}
	cfg := vaultapi.DefaultConfig()
	cfg.Address = info.Address
	cfg.MaxRetries = 0
	admin, err := vaultapi.NewClient(cfg)
	if err != nil {
		stop()
		return nil, nil, err
	}
	admin.SetToken(info.RootToken)
	return &Server{Address: info.Address, RootToken: info.RootToken, Version: info.Version, Admin: admin}, stop, nil
}

type readyInfo struct {
	Address   string `json:"address"`
	RootToken string `json:"rootToken"`
	Version   string `json:"version"`
}

func waitReady(path string, exited <-chan error) (*readyInfo, error) {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			if err == nil {
				return nil, errors.New("OpenBao exited before it was ready")
			}
			return nil, fmt.Errorf("OpenBao exited before it was ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var info readyInfo
		if err := json.Unmarshal(data, &info); err != nil {
			continue // written atomically, but be lenient
		}
		return &info, nil
	}
	return nil, errors.New("OpenBao was not ready within 90s")
}

// Root enables a PKI mount with the given max lease TTL and generates an
// internal root CA of keyType ("ec" or "rsa") in it.
func (s *Server) Root(t testing.TB, mount, commonName, maxLeaseTTL, keyType string) *x509.Certificate {
	t.Helper()
	ctx := context.Background()
	if err := s.Admin.Sys().MountWithContext(ctx, mount, &vaultapi.MountInput{Type: "pki",
		Config: vaultapi.MountConfigInput{MaxLeaseTTL: maxLeaseTTL}}); err != nil {
		t.Fatalf("enabling PKI at %s: %v", mount, err)
	}
	secret, err := s.Admin.Logical().WriteWithContext(ctx, mount+"/root/generate/internal", map[string]any{
		"common_name": commonName, "ttl": "87600h", "key_type": keyType})
	if err != nil {
		t.Fatalf("generating the root of %s: %v", mount, err)
	}
	return ParseCertificate(t, secret.Data["certificate"])
}

// AppRole creates (once) the AppRole auth method and a role whose tokens
// carry a policy of the given HCL and role settings (token_ttl, ...), and
// returns its role ID and a new secret ID.
func (s *Server) AppRole(t testing.TB, name, policyHCL string, settings map[string]any) (roleID, secretID string) {
	t.Helper()
	ctx := context.Background()
	auths, err := s.Admin.Sys().ListAuthWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := s.Admin.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Admin.Sys().PutPolicyWithContext(ctx, name, policyHCL); err != nil {
		t.Fatalf("writing policy %s: %v", name, err)
	}
	role := map[string]any{"token_policies": []string{name}}
	for k, v := range settings {
		role[k] = v
	}
	if _, err := s.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, role); err != nil {
		t.Fatalf("creating role %s: %v", name, err)
	}
	id, err := s.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	return id.Data["role_id"].(string), s.SecretID(t, name)
}

// SecretID creates a new secret ID for the AppRole role.
func (s *Server) SecretID(t testing.TB, role string) string {
	t.Helper()
	secret, err := s.Admin.Logical().WriteWithContext(context.Background(), "auth/approle/role/"+role+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	return secret.Data["secret_id"].(string)
}

// Serials lists the serials of every certificate the mount stores.
func (s *Server) Serials(t testing.TB, mount string) []string {
	t.Helper()
	secret, err := s.Admin.Logical().ListWithContext(context.Background(), mount+"/certs")
	if err != nil {
		t.Fatal(err)
	}
	if secret == nil {
		return nil
	}
	keys, _ := secret.Data["keys"].([]any)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.(string))
	}
	return out
}

// ParseCertificate parses a PEM certificate field of a Vault answer.
func ParseCertificate(t testing.TB, field any) *x509.Certificate {
	t.Helper()
	s, _ := field.(string)
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		t.Fatalf("not a PEM certificate: %.80q", s)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
