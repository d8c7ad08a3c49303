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
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"time"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// Evaluate judges req against the policy p and reports every violated rule.
// It applies Default itself. A nil policy, or one that Validate rejects,
// denies everything.
//
// The order is: parse the CSR, check its public key, verify its signature
// (only if the key is allowed, so that CPU spent on a request is bounded),
// then every other rule. Rules that need the CSR are skipped when it does
// not parse; the request-level rules (namespace, isCA, duration, usages) are
// evaluated regardless, so a broken request reports all its defects at once.
func Evaluate(p *v1alpha1.IntermediatePolicy, req Request) Decision {
	csr, err := ParseCSR(req.CSR)
	return evaluate(p, req, csr, err, true)
}

// evaluate is Evaluate on a CSR already parsed (csr nil and parseErr set if
// it did not parse). checkSignature is false only in the benchmark that
// measures the rules alone.
func evaluate(p *v1alpha1.IntermediatePolicy, req Request, csr *x509.CertificateRequest, parseErr error, checkSignature bool) Decision {
	pol := Default(p)
	d := Decision{MaxPathLength: int(*pol.MaxPathLength)}
	if nc := pol.NameConstraints; nc != nil {
		// pol is Default's copy: the decision may keep its lists.
		d.PermittedDNSDomains, d.ExcludedDNSDomains = nc.PermittedDNSDomains, nc.ExcludedDNSDomains
	}

	errs := evaluatePolicy(p)
	if csr == nil {
		detail := "the request carries no CSR"
		if parseErr != nil {
			detail = parseErr.Error()
		}
		errs = append(errs, invalid(field.NewPath("csr"), nil, "%s", detail))
	} else {
		d.CSR = csr
		keyErrs := evaluatePublicKey(pol, csr)
		errs = append(errs, keyErrs...)
		if len(keyErrs) == 0 && checkSignature {
			errs = append(errs, evaluateSignature(csr)...)
		}
	}
	errs = append(errs, evaluateNamespace(pol, req)...)
	errs = append(errs, evaluateRequester(pol, req)...)
	errs = append(errs, evaluateIsCA(req)...)

	var durationErrs field.ErrorList
	d.Duration, durationErrs = evaluateDuration(pol, req)
	errs = append(errs, durationErrs...)

	usages, usageErrs := evaluateUsages(pol, req)
	d.KeyUsage = usages.keyUsage
	errs = append(errs, usageErrs...)

	if csr != nil {
		var subjectErrs field.ErrorList
		d.Subject, subjectErrs = evaluateSubject(pol, csr)
		errs = append(errs, subjectErrs...)
		errs = append(errs, evaluateSubjectAltNames(pol, csr)...)
		errs = append(errs, evaluateExtensions(pol, req, csr, usages)...)
	}
	d.Violations = errs
	return d
}

// evaluatePolicy denies everything when there is no policy or it is invalid:
// an issuer whose policy does not validate is not Ready, but a request that
// races the condition must not be judged by a half-understood rule set.
func evaluatePolicy(p *v1alpha1.IntermediatePolicy) field.ErrorList {
	path := field.NewPath("policy")
	if p == nil {
		return field.ErrorList{forbidden(path, nil, "the issuer has no policy, so every request is denied")}
	}
	if errs := Validate(p); len(errs) > 0 {
		return field.ErrorList{forbidden(path, nil,
			"the issuer's policy is invalid (%d problems, the first: %s: %s), so every request is denied until it is fixed",
			len(errs), errs[0].Field, errs[0].Detail)}
	}
	return nil
}

