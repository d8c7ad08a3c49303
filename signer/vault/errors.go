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

package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
)

// Class tells apart the failures that need different handling: whether the
// issuer is unusable until someone acts, whether waiting helps, or whether
// the request itself is at fault.
type Class string

// The failure classes. Each one is also the reason of the issuer's Ready
// condition when Check fails with it, so the names are stable API.
const (
	// ClassUnreachable: no HTTP answer from Vault (connection refused, DNS,
	// timeout).
	ClassUnreachable Class = "VaultUnreachable"
	// ClassTLS: the TLS handshake failed, usually a wrong CA bundle or server
	// name.
	ClassTLS Class = "VaultTLSError"
	// ClassSealed: Vault answered that it is sealed.
	ClassSealed Class = "VaultSealed"
	// ClassAuthFailed: the AppRole login was rejected (wrong role ID or
	// secret ID, or the role was deleted).
	ClassAuthFailed Class = "AuthFailed"
	// ClassPermissionDenied: the token lacks a capability on the path.
	ClassPermissionDenied Class = "PermissionDenied"
	// ClassNotFound: the PKI mount or the referenced issuer does not exist or
	// has no CA.
	ClassNotFound Class = "MountOrIssuerMissing"
	// ClassInvalidRequest: Vault rejected the request as invalid (HTTP 400);
	// retrying the same request cannot succeed.
	ClassInvalidRequest Class = "InvalidRequest"
	// ClassTransient: rate limiting, a server error or an unexpected answer;
	// retrying later may succeed.
	ClassTransient Class = "VaultError"
)

// Error is a classified Vault failure. Its message is safe to show in
// conditions, Events and logs.
type Error struct {
	// Class of the failure.
	Class Class
	// Op is what was attempted, for example "login" or "sign-intermediate".
	Op string
	// StatusCode is the HTTP status Vault answered with, 0 if none.
	StatusCode int
	// Message is Vault's sanitised error text or a description of the
	// transport failure.
	Message string
}

func (e *Error) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s: %s failed with HTTP %d: %s", e.Class, e.Op, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s: %s failed: %s", e.Class, e.Op, e.Message)
}

// ClassOf returns the class of err, or "" when err is not a classified Vault
// error.
func ClassOf(err error) Class {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Class
	}
	return ""
}

// maxMessageBytes caps Vault's error text before it reaches a condition or an
// Event.
const maxMessageBytes = 1024

// tokenLike matches Vault service and batch tokens (hvs., hvb., s., b.
// prefixes, OpenBao's too) and UUID-shaped secrets such as secret IDs and
// accessors, which must never be echoed to users.
var tokenLike = regexp.MustCompile(`\b(hv[sbr]\.|s\.|b\.|r\.)[A-Za-z0-9_-]{8,}|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)

// Sanitize removes anything shaped like a token or secret ID from s and caps
// it at about 1 KiB.
func Sanitize(s string) string {
	s = tokenLike.ReplaceAllString(s, "[redacted]")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + " [truncated]"
	}
	return s
}

// classify turns an error from the Vault API client into an *Error.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *Error
	if errors.As(err, &ve) {
		return err
	}
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		msg := Sanitize(strings.Join(re.Errors, "; "))
		return &Error{Class: classifyStatus(op, re.StatusCode, msg), Op: op, StatusCode: re.StatusCode, Message: msg}
	}
	if isTLSError(err) {
		return &Error{Class: ClassTLS, Op: op, Message: Sanitize(transportMessage(err))}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Class: ClassUnreachable, Op: op, Message: "no answer from Vault before the request timeout"}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return &Error{Class: ClassUnreachable, Op: op, Message: Sanitize(transportMessage(err))}
	}
	return &Error{Class: ClassTransient, Op: op, Message: Sanitize(err.Error())}
}

func classifyStatus(op string, code int, msg string) Class {
	lower := strings.ToLower(msg)
	switch {
	case code == http.StatusServiceUnavailable && strings.Contains(lower, "sealed"):
		return ClassSealed
	case code == http.StatusBadRequest && op == opLogin:
		// AppRole answers 400 "invalid role or secret ID" for bad
		// credentials.
		return ClassAuthFailed
	case code == http.StatusForbidden && op == opLogin:
		return ClassAuthFailed
	case code == http.StatusForbidden:
		return ClassPermissionDenied
	case code == http.StatusNotFound,
		strings.Contains(lower, "unable to find pki issuer"),
		strings.Contains(lower, "no default issuer"),
		strings.Contains(lower, "no handler for route"):
		// Vault answers 500 for a missing issuer or a mount without a CA:
		// configuration errors despite the code.
		return ClassNotFound
	case code == http.StatusBadRequest:
		return ClassInvalidRequest
	default:
		return ClassTransient
	}
}

func isTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify) || errors.As(err, &recordHeader)
}

// transportMessage drops the request URL the HTTP client prepends, which
// repeats what the condition already says, and keeps the cause.
func transportMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "\": "); i >= 0 {
		return msg[i+3:]
	}
	return msg
}
