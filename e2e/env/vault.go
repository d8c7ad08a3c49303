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
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault/acl"
)

// Vault is a running Vault-compatible server (OpenBao, or HashiCorp Vault
// 1.13.0) and an admin client for it.
type Vault struct {
	Address   string
	RootToken string
	UnsealKey string
	Version   string
	// Server is the server that runs: ServerOpenBao or ServerHashiCorp.
	Server string
	// CACert is the PEM CA bundle the server's HTTPS certificate chains
	// to, for an issuer's caBundle: the HashiCorp Vault test cluster's own
	// CA, or VaultOptions.CAPEM; nil for a server on plain HTTP.
	CACert  []byte
	Process *Process
	// Admin is a client authenticated with the root token, for setting Vault
	// up and inspecting it; the issuer never uses it.
	Admin *vaultapi.Client

	binDir, artifacts string
	opts              VaultOptions
	rootToken         string
}

type vaultReadyFile struct {
	Address   string `json:"address"`
	RootToken string `json:"rootToken"`
	UnsealKey string `json:"unsealKey"`
	Version   string `json:"version"`
	// CACert is the PEM CA of a server that serves HTTPS with a
	// certificate of its own (bin/hashicorp-vault).
	CACert string `json:"caCert,omitempty"`
}

// The servers StartVaultWith can run.
const (
	// ServerOpenBao is OpenBao 2.4.0 (bin/openbao), the default.
	ServerOpenBao = "openbao"
	// ServerHashiCorp is HashiCorp Vault 1.13.0 (bin/hashicorp-vault). It
	// always serves HTTPS with a certificate of its own CA (Vault.CACert)
	// and keeps its storage in memory.
	ServerHashiCorp = "hashicorp"
)

// VaultOptions configure StartVaultWith.
type VaultOptions struct {
	// Server chooses the server: ServerOpenBao when empty, or
	// ServerHashiCorp.
	Server string
	// Name names the process and its log files; "openbao" (or
	// "hashicorp-vault") when empty.
	Name string
	// Port to listen on; a free one when 0. A Vault that is restarted
	// needs a fixed port, as issuers address it by URL.
	Port int
	// DataDir keeps storage on disk so that the server can be restarted
	// with it; in memory when empty. OpenBao only.
	DataDir string
	// TLSCertFile and TLSKeyFile serve HTTPS. OpenBao only: HashiCorp
	// Vault serves HTTPS with a CA of its own.
	TLSCertFile, TLSKeyFile string
	// CAPEM is the CA bundle the admin client trusts for HTTPS; the
	// server's own CA from its ready file when empty.
	CAPEM []byte
}

// binary returns the file in bin/ that runs the server.
func (o VaultOptions) binary() string {
	if o.Server == ServerHashiCorp {
		return "hashicorp-vault"
	}
	return "openbao"
}

// StartVault starts bin/openbao on a free loopback port.
func StartVault(ctx context.Context, binDir, artifacts string) (*Vault, error) {
	return StartVaultWith(ctx, binDir, artifacts, VaultOptions{})
}