// evaluateNamespace checks the request's namespace against allowedNamespaces.
// A Kubernetes CertificateSigningRequest has no namespace: it is allowed
// only by allowCertificateSigningRequests, and judged by the requester rules
// instead (which Validate requires with it).
func evaluateNamespace(pol *v1alpha1.IntermediatePolicy, req Request) field.ErrorList {
	path := field.NewPath("allowedNamespaces")
	if req.KubernetesCSR {
		if pol.AllowCertificateSigningRequests {
			return nil
		}
		return field.ErrorList{forbidden(field.NewPath("allowCertificateSigningRequests"), false,
			"the request is a Kubernetes CertificateSigningRequest, which is cluster-scoped, and this issuer's policy does not allow them; use a cert-manager CertificateRequest in an allowed namespace (allowed: %s), or set allowCertificateSigningRequests and requesters",
			quoteList(pol.AllowedNamespaces))}
	}
	if req.Namespace == "" {
		return field.ErrorList{forbidden(path, "",
			"the request has no namespace and only requests from listed namespaces are allowed (allowed: %s)",
			quoteList(pol.AllowedNamespaces))}
	}
	if slices.Contains(pol.AllowedNamespaces, req.Namespace) {
		return nil
	}
	return field.ErrorList{forbidden(path, req.Namespace, "namespace %s is not allowed (allowed: %s)",
		quote(req.Namespace), quoteList(pol.AllowedNamespaces))}
}

// evaluateRequester checks the requester against the requester rules: a
// listed user name, a listed ServiceAccount, or membership of a listed group.
// Without requester rules any requester is allowed. A request without a
// requester is denied when there are rules: for a CertificateRequest that
// means cert-manager's webhook, which records the requester, did not run.
func evaluateRequester(pol *v1alpha1.IntermediatePolicy, req Request) field.ErrorList {
	rp := pol.Requesters
	if rp == nil {
		return nil
	}
	path := field.NewPath("requesters")
	if req.Username == "" {
		what := "spec.username of the CertificateRequest is empty: cert-manager's webhook, which records the user that creates each CertificateRequest, is not running or not registered for certificaterequests"
		if req.KubernetesCSR {
			what = "spec.username of the CertificateSigningRequest is empty"
		}
		return field.ErrorList{forbidden(path, "",
			"the request names no requester (%s), so the policy's requester rules cannot be checked", what)}
	}
	if RequesterAllowed(rp, req.Username, req.Groups) {
		return nil
	}
	return field.ErrorList{forbidden(path, req.Username,
		"requester %s (groups: %s) is not allowed (allowed users: %s; groups: %s; ServiceAccounts: %s)",
		quote(req.Username), quoteList(req.Groups), quoteList(rp.Usernames), quoteList(rp.Groups),
		quoteList(serviceAccountUsers(rp.ServiceAccounts)))}
}

// RequesterAllowed reports whether the user, with its groups, is allowed by
// the requester rules: its name is listed in usernames, it is one of the
// serviceAccounts, or one of its groups is listed in groups. Exact,
// case-sensitive matches only.
func RequesterAllowed(rp *v1alpha1.RequesterPolicy, username string, groups []string) bool {
	if username == "" {
		return false
	}
	if slices.Contains(rp.Usernames, username) || slices.Contains(serviceAccountUsers(rp.ServiceAccounts), username) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(rp.Groups, g) {
			return true
		}
	}
	return false
}

// serviceAccountUsers are the user names of the ServiceAccounts, as the API
// server authenticates their tokens.
func serviceAccountUsers(sas []v1alpha1.ServiceAccountReference) []string {
	users := make([]string, 0, len(sas))
	for _, sa := range sas {
		users = append(users, "system:serviceaccount:"+sa.Namespace+":"+sa.Name)
	}
	return users
}

// evaluateIsCA requires a CA request: this issuer signs intermediates only.
func evaluateIsCA(req Request) field.ErrorList {
	if req.IsCA {
		return nil
	}
	return field.ErrorList{forbidden(field.NewPath("isCA"), false,
		"the request is not a CA request (isCA is false); this issuer signs intermediate CA certificates only")}
}

