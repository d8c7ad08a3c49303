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
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// describeTTL is how long a sign path's description is reused. A server
// upgrade that adds or removes a parameter is seen within this time, or at
// once when the issuer's connection settings change (a new Client).
const describeTTL = time.Hour

// SignPathDescription is what the server says about its sign path.
type SignPathDescription struct {
	// Server names the server and its version, as its OpenAPI document
	// does, e.g. "OpenBao 2.4.0" or "HashiCorp Vault 1.13.0".
	Server string
	// Parameters are the request parameters the sign path defines.
	Parameters map[string]bool
}

// Missing returns the names in params the sign path does not define, sorted.
func (d *SignPathDescription) Missing(params []string) []string {
	var out []string
	for _, p := range params {
		if !d.Parameters[p] {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// DescribeSignPath reads the OpenAPI description of the sign path, through
// Vault's help operation on the path itself (GET <path>?help=1, which every
// token may call and which documents that one path, unlike the server-wide
// sys/internal/specs/openapi). Vault and OpenBao accept unknown parameters
// with a mere warning, so this is how a parameter the server would ignore is
// found before anything is signed. The answer is cached for describeTTL.
func (c *Client) DescribeSignPath(ctx context.Context, creds Credentials) (*SignPathDescription, error) {
	c.descMu.Lock()
	if c.desc != nil && c.now().Before(c.descUntil) {
		d := c.desc
		c.descMu.Unlock()
		return d, nil
	}
	c.descMu.Unlock()

	path := c.SignPath()
	var desc *SignPathDescription
	err := c.withToken(ctx, creds, opDescribeSign, func(ctx context.Context, api *vaultapi.Client) error {
		help, err := api.HelpWithContext(ctx, path)
		if err != nil {
			return err
		}
		desc, err = parseSignPathDescription(path, help.OpenAPI)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.descMu.Lock()
	c.desc, c.descUntil = desc, c.now().Add(describeTTL)
	c.descMu.Unlock()
	return desc, nil
}

// parseSignPathDescription reads the server's name and the POST request
// parameters of every path item in an OpenAPI document, following a $ref
// into components/schemas.
func parseSignPathDescription(path string, doc map[string]any) (*SignPathDescription, error) {
	desc := &SignPathDescription{Parameters: map[string]bool{}}
	info, _ := doc["info"].(map[string]any)
	title, _ := info["title"].(string)
	version, _ := info["version"].(string)
	desc.Server = strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimSpace(title), "API")+" "+version), " ")
	if desc.Server == "" {
		desc.Server = "the Vault server"
	}
	var schemas map[string]any
	if components, ok := doc["components"].(map[string]any); ok {
		schemas, _ = components["schemas"].(map[string]any)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		item, _ := item.(map[string]any)
		post, _ := item["post"].(map[string]any)
		body, _ := post["requestBody"].(map[string]any)
		content, _ := body["content"].(map[string]any)
		media, _ := content["application/json"].(map[string]any)
		schema, _ := media["schema"].(map[string]any)
		if ref, ok := schema["$ref"].(string); ok {
			schema, _ = schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		}
		props, _ := schema["properties"].(map[string]any)
		for name := range props {
			desc.Parameters[name] = true
		}
	}
	if len(desc.Parameters) == 0 {
		return nil, &Error{Class: ClassTransient, Op: opDescribeSign,
			Message: fmt.Sprintf("the OpenAPI description %s gives for %q lists no request parameters", desc.Server, path)}
	}
	return desc, nil
}
