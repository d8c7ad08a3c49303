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
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	vaultapi "github.com/hashicorp/vault/api"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in  string
		mustNot   []string
		mustStill []string
	}{
		{"service token", "permission denied for token hvs.CAESIJ1abcdefghijklmnop", []string{"hvs.CAESIJ1abcdefghijklmnop"}, []string{"permission denied", "[redacted]"}},
		{"openbao token", "bad token s.AbCdEfGhIjKlMnOpQrStUvWx", []string{"s.AbCdEfGhIjKlMnOpQrStUvWx"}, []string{"[redacted]"}},
		{"secret id", "invalid secret id 3f1c8a52-0d5e-4b7a-9c3e-1f2a3b4c5d6e", []string{"3f1c8a52-0d5e-4b7a-9c3e-1f2a3b4c5d6e"}, []string{"invalid secret id"}},
		{"control characters", "line\x1b[31m\x00end", []string{"\x1b", "\x00"}, []string{"line", "end"}},
		{"plain", "unable to find PKI issuer for reference \"x\"", nil, []string{"unable to find PKI issuer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			for _, s := range tt.mustNot {
				if strings.Contains(got, s) {
					t.Errorf("Sanitize(%q) = %q still holds %q", tt.in, got, s)
				}
			}
			for _, s := range tt.mustStill {
				if !strings.Contains(got, s) {
					t.Errorf("Sanitize(%q) = %q lost %q", tt.in, got, s)
				}
			}
		})
	}
	long := strings.Repeat("é", 2000)
	got := Sanitize(long)
	if len(got) > maxMessageBytes+len(" [truncated]") || !strings.HasSuffix(got, " [truncated]") || !utf8.ValidString(got) {
		t.Errorf("a 4 KB message was not capped cleanly: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func TestClassify(t *testing.T) {
	resp := func(code int, msg string) error {
		return &vaultapi.ResponseError{StatusCode: code, Errors: []string{msg}}
	}
	tests := []struct {
		op   string
		err  error
		want Class
	}{
		{opSign, resp(http.StatusServiceUnavailable, "Vault is sealed"), ClassSealed},
		{opLogin, resp(http.StatusBadRequest, "invalid role or secret ID"), ClassAuthFailed},
		{opLogin, resp(http.StatusForbidden, "permission denied"), ClassAuthFailed},
		{opSign, resp(http.StatusForbidden, "permission denied"), ClassPermissionDenied},
		{opSign, resp(http.StatusNotFound, "no handler for route"), ClassNotFound},
		{opSign, resp(http.StatusInternalServerError, "unable to find PKI issuer for reference: x"), ClassNotFound},
		{opSign, resp(http.StatusBadRequest, "csr contains no data"), ClassInvalidRequest},
		{opSign, resp(http.StatusTooManyRequests, "rate limited"), ClassTransient},
		{opSign, resp(http.StatusInternalServerError, "internal error"), ClassTransient},
		{opSign, context.DeadlineExceeded, ClassUnreachable},
		{opSign, errors.New("something odd"), ClassTransient},
	}
	for _, tt := range tests {
		got := ClassOf(classify(tt.op, tt.err))
		if got != tt.want {
			t.Errorf("classify(%s, %v) = %s, want %s", tt.op, tt.err, got, tt.want)
		}
	}
	if classify(opSign, nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}
