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

// Package e2e holds the end-to-end tests of vault-intermediate-issuer. They
// run on the real stack that package env starts (kube-apiserver + etcd,
// OpenBao, the cert-manager controllers and the issuer binary) and assert
// what a bank's platform team would check by hand: the Istio cacerts Secret,
// its chain, and that Vault issued nothing for a denied request.
package e2e