// evaluateDuration returns the effective duration, the request's or the
// policy default, and checks it against [min, max].
func evaluateDuration(pol *v1alpha1.IntermediatePolicy, req Request) (time.Duration, field.ErrorList) {
	base := field.NewPath("duration")
	dp := pol.Duration
	var effective time.Duration
	switch {
	case req.Duration != nil:
		effective = *req.Duration
	case dp.Default != nil:
		effective = dp.Default.Duration
	default:
		return 0, field.ErrorList{forbidden(base.Child("default"), nil,
			"the request carries no duration and the policy has no default duration; request between %s and %s",
			dp.Min.Duration, dp.Max.Duration)}
	}
	switch {
	case effective <= 0:
		return effective, field.ErrorList{invalid(base, effective.String(),
			"duration %s is not positive; request between %s and %s", effective, dp.Min.Duration, dp.Max.Duration)}
	case effective < dp.Min.Duration:
		return effective, field.ErrorList{forbidden(base.Child("min"), effective.String(),
			"duration %s is shorter than the minimum %s", effective, dp.Min.Duration)}
	case effective > dp.Max.Duration:
		return effective, field.ErrorList{forbidden(base.Child("max"), effective.String(),
			"duration %s is longer than the maximum %s", effective, dp.Max.Duration)}
	}
	return effective, nil
}

// requestedUsages are the usages a request asks for, as X.509 values, after
// cert-manager's defaults.
type requestedUsages struct {
	keyUsage    x509.KeyUsage
	extKeyUsage []x509.ExtKeyUsage
}

// evaluateUsages checks every requested usage: key usages against
// keyUsages.allowed, extended ones against extKeyUsages.allowed. They are
// compared as X.509 values, so "signing" and "digital signature" are the
// same usage. A request without usages asks for cert-manager's defaults,
// and a CA request always implies cert sign, exactly as cert-manager
// computes the usages it writes into the CSR.
func evaluateUsages(pol *v1alpha1.IntermediatePolicy, req Request) (requestedUsages, field.ErrorList) {
	var ru requestedUsages
	// Unknown usages are reported one by one below; the error only repeats
	// them.
	ru.keyUsage, ru.extKeyUsage, _ = pki.KeyUsagesForCertificateOrCertificateRequest(req.Usages, req.IsCA)

	allowed := keyUsageBits(pol.KeyUsages.Allowed)
	allowedExt := extKeyUsages(pol.ExtKeyUsages.Allowed)
	usages, how := req.Usages, ""
	if len(usages) == 0 {
		usages, how = cmapi.DefaultKeyUsages(), " (cert-manager's default for a request without usages)"
	}
	var errs field.ErrorList
	var denied x509.KeyUsage
	for i, u := range usages {
		if bit, ok := apiutil.KeyUsageType(u); ok {
			if allowed&bit == 0 && denied&bit == 0 {
				denied |= bit
				errs = append(errs, forbidden(field.NewPath("keyUsages", "allowed"), string(u),
					"key usage %s%s is not allowed (allowed: %s)", quote(string(u)), how, quoteList(pol.KeyUsages.Allowed)))
			}
			continue
		}
		if eku, ok := apiutil.ExtKeyUsageType(u); ok {
			if !slices.Contains(allowedExt, eku) {
				errs = append(errs, forbidden(field.NewPath("extKeyUsages", "allowed"), string(u),
					"extended key usage %s is not allowed (allowed: %s)", quote(string(u)), quoteList(pol.ExtKeyUsages.Allowed)))
			}
			continue
		}
		errs = append(errs, violation(field.ErrorTypeNotSupported, field.NewPath("usages").Index(i), string(u),
			"usage %s is not a key usage or extended key usage that cert-manager knows", quote(string(u))))
	}
	if req.IsCA && allowed&x509.KeyUsageCertSign == 0 && denied&x509.KeyUsageCertSign == 0 {
		errs = append(errs, forbidden(field.NewPath("keyUsages", "allowed"), string(cmapi.UsageCertSign),
			"key usage \"cert sign\", which every CA request implies, is not allowed (allowed: %s)", quoteList(pol.KeyUsages.Allowed)))
	}
	return ru, errs
}

