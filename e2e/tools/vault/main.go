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

// Command vault runs a real HashiCorp Vault 1.13.0 server (MPL-2.0) for the
// end-to-end tests.
//
// It is Vault itself (its core, HTTP API, PKI secrets engine and AppRole auth
// method), built from the Go module proxy, as Vault's own test cluster
// (vault.NewTestCluster) with a single core: that is the only way to run a
// Vault server from its packages without its CLI, which would pull in every
// plugin. The cluster always serves HTTPS with a certificate of its own CA,
// which the ready file carries. Storage is in memory.
//
// The server is initialised with a single unseal key (Vault's test cluster
// would use three), unsealed, and given a root token with the id asked for
// with --root-token; nothing else is configured: the tests mount PKI, enable
// AppRole and write policies through the HTTP API, as a user would.
//
// Once the server answers requests, unsealed, a JSON ready file is written
// atomically:
//
//	{"address":"https://127.0.0.1:PORT","rootToken":"...","unsealKey":"<base64>",
//	 "version":"1.13.0","caCert":"-----BEGIN CERTIFICATE-----..."}
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/logical/pki"
	"github.com/hashicorp/vault/helper/namespace"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	"github.com/hashicorp/vault/vault/seal"
	"github.com/hashicorp/vault/version"
	testing "github.com/mitchellh/go-testing-interface"
)

type options struct {
	listen    string
	rootToken string
	readyFile string
	logLevel  string
}

// readyInfo is the ready file's content.
type readyInfo struct {
	Address   string `json:"address"`
	RootToken string `json:"rootToken"`
	UnsealKey string `json:"unsealKey"`
	Version   string `json:"version"`
	CACert    string `json:"caCert"`
}

