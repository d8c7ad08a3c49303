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
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Vault is a running OpenBao server and an admin client for it.
type Vault struct {
	Address   string
	RootToken string
	UnsealKey string
	Version   string
	Process   *Process
	// Admin is a client authenticated with the root token, for setting Vault
	// up and inspecting it; the issuer never uses it.
	Admin *vaultapi.Client
}

type vaultReadyFile struct {
	Address   string `json:"address"`
	RootToken string `json:"rootToken"`
	UnsealKey string `json:"unsealKey"`
	Version   string `json:"version"`
}

// StartVault starts bin/openbao on a free loopback port.
func StartVault(ctx context.Context, binDir, artifacts string) (*Vault, error) {
	readyPath := filepath.Join(artifacts, "openbao-ready.json")
	_ = os.Remove(readyPath)
	p, err := StartProcess("openbao", artifacts, filepath.Join(binDir, "openbao"),
		[]string{"--listen", "127.0.0.1:0", "--ready-file", readyPath}, nil)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitForFile(waitCtx, p, readyPath); err != nil {
		_ = p.Kill()
		return nil, err
	}
	data, err := os.ReadFile(readyPath)
	if err != nil {
		_ = p.Kill()
		return nil, fmt.Errorf("reading %s: %w", readyPath, err)
	}
	var ready vaultReadyFile
	if err := json.Unmarshal(data, &ready); err != nil {
		_ = p.Kill()
		return nil, fmt.Errorf("parsing %s: %w", readyPath, err)
	}
	cfg := vaultapi.DefaultConfig()
	cfg.Address = ready.Address
	admin, err := vaultapi.NewClient(cfg)
	if err != nil {
		_ = p.Kill()
		return nil, fmt.Errorf("creating the Vault admin client: %w", err)
	}
	admin.SetToken(ready.RootToken)
	return &Vault{Address: ready.Address, RootToken: ready.RootToken, UnsealKey: ready.UnsealKey,
		Version: ready.Version, Process: p, Admin: admin}, nil
}

// PKI is the bank's Vault PKI set-up: a root CA in a PKI mount and an AppRole
// whose token may only call the mount's sign-intermediate path.
type PKI struct {
	Mount    string
	Root     *x509.Certificate
	RoleName string
	RoleID   string
	SecretID string
}

// SetUpBankPKI configures Vault the way the bank's runbook does: a PKI mount
// with an internal root, an AppRole auth mount, a policy allowing only
// <mount>/root/sign-intermediate, and an AppRole role with that policy.
func (v *Vault) SetUpBankPKI(ctx context.Context, mount, roleName string) (*PKI, error) {
	sys := v.Admin.Sys()
	if err := sys.MountWithContext(ctx, mount, &vaultapi.MountInput{Type: "pki",
		Config: vaultapi.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		return nil, fmt.Errorf("enabling the PKI engine at %s: %w", mount, err)
	}
	root, err := v.Admin.Logical().WriteWithContext(ctx, mount+"/root/generate/internal", map[string]any{
		"common_name": "Golem Trust Root CA",
		"issuer_name": "golem-trust-root",
		"ttl":         "87600h",
		"key_type":    "rsa",
		"key_bits":    2048,
	})
	if err != nil {
		return nil, fmt.Errorf("generating the root CA in %s: %w", mount, err)
	}
	rootPEM, _ := root.Data["certificate"].(string)
	block, _ := pem.Decode([]byte(rootPEM))
	if block == nil {
		return nil, errors.New("the root CA Vault generated is not PEM")
	}
	rootCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the root CA: %w", err)
	}
	auths, err := sys.ListAuthWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing auth mounts: %w", err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := sys.EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			return nil, fmt.Errorf("enabling AppRole: %w", err)
		}
	}
	policyName := roleName + "-sign-intermediate"
	policy := fmt.Sprintf("path %q {\n  capabilities = [\"create\", \"update\"]\n}\n", mount+"/root/sign-intermediate")
	// The post-issuance check revokes certificates that fail it.
	policy += fmt.Sprintf("path %q {\n  capabilities = [\"create\", \"update\"]\n}\n", mount+"/revoke")
	if err := sys.PutPolicyWithContext(ctx, policyName, policy); err != nil {
		return nil, fmt.Errorf("writing policy %s: %w", policyName, err)
	}
	if _, err := v.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+roleName, map[string]any{
		"token_policies": []string{policyName},
		"token_ttl":      "1h",
		"token_max_ttl":  "2h",
	}); err != nil {
		return nil, fmt.Errorf("creating AppRole role %s: %w", roleName, err)
	}
	roleID, err := v.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/"+roleName+"/role-id")
	if err != nil {
		return nil, fmt.Errorf("reading the role ID of %s: %w", roleName, err)
	}
	secretID, err := v.NewSecretID(ctx, roleName)
	if err != nil {
		return nil, err
	}
	return &PKI{Mount: mount, Root: rootCert, RoleName: roleName,
		RoleID: roleID.Data["role_id"].(string), SecretID: secretID}, nil
}

// NewSecretID creates a new secret ID for the AppRole role.
func (v *Vault) NewSecretID(ctx context.Context, roleName string) (string, error) {
	s, err := v.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+roleName+"/secret-id", nil)
	if err != nil {
		return "", fmt.Errorf("creating a secret ID for %s: %w", roleName, err)
	}
	return s.Data["secret_id"].(string), nil
}

// IssuedSerials lists the serial numbers of every certificate the mount has
// issued (the root included), from <mount>/certs.
func (v *Vault) IssuedSerials(ctx context.Context, mount string) ([]string, error) {
	s, err := v.Admin.Logical().ListWithContext(ctx, mount+"/certs")
	if err != nil {
		return nil, fmt.Errorf("listing %s/certs: %w", mount, err)
	}
	if s == nil || s.Data == nil {
		return nil, nil
	}
	keys, _ := s.Data["keys"].([]any)
	serials := make([]string, 0, len(keys))
	for _, k := range keys {
		if str, ok := k.(string); ok {
			serials = append(serials, str)
		}
	}
	return serials, nil
}

// AppRoleLogins reads the number of tokens Vault created through AppRole
// logins from its Prometheus metrics (vault_token_creation with
// auth_method="approle"): a counter kept by Vault itself, not by a client.
func (v *Vault) AppRoleLogins(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.Address+"/v1/sys/metrics?format=prometheus", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scraping Vault's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scraping Vault's metrics: HTTP %d", resp.StatusCode)
	}
	total := 0.0
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "vault_token_creation{") || !strings.Contains(line, `auth_method="approle"`) {
			continue
		}
		fields := strings.Fields(line)
		n, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %q: %w", line, err)
		}
		total += n
	}
	return int(total), scanner.Err()
}

// Stop stops the server.
func (v *Vault) Stop() error { return v.Process.Stop(10 * time.Second) }
