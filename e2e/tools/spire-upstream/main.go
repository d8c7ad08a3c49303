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

// Command spire-upstream asks SPIRE's own cert-manager UpstreamAuthority
// plugin for an upstream-signed X.509 CA, the way a SPIRE server rotating
// its CA does, and reports the result as one JSON object on stdout. See
// README.md.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/spire/pkg/common/catalog"
	"github.com/spiffe/spire/pkg/common/coretypes/x509certificate"
	"github.com/spiffe/spire/pkg/common/x509util"
	"github.com/spiffe/spire/pkg/server/ca"
	"github.com/spiffe/spire/pkg/server/credtemplate"
	"github.com/spiffe/spire/pkg/server/credvalidator"
	"github.com/spiffe/spire/pkg/server/plugin/upstreamauthority"
	"github.com/spiffe/spire/pkg/server/plugin/upstreamauthority/certmanager"
	"github.com/spiffe/spire/proto/spire/common"
)

// Exit codes.
const (
	exitAccepted = 0
	exitRefused  = 1
	exitUsage    = 2
)

type verdict struct {
	Accepted bool `json:"accepted"`
	// Stage is the step that failed: configure, csr, mint, svid.
	Stage string `json:"stage,omitempty"`
	Error string `json:"error,omitempty"`
	// CSR describes the CSR SPIRE's server code built.
	CSR *csrInfo `json:"csr,omitempty"`
	// MintSeconds is how long MintX509CA took, from the call until the
	// validated chain came back (or the failure).
	MintSeconds float64 `json:"mintSeconds"`
	// X509CA is the chain the upstream authority returned, CA first.
	X509CA []certInfo `json:"x509CA,omitempty"`
	// UpstreamRoots are the roots SPIRE put in its bundle.
	UpstreamRoots []certInfo `json:"upstreamRoots,omitempty"`
	// SVID is a workload X509-SVID signed with the new CA, verified to the
	// upstream roots.
	SVID *certInfo `json:"svid,omitempty"`
}

type csrInfo struct {
	Subject string   `json:"subject"`
	URIs    []string `json:"uris"`
	KeyType string   `json:"keyType"`
	// PEM is the CSR itself, so a caller can replay it through
	// "vault-intermediate-issuer policy check".
	PEM string `json:"pem"`
}