// keyUsageBits is the union of the key usages named; names that are not key
// usages are ignored (Validate reports them).
func keyUsageBits(usages []cmapi.KeyUsage) x509.KeyUsage {
	var bits x509.KeyUsage
	for _, u := range usages {
		if bit, ok := apiutil.KeyUsageType(u); ok {
			bits |= bit
		}
	}
	return bits
}

// extKeyUsages are the extended key usages named; names that are not
// extended key usages are ignored (Validate reports them).
func extKeyUsages(usages []cmapi.KeyUsage) []x509.ExtKeyUsage {
	var out []x509.ExtKeyUsage
	for _, u := range usages {
		if eku, ok := apiutil.ExtKeyUsageType(u); ok {
			out = append(out, eku)
		}
	}
	return out
}

// evaluatePublicKey checks the CSR's public key: algorithm, RSA size, ECDSA
// curve. It runs before the signature check, which it guards.
func evaluatePublicKey(pol *v1alpha1.IntermediatePolicy, csr *x509.CertificateRequest) field.ErrorList {
	base := field.NewPath("privateKey")
	kp := pol.PrivateKey
	var alg v1alpha1.PrivateKeyAlgorithm
	var errs field.ErrorList
	switch key := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		alg = v1alpha1.RSAKeyAlgorithm
		bits := key.N.BitLen()
		if bits < int(*kp.MinRSASize) {
			errs = append(errs, forbidden(base.Child("minRSASize"), bits,
				"the CSR's RSA key has %d bits; at least %d are required", bits, *kp.MinRSASize))
		}
		if bits > int(*kp.MaxRSASize) {
			errs = append(errs, forbidden(base.Child("maxRSASize"), bits,
				"the CSR's RSA key has %d bits; at most %d are accepted (the CSR's signature was not checked)", bits, *kp.MaxRSASize))
		}
	case *ecdsa.PublicKey:
		alg = v1alpha1.ECDSAKeyAlgorithm
		curve := v1alpha1.ECDSACurve(key.Curve.Params().Name)
		if !slices.Contains(kp.ECDSACurves, curve) {
			errs = append(errs, forbidden(base.Child("ecdsaCurves"), string(curve),
				"the CSR's ECDSA key is on curve %s, which is not allowed (allowed: %s)", quote(string(curve)), quoteList(kp.ECDSACurves)))
		}
	case ed25519.PublicKey:
		alg = v1alpha1.Ed25519KeyAlgorithm
	default:
		return field.ErrorList{forbidden(base.Child("algorithms"), csr.PublicKeyAlgorithm.String(),
			"the CSR's public key algorithm %s is not supported (allowed: %s)", csr.PublicKeyAlgorithm, quoteList(kp.Algorithms))}
	}
	if !slices.Contains(kp.Algorithms, alg) {
		errs = append(errs, forbidden(base.Child("algorithms"), string(alg),
			"%s keys are not allowed (allowed: %s)", alg, quoteList(kp.Algorithms)))
	}
	return errs
}

// evaluateSignature verifies the CSR's proof of possession of its key.
func evaluateSignature(csr *x509.CertificateRequest) field.ErrorList {
	path := field.NewPath("csr")
	switch csr.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.DSAWithSHA256:
		return field.ErrorList{forbidden(path, csr.SignatureAlgorithm.String(),
			"the CSR is signed with %s, which is not accepted; sign it with SHA-256 or stronger", csr.SignatureAlgorithm)}
	}
	if err := csr.CheckSignature(); err != nil {
		return field.ErrorList{invalid(path, nil, "the CSR's signature does not verify with its own public key: %v", err)}
	}
	return nil
}
