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

// Package signer implements issuer-lib's Check and Sign for
// VaultIntermediateClusterIssuer: the orchestration of one signing.
//
// Sign judges the request with signer/policy before anything else; a denied
// request never reaches Vault. An allowed one is sent to Vault through
// signer/vault with the validated subject passed explicitly, and what Vault
// returns is checked again against the policy and the CSR before it is
// handed back. Check proves the issuer can sign: the policy is valid, the
// AppRole login works, the mount and issuer exist and the token may call the
// sign path.
//
// The package knows nothing of reconcilers: issuer-lib owns conditions,
// retries and status patches. Every error returned says, in a comment at the
// return, which issuer-lib error class it is and why.
package signer