type certInfo struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotAfter    time.Time `json:"notAfter"`
	IsCA        bool      `json:"isCA"`
	MaxPathLen  int       `json:"maxPathLen"`
	URIs        []string  `json:"uris,omitempty"`
	Fingerprint string    `json:"fingerprint"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	pluginData  string
	trustDomain string
	caTTL       time.Duration
	keyType     string
	subject     string
	svidID      string
	timeout     time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("spire-upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.pluginData, "plugin-data", "", "file with the HCL body of the plugin's plugin_data block, exactly as in server.conf (required)")
	fs.StringVar(&o.trustDomain, "trust-domain", "cluster.local", "the SPIRE server's trust_domain")
	fs.DurationVar(&o.caTTL, "ca-ttl", credtemplate.DefaultX509CATTL, "the SPIRE server's ca_ttl")
	fs.StringVar(&o.keyType, "ca-key-type", "ec-p256", "the SPIRE server's ca_key_type: ec-p256, ec-p384, rsa-2048 or rsa-4096")
	fs.StringVar(&o.subject, "ca-subject", "", `the SPIRE server's ca_subject as "C=US,O=SPIFFE,CN=name"; empty means SPIRE's default (C=US, O=SPIFFE)`)
	fs.StringVar(&o.svidID, "svid-id", "", "SPIFFE ID of the workload SVID to sign with the new CA; default spiffe://<trust domain>/ns/default/sa/default")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long (the plugin itself gives up after about 75s)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if o.pluginData == "" {
		fmt.Fprintln(stderr, "error: --plugin-data is required")
		return exitUsage
	}
	v, err := mint(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return exitUsage
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "error: writing the verdict:", err)
		return exitUsage
	}
	if !v.Accepted {
		return exitRefused
	}
	return exitAccepted
}

// mint does what a SPIRE server's CA manager does to rotate an
// upstream-signed X.509 CA (pkg/server/ca/manager, upstreamSignX509CA): build
// the CSR with SPIRE's credential builder, have the UpstreamAuthority plugin
// mint it through SPIRE's UpstreamClient, and accept the chain only if
// SPIRE's X509CAValidator (credvalidator, plus a throwaway SVID verified to
// the upstream roots) does. The plugin is SPIRE's built-in cert-manager
// UpstreamAuthority, loaded and configured through SPIRE's plugin catalog.
// An error means bad input; a refusal is a verdict.
func mint(o options, stderr io.Writer) (verdict, error) {
	var v verdict
	refuse := func(stage string, err error) (verdict, error) {
		v.Stage, v.Error = stage, err.Error()
		return v, nil
	}
	td, err := spiffeid.TrustDomainFromString(o.trustDomain)
	if err != nil {
		return v, fmt.Errorf("--trust-domain: %w", err)
	}
	subject, err := parseSubject(o.subject)
	if err != nil {
		return v, fmt.Errorf("--ca-subject: %w", err)
	}
	pluginData, err := os.ReadFile(o.pluginData)
	if err != nil {
		return v, fmt.Errorf("reading --plugin-data: %w", err)
	}
	signer, err := generateKey(o.keyType)
	if err != nil {
		return v, fmt.Errorf("--ca-key-type: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	log := logrus.New()
	log.SetOutput(stderr)
	log.SetLevel(logrus.DebugLevel)
	plugin, err := catalog.LoadBuiltIn(ctx, certmanager.BuiltIn(), catalog.BuiltInConfig{Log: log.WithField("plugin", "cert-manager")})
	if err != nil {
		return refuse("configure", fmt.Errorf("loading the plugin: %w", err))
	}
	defer plugin.Close()
	ua := new(upstreamauthority.V1)
	configurer, err := plugin.Bind(ua)
	if err != nil {
		return refuse("configure", fmt.Errorf("binding the plugin: %w", err))
	}
	if err := configurer.Configure(ctx, catalog.CoreConfig{TrustDomain: td}, string(pluginData)); err != nil {
		return refuse("configure", err)
	}

	builder, err := credtemplate.NewBuilder(credtemplate.Config{TrustDomain: td, X509CASubject: subject, X509CATTL: o.caTTL})
	if err != nil {
		return v, fmt.Errorf("building SPIRE's credential builder: %w", err)
	}
	template, err := builder.BuildUpstreamSignedX509CACSR(ctx, credtemplate.UpstreamSignedX509CAParams{PublicKey: signer.Public()})
	if err != nil {
		return refuse("csr", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, template, signer)
	if err != nil {
		return refuse("csr", err)
	}
	v.CSR = describeCSR(csrDER, o.keyType)

	credValidator, err := credvalidator.New(credvalidator.Config{TrustDomain: td})
	if err != nil {
		return v, fmt.Errorf("building SPIRE's credential validator: %w", err)
	}
	validator := ca.X509CAValidator{TrustDomain: td, CredValidator: credValidator, Signer: signer}
	bundle := &bundleRecorder{}
	watched := &streamWatcher{UpstreamAuthority: ua, ended: make(chan struct{})}
	client := ca.NewUpstreamClient(ca.UpstreamClientConfig{UpstreamAuthority: watched, BundleUpdater: bundle})
	defer func() {
		// A SPIRE server keeps the stream open until its next rotation;
		// the plugin deletes its finished CertificateRequests when its side
		// of the stream ends, with the stream's context. Wait for that
		// before closing, so the plugin's cleanup runs as in a server.
		select {
		case <-watched.ended:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(stderr, "the plugin's stream did not end within 30s; closing it")
		}
		client.Close()
	}()

	start := time.Now()
	chain, err := client.MintX509CA(ctx, csrDER, builder.Config().X509CATTL, validator.ValidateUpstreamX509CA)
	v.MintSeconds = time.Since(start).Seconds()
	if err != nil {
		return refuse("mint", err)
	}
	for _, c := range chain {
		v.X509CA = append(v.X509CA, describeCert(c))
	}
	roots := bundle.roots()
	for _, r := range roots {
		v.UpstreamRoots = append(v.UpstreamRoots, describeCert(r))
	}

	svid, err := signSVID(ctx, builder, credValidator, td, o.svidID, signer, chain, roots)
	if err != nil {
		return refuse("svid", err)
	}
	info := describeCert(svid)
	v.SVID = &info
	v.Accepted = true
	return v, nil
}

// signSVID signs a workload X509-SVID with the new CA as a SPIRE server
// would (credtemplate's workload template), checks it with SPIRE's
// credential validator and verifies its chain (SVID, then the CA chain the
// upstream authority returned) to the upstream roots.
func signSVID(ctx context.Context, builder *credtemplate.Builder, validator *credvalidator.Validator, td spiffeid.TrustDomain,
	id string, caKey crypto.Signer, chain, roots []*x509.Certificate) (*x509.Certificate, error) {
	if id == "" {
		id = "spiffe://" + td.Name() + "/ns/default/sa/default"
	}
	spiffeID, err := spiffeid.FromString(id)
	if err != nil {
		return nil, fmt.Errorf("--svid-id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl, err := builder.BuildWorkloadX509SVIDTemplate(ctx, credtemplate.WorkloadX509SVIDParams{
		ParentChain: chain, PublicKey: key.Public(), SPIFFEID: spiffeID})
	if err != nil {
		return nil, fmt.Errorf("building the SVID template: %w", err)
	}
	svid, err := x509util.CreateCertificate(tmpl, chain[0], key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("signing the SVID: %w", err)
	}
	if err := validator.ValidateX509SVID(svid, spiffeID); err != nil {
		return nil, fmt.Errorf("SPIRE's validator refused the SVID: %w", err)
	}
	if _, _, err := x509svid.Verify(append([]*x509.Certificate{svid}, chain...), x509bundle.FromX509Authorities(td, roots)); err != nil {
		return nil, fmt.Errorf("the SVID does not verify to the upstream roots: %w", err)
	}
	return svid, nil
}

// streamWatcher passes every call to the plugin and reports when the
// plugin's side of a MintX509CA stream has ended.
type streamWatcher struct {
	upstreamauthority.UpstreamAuthority
	ended chan struct{}
	once  sync.Once
}

func (w *streamWatcher) MintX509CA(ctx context.Context, csr []byte, ttl time.Duration) ([]*x509.Certificate,
	[]*x509certificate.X509Authority, upstreamauthority.UpstreamX509AuthorityStream, error) {
	chain, roots, stream, err := w.UpstreamAuthority.MintX509CA(ctx, csr, ttl)
	if err != nil {
		w.once.Do(func() { close(w.ended) })
		return chain, roots, stream, err
	}
	return chain, roots, &watchedStream{UpstreamX509AuthorityStream: stream, w: w}, nil
}

type watchedStream struct {
	upstreamauthority.UpstreamX509AuthorityStream
	w *streamWatcher
}

func (s *watchedStream) RecvUpstreamX509Authorities() ([]*x509certificate.X509Authority, error) {
	roots, err := s.UpstreamX509AuthorityStream.RecvUpstreamX509Authorities()
	if err != nil {
		s.w.once.Do(func() { close(s.w.ended) })
	}
	return roots, err
}

// bundleRecorder stands in for the SPIRE server's bundle (its datastore):
// it keeps the upstream roots the client syncs.
type bundleRecorder struct {
	mu    sync.Mutex
	certs []*x509.Certificate
}

func (b *bundleRecorder) SyncX509Roots(_ context.Context, roots []*x509certificate.X509Authority) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.certs = nil
	for _, r := range roots {
		b.certs = append(b.certs, r.Certificate)
	}
	return nil
}

func (b *bundleRecorder) AppendJWTKeys(_ context.Context, keys []*common.PublicKey) ([]*common.PublicKey, error) {
	return keys, nil
}

func (b *bundleRecorder) LogError(err error, msg string) {
	fmt.Fprintln(os.Stderr, msg, err)
}

func (b *bundleRecorder) roots() []*x509.Certificate {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*x509.Certificate(nil), b.certs...)
}

// generateKey makes the CA key as SPIRE's in-memory key manager does for the
// given ca_key_type.
func generateKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "ec-p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ec-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa-2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("unknown key type %q", keyType)
}

// parseSubject reads "C=US,O=SPIFFE,CN=name" (the three attributes SPIRE's
// ca_subject has).
func parseSubject(s string) (pkix.Name, error) {
	var name pkix.Name
	if s == "" {
		return name, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return name, fmt.Errorf("%q is not ATTR=value", part)
		}
		switch k {
		case "C":
			name.Country = append(name.Country, val)
		case "O":
			name.Organization = append(name.Organization, val)
		case "CN":
			name.CommonName = val
		default:
			return name, errors.New("ca_subject has only C, O and CN")
		}
	}
	return name, nil
}

func describeCSR(der []byte, keyType string) *csrInfo {
	info := &csrInfo{KeyType: keyType, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))}
	if csr, err := x509.ParseCertificateRequest(der); err == nil {
		info.Subject = csr.Subject.String()
		for _, u := range csr.URIs {
			info.URIs = append(info.URIs, u.String())
		}
	}
	return info
}

func describeCert(c *x509.Certificate) certInfo {
	sum := sha256.Sum256(c.Raw)
	info := certInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: fmt.Sprintf("%x", c.SerialNumber),
		NotAfter: c.NotAfter.UTC(), IsCA: c.IsCA, MaxPathLen: c.MaxPathLen, Fingerprint: "sha256:" + hex.EncodeToString(sum[:])}
	if c.MaxPathLen == 0 && !c.MaxPathLenZero {
		info.MaxPathLen = -1
	}
	for _, u := range c.URIs {
		info.URIs = append(info.URIs, u.String())
	}
	return info
}
