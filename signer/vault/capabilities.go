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
	"fmt"
	"slices"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
)

// Capability is a capability the issuer's token needs on one Vault path.
type Capability struct {
	// Path is the Vault path, without /v1/.
	Path string
	// AnyOf lists the capabilities of which one suffices; "root" always
	// does.
	AnyOf []string
	// Why says what the issuer uses the path for, in the error message.
	Why string
}

// RequiredCapabilities is everything a signing may need from the token:
// create or update on the sign path, and list on <mount>/certs, which the
// recovery of a signing whose answer was lost searches. Certificates and the
// issuer are read from paths the PKI engine serves without authentication,
// and nothing is revoked, so nothing else is needed.
func (c *Client) RequiredCapabilities() []Capability {
	return []Capability{
		{Path: c.SignPath(), AnyOf: []string{"create", "update"}, Why: "to sign intermediates"},
		{Path: c.cfg.Mount + "/certs", AnyOf: []string{"list"},
			Why: "to find the certificate of a signing whose answer was lost, so that no request is signed twice"},
	}
}

// CheckCapabilities asks sys/capabilities-self, in one call, what the token
// may do on every path of RequiredCapabilities, and fails with
// ClassPermissionDenied naming each path that lacks what it needs.
func (c *Client) CheckCapabilities(ctx context.Context, creds Credentials) error {
	required := c.RequiredCapabilities()
	paths := make([]string, 0, len(required))
	for _, r := range required {
		paths = append(paths, r.Path)
	}
	var data map[string]any
	err := c.withToken(ctx, creds, opCapabilities, func(ctx context.Context, api *vaultapi.Client) error {
		secret, err := api.Logical().WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": paths})
		if err != nil {
			return err
		}
		if secret == nil || secret.Data == nil {
			return &Error{Class: ClassTransient, Op: opCapabilities, Message: "Vault answered sys/capabilities-self without data"}
		}
		data = secret.Data
		return nil
	})
	if err != nil {
		return err
	}
	// Judged outside withToken: a missing capability is the policy's
	// doing, not a stale token's, and must not cost a new login.
	var missing []string
	for _, r := range required {
		granted := capabilitiesOf(data, r.Path, len(paths) == 1)
		if slices.Contains(granted, "root") || slices.ContainsFunc(r.AnyOf, func(c string) bool { return slices.Contains(granted, c) }) {
			continue
		}
		missing = append(missing, fmt.Sprintf("%q needs %s %s (the token has %v)", r.Path, strings.Join(r.AnyOf, " or "), r.Why, granted))
	}
	if len(missing) > 0 {
		return &Error{Class: ClassPermissionDenied, Op: opCapabilities,
			Message: "the AppRole token's Vault policy is missing capabilities: " + strings.Join(missing, "; ")}
	}
	return nil
}

// capabilitiesOf reads one path's capabilities from a sys/capabilities-self
// answer: Vault keys them by path, and also under "capabilities" when one
// path was asked.
func capabilitiesOf(data map[string]any, path string, single bool) []string {
	raw, ok := data[path].([]any)
	if !ok && single {
		raw, _ = data["capabilities"].([]any)
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
