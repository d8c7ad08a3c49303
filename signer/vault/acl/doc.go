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

// Package acl generates the Vault ACL policy for the AppRole of a
// VaultIntermediateClusterIssuer, so that the issuer's policy also holds at
// Vault when our controller is bypassed: whoever reads the AppRole secret ID
// can call Vault directly, and Vault's sign-intermediate applies no PKI role,
// only the token's ACL.
//
// The policy grants exactly the paths the controller uses, and on the sign
// path pins every parameter the controller sends (required_parameters) to
// the values the issuer's policy allows (allowed_parameters), in the very
// form signer/vault sends them (ListValue, AltNamesValue, IPStrings). Vault
// compares parameter values whole and type-sensitively, and its "*" is a
// prefix or suffix match over any characters, commas included; so only
// exact values are ever written, and every allowed combination of values is
// listed. A rule an ACL cannot express without allowing more than the
// policy (a glob, an IP range, a request without a common name) makes
// Generate refuse, naming each such rule; what no ACL can see (the key in
// the CSR, the TTL range) is stated in the policy's comments.
//
// The package is pure: no I/O, no Vault client, no Kubernetes client.
package acl
