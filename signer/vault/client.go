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
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
)

// Operation names, used in errors and as metric labels.
const (
	opLogin        = "login"
	opCapabilities = "capabilities"
	opReadIssuer   = "read-issuer"
	opSign         = "sign-intermediate"
	opRevokeToken  = "revoke-token"
	opRenewToken   = "renew-token"
	opReadCert     = "read-certificate"
	opListCerts    = "list-certificates"
	opDescribeSign = "describe-sign-path"
)

// Observer is told about every Vault call, for metrics. Implementations must
// be safe for concurrent use and fast.
type Observer interface {
	// VaultCall reports one HTTP call: its operation, the HTTP status (0
	// when Vault did not answer) and how long it took.
	VaultCall(issuer, op string, code int, took time.Duration)
	// VaultLogin reports one AppRole login attempt: "success" or the
	// failure class.
	VaultLogin(issuer, result string)
	// VaultTokenTTL reports the TTL of the token just obtained or renewed.
	VaultTokenTTL(issuer string, ttl time.Duration)
}

// Option configures a Client.
type Option func(*Client)

// WithObserver reports the client's calls to obs under the issuer's name.
func WithObserver(issuer string, obs Observer) Option {
	return func(c *Client) {
		c.issuer = issuer
		c.obs = obs
	}
}

// Config is how to reach one Vault PKI mount.
type Config struct {
	// Address is the base URL of the Vault server.
	Address string
	// CABundle is the PEM trust anchors for Vault's TLS; empty means the
	// system trust store.
	CABundle []byte
	// ServerName overrides the expected TLS server name.
	ServerName string
	// Namespace is sent as the X-Vault-Namespace header when not empty.
	Namespace string
	// Mount is the PKI mount path.
	Mount string
	// IssuerRef selects an issuer of a multi-issuer mount; empty means the
	// mount's default issuer.
	IssuerRef string
	// AppRolePath is the AppRole auth mount path.
	AppRolePath string
	// Timeout bounds every HTTP call.
	Timeout time.Duration
}

// Credentials are the AppRole role ID and secret ID. They are never logged.
type Credentials struct {
	RoleID   string
	SecretID string
}

// fingerprint identifies credentials without keeping them around in a
// comparable form.
func (c Credentials) fingerprint() [32]byte {
	return sha256.Sum256([]byte(c.RoleID + "\x00" + c.SecretID))
}

// renewAt is the share of a token's TTL after which it is renewed (or, when
// not renewable, replaced by a new login).
const renewAt = 0.8

// Login backoff after a rejected AppRole login with unchanged credentials:
// repeated failures would trip Vault's AppRole lockout, which then rejects
// the right secret ID too.
const (
	loginBackoffMin = 5 * time.Second //nolint:revive // time-naming: Min is the minimum, not minutes (see loginBackoffMax)
	loginBackoffMax = 5 * time.Minute
)

// Client talks to one Vault PKI mount with one cached AppRole token. It is
// safe for concurrent use; logins are serialised so that concurrent signings
// share one token instead of each logging in.
type Client struct {
	cfg Config
	api *vaultapi.Client
	now func() time.Time

	issuer string
	obs    Observer

	mu         sync.Mutex
	token      string
	renewable  bool
	grantedTTL time.Duration // the TTL the login granted
	refreshAt  time.Time     // renewAt of the current TTL: renew or log in again
	expiresAt  time.Time     // when the token expires
	credsFP    [32]byte
	logins     int
	renewals   int

	// The last rejected login, for the backoff.
	failedFP       [32]byte
	failedLogins   int
	loginErr       error
	loginRetryFrom time.Time

	// The cached description of the sign path (DescribeSignPath).
	descMu    sync.Mutex
	desc      *SignPathDescription
	descUntil time.Time
}

