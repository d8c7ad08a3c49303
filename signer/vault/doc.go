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

// Package vault is the narrow Vault client the signer needs: AppRole login
// with one cached token per issuer, TLS and namespace configuration, a check
// of every capability a signing needs, the sign path's own description of its
// parameters, sign-intermediate, reading certificates back, an index of a
// mount's certificates that a search reads incrementally, and a
// classification of every failure. It never revokes a certificate.
//
// It knows nothing of Kubernetes or of the policy: callers pass credentials
// they read from Secrets and a request the policy already validated. Every
// call takes a context and is bounded by the configured request timeout.
// Errors never carry tokens or secret IDs: Vault's error text is sanitised and
// capped before it is returned.
package vault
