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

package signer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// transientRetry is how long a request waits before retrying after a
// transient Vault failure (rate limiting, 5xx).
const transientRetry = 10 * time.Second

// intentRetry is how long a request waits before retrying when its intent
// could not be written on it.
const intentRetry = 5 * time.Second

// issuance is the certificate Vault issued for a request: to this very call,
// or to an earlier attempt whose answer was lost.
type issuance struct {
	resp *vault.SignResponse
	// recovered: found in Vault instead of signed now.
	recovered bool
	// replay: this process already delivered it; no second decision.
	replay bool
	// revoked: Vault has revoked it (recovered certificates only).
	revoked bool
}

// signOrRecover returns the certificate of the request: the one this process
// already delivered (when issuer-lib calls again before its cache caught
// up), the one an earlier attempt obtained and never delivered, or, when
// there is none, a new one signed by Vault after the intent was journaled on
// the request.
func (s *Signer) signOrRecover(ctx context.Context, sg *signing) (*issuance, error) {
	vc, creds, err := s.connect(ctx, sg.iss)
	if err != nil {
		s.recorder().VaultState(ctx, sg.iss, err)
		// Issuer: the issuer's configuration (Secrets, bundle) is unusable;
		// the issuer goes not Ready and the request waits for it.
		return nil, libsigner.IssuerError{Err: err}
	}
	sg.vc, sg.creds = vc, creds

	entry := s.journal().lookup(sg.ref)
	switch {
	case entry.failed != nil:
		// Permanent: this process already failed the request for good;
		// issuer-lib's cache has not caught up with that yet.
		return nil, libsigner.PermanentError{Err: entry.failed}
	case entry.delivered != "":
		got, err := s.readIssued(ctx, sg, entry.delivered)
		if err != nil {
			return nil, s.vaultFailure(ctx, sg, err) // classified by vaultFailure
		}
		got.replay = true
		return got, nil
	}
	if entry.hint != "" {
		got, err := s.recoverHinted(ctx, sg, entry.hint)
		if err != nil || got != nil {
			return got, err // classified by recoverHinted
		}
	}
	if !entry.intent.IsZero() {
		got, err := s.recoverLost(ctx, sg, entry.intent)
		if err != nil || got != nil {
			return got, err // classified by recoverLost
		}
	}
	return s.signNow(ctx, sg, !entry.intent.IsZero())
}

// signNow has Vault sign the request: after proving the server defines
// every parameter sent, and after journaling the intent on the request
// unless an earlier attempt's intent is already there.
func (s *Signer) signNow(ctx context.Context, sg *signing, intentOnRecord bool) (*issuance, error) {
	req := signRequest(sg.req.CSR, sg.decision)
	if err := s.checkSignParameters(ctx, sg.vc, sg.creds, req.Params()); err != nil {
		if Reason(err) == ReasonUnsupportedParameter {
			s.recorder().VaultState(ctx, sg.iss, err)
			// Issuer: the server would ignore a parameter the policy
			// needs and issue a certificate without it; nothing can be
			// signed until the server or the policy changes, which the
			// issuer's check reports as not Ready.
			return nil, libsigner.IssuerError{Err: err}
		}
		return nil, s.vaultFailure(ctx, sg, err) // classified by vaultFailure
	}
	if !intentOnRecord {
		if err := s.journal().intent(ctx, sg.ref, s.now()); err != nil {
			// Pending: without the intent on the request, a crash after
			// Vault's answer could not be recovered from, so Vault is not
			// asked. The Kubernetes API is what failed: waiting helps, and a
			// PendingError is never turned into a failure by
			// MaxRetryDuration, which counts from the request's creation and
			// would fail a request that waited through a Vault outage at
			// the first API hiccup.
			return nil, libsigner.PendingError{RequeueAfter: intentRetry, Err: fmt.Errorf(
				"could not journal the intent to sign on the request, so Vault was not asked to sign; retrying: %w", err)}
		}
		faultPoint("kill-after-intent")
	}
	resp, err := sg.vc.SignIntermediate(ctx, sg.creds, req)
	if err != nil {
		return nil, s.vaultFailure(ctx, sg, err) // classified by vaultFailure
	}
	faultPoint("kill-after-vault-answer")
	return &issuance{resp: resp}, nil
}