// NewClient builds a client for cfg. It does not contact Vault. The Vault
// API client's environment variables (VAULT_TOKEN, VAULT_SKIP_VERIFY, ...)
// are deliberately ignored: everything comes from the issuer's spec.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("vault server %q is not an http or https URL", cfg.Address)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if len(cfg.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CABundle) {
			return nil, errors.New("the CA bundle for Vault contains no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	apiConfig := &vaultapi.Config{
		Address:    strings.TrimRight(cfg.Address, "/"),
		HttpClient: &http.Client{Transport: transport, Timeout: cfg.Timeout},
		Timeout:    cfg.Timeout,
		// Retries belong to the controller, which knows whether a request
		// may wait; the API client's own retries would hide a down Vault.
		MaxRetries: 0,
	}
	api, err := vaultapi.NewClient(apiConfig)
	if err != nil {
		return nil, fmt.Errorf("creating Vault client for %s: %w", cfg.Address, err)
	}
	api.ClearToken()
	api.SetHeaders(http.Header{})
	// Clones (one per call, so concurrent calls never share a mutable
	// token) must keep the namespace header.
	api.SetCloneHeaders(true)
	api.ClearNamespace()
	if cfg.Namespace != "" {
		api.SetNamespace(cfg.Namespace)
	}
	c := &Client{cfg: cfg, api: api, now: time.Now}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// SignPath is the Vault path that signs intermediates for this mount and
// issuer.
func (c *Client) SignPath() string {
	return SignPath(c.cfg.Mount, c.cfg.IssuerRef)
}

// SignPath is the Vault path that signs intermediates on mount: that of the
// issuer issuerRef, or the mount's default issuer when issuerRef is empty.
func SignPath(mount, issuerRef string) string {
	if issuerRef != "" {
		return fmt.Sprintf("%s/issuer/%s/sign-intermediate", mount, issuerRef)
	}
	return mount + "/root/sign-intermediate"
}

// CertsPath is the path whose LIST returns the serial of every certificate
// the mount issued.
func CertsPath(mount string) string {
	return mount + "/certs"
}

// MountID identifies the PKI mount the client signs from (server,
// namespace and mount), whatever the issuer within it: certificates are
// stored per mount.
func (c *Client) MountID() string {
	return strings.TrimRight(c.cfg.Address, "/") + "|" + c.cfg.Namespace + "|" + c.cfg.Mount
}

// Logins returns how many AppRole logins this client performed.
func (c *Client) Logins() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logins
}

// Renewals returns how many times this client renewed its token.
func (c *Client) Renewals() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renewals
}

// ensureToken returns a usable token: the cached one while it is fresh and
// the credentials are unchanged; the cached one renewed when it is renewable
// and due; otherwise a new one from an AppRole login.
func (c *Client) ensureToken(ctx context.Context, creds Credentials) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fp := creds.fingerprint()
	now := c.now()
	if c.token != "" && fp == c.credsFP {
		if now.Before(c.refreshAt) {
			return c.token, nil
		}
		if c.renewable && now.Before(c.expiresAt) && c.renewLocked(ctx) == nil {
			return c.token, nil
		}
	}
	if c.loginErr != nil && fp == c.failedFP && now.Before(c.loginRetryFrom) {
		// Same credentials that were just rejected: do not hammer Vault
		// (and its lockout) before the backoff has passed.
		return "", c.loginErr
	}
	return c.loginLocked(ctx, creds, fp)
}

// renewLocked renews the cached token. It fails, so that the caller logs in
// instead, when Vault grants less than half the original TTL: the token is
// close to its max TTL and renewing again would only shorten the intervals.
func (c *Client) renewLocked(ctx context.Context) error {
	tok := c.token
	var secret *vaultapi.Secret
	err := c.call(ctx, tok, opRenewToken, func(ctx context.Context, api *vaultapi.Client) error {
		var err error
		secret, err = api.Auth().Token().RenewSelfWithContext(ctx, int(c.grantedTTL/time.Second))
		return err
	})
	if err != nil {
		return err
	}
	if secret == nil || secret.Auth == nil {
		return errors.New("Vault answered the token renewal without auth data")
	}
	ttl := time.Duration(secret.Auth.LeaseDuration) * time.Second
	if ttl < c.grantedTTL/2 {
		return fmt.Errorf("the token is near its max TTL (renewed for %s)", ttl)
	}
	now := c.now()
	c.renewals++
	c.renewable = secret.Auth.Renewable
	c.refreshAt = now.Add(time.Duration(float64(ttl) * renewAt))
	c.expiresAt = now.Add(ttl)
	if c.obs != nil {
		c.obs.VaultTokenTTL(c.issuer, ttl)
	}
	return nil
}

