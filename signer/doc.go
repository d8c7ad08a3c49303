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
// Sign runs four steps, each in a file of its own: decide (decide.go) judges
// the request with signer/policy before anything else, and a denied request
// never reaches Vault; signOrRecover (obtain.go, recover.go) returns the
// certificate Vault already issued for the request in an earlier attempt
// whose answer was lost, or journals the intent on the request and has Vault
// sign it through signer/vault with the validated subject passed explicitly;
// verify (verify.go) checks the certificate against the policy, the CSR and
// the chain; report (report.go) records the outcome and delivers the chain
// or withholds the certificate. What the journal on the request says is a
// hint, never an authority, and nothing is ever revoked.
//
// Check (check.go) proves that Sign will work: the policy is valid, the
// AppRole login works, the mount and issuer exist, the issuer's chain ends in
// a self-signed root, the token holds every capability a signing may need,
// and the server defines every sign parameter the policy makes the issuer
// send.
//
// The package knows nothing of reconcilers: issuer-lib owns conditions,
// retries and status patches. Every error returned says, in a comment at the
// return, which issuer-lib error class it is and why.
package signer