// StartVaultWith starts bin/openbao, or bin/hashicorp-vault for
// ServerHashiCorp, as opts say.
func StartVaultWith(ctx context.Context, binDir, artifacts string, opts VaultOptions) (*Vault, error) {
	switch opts.Server {
	case "":
		opts.Server = ServerOpenBao
	case ServerOpenBao:
	case ServerHashiCorp:
		if opts.DataDir != "" || opts.TLSCertFile != "" {
			return nil, errors.New("HashiCorp Vault keeps its storage in memory and serves HTTPS with its own CA: DataDir and TLSCertFile are OpenBao options")
		}
	default:
		return nil, fmt.Errorf("unknown Vault server %q (want %q or %q)", opts.Server, ServerOpenBao, ServerHashiCorp)
	}
	if opts.Name == "" {
		opts.Name = opts.binary()
	}
	if _, err := os.Stat(filepath.Join(binDir, opts.binary())); err != nil {
		return nil, fmt.Errorf("%s is missing from %s: run `make tools` first", opts.binary(), binDir)
	}
	// A random root token, so that the secret scan of the run can tell it
	// from ordinary words.
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	v := &Vault{binDir: binDir, artifacts: artifacts, opts: opts, rootToken: "root-" + hex.EncodeToString(tok)}
	if err := v.start(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Vault) start(ctx context.Context) error {
	opts := v.opts
	readyPath := filepath.Join(v.artifacts, opts.Name+"-ready.json")
	_ = os.Remove(readyPath)
	listen := "127.0.0.1:" + strconv.Itoa(opts.Port)
	args := []string{"--listen", listen, "--ready-file", readyPath, "--root-token", v.rootToken}
	if opts.DataDir != "" {
		args = append(args, "--data-dir", opts.DataDir)
	}
	if opts.TLSCertFile != "" {
		args = append(args, "--tls-cert-file", opts.TLSCertFile, "--tls-key-file", opts.TLSKeyFile)
	}
	p, err := StartProcess(opts.Name, v.artifacts, filepath.Join(v.binDir, opts.binary()), args, nil)
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitForFile(waitCtx, p, readyPath); err != nil {
		_ = p.Kill()
		return err
	}
	data, err := os.ReadFile(readyPath)
	if err != nil {
		_ = p.Kill()
		return fmt.Errorf("reading %s: %w", readyPath, err)
	}
	var ready vaultReadyFile
	if err := json.Unmarshal(data, &ready); err != nil {
		_ = p.Kill()
		return fmt.Errorf("parsing %s: %w", readyPath, err)
	}
	cfg := vaultapi.DefaultConfig()
	cfg.Address = ready.Address
	cfg.MaxRetries = 0
	caPEM := opts.CAPEM
	if len(caPEM) == 0 && ready.CACert != "" {
		caPEM = []byte(ready.CACert)
	}
	if len(caPEM) > 0 {
		if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACertBytes: caPEM}); err != nil {
			_ = p.Kill()
			return fmt.Errorf("configuring TLS of the Vault admin client: %w", err)
		}
	}
	admin, err := vaultapi.NewClient(cfg)
	if err != nil {
		_ = p.Kill()
		return fmt.Errorf("creating the Vault admin client: %w", err)
	}
	admin.SetToken(ready.RootToken)
	v.Address, v.RootToken, v.UnsealKey, v.Version, v.Server, v.CACert, v.Process, v.Admin =
		ready.Address, ready.RootToken, ready.UnsealKey, ready.Version, opts.Server, caPEM, p, admin
	return nil
}

// Restart stops the server (if it runs) and starts it again with the same
// options. With a DataDir and a fixed Port, it comes back with its storage
// at the same address, unsealed.
func (v *Vault) Restart(ctx context.Context) error {
	if v.Process != nil && !v.Process.Exited() {
		if err := v.Process.Stop(10 * time.Second); err != nil {
			return fmt.Errorf("stopping %s: %w", v.opts.Name, err)
		}
	}
	return v.start(ctx)
}

// Seal seals the server.
func (v *Vault) Seal(ctx context.Context) error {
	if err := v.Admin.Sys().SealWithContext(ctx); err != nil {
		return fmt.Errorf("sealing %s: %w", v.opts.Name, err)
	}
	return nil
}

// Unseal unseals the server with its unseal key.
func (v *Vault) Unseal(ctx context.Context) error {
	st, err := v.Admin.Sys().UnsealWithContext(ctx, v.UnsealKey)
	if err != nil {
		return fmt.Errorf("unsealing %s: %w", v.opts.Name, err)
	}
	if st.Sealed {
		return fmt.Errorf("%s is still sealed after the unseal key was given", v.opts.Name)
	}
	return nil
}

// GenerateRoot enables a PKI mount with the given max lease TTL and
// generates an internal RSA root CA in it.
func (v *Vault) GenerateRoot(ctx context.Context, mount, commonName, maxLeaseTTL string) (*x509.Certificate, error) {
	if err := v.Admin.Sys().MountWithContext(ctx, mount, &vaultapi.MountInput{Type: "pki",
		Config: vaultapi.MountConfigInput{MaxLeaseTTL: maxLeaseTTL}}); err != nil {
		return nil, fmt.Errorf("enabling the PKI engine at %s: %w", mount, err)
	}
	root, err := v.Admin.Logical().WriteWithContext(ctx, mount+"/root/generate/internal", map[string]any{
		"common_name": commonName,
		"ttl":         "87600h",
		"key_type":    "rsa",
		"key_bits":    2048,
	})
	if err != nil {
		return nil, fmt.Errorf("generating the root CA in %s: %w", mount, err)
	}
	return parseCertField(root, "certificate")
}

