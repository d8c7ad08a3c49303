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
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// The reasons of the VaultReady condition that are not Vault failure classes
// (those are vault.Class values).
const (
	// ReasonChecked: the last check or signing proved the issuer can sign.
	ReasonChecked = "Checked"
	// ReasonPolicyInvalid: the policy cannot be evaluated.
	ReasonPolicyInvalid = "PolicyInvalid"
	// ReasonSecretNotFound: a Secret or key the spec names is missing.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonRootMismatch: the Vault issuer's chain does not end in the root
	// pinned by spec.vault.rootFingerprint.
	ReasonRootMismatch = "RootMismatch"
	// ReasonConfigInvalid: the connection settings cannot be used (for
	// example a CA bundle without a certificate).
	ReasonConfigInvalid = "ConfigInvalid"
	// ReasonIncompleteChain: the Vault issuer's chain does not end in a
	// self-signed root, so ca.crt could not be filled.
	ReasonIncompleteChain = "IncompleteChain"
	// ReasonUnsupportedParameter: the policy makes the issuer send a sign
	// parameter the server does not define (and would ignore).
	ReasonUnsupportedParameter = "UnsupportedParameter"
)

// The decisions of an Outcome. They are the values of the audit log's
// "decision" key and of the requests_total metric's label: stable API.
const (
	DecisionIssued             = "issued"
	DecisionDenied             = "denied"
	DecisionVerificationFailed = "verification_failed"
	DecisionFailed             = "failed"
)

// reasonError is an error that carries the VaultReady reason it stands for.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func withReason(reason string, err error) error {
	return &reasonError{reason: reason, err: err}
}

// Reason returns the VaultReady condition reason for err: ReasonChecked for
// nil, the Vault failure class for Vault errors, and one of the reasons above
// otherwise.
func Reason(err error) string {
	if err == nil {
		return ReasonChecked
	}
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	if c := vault.ClassOf(err); c != "" {
		return string(c)
	}
	return string(vault.ClassTransient)
}

// RequestRef identifies the request a decision was about, and carries the
// object itself so that Events can be attached to it.
type RequestRef struct {
	Kind      string
	Namespace string
	Name      string
	UID       types.UID
	// Requester is the request's spec.username.
	Requester string
	// Certificate is the cert-manager Certificate that owns the request
	// (its cert-manager.io/certificate-name annotation), if any.
	Certificate string
	// Created is the request's creation time: no certificate issued
	// before it can be the request's.
	Created time.Time
	// Object is the request's API object.
	Object runtime.Object
	// Approval is the request's Approved condition, nil if it has none.
	Approval *Approval
}

// Approval is what the approver of a request wrote in its Approved
// condition. Kubernetes records no approver's name; the reason and message
// are what an audit can show.
type Approval struct {
	Reason  string
	Message string
}

// Outcome is one signing decision, for the audit trail: status, Events, the
// audit log and metrics. It never holds secrets: no token, no secret ID, no
// private key, no CSR.
type Outcome struct {
	// Decision is one of the Decision constants.
	Decision string
	Request  RequestRef
	// PolicyDigest is the digest of the policy the decision was made under.
	PolicyDigest string
	// Subject is the validated subject (RFC 2253), or the CSR's when the
	// request was denied.
	Subject string
	// SANs are the subject alternative names of the request.
	SANs []string
	// Violations are the broken rules, each "<rule>: <detail>".
	Violations []string
	// RuleNames are the stable rule names of Violations, for metrics.
	RuleNames []string
	// SerialNumber, Fingerprint and NotAfter describe the certificate Vault
	// issued (issued and verification_failed).
	SerialNumber string
	Fingerprint  string
	NotAfter     time.Time
	// VaultRequestID joins Vault's audit log; empty for a certificate
	// recovered after its answer was lost.
	VaultRequestID string
	// Recovered tells that the certificate was found in Vault after the
	// answer to an earlier attempt was lost, instead of being signed now.
	Recovered bool
	// Err is the failure of a failed decision.
	Err error
}

// Mismatch is a VaultSerial record on a request that names a certificate
// which is not the request's. It was ignored: nothing was delivered or
// revoked because of it.
type Mismatch struct {
	Request RequestRef
	// Serial is the serial the record names.
	Serial string
	// Reason says why the certificate is not the request's.
	Reason string
	// PolicyDigest is the digest of the policy in force.
	PolicyDigest string
}

// Recorder is told about every check and every decision. The controllers
// package implements it with status, Events, audit log lines and metrics;
// the signer only reports. Implementations must be safe for concurrent use
// and must not fail the signing: errors are theirs to log.
type Recorder interface {
	// VaultState reports the result of a check or of a Vault call made while
	// signing: nil means Vault proved it can sign.
	VaultState(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, err error)
	// Decided reports one decision on a request.
	Decided(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, o Outcome)
	// VaultWarnings reports the warnings Vault attached to a signing.
	VaultWarnings(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, req RequestRef, warnings []string)
	// JournalMismatch reports a VaultSerial record on a request that was
	// ignored because it names a certificate that is not the request's.
	JournalMismatch(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, m Mismatch)
}

// nopRecorder is used when the caller sets none (the offline dry run).
type nopRecorder struct{}

func (nopRecorder) VaultState(context.Context, *v1alpha1.VaultIntermediateClusterIssuer, error) {}
func (nopRecorder) Decided(context.Context, *v1alpha1.VaultIntermediateClusterIssuer, Outcome)  {}
func (nopRecorder) VaultWarnings(context.Context, *v1alpha1.VaultIntermediateClusterIssuer, RequestRef, []string) {
}
func (nopRecorder) JournalMismatch(context.Context, *v1alpha1.VaultIntermediateClusterIssuer, Mismatch) {
}
