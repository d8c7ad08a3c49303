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

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
)

// Exit codes of "policy check".
const (
	exitAllow = 0
	exitDeny  = 1
	exitUsage = 2
)

// checkOptions are the flags of "policy check".
type checkOptions struct {
	issuerPath, requestPath, csrPath string
	namespace, duration, usages      string
	requester, groups                string
	isCA                             bool
	output                           string
	set                              map[string]bool
}

// runPolicyCheck implements "vault-intermediate-issuer policy check": it
// judges a CertificateRequest manifest, or a CSR with the request's fields
// given as flags, against the policy of a VaultIntermediateClusterIssuer
// manifest, offline, with the same code the controller runs. args are the
// arguments after "policy check". It prints ALLOW or DENY and one violation
// per line (or JSON with -o json) and returns the exit code: 0 allowed, 1
// denied, 2 a usage error or an invalid issuer or policy.
func runPolicyCheck(args []string, stdout, stderr io.Writer) int {
	opts, err := parseCheckFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
		return exitUsage
	}
	issuer, err := loadIssuer(opts.issuerPath)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	pol := &issuer.Spec.Policy
	if errs := policy.Validate(pol); len(errs) > 0 {
		fmt.Fprintf(stderr, "error: the policy of VaultIntermediateClusterIssuer %q in %s is invalid:\n%s\n",
			issuer.Name, opts.issuerPath, policy.FormatViolations(errs))
		return exitUsage
	}
	req, err := buildRequest(opts)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}

	d := policy.Evaluate(pol, req)
	if err := printDecision(stdout, opts.output, d, policy.Digest(pol)); err != nil {
		fmt.Fprintf(stderr, "error: writing the decision: %v\n", err)
		return exitUsage
	}
	if d.Allowed() {
		return exitAllow
	}
	return exitDeny
}

