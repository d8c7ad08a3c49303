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
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxCSRPEMSize is the largest CSR PEM accepted (64 KiB).
const MaxCSRPEMSize = 64 << 10

// Request is a certificate request under judgment, normalised from a
// cert-manager CertificateRequest or a Kubernetes CertificateSigningRequest.
type Request struct {
	// Namespace of the CertificateRequest; "" for a (cluster-scoped)
	// Kubernetes CertificateSigningRequest.
	Namespace string
	// KubernetesCSR is true for a Kubernetes CertificateSigningRequest,
	// false for a cert-manager CertificateRequest.
	KubernetesCSR bool
	// Username and Groups are the requester: spec.username and spec.groups
	// of the request, which cert-manager's webhook (CertificateRequest) or
	// the API server (CertificateSigningRequest) fills in. Empty when
	// nothing filled them in.
	Username string
	Groups   []string
	// CSR is the PEM as found in the request.
	CSR []byte
	// IsCA is the request's isCA field.
	IsCA bool
	// Duration is the request's duration; nil when it carried none.
	Duration *time.Duration
	// Usages are the request's usages as written; empty means
	// cert-manager's defaults for a CA.
	Usages []cmapi.KeyUsage
}

// Decision is what Evaluate concluded.
type Decision struct {
	// Violations lists every violated rule; empty means allowed.
	Violations field.ErrorList
	// CSR is the parsed CSR, nil if it could not be parsed.
	CSR *x509.CertificateRequest
	// Duration is the effective validity: the request's, or the policy
	// default.
	Duration time.Duration
	// Subject is the validated subject, exactly what Vault must put in the
	// certificate.
	Subject pkix.Name
	// MaxPathLength is the path length the issued certificate must get (the
	// policy's value).
	MaxPathLength int
	// KeyUsage holds the requested key usages (bits), after cert-manager's
	// CA defaults.
	KeyUsage x509.KeyUsage
	// PermittedDNSDomains and ExcludedDNSDomains are the name constraints to
	// send to Vault.
	PermittedDNSDomains, ExcludedDNSDomains []string
}

// Allowed reports whether the request satisfied every rule.
func (d Decision) Allowed() bool {
	return len(d.Violations) == 0
}

// Message renders every violation, one per line, each as
// "<field path>: <detail>".
func (d Decision) Message() string {
	return FormatViolations(d.Violations)
}

// FormatViolations renders errs one per line, each as "<field path>:
// <detail>". Unlike field.Error's own rendering it leaves out the error type,
// because the detail of every error this package builds is a complete
// statement of what was seen and what is allowed.
func FormatViolations(errs field.ErrorList) string {
	var b strings.Builder
	for i, err := range errs {
		if err == nil {
			continue
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Field)
		b.WriteString(": ")
		if err.Detail != "" {
			b.WriteString(err.Detail)
		} else {
			// Errors built elsewhere (field.Invalid without a detail, for
			// example) still render as one line.
			b.WriteString(err.ErrorBody())
		}
	}
	return b.String()
}

// Rule returns the stable rule name of a violation for metrics: the field
// path without list indices or map keys, e.g. "subject.organizations".
func Rule(err *field.Error) string {
	if err == nil {
		return ""
	}
	path := err.Field
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	depth := 0
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// violation builds a field.Error whose Detail is the complete message.
func violation(t field.ErrorType, path *field.Path, value any, format string, args ...any) *field.Error {
	return &field.Error{
		Type:     t,
		Field:    path.String(),
		BadValue: value,
		Detail:   fmt.Sprintf(format, args...),
	}
}

// forbidden is a violation of a rule of the policy.
func forbidden(path *field.Path, value any, format string, args ...any) *field.Error {
	return violation(field.ErrorTypeForbidden, path, value, format, args...)
}

// invalid is a malformed value.
func invalid(path *field.Path, value any, format string, args ...any) *field.Error {
	return violation(field.ErrorTypeInvalid, path, value, format, args...)
}

// maxListed caps how many allowed values a message lists.
const maxListed = 8

// quoteList renders values as `"a", "b"`, listing at most maxListed of
// them.
func quoteList[T ~string](values []T) string {
	if len(values) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, v := range values {
		if i == maxListed {
			fmt.Fprintf(&b, ", and %d more", len(values)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(string(v)))
	}
	return b.String()
}

// maxQuoted caps how much of a value a message shows; a 60 KiB value must
// not become a 60 KiB condition message.
const maxQuoted = 128

// quote renders s with %q, shortened to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:maxQuoted], len(s))
}
