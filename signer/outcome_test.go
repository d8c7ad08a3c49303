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
	"errors"
	"fmt"
	"strings"
	"testing"

	libsigner "github.com/cert-manager/issuer-lib/controllers/signer"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ReasonChecked},
		{withReason(ReasonSecretNotFound, errors.New("x")), ReasonSecretNotFound},
		{libsigner.PermanentError{Err: withReason(ReasonPolicyInvalid, errors.New("x"))}, ReasonPolicyInvalid},
		{fmt.Errorf("wrapped: %w", &vault.Error{Class: vault.ClassSealed}), "VaultSealed"},
		{libsigner.IssuerError{Err: &vault.Error{Class: vault.ClassTLS}}, "VaultTLSError"},
		{errors.New("unclassified"), "VaultError"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	colon := "AB:CD:" + strings.Repeat("01:", 29) + "EF"
	if got := normalizeFingerprint(colon); got != "abcd"+strings.Repeat("01", 29)+"ef" {
		t.Errorf("normalizeFingerprint(%q) = %q", colon, got)
	}
}

func TestViolationsAreCapped(t *testing.T) {
	var errs field.ErrorList
	for i := range 40 {
		errs = append(errs, field.Forbidden(field.NewPath("subject", "organizations").Index(i), fmt.Sprintf("value %d", i)))
	}
	lines, rules := violations(errs)
	if len(lines) != maxDeniedViolations || !strings.Contains(lines[len(lines)-1], "and 25 more") {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if rules[0] != "subject.organizations" || len(rules) != 40 {
		t.Errorf("rule = %q", rules[0])
	}
}