func (c *Client) loginLocked(ctx context.Context, creds Credentials, fp [32]byte) (string, error) {
	tok, err := c.doLogin(ctx, creds, fp)
	if c.obs != nil {
		result := "success"
		if err != nil {
			result = string(ClassOf(err))
		}
		c.obs.VaultLogin(c.issuer, result)
	}
	if err != nil && ClassOf(err) == ClassAuthFailed {
		if c.failedFP != fp {
			c.failedFP, c.failedLogins = fp, 0
		}
		c.failedLogins++
		wait := loginBackoffMin << min(c.failedLogins-1, 10)
		wait = min(wait, loginBackoffMax)
		c.loginRetryFrom = c.now().Add(wait)
		var ve *Error
		if errors.As(err, &ve) {
			cp := *ve
			cp.Message += fmt.Sprintf(" (these credentials are not tried again for %s, to stay clear of Vault's AppRole lockout; a changed secret ID is tried at once)", wait)
			c.loginErr = &cp
		} else {
			c.loginErr = err
		}
		return "", c.loginErr
	}
	if err == nil {
		c.loginErr, c.failedLogins = nil, 0
	}
	return tok, err
}

func (c *Client) doLogin(ctx context.Context, creds Credentials, fp [32]byte) (string, error) {
	if creds.RoleID == "" || creds.SecretID == "" {
		return "", &Error{Class: ClassAuthFailed, Op: opLogin, Message: "the AppRole role ID or secret ID is empty"}
	}
	auth, err := approle.NewAppRoleAuth(creds.RoleID, &approle.SecretID{FromString: creds.SecretID}, approle.WithMountPath(c.cfg.AppRolePath))
	if err != nil {
		return "", &Error{Class: ClassAuthFailed, Op: opLogin, Message: Sanitize(err.Error())}
	}
	// Log in on a clone so a failed login never clears the token other
	// goroutines are using, and the clone carries no token into the login.
	clone, err := c.api.Clone()
	if err != nil {
		return "", fmt.Errorf("cloning Vault client: %w", err)
	}
	clone.ClearToken()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	secret, err := clone.Auth().Login(ctx, auth)
	err = classify(opLogin, err)
	c.observe(opLogin, err, start)
	if err != nil {
		return "", err
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return "", &Error{Class: ClassAuthFailed, Op: opLogin, Message: "Vault answered the AppRole login without a token"}
	}
	ttl := time.Duration(secret.Auth.LeaseDuration) * time.Second
	renewable := secret.Auth.Renewable
	if ttl <= 0 {
		// A token without a TTL (root-like) is still replaced hourly so a
		// revoked token cannot linger.
		ttl, renewable = time.Hour, false
	}
	now := c.now()
	c.logins++
	c.token = secret.Auth.ClientToken
	c.renewable = renewable
	c.grantedTTL = ttl
	c.refreshAt = now.Add(time.Duration(float64(ttl) * renewAt))
	c.expiresAt = now.Add(ttl)
	c.credsFP = fp
	if c.obs != nil {
		c.obs.VaultTokenTTL(c.issuer, ttl)
	}
	return c.token, nil
}

func (c *Client) observe(op string, err error, start time.Time) {
	if c.obs == nil {
		return
	}
	code := http.StatusOK
	if err != nil {
		code = 0
		var ve *Error
		if errors.As(err, &ve) {
			code = ve.StatusCode
		}
	}
	c.obs.VaultCall(c.issuer, op, code, time.Since(start))
}