func parseCheckFlags(args []string, stderr io.Writer) (*checkOptions, error) {
	opts := &checkOptions{set: map[string]bool{}}
	fs := flag.NewFlagSet("vault-intermediate-issuer policy check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.issuerPath, "issuer", "", "`file` with the VaultIntermediateClusterIssuer manifest whose spec.policy judges the request (other documents in the file are ignored)")
	fs.StringVar(&opts.requestPath, "request", "", "`file` with the cert-manager CertificateRequest manifest to judge")
	fs.StringVar(&opts.csrPath, "csr", "", "`file` with a PEM CSR to judge instead of a CertificateRequest; give the request's fields with the flags below")
	fs.StringVar(&opts.namespace, "namespace", "", "`namespace` of the request: required with --csr; with --request it replaces the manifest's")
	fs.StringVar(&opts.duration, "duration", "", "requested `duration`, e.g. 720h (with --csr; default none, so the policy's default applies)")
	fs.StringVar(&opts.usages, "usages", "", "requested `usages`, comma-separated, e.g. \"cert sign,crl sign\" (with --csr; default none, so cert-manager's CA defaults apply)")
	fs.BoolVar(&opts.isCA, "is-ca", true, "whether the request is a CA request (with --csr)")
	fs.StringVar(&opts.requester, "requester", "", "`user` that creates the request (spec.username): with --request it replaces the manifest's")
	fs.StringVar(&opts.groups, "groups", "", "`groups` of the requester, comma-separated (spec.groups): with --request they replace the manifest's")
	fs.StringVar(&opts.output, "o", "text", "output `format`: text or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: vault-intermediate-issuer policy check --issuer ISSUER.yaml --request REQUEST.yaml [-o json]
       vault-intermediate-issuer policy check --issuer ISSUER.yaml --csr CSR.pem --namespace NS [--duration 720h] [--usages "cert sign,crl sign"] [--is-ca=true] [-o json]
       (both forms: [--requester USER] [--groups G1,G2]; --namespace= judges a Kubernetes CertificateSigningRequest)

Judges a request offline against the issuer's policy, with the code the controller runs.
Prints ALLOW or DENY and one violation per line. Exit status: 0 allowed, 1 denied, 2 usage error or invalid issuer.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { opts.set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q; see --help", fs.Arg(0))
	case opts.issuerPath == "":
		return nil, errors.New("--issuer is required")
	case (opts.requestPath == "") == (opts.csrPath == ""):
		return nil, errors.New("give exactly one of --request and --csr")
	case opts.csrPath != "" && !opts.set["namespace"]:
		return nil, errors.New("--csr needs --namespace (use --namespace= for a cluster-scoped Kubernetes CSR)")
	case opts.output != "text" && opts.output != "json":
		return nil, fmt.Errorf("-o must be text or json, not %q", opts.output)
	}
	if opts.requestPath != "" {
		for _, name := range []string{"duration", "usages", "is-ca"} {
			if opts.set[name] {
				return nil, fmt.Errorf("--%s applies to --csr only; with --request the manifest's spec is judged", name)
			}
		}
	}
	return opts, nil
}

// buildRequest reads the request under judgment from the manifest or the
// CSR file and flags.
func buildRequest(opts *checkOptions) (policy.Request, error) {
	if opts.requestPath != "" {
		cr, err := loadCertificateRequest(opts.requestPath)
		if err != nil {
			return policy.Request{}, err
		}
		req := policy.Request{
			Namespace: cr.Namespace,
			CSR:       cr.Spec.Request,
			IsCA:      cr.Spec.IsCA,
			Usages:    cr.Spec.Usages,
			Username:  cr.Spec.Username,
			Groups:    cr.Spec.Groups,
		}
		if opts.set["namespace"] {
			req.Namespace = opts.namespace
		}
		setRequester(&req, opts)
		if cr.Spec.Duration != nil {
			d := cr.Spec.Duration.Duration
			req.Duration = &d
		}
		return req, nil
	}

	csr, err := readLimited(opts.csrPath, policy.MaxCSRPEMSize+1)
	if err != nil {
		return policy.Request{}, err
	}
	// An empty namespace is a cluster-scoped Kubernetes
	// CertificateSigningRequest.
	req := policy.Request{Namespace: opts.namespace, KubernetesCSR: opts.namespace == "", CSR: csr, IsCA: opts.isCA}
	setRequester(&req, opts)
	if opts.duration != "" {
		d, err := time.ParseDuration(opts.duration)
		if err != nil {
			return policy.Request{}, fmt.Errorf("--duration %q is not a duration such as 720h: %w", opts.duration, err)
		}
		req.Duration = &d
	}
	for _, u := range strings.Split(opts.usages, ",") {
		if u = strings.TrimSpace(u); u != "" {
			req.Usages = append(req.Usages, cmapi.KeyUsage(u))
		}
	}
	return req, nil
}

// setRequester applies --requester and --groups.
func setRequester(req *policy.Request, opts *checkOptions) {
	if opts.set["requester"] {
		req.Username = opts.requester
	}
	if opts.set["groups"] {
		req.Groups = nil
		for _, g := range strings.Split(opts.groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				req.Groups = append(req.Groups, g)
			}
		}
	}
}

// readLimited reads at most limit bytes of the file: a CSR larger than the
// policy accepts is judged (and denied) without reading all of it.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the CLI reads the file its user names
	if err != nil {
		return nil, fmt.Errorf("reading the CSR: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, fmt.Errorf("reading the CSR %s: %w", path, err)
	}
	return data, nil
}

// loadIssuer reads the one VaultIntermediateClusterIssuer of a YAML file.
// Unknown fields are errors: a misspelt policy field would otherwise be
// dropped silently and the policy judged would not be the one written.
func loadIssuer(path string) (*v1alpha1.VaultIntermediateClusterIssuer, error) {
	doc, err := findDocument(path, v1alpha1.GroupVersion.String(), "VaultIntermediateClusterIssuer")
	if err != nil {
		return nil, err
	}
	var issuer v1alpha1.VaultIntermediateClusterIssuer
	if err := yaml.UnmarshalStrict(doc, &issuer); err != nil {
		return nil, fmt.Errorf("reading the VaultIntermediateClusterIssuer in %s: %w", path, err)
	}
	return &issuer, nil
}

// loadCertificateRequest reads the one CertificateRequest of a YAML file.
// Unknown fields are tolerated: the manifest may come from a newer
// cert-manager.
func loadCertificateRequest(path string) (*cmapi.CertificateRequest, error) {
	doc, err := findDocument(path, cmapi.SchemeGroupVersion.String(), "CertificateRequest")
	if err != nil {
		return nil, err
	}
	var cr cmapi.CertificateRequest
	if err := yaml.Unmarshal(doc, &cr); err != nil {
		return nil, fmt.Errorf("reading the CertificateRequest in %s: %w", path, err)
	}
	return &cr, nil
}

// findDocument returns the one YAML document of the file whose kind is kind;
// its apiVersion must be apiVersion.
func findDocument(path, apiVersion, kind string) ([]byte, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: the CLI reads the file its user names
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", kind, err)
	}
	var found [][]byte
	for i, doc := range splitYAMLDocuments(data) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d of %s is not valid YAML: %w", i+1, path, err)
		}
		if tm.Kind != kind {
			continue
		}
		if tm.APIVersion != apiVersion {
			return nil, fmt.Errorf("the %s in %s has apiVersion %q; want %q", kind, path, tm.APIVersion, apiVersion)
		}
		found = append(found, doc)
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s holds no %s (apiVersion %s)", path, kind, apiVersion)
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("%s holds %d %s documents; give a file with exactly one", path, len(found), kind)
	}
}

// splitYAMLDocuments splits a multi-document YAML stream at its "---" lines.
func splitYAMLDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	flush := func() {
		if len(bytes.TrimSpace(cur.Bytes())) > 0 {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---\t")) {
			flush()
			continue
		}
		cur.Write(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

// checkResult is the JSON form of a decision.
type checkResult struct {
	Decision     string           `json:"decision"`
	Violations   []checkViolation `json:"violations"`
	PolicyDigest string           `json:"policyDigest"`
}

type checkViolation struct {
	Rule    string `json:"rule"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func printDecision(w io.Writer, format string, d policy.Decision, digest string) error {
	verdict := "ALLOW"
	if !d.Allowed() {
		verdict = "DENY"
	}
	if format == "json" {
		res := checkResult{Decision: verdict, Violations: []checkViolation{}, PolicyDigest: digest}
		for _, v := range d.Violations {
			res.Violations = append(res.Violations, checkViolation{Rule: policy.Rule(v), Field: v.Field, Message: v.Detail})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if _, err := fmt.Fprintln(w, verdict); err != nil {
		return err
	}
	if msg := d.Message(); msg != "" {
		_, err := fmt.Fprintln(w, msg)
		return err
	}
	return nil
}
