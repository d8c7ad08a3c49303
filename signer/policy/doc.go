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

// Package policy judges intermediate CA requests against an issuer's
// IntermediatePolicy, and checks what Vault issued against the same policy.
//
// Vault's sign-intermediate endpoint applies no role constraints, so this
// package is the policy gate. It is pure: no I/O, no Kubernetes client, no
// Vault, no clock (time is passed in) and no package-level state. It imports
// nothing of this project but the API types.
//
// The CSR is the source of truth. Evaluate parses it (one PEM block, bounded
// size), checks the public key, and only then verifies the CSR's signature, so
// that an oversized RSA key is denied before any expensive work. It then reads
// the subject, the subject alternative names and the requested extensions from
// the CSR and checks that the request's namespace, isCA, usages and duration
// agree with the policy and with the CSR. Every rule is evaluated and every
// violation is reported, each as a field.Error whose path names the rule.
//
// Verify is the post-issuance check: Vault may shorten a TTL, ignore a
// parameter it does not know, or omit a path length constraint, and a
// certificate that does not match the decision must not be handed out.
package policy