// parameterFields names the policy field that makes the issuer send each
// optional sign parameter, for messages.
var parameterFields = map[string]string{
	"organization":          "spec.policy.subject.organizations",
	"ou":                    "spec.policy.subject.organizationalUnits",
	"country":               "spec.policy.subject.countries",
	"locality":              "spec.policy.subject.localities",
	"province":              "spec.policy.subject.provinces",
	"street_address":        "spec.policy.subject.streetAddresses",
	"postal_code":           "spec.policy.subject.postalCodes",
	"serial_number":         "spec.policy.subject.serialNumber",
	"alt_names":             "spec.policy.subjectAltNames.dnsNames/emailAddresses",
	"ip_sans":               "spec.policy.subjectAltNames.ipAddresses",
	"uri_sans":              "spec.policy.subjectAltNames.uris",
	"permitted_dns_domains": "spec.policy.nameConstraints.permittedDNSDomains",
	"excluded_dns_domains":  "spec.policy.nameConstraints.excludedDNSDomains",
}

// checkSignParameters fails with ReasonUnsupportedParameter when the server's
// sign path does not define one of params: Vault and OpenBao ignore an
// unknown parameter with a warning and sign anyway, so the certificate would
// lack what the policy demands.
func (s *Signer) checkSignParameters(ctx context.Context, vc *vault.Client, creds vault.Credentials, params map[string]any) error {
	desc, err := vc.DescribeSignPath(ctx, creds)
	if err != nil {
		return err // a Vault error, classified by the caller
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	missing := desc.Missing(names)
	if len(missing) == 0 {
		return nil
	}
	described := make([]string, 0, len(missing))
	for _, name := range missing {
		if field, ok := parameterFields[name]; ok {
			described = append(described, fmt.Sprintf("%s (from %s)", name, field))
		} else {
			described = append(described, name)
		}
	}
	return withReason(ReasonUnsupportedParameter, fmt.Errorf(
		"%s does not define the sign parameter(s) %s on %s, which this issuer's policy makes it send; the server would ignore them with a warning and issue a certificate without them, so nothing is signed: remove them from the policy or use a server that supports them",
		desc.Server, strings.Join(described, ", "), vc.SignPath()))
}

// vaultFailure records a failed Vault call and classifies it for issuer-lib.
func (s *Signer) vaultFailure(ctx context.Context, sg *signing, err error) error {
	classified := classifySignError(err)
	if errors.As(classified, &libsigner.PermanentError{}) {
		s.recorder().Decided(ctx, sg.iss, Outcome{Decision: DecisionFailed, Request: sg.ref, PolicyDigest: sg.digest, Err: err})
	} else {
		s.recorder().VaultState(ctx, sg.iss, err)
	}
	return classified
}

// classifySignError maps a Vault failure to issuer-lib's error classes.
func classifySignError(err error) error {
	switch vault.ClassOf(err) {
	case vault.ClassInvalidRequest:
		// Permanent: Vault rejected this CSR as invalid (HTTP 400); the
		// same request would be rejected again.
		return libsigner.PermanentError{Err: fmt.Errorf("Vault rejected the request: %w", err)}
	case vault.ClassUnreachable, vault.ClassTLS, vault.ClassSealed, vault.ClassAuthFailed,
		vault.ClassPermissionDenied, vault.ClassNotFound:
		// Issuer: Vault cannot sign for anyone right now; the issuer goes
		// not Ready, re-checks with backoff, and the request waits for it
		// instead of failing.
		return libsigner.IssuerError{Err: err}
	default:
		// Pending: rate limiting or a server error; waiting helps, and a
		// PendingError is never turned into a failure by MaxRetryDuration.
		return libsigner.PendingError{Err: err, RequeueAfter: transientRetry}
	}
}

func signRequest(csrPEM []byte, d policy.Decision) vault.SignRequest {
	return vault.SignRequest{
		CSRPEM:              csrPEM,
		Subject:             d.Subject,
		DNSNames:            d.CSR.DNSNames,
		IPAddresses:         d.CSR.IPAddresses,
		URIs:                d.CSR.URIs,
		EmailAddresses:      d.CSR.EmailAddresses,
		TTL:                 d.Duration,
		MaxPathLength:       d.MaxPathLength,
		PermittedDNSDomains: d.PermittedDNSDomains,
		ExcludedDNSDomains:  d.ExcludedDNSDomains,
	}
}
