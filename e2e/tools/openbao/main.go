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

// Command openbao runs a real OpenBao server for the end-to-end tests.
//
// It is OpenBao itself (its core, HTTP API, PKI secrets engine, AppRole auth
// method and file audit device), built from the Go module proxy, so the tests
// never run against a fake Vault. The server is initialised with a single
// unseal key, unsealed, given a root token with a known id and served on a
// loopback address; nothing else is configured: the tests mount PKI, enable
// AppRole and write policies through the HTTP API, as a user would.
//
// Without --data-dir the storage lives in memory and is lost on exit. With
// --data-dir it is OpenBao's file storage backend in that directory, and the
// unseal key and root token are kept in <data-dir>/init.json, so a stopped
// server can be started again with the same storage: it is then unsealed,
// not initialised again.
//
// Once the server answers requests, unsealed, a JSON ready file is written
// atomically:
//
//	{"address":"http://127.0.0.1:PORT","rootToken":"...","unsealKey":"<base64>","version":"2.4.0"}
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/go-hclog"
	"github.com/openbao/openbao/audit"
	auditfile "github.com/openbao/openbao/builtin/audit/file"
	"github.com/openbao/openbao/command/server"
	"github.com/openbao/openbao/helper/metricsutil"
	"github.com/openbao/openbao/helper/namespace"
	"github.com/openbao/openbao/helper/versions"
	vaulthttp "github.com/openbao/openbao/http"
	"github.com/openbao/openbao/internalshared/configutil"
	"github.com/openbao/openbao/sdk/v2/logical"
	"github.com/openbao/openbao/sdk/v2/physical"
	physfile "github.com/openbao/openbao/sdk/v2/physical/file"
	"github.com/openbao/openbao/sdk/v2/physical/inmem"
	"github.com/openbao/openbao/vault"
	"github.com/openbao/openbao/version"
)

// openBaoVersion is the OpenBao release required in go.mod. The build sets
// it into OpenBao's version package with
// -X github.com/openbao/openbao/version.fullVersion=2.4.0; applyVersion
// covers a build that forgot to.
const openBaoVersion = "2.4.0"

// initFileName is the file in --data-dir that keeps the unseal key and the
// root token from the first start.
const initFileName = "init.json"

type options struct {
	listen      string
	rootToken   string
	readyFile   string
	dataDir     string
	tlsCertFile string
	tlsKeyFile  string
	logLevel    string
}

// readyInfo is the ready file's content.
type readyInfo struct {
	Address   string `json:"address"`
	RootToken string `json:"rootToken"`
	UnsealKey string `json:"unsealKey"`
	Version   string `json:"version"`
}

// initInfo is <data-dir>/init.json.
type initInfo struct {
	UnsealKey string `json:"unsealKey"`
	RootToken string `json:"rootToken"`
}

func main() {
	applyVersion()

	var opts options
	var showVersion bool
	fs := flag.NewFlagSet("openbao", flag.ContinueOnError)
	fs.StringVar(&opts.listen, "listen", "127.0.0.1:8200", "address to serve the API on; port 0 picks a free port (reported in the ready file)")
	fs.StringVar(&opts.rootToken, "root-token", "root", "id of the root token")
	fs.StringVar(&opts.readyFile, "ready-file", "", "write this JSON file (address, rootToken, unsealKey, version) once the server is unsealed and serving")
	fs.StringVar(&opts.dataDir, "data-dir", "", "keep storage in this directory (file backend) instead of memory, so that the server can be restarted with it")
	fs.StringVar(&opts.tlsCertFile, "tls-cert-file", "", "serve HTTPS with this PEM certificate (chain)")
	fs.StringVar(&opts.tlsKeyFile, "tls-key-file", "", "PEM private key for --tls-cert-file")
	fs.StringVar(&opts.logLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	fs.BoolVar(&showVersion, "version", false, "print the OpenBao version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "openbao: unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}
	if showVersion {
		fmt.Println(version.GetVersion().FullVersionNumber(false))
		return
	}
	if (opts.tlsCertFile == "") != (opts.tlsKeyFile == "") {
		fmt.Fprintln(os.Stderr, "openbao: --tls-cert-file and --tls-key-file go together")
		os.Exit(2)
	}

	level := hclog.LevelFromString(opts.logLevel)
	if level == hclog.NoLevel {
		fmt.Fprintf(os.Stderr, "openbao: unknown --log-level %q\n", opts.logLevel)
		os.Exit(2)
	}
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   "openbao",
		Level:  level,
		Output: os.Stderr,
	})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts, logger); err != nil {
		logger.Error("exiting", "error", err)
		os.Exit(1)
	}
}

