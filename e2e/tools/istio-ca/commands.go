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
	"io"
	"time"
)

const defaultSPIFFEID = "spiffe://cluster.local/ns/default/sa/default"

func signWorkloadCommand(args []string, stderr io.Writer) (verdict, error) {
	fs := newFlagSet("sign-workload", stderr)
	dir := fs.String("cacerts", "", "directory with tls.crt, tls.key and ca.crt (required)")
	spiffeID := fs.String("spiffe-id", defaultSPIFFEID, "identity of the workload certificate")
	ttl := fs.Duration("ttl", time.Hour, "requested lifetime of the workload certificate")
	out := fs.String("out", "", "file to write the workload chain to (leaf first)")
	if err := fs.Parse(args); err != nil {
		return verdict{}, usagef("%v", err)
	}
	if *dir == "" {
		return verdict{}, usagef("--cacerts is required")
	}
	v := verdict{Command: "sign-workload"}
	refuse := func(stage string, err error) (verdict, error) {
		v.Stage, v.Error = stage, err.Error()
		return v, nil
	}

	bundle, err := tlsSecretMapping(*dir)
	if err != nil {
		return refuse("load", err)
	}
	v.Mapping = describeMapping(bundle)
	istioCA, err := newPluggedCA(bundle)
	if err != nil {
		return refuse("load", err)
	}
	signing, _, _, rootPEM := istioCA.GetCAKeyCertBundle().GetAll()
	v.CA = describeCert(signing)

	chainPEM, err := signWorkload(istioCA, *spiffeID, *ttl)
	if err != nil {
		return refuse("sign", err)
	}
	leaf, err := verifyWorkload(chainPEM, rootPEM, *spiffeID)
	if err != nil {
		return refuse("verify", err)
	}
	v.Workload = describeCert(leaf)
	v.Workload.ChainLength = countCerts(chainPEM)
	if err := writeChain(*out, chainPEM); err != nil {
		return refuse("write", err)
	}
	v.Workload.File = *out
	v.Accepted = true
	return v, nil
}

func reloadCommand(args []string, stderr io.Writer) (verdict, error) {
	fs := newFlagSet("reload", stderr)
	oldDir := fs.String("old", "", "directory of the cacerts istiod started with (required)")
	newDir := fs.String("new", "", "directory of the changed cacerts (required)")
	multiRoot := fs.Bool("multi-root", multiRootMesh.Get(), "ISTIO_MULTIROOT_MESH: accept a new ca.crt that is a subset or superset of the old one")
	oldWorkload := fs.String("old-workload", "", "a workload chain signed before the reload, to verify to the new root")
	spiffeID := fs.String("spiffe-id", defaultSPIFFEID, "identity of the workload certificates")
	ttl := fs.Duration("ttl", time.Hour, "requested lifetime of the workload certificate signed after the reload")
	out := fs.String("out", "", "file to write the workload chain signed after the reload to")
	if err := fs.Parse(args); err != nil {
		return verdict{}, usagef("%v", err)
	}
	if *oldDir == "" || *newDir == "" {
		return verdict{}, usagef("--old and --new are required")
	}
	v := verdict{Command: "reload", MultiRoot: multiRoot}
	refuse := func(stage string, err error) (verdict, error) {
		v.Stage, v.Error = stage, err.Error()
		return v, nil
	}

	oldBundle, err := tlsSecretMapping(*oldDir)
	if err != nil {
		return refuse("load", err)
	}
	istioCA, err := newPluggedCA(oldBundle)
	if err != nil {
		return refuse("load", err)
	}

	// What istiod's handleEvent does on a changed cacerts: map the files,
	// apply the root rule, then UpdateVerifiedKeyCertBundleFromFile, which
	// reads the files and calls VerifyAndSetAll.
	newBundle, err := tlsSecretMapping(*newDir)
	if err != nil {
		return refuse("load", err)
	}
	v.Mapping = describeMapping(newBundle)
	newRoot, err := readFile(newBundle.RootCertFile)
	if err != nil {
		return refuse("load", err)
	}
	changed, err := rootChangeAllowed(istioCA.GetCAKeyCertBundle().GetRootCertPem(), newRoot, *multiRoot)
	v.RootChanged = &changed
	if err != nil {
		return refuse("root", err)
	}
	if err := istioCA.GetCAKeyCertBundle().UpdateVerifiedKeyCertBundleFromFile(newBundle.SigningCertFile,
		newBundle.SigningKeyFile, newBundle.CertChainFiles, newBundle.RootCertFile, newBundle.CRLFile); err != nil {
		return refuse("reload", err)
	}
	signing, _, _, rootPEM := istioCA.GetCAKeyCertBundle().GetAll()
	v.CA = describeCert(signing)

	chainPEM, err := signWorkload(istioCA, *spiffeID, *ttl)
	if err != nil {
		return refuse("sign", err)
	}
	leaf, err := verifyWorkload(chainPEM, rootPEM, *spiffeID)
	if err != nil {
		return refuse("verify", err)
	}
	v.Workload = describeCert(leaf)
	v.Workload.ChainLength = countCerts(chainPEM)
	if err := writeChain(*out, chainPEM); err != nil {
		return refuse("write", err)
	}
	v.Workload.File = *out

	if *oldWorkload != "" {
		oldChain, err := readFile(*oldWorkload)
		if err != nil {
			return refuse("verify", err)
		}
		ok := false
		v.OldWorkloadVerified = &ok
		if _, err := verifyWorkload(oldChain, rootPEM, *spiffeID); err != nil {
			return refuse("verify", err)
		}
		ok = true
	}
	v.Accepted = true
	return v, nil
}

func verifyCommand(args []string, stderr io.Writer) (verdict, error) {
	fs := newFlagSet("verify", stderr)
	root := fs.String("root", "", "PEM file of the trusted roots (required)")
	chain := fs.String("chain", "", "PEM file of the workload chain, leaf first (required)")
	spiffeID := fs.String("spiffe-id", defaultSPIFFEID, "identity the leaf must carry")
	if err := fs.Parse(args); err != nil {
		return verdict{}, usagef("%v", err)
	}
	if *root == "" || *chain == "" {
		return verdict{}, usagef("--root and --chain are required")
	}
	v := verdict{Command: "verify"}
	refuse := func(stage string, err error) (verdict, error) {
		v.Stage, v.Error = stage, err.Error()
		return v, nil
	}
	rootPEM, err := readFile(*root)
	if err != nil {
		return refuse("load", err)
	}
	chainPEM, err := readFile(*chain)
	if err != nil {
		return refuse("load", err)
	}
	leaf, err := verifyWorkload(chainPEM, rootPEM, *spiffeID)
	if err != nil {
		return refuse("verify", err)
	}
	v.Workload = describeCert(leaf)
	v.Workload.ChainLength = countCerts(chainPEM)
	v.Accepted = true
	return v, nil
}
