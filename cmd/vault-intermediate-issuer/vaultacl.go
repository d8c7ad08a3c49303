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
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/golemtrust/vault-intermediate-issuer/signer/vault/acl"
)

// Exit codes of "policy vault-acl".
const (
	exitACLPrinted       = 0
	exitACLInexpressible = 1
)

// runVaultACL implements "vault-intermediate-issuer policy vault-acl": it
// prints the Vault ACL policy (HCL) for the AppRole of the issuer in a
// manifest, offline. args are the arguments after "policy vault-acl". It
// returns 0 when the policy was printed, 1 when the issuer's policy has
// rules no ACL can express without allowing more (each named on stderr), 2
// for a usage error or an invalid issuer.
func runVaultACL(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vault-intermediate-issuer policy vault-acl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuerPath := fs.String("issuer", "", "`file` with the VaultIntermediateClusterIssuer manifest (other documents in the file are ignored)")
	name := fs.String("name", "", "`name` the instructions in the header give the Vault policy and the AppRole role (default vault-intermediate-issuer-<issuer name>); include the cluster's name, one role per issuer and cluster")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: vault-intermediate-issuer policy vault-acl --issuer ISSUER.yaml [--name NAME] > policy.hcl

Prints the Vault ACL policy (HCL) for the issuer's AppRole: the paths the controller uses and, on the
sign path, every parameter pinned to what the issuer's policy allows, so that the policy holds at Vault
even for a caller that bypasses the controller. Rules no ACL can express without allowing more than the
policy (patterns, IP ranges, an optional common name) are refused, each named on stderr.
Exit status: 0 printed, 1 not expressible, 2 usage error or invalid issuer.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "error: unexpected argument %q; see --help\n", fs.Arg(0))
		return exitUsage
	case *issuerPath == "":
		fmt.Fprintln(stderr, "error: --issuer is required")
		return exitUsage
	}
	issuer, err := loadIssuer(*issuerPath)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	p, err := acl.Generate(issuer, acl.Options{Name: *name})
	var inexpressible *acl.Error
	switch {
	case errors.As(err, &inexpressible):
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitACLInexpressible
	case err != nil:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	if _, err := io.WriteString(stdout, p.HCL()); err != nil {
		fmt.Fprintf(stderr, "error: writing the policy: %v\n", err)
		return exitUsage
	}
	return exitACLPrinted
}