// applyVersion makes OpenBao report openBaoVersion when the binary was built
// without the version ldflag (OpenBao's own default is 2.0.0-HEAD).
func applyVersion() {
	if version.Version == "2.0.0" && version.VersionPrerelease == "HEAD" {
		version.Version, version.VersionPrerelease = openBaoVersion, ""
		versions.DefaultBuiltinVersion = fmt.Sprintf("v%s+%s.bao", openBaoVersion, versions.BuiltinMetadata)
	}
}

func run(ctx context.Context, opts options, logger hclog.InterceptLogger) error {
	if opts.readyFile != "" {
		// A ready file left by an earlier run must not be taken for this one.
		if err := os.Remove(opts.readyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}

	var tlsConfig *tls.Config
	scheme := "http"
	if opts.tlsCertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.tlsCertFile, opts.tlsKeyFile)
		if err != nil {
			return fmt.Errorf("loading TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}

	backend, storageType, err := newStorage(opts.dataDir, logger)
	if err != nil {
		return err
	}

	inmemMetrics, metricSink, prometheusEnabled, err := configutil.SetupTelemetry(&configutil.SetupTelemetryOpts{
		Config: &configutil.Telemetry{
			DisableHostname:            true,
			PrometheusRetentionTime:    24 * time.Hour,
			UsageGaugePeriod:           configutil.UsageGaugeDefaultPeriod,
			MaximumGaugeCardinality:    configutil.MaximumGaugeCardinalityDefault,
			LeaseMetricsEpsilon:        configutil.LeaseMetricsEpsilonDefault,
			NumLeaseMetricsTimeBuckets: configutil.NumLeaseMetricsTimeBucketsDefault,
		},
		Ui:          &cli.BasicUi{Writer: os.Stderr, ErrorWriter: os.Stderr},
		ServiceName: "vault",
		DisplayName: "OpenBao",
		UserAgent:   "openbao-e2e/" + openBaoVersion,
		ClusterName: "e2e",
	})
	if err != nil {
		return fmt.Errorf("setting up telemetry: %w", err)
	}

	core, err := vault.NewCore(&vault.CoreConfig{
		Physical:           backend,
		StorageType:        storageType,
		Logger:             logger,
		LogLevel:           opts.logLevel,
		AllLoggers:         []hclog.Logger{logger},
		BuiltinRegistry:    builtinRegistry{},
		LogicalBackends:    secretEngines,
		CredentialBackends: authMethods,
		AuditBackends:      map[string]audit.Factory{"file": auditfile.Factory},
		MetricsHelper:      metricsutil.NewMetricsHelper(inmemMetrics, prometheusEnabled),
		MetricSink:         metricSink,
		ClusterName:        "e2e",
		RawConfig: &server.Config{
			SharedConfig: &configutil.SharedConfig{LogLevel: opts.logLevel},
			// Tests enable a file audit device through sys/audit; OpenBao
			// otherwise only takes audit devices from its config file.
			UnsafeAllowAPIAuditCreation: true,
		},
	})
	if err != nil {
		return fmt.Errorf("creating core: %w", err)
	}

	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", opts.listen, err)
	}
	address := scheme + "://" + advertisedAddr(opts.listen, ln.Addr())

	srv := &http.Server{
		Handler: vaulthttp.Handler.Handler(&vault.HandlerProperties{
			Core: core,
			ListenerConfig: &configutil.Listener{
				Type:    "tcp",
				Address: ln.Addr().String(),
				// The tests read sys/metrics without a token.
				Telemetry: configutil.ListenerTelemetry{UnauthenticatedMetricsAccess: true},
			},
		}),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         tlsConfig,
		ErrorLog:          logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			serveErr <- srv.ServeTLS(ln, "", "")
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()

	shutdown := func() {
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("closing HTTP server", "error", err)
		}
		if err := core.ShutdownWait(); err != nil {
			logger.Warn("shutting down core", "error", err)
		}
		if opts.readyFile != "" {
			_ = os.Remove(opts.readyFile)
		}
	}

	keys, err := initAndUnseal(ctx, core, opts, logger)
	if err != nil {
		shutdown()
		return err
	}
	if err := waitServing(ctx, address, serveErr); err != nil {
		shutdown()
		return err
	}

	ready := readyInfo{
		Address:   address,
		RootToken: keys.RootToken,
		UnsealKey: keys.UnsealKey,
		Version:   version.GetVersion().VersionNumber(),
	}
	if opts.readyFile != "" {
		if err := writeJSONAtomic(opts.readyFile, ready); err != nil {
			shutdown()
			return fmt.Errorf("writing ready file: %w", err)
		}
	}
	logger.Info("OpenBao ready", "address", address, "version", ready.Version, "storage", storageType)

	select {
	case <-ctx.Done():
		shutdown()
		return nil
	case err := <-serveErr:
		shutdown()
		return fmt.Errorf("HTTP server stopped: %w", err)
	}
}

// newStorage returns the physical backend: in memory, or OpenBao's file
// backend under dataDir.
func newStorage(dataDir string, logger hclog.Logger) (physical.Backend, string, error) {
	if dataDir == "" {
		b, err := inmem.NewInmem(nil, logger.Named("storage.inmem"))
		return b, "inmem", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", err
	}
	b, err := physfile.NewFileBackend(map[string]string{"path": filepath.Join(dataDir, "storage")}, logger.Named("storage.file"))
	return b, "file", err
}

// initAndUnseal initialises the core with one key share on first use, or
// reads the key and root token kept in the data dir, and unseals it. The
// returned root token has the id asked for with --root-token.
func initAndUnseal(ctx context.Context, core *vault.Core, opts options, logger hclog.Logger) (*initInfo, error) {
	ctx = namespace.RootContext(ctx)
	initPath := ""
	if opts.dataDir != "" {
		initPath = filepath.Join(opts.dataDir, initFileName)
	}

	initialized, err := core.Initialized(ctx)
	if err != nil {
		return nil, fmt.Errorf("checking initialisation: %w", err)
	}

	var info initInfo
	if initialized {
		if initPath == "" {
			return nil, errors.New("in-memory storage is already initialised")
		}
		raw, err := os.ReadFile(initPath)
		if err != nil {
			return nil, fmt.Errorf("storage in %s is initialised but its keys are not readable: %w", opts.dataDir, err)
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", initPath, err)
		}
		logger.Info("storage already initialised; unsealing with the stored key", "path", opts.dataDir)
	} else {
		res, err := core.Initialize(ctx, &vault.InitParams{
			BarrierConfig: &vault.SealConfig{SecretShares: 1, SecretThreshold: 1},
		})
		if err != nil {
			return nil, fmt.Errorf("initialising: %w", err)
		}
		info = initInfo{
			UnsealKey: base64.StdEncoding.EncodeToString(res.SecretShares[0]),
			RootToken: res.RootToken,
		}
		if initPath != "" {
			if err := writeJSONAtomic(initPath, info); err != nil {
				return nil, fmt.Errorf("storing keys: %w", err)
			}
		}
		logger.Info("initialised with one unseal key")
	}

	key, err := base64.StdEncoding.DecodeString(info.UnsealKey)
	if err != nil {
		return nil, fmt.Errorf("decoding unseal key: %w", err)
	}
	unsealed, err := core.Unseal(key)
	if err != nil {
		return nil, fmt.Errorf("unsealing: %w", err)
	}
	if !unsealed {
		return nil, errors.New("still sealed after giving the unseal key")
	}

	if opts.rootToken != "" && opts.rootToken != info.RootToken {
		if err := replaceRootToken(ctx, core, info.RootToken, opts.rootToken); err != nil {
			return nil, err
		}
		info.RootToken = opts.rootToken
		if initPath != "" {
			if err := writeJSONAtomic(initPath, info); err != nil {
				return nil, fmt.Errorf("storing keys: %w", err)
			}
		}
	}
	return &info, nil
}

// replaceRootToken creates a root token with the given id, as OpenBao's dev
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
	_, err = core.HandleRequest(ctx, &logical.Request{
		Operation:   logical.UpdateOperation,
		ClientToken: oldToken,
		Path:        "auth/token/revoke-self",
	})
	if err != nil {
		return fmt.Errorf("revoking the initial root token: %w", err)
	}
	return nil
}

// waitServing polls sys/health through the listener until it reports an
// unsealed, active server.
func waitServing(ctx context.Context, address string, serveErr <-chan error) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		// Only our own listener is dialled: its certificate need not be
		// valid for the address.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
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
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("sys/health returned %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not serving: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-serveErr:
			return fmt.Errorf("HTTP server stopped: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// advertisedAddr is host:port for the ready file: the host from --listen
// (so that a certificate for "localhost" matches), or 127.0.0.1 when it was
// empty or unspecified, with the port actually bound.
func advertisedAddr(listen string, bound net.Addr) string {
	_, port, _ := net.SplitHostPort(bound.String())
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}

// writeJSONAtomic writes v to path through a temporary file in the same
// directory and a rename, so that readers never see a partial file.
func writeJSONAtomic(path string, v interface{}) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), strings.TrimSuffix(path, "/")); err != nil {
		return err
	}
	return nil
}