func parseCertField(s *vaultapi.Secret, key string) (*x509.Certificate, error) {
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("Vault answered without %s", key)
	}
	text, _ := s.Data[key].(string)
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, fmt.Errorf("%s in Vault's answer is not PEM", key)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", key, err)
	}
	return cert, nil
}

// AppRole is the role ID and a secret ID of an AppRole role.
type AppRole struct {
	Name     string
	RoleID   string
	SecretID string
	// Policies are the names of the ACL policies its tokens carry, one per
	// issuer it was created for.
	Policies []string
}

// IssuerACL is the Vault ACL policy (HCL) for the AppRole of iss, as
// "vault-intermediate-issuer policy vault-acl" prints it. Every AppRole role
// the test environment gives an issuer gets its policy from here.
func IssuerACL(iss *v1alpha1.VaultIntermediateClusterIssuer) (string, error) {
	p, err := acl.Generate(iss, acl.Options{})
	if err != nil {
		return "", err
	}
	return p.HCL(), nil
}

// CreateIssuerAppRole enables AppRole if needed and creates the role name
// the way docs/install.md does: its tokens carry the generated ACL policy of
// each issuer (IssuerACL) and not Vault's default policy. Issuers sharing
// the role must sign through different paths: Vault merges the allowed
// parameters of policies on one path into their union. tokenTTL and
// tokenMaxTTL are Vault durations.
func (v *Vault) CreateIssuerAppRole(ctx context.Context, name, tokenTTL, tokenMaxTTL string, issuers ...*v1alpha1.VaultIntermediateClusterIssuer) (*AppRole, error) {
	if len(issuers) == 0 {
		return nil, errors.New("an AppRole role needs the issuer whose policy it carries")
	}
	sys := v.Admin.Sys()
	auths, err := sys.ListAuthWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing auth mounts: %w", err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := sys.EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			return nil, fmt.Errorf("enabling AppRole: %w", err)
		}
	}
	signPaths := map[string]string{}
	var policies []string
	for i, iss := range issuers {
		path := vault.SignPath(strings.Trim(iss.Spec.Vault.Mount, "/"), iss.Spec.Vault.IssuerRef)
		if other, ok := signPaths[path]; ok {
			return nil, fmt.Errorf("issuers %s and %s both sign through %s: give each its own role", other, iss.Name, path)
		}
		signPaths[path] = iss.Name
		hcl, err := IssuerACL(iss)
		if err != nil {
			return nil, fmt.Errorf("generating the ACL policy of issuer %s: %w", iss.Name, err)
		}
		policyName := name
		if len(issuers) > 1 {
			policyName = fmt.Sprintf("%s-%d", name, i)
		}
		if err := sys.PutPolicyWithContext(ctx, policyName, hcl); err != nil {
			return nil, fmt.Errorf("writing policy %s: %w", policyName, err)
		}
		policies = append(policies, policyName)
	}
	if _, err := v.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
		"token_policies":          policies,
		"token_no_default_policy": true,
		"token_ttl":               tokenTTL,
		"token_max_ttl":           tokenMaxTTL,
	}); err != nil {
		return nil, fmt.Errorf("creating AppRole role %s: %w", name, err)
	}
	roleID, err := v.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil {
		return nil, fmt.Errorf("reading the role ID of %s: %w", name, err)
	}
	secretID, err := v.NewSecretID(ctx, name)
	if err != nil {
		return nil, err
	}
	return &AppRole{Name: name, RoleID: roleID.Data["role_id"].(string), SecretID: secretID, Policies: policies}, nil
}

// PKI is the bank's Vault PKI set-up: a root CA in a PKI mount and an AppRole
// whose token may only do what the bank issuer's generated ACL policy
// allows.
type PKI struct {
	Mount    string
	Root     *x509.Certificate
	RoleName string
	// PolicyName is the ACL policy of the role.
	PolicyName string
	RoleID     string
	SecretID   string
}

