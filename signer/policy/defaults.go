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

package policy

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// The defaults of the CRD's +kubebuilder:default markers. They are functions,
// not package variables, so that no caller can change them.
func defaultAllowedKeyUsages() []cmapi.KeyUsage {
	return []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageCertSign, cmapi.UsageCRLSign}
}

func defaultRequiredKeyUsages() []cmapi.KeyUsage {
	return []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign}
}

func defaultAlgorithms() []v1alpha1.PrivateKeyAlgorithm {
	return []v1alpha1.PrivateKeyAlgorithm{v1alpha1.RSAKeyAlgorithm, v1alpha1.ECDSAKeyAlgorithm}
}

func defaultCurves() []v1alpha1.ECDSACurve {
	return []v1alpha1.ECDSACurve{v1alpha1.CurveP256, v1alpha1.CurveP384}
}

const (
	defaultMinRSASize    = 2048
	defaultMaxRSASize    = 8192
	defaultMaxPathLength = 0
)

// Default returns a deep copy of p with the defaults of the CRD's
// +kubebuilder:default markers applied, for policies that never went through
// an API server (a manifest read by the policy check command, a test). Like
// the API server it fills in only fields that are absent: an explicitly empty
// list stays empty. A nil policy yields a defaulted empty policy, which
// allows nothing.
func Default(p *v1alpha1.IntermediatePolicy) *v1alpha1.IntermediatePolicy {
	var out *v1alpha1.IntermediatePolicy
	if p == nil {
		out = &v1alpha1.IntermediatePolicy{}
	} else {
		out = p.DeepCopy()
	}
	if out.KeyUsages.Allowed == nil {
		out.KeyUsages.Allowed = defaultAllowedKeyUsages()
	}
	if out.KeyUsages.Required == nil {
		out.KeyUsages.Required = defaultRequiredKeyUsages()
	}
	if out.PrivateKey.Algorithms == nil {
		out.PrivateKey.Algorithms = defaultAlgorithms()
	}
	if out.PrivateKey.MinRSASize == nil {
		out.PrivateKey.MinRSASize = ptr(int32(defaultMinRSASize))
	}
	if out.PrivateKey.MaxRSASize == nil {
		out.PrivateKey.MaxRSASize = ptr(int32(defaultMaxRSASize))
	}
	if out.PrivateKey.ECDSACurves == nil {
		out.PrivateKey.ECDSACurves = defaultCurves()
	}
	if out.MaxPathLength == nil {
		out.MaxPathLength = ptr(int32(defaultMaxPathLength))
	}
	return out
}

func ptr[T any](v T) *T {
	return &v
}
