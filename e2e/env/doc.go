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

// Package env starts the real stack the end-to-end tests and the demo run
// on, every piece a real binary built by the Makefile into bin/: etcd and
// kube-apiserver (through controller-runtime's envtest), an OpenBao server
// with the PKI and AppRole engines, the cert-manager controllers and the
// vault-intermediate-issuer controller. Nothing is faked: Vault is configured
// through its HTTP API as a user would, and cert-manager writes every
// CertificateRequest status except the ones our controller signs.
//
// Every process logs to a file under the run's artifacts directory, so a
// failed run can be read afterwards and the logs can be scanned for secrets
// and, when the controller is the one built with -race, for data races.
package env
