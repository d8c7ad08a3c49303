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

// Command istio-ca hands a plugged-in CA (the files of a cacerts Secret) to
// Istio's own CA code and reports, as one JSON object on stdout, whether
// Istio accepts it. See README.md for the subcommands.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// Exit codes.
const (
	exitAccepted = 0
	exitRefused  = 1
	exitUsage    = 2
)

// verdict is what every subcommand prints: one JSON object.
type verdict struct {
	Command  string `json:"command"`
	Accepted bool   `json:"accepted"`
	// Stage is the step that refused (load, sign, verify, root, reload).
	Stage string `json:"stage,omitempty"`
	Error string `json:"error,omitempty"`
	// Mapping is how the cacerts files were mapped, as istiod maps them.
	Mapping *mapping `json:"mapping,omitempty"`
	// CA describes the signing certificate Istio's CA loaded.
	CA *certInfo `json:"ca,omitempty"`
	// Workload describes the workload certificate Istio's CA signed.
	Workload *certInfo `json:"workload,omitempty"`
	// OldWorkloadVerified is set by reload when --old-workload was given:
	// the earlier workload chain still verifies to the new root.
	OldWorkloadVerified *bool `json:"oldWorkloadVerified,omitempty"`
	// RootChanged is set by reload: ca.crt differs between the two
	// directories.
	RootChanged *bool `json:"rootChanged,omitempty"`
	// MultiRoot is set by reload: whether ISTIO_MULTIROOT_MESH was on.
	MultiRoot *bool `json:"multiRoot,omitempty"`
}

type certInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	IsCA      bool      `json:"isCA"`
	URIs      []string  `json:"uris,omitempty"`
	// ChainLength is the number of certificates in the PEM chain written
	// for a workload (leaf, intermediate(s), root).
	ChainLength int `json:"chainLength,omitempty"`
	// File is where the chain was written, if anywhere.
	File string `json:"file,omitempty"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	var (
		v   verdict
		err error
	)
	switch args[0] {
	case "sign-workload":
		v, err = signWorkloadCommand(args[1:], stderr)
	case "reload":
		v, err = reloadCommand(args[1:], stderr)
	case "verify":
		v, err = verifyCommand(args[1:], stderr)
	case "-h", "--help", "help":
		usage(stdout)
		return exitAccepted
	default:
		fmt.Fprintf(stderr, "unknown subcommand %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	var usageErr *usageError
	if errors.As(err, &usageErr) {
		fmt.Fprintln(stderr, "error:", usageErr.msg)
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

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  istio-ca sign-workload --cacerts DIR [--spiffe-id ID] [--ttl D] [--out FILE]
      Load DIR (tls.crt, tls.key, ca.crt of a cacerts Secret) as istiod loads a
      plugged-in CA, sign a workload certificate for ID with Istio's CA and
      verify it to ca.crt.
  istio-ca reload --old DIR --new DIR [--multi-root] [--old-workload FILE] [--spiffe-id ID] [--out FILE]
      Start from DIR --old as istiod does, then apply --new as istiod applies a
      changed cacerts (its root rule, then VerifyAndSetAll on the key-cert
      bundle), sign a workload certificate with the reloaded CA, and check
      that the chain in --old-workload still verifies to the new root.
  istio-ca verify --root FILE --chain FILE [--spiffe-id ID]
      Verify a workload chain (leaf first) to the roots in FILE with Istio's
      certificate verification.
Prints one JSON verdict on stdout; exit 0 accepted, 1 refused, 2 bad usage.
`)
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