// invalidate drops the cached token if it is still tok, so the next call logs
// in again.
func (c *Client) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// withToken runs fn with a cached token and, when Vault answers 403 for a
// token that should be valid (revoked, expired early), logs in again once and
// retries.
func (c *Client) withToken(ctx context.Context, creds Credentials, op string, fn func(ctx context.Context, api *vaultapi.Client) error) error {
	tok, err := c.ensureToken(ctx, creds)
	if err != nil {
		return err
	}
	err = c.call(ctx, tok, op, fn)
	if ClassOf(err) != ClassPermissionDenied {
		return err
	}
	c.invalidate(tok)
	fresh, loginErr := c.ensureToken(ctx, creds)
	if loginErr != nil {
		return loginErr
	}
	if fresh == tok {
		return err
	}
	return c.call(ctx, fresh, op, fn)
}

func (c *Client) call(ctx context.Context, tok, op string, fn func(ctx context.Context, api *vaultapi.Client) error) error {
	api, err := c.api.Clone()
	if err != nil {
		return fmt.Errorf("cloning Vault client: %w", err)
	}
	api.SetToken(tok)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	err = classify(op, fn(ctx, api))
	c.observe(op, err, start)
	return err
}

// Login makes sure the client holds a valid token for creds, logging in when
// needed.
func (c *Client) Login(ctx context.Context, creds Credentials) error {
	_, err := c.ensureToken(ctx, creds)
	return err
}

// IssuerInfo is the CA that signs for this mount and issuer.
type IssuerInfo struct {
	// Certificate is the issuing CA certificate.
	Certificate *x509.Certificate
	// Chain is the issuer's CA chain as Vault stores it.
	Chain []*x509.Certificate
}

// ReadIssuer reads the issuer that sign requests use. The issuer's JSON
// endpoint is unauthenticated in Vault's PKI engine, so this proves the mount
// and issuer exist without needing a read capability.
func (c *Client) ReadIssuer(ctx context.Context) (*IssuerInfo, error) {
	ref := c.cfg.IssuerRef
	if ref == "" {
		ref = "default"
	}
	path := fmt.Sprintf("%s/issuer/%s/json", c.cfg.Mount, ref)
	var info *IssuerInfo
	err := c.call(ctx, "", opReadIssuer, func(ctx context.Context, api *vaultapi.Client) error {
		secret, err := api.Logical().ReadWithContext(ctx, path)
		if err != nil {
			return err
		}
		if secret == nil || secret.Data == nil {
			return &Error{Class: ClassNotFound, Op: opReadIssuer, StatusCode: http.StatusNotFound,
				Message: fmt.Sprintf("no PKI issuer at %q: check spec.vault.mount and spec.vault.issuerRef", path)}
		}
		certPEM, _ := secret.Data["certificate"].(string)
		certs, err := ParseCertificates([]byte(certPEM))
		if err != nil || len(certs) == 0 {
			return &Error{Class: ClassNotFound, Op: opReadIssuer, Message: fmt.Sprintf("the issuer at %q has no certificate", path)}
		}
		info = &IssuerInfo{Certificate: certs[0]}
		if chain, ok := secret.Data["ca_chain"].([]any); ok {
			for _, entry := range chain {
				s, _ := entry.(string)
				parsed, err := ParseCertificates([]byte(s))
				if err != nil {
					return &Error{Class: ClassTransient, Op: opReadIssuer, Message: fmt.Sprintf("the CA chain of %q does not parse: %v", path, err)}
				}
				info.Chain = append(info.Chain, parsed...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// RevokeToken revokes the cached token, if any. Called on shutdown so tokens
// do not outlive the process.
func (c *Client) RevokeToken(ctx context.Context) error {
	c.mu.Lock()
	tok := c.token
	c.token = ""
	c.mu.Unlock()
	if tok == "" {
		return nil
	}
	return c.call(ctx, tok, opRevokeToken, func(ctx context.Context, api *vaultapi.Client) error {
		return api.Auth().Token().RevokeSelfWithContext(ctx, "")
	})
}