func main() {
	var opts options
	var showVersion bool
	fs := flag.NewFlagSet("vault", flag.ContinueOnError)
	fs.StringVar(&opts.listen, "listen", "127.0.0.1:0", "loopback address to serve the API (HTTPS) on; port 0 picks a free port (reported in the ready file)")
	fs.StringVar(&opts.rootToken, "root-token", "", "id of the root token; Vault's random one when empty (reported in the ready file)")
	fs.StringVar(&opts.readyFile, "ready-file", "", "write this JSON file (address, rootToken, unsealKey, version, caCert) once the server is unsealed and serving")
	fs.StringVar(&opts.logLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	fs.BoolVar(&showVersion, "version", false, "print the Vault version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "vault: unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}
	if showVersion {
		fmt.Println(version.GetVersion().VersionNumber())
		return
	}
	level := hclog.LevelFromString(opts.logLevel)
	if level == hclog.NoLevel {
		fmt.Fprintf(os.Stderr, "vault: unknown --log-level %q\n", opts.logLevel)
		os.Exit(2)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: level, Output: os.Stderr})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts, logger); err != nil {
		logger.Error("exiting", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options, logger hclog.Logger) (err error) {
	if opts.readyFile != "" {
		// A ready file left by an earlier run must not be taken for this one.
		if err := os.Remove(opts.readyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	host, port, err := net.SplitHostPort(opts.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", opts.listen, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("--listen %q: bad port", opts.listen)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		// The test cluster's certificate only names the loopback addresses.
		return fmt.Errorf("--listen %q: only a loopback IP address is supported", opts.listen)
	}

	// The test cluster reports failures through a testing.T; RuntimeT
	// panics on Fatal, which is turned back into an error here.
	t := &testing.RuntimeT{}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("vault test cluster: %v", r)
		}
	}()
	cluster := vault.NewTestCluster(t, &vault.CoreConfig{
		LogicalBackends:    map[string]logical.Factory{"pki": pki.Factory},
		CredentialBackends: map[string]logical.Factory{"approle": approle.Factory},
		Logger:             logger,
		ClusterName:        "e2e",
	}, &vault.TestClusterOptions{
		HandlerFunc:       vaulthttp.Handler,
		NumCores:          1,
		BaseListenAddress: opts.listen,
		Logger:            logger,
		// Initialised below with one key share, so that a single key
		// unseals it (sys/unseal), as the tests expect.
		SkipInit: true,
	})
	cleanup := func() {
		logger.Info("shutting down")
		cluster.Cleanup()
		if opts.readyFile != "" {
			_ = os.Remove(opts.readyFile)
		}
	}
	core := cluster.Cores[0]
	address := fmt.Sprintf("https://127.0.0.1:%d", core.Listeners[0].Address.Port)
	if host != "127.0.0.1" {
		address = "https://" + net.JoinHostPort(host, strconv.Itoa(core.Listeners[0].Address.Port))
	}

	unsealKey, rootToken, err := initAndUnseal(ctx, core.Core, opts.rootToken)
	if err != nil {
		cleanup()
		return err
	}
	if err := waitServing(ctx, address, cluster.CACertPEM); err != nil {
		cleanup()
		return err
	}
	ready := readyInfo{
		Address:   address,
		RootToken: rootToken,
		UnsealKey: unsealKey,
		Version:   version.GetVersion().VersionNumber(),
		CACert:    string(cluster.CACertPEM),
	}
	if opts.readyFile != "" {
		if err := writeJSONAtomic(opts.readyFile, ready); err != nil {
			cleanup()
			return fmt.Errorf("writing ready file: %w", err)
		}
	}
	logger.Info("HashiCorp Vault ready", "address", address, "version", ready.Version)

	<-ctx.Done()
	cleanup()
	return nil
}

// initAndUnseal initialises the core with one key share, unseals it, waits
// until it is active and, if rootTokenID is set, replaces the initial root
// token with one of that id. It returns the base64 unseal key and the root
// token.
func initAndUnseal(ctx context.Context, core *vault.Core, rootTokenID string) (string, string, error) {
	ctx = namespace.RootContext(ctx)
	res, err := core.Initialize(ctx, &vault.InitParams{
		BarrierConfig:  &vault.SealConfig{SecretShares: 1, SecretThreshold: 1},
		RecoveryConfig: &vault.SealConfig{SecretShares: 1, SecretThreshold: 1},
		// As Vault's own test helper does for a seal without stored keys.
		LegacyShamirSeal: core.SealAccess().StoredKeysSupported() == seal.StoredKeysNotSupported,
	})
	if err != nil {
		return "", "", fmt.Errorf("initialising: %w", err)
	}
	if len(res.SecretShares) != 1 {
		return "", "", fmt.Errorf("initialising gave %d key shares, want 1", len(res.SecretShares))
	}
	key := res.SecretShares[0]
	if _, err := core.Unseal(append([]byte(nil), key...)); err != nil {
		return "", "", fmt.Errorf("unsealing: %w", err)
	}
	if err := core.UnsealWithStoredKeys(ctx); err != nil {
		return "", "", fmt.Errorf("unsealing with stored keys: %w", err)
	}
	if core.Sealed() {
		return "", "", errors.New("still sealed after giving the unseal key")
	}
	if err := vault.TestWaitActiveWithError(core); err != nil {
		return "", "", err
	}
	// The root token Initialize returns is a server-side consistent
	// token (hvs.…); HandleRequest wants the token it stands for.
	root, err := core.DecodeSSCToken(res.RootToken)
	if err != nil {
		return "", "", fmt.Errorf("decoding the root token: %w", err)
	}
	token := res.RootToken
	if rootTokenID != "" {
		if err := replaceRootToken(ctx, core, root, rootTokenID); err != nil {
			return "", "", err
		}
		token = rootTokenID
	}
	return base64.StdEncoding.EncodeToString(key), token, nil
}

// replaceRootToken creates a root token with the given id, as Vault's dev
// mode does, and revokes the old one.
func replaceRootToken(ctx context.Context, core *vault.Core, oldToken, id string) error {
	resp, err := core.HandleRequest(ctx, &logical.Request{
		Operation:   logical.UpdateOperation,
		ClientToken: oldToken,
		Path:        "auth/token/create",
		Data: map[string]interface{}{
			"id":                id,
			"policies":          []string{"root"},
			"no_parent":         true,
			"no_default_policy": true,
		},
	})
	if err == nil && resp.IsError() {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("creating root token %q: %w", id, err)
	}
	if resp == nil || resp.Auth == nil {
		return fmt.Errorf("creating root token %q: no auth in response", id)
	}
	if _, err := core.HandleRequest(ctx, &logical.Request{
		Operation:   logical.UpdateOperation,
		ClientToken: oldToken,
		Path:        "auth/token/revoke-self",
	}); err != nil {
		return fmt.Errorf("revoking the initial root token: %w", err)
	}
	return nil
}

// waitServing polls sys/health through the listener, trusting the cluster's
// CA, until it reports an unsealed, active server.
func waitServing(ctx context.Context, address string, caPEM []byte) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("the test cluster's CA certificate is not PEM")
	}
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, address+"/v1/sys/health", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("sys/health: HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not serving: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writeJSONAtomic writes v as JSON to path through a temporary file and a
// rename, so that a reader never sees a partial file.
func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