// SetUpBankPKI configures Vault the way docs/install.md does for iss (the
// bank's issuer, whose spec.vault.mount is set to mount): a PKI mount with an
// internal root, its max lease TTL then lowered to the policy's longest
// duration, an AppRole auth mount, and an AppRole role whose tokens carry
// only the issuer's generated ACL policy.
func (v *Vault) SetUpBankPKI(ctx context.Context, mount, roleName string, iss *v1alpha1.VaultIntermediateClusterIssuer) (*PKI, error) {
	iss = iss.DeepCopy()
	iss.Spec.Vault.Mount = mount
	rootCert, err := v.GenerateRoot(ctx, mount, "Golem Trust Root CA", "87600h")
	if err != nil {
		return nil, err
	}
	// An ACL cannot bound the ttl a caller asks for; the mount's max lease
	// TTL does (Vault shortens a longer one).
	maxTTL := iss.Spec.Policy.Duration.Max.Duration
	if err := v.Admin.Sys().TuneMountWithContext(ctx, mount, vaultapi.MountConfigInput{
		MaxLeaseTTL: strconv.FormatInt(int64(maxTTL/time.Second), 10) + "s"}); err != nil {
		return nil, fmt.Errorf("tuning the max lease TTL of %s: %w", mount, err)
	}
	role, err := v.CreateIssuerAppRole(ctx, roleName, "1h", "2h", iss)
	if err != nil {
		return nil, err
	}
	return &PKI{Mount: mount, Root: rootCert, RoleName: roleName, PolicyName: role.Policies[0],
		RoleID: role.RoleID, SecretID: role.SecretID}, nil
}

// AppRoleClient logs in to the server with an AppRole role ID and secret ID
// the way any client can, without the controller, and returns a client
// holding the token: what whoever reads the AppRole Secret can do.
func (v *Vault) AppRoleClient(ctx context.Context, roleID, secretID string) (*vaultapi.Client, error) {
	c, err := v.Admin.Clone()
	if err != nil {
		return nil, fmt.Errorf("cloning the Vault client: %w", err)
	}
	c.ClearToken()
	secret, err := c.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		return nil, fmt.Errorf("logging in with AppRole: %w", err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, errors.New("the AppRole login returned no token")
	}
	c.SetToken(secret.Auth.ClientToken)
	return c, nil
}

// NewSecretID creates a new secret ID for the AppRole role.
func (v *Vault) NewSecretID(ctx context.Context, roleName string) (string, error) {
	s, err := v.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+roleName+"/secret-id", nil)
	if err != nil {
		return "", fmt.Errorf("creating a secret ID for %s: %w", roleName, err)
	}
	id := s.Data["secret_id"].(string)
	secretsMu.Lock()
	createdSecrets = append(createdSecrets, id)
	if acc, ok := s.Data["secret_id_accessor"].(string); ok {
		createdSecrets = append(createdSecrets, acc)
	}
	secretsMu.Unlock()
	return id, nil
}

var (
	secretsMu      sync.Mutex
	createdSecrets []string
)

// CreatedSecrets returns every secret ID (and secret ID accessor) created
// through NewSecretID in this process, for scans that prove none of them
// leaked into logs, Events or status.
func CreatedSecrets() []string {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	return append([]string(nil), createdSecrets...)
}

// TokenAccessors lists the accessors of every token Vault holds.
func (v *Vault) TokenAccessors(ctx context.Context) ([]string, error) {
	s, err := v.Admin.Logical().ListWithContext(ctx, "auth/token/accessors")
	if err != nil {
		return nil, fmt.Errorf("listing token accessors: %w", err)
	}
	if s == nil || s.Data == nil {
		return nil, nil
	}
	keys, _ := s.Data["keys"].([]any)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if str, ok := k.(string); ok {
			out = append(out, str)
		}
	}
	return out, nil
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
	samples, err := Scrape(ctx, v.Address+"/v1/sys/metrics?format=prometheus")
	if err != nil {
		return 0, fmt.Errorf("scraping Vault's metrics: %w", err)
	}
	return int(Sum(samples, "vault_token_creation", map[string]string{"auth_method": "approle"})), nil
}

// Stop stops the server.
func (v *Vault) Stop() error { return v.Process.Stop(10 * time.Second) }
