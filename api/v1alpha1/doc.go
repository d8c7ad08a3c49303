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

// Package v1alpha1 holds the VaultIntermediateClusterIssuer API: the Vault
// connection a security team configures and the policy every intermediate CA
// request must satisfy before Vault is asked to sign it.
//
// The types carry the kubebuilder markers and CEL rules that become the CRD
// schema, so invalid issuers are rejected at admission rather than at signing
// time. Nothing in this package performs I/O.
//
// +kubebuilder:object:generate=true
// +groupName=pki.golemtrust.am
package v1alpha1
