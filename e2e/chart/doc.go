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

// Package chart proves the Helm chart on the real stack: every rendered
// object is accepted by kube-apiserver, the pods would pass the "restricted"
// Pod Security Standard, and the controller, run with the Deployment's own
// arguments as the chart's ServiceAccount under the chart's RBAC alone
// (kube-apiserver authorizes with Node,RBAC), signs the bank's Istio
// intermediate, is denied Secrets outside its namespace, and fails over
// between two replicas with leader election. It also checks the CRD's CEL
// validation messages.
//
// cert-manager runs with an admin kubeconfig, as in package e2e: only our
// controller is confined to the chart's RBAC.
package chart
