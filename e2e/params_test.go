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

package e2e

import (
	"crypto/x509/pkix"
	"net"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestSignParametersExistInVault asks the running Vault for its OpenAPI
// description and checks that every parameter the signer sends to
// sign-intermediate, in both the root and the issuerRef form, is one the PKI
// engine of this version defines: a renamed parameter would otherwise be
// ignored (Vault only warns about unknown parameters).
//
// excluded_dns_domains is the exception the documentation states: OpenBao
// 2.4 and HashiCorp Vault 1.13 do not define it. It is only sent when a policy has
// excludedDNSDomains, and then the post-issuance check, which compares the
// certificate's name constraints with the policy, refuses and revokes a
// certificate issued without them.
func TestSignParametersExistInVault(t *testing.T) {
	checkSignParameters(t, stack.Vault, stack.PKI.Mount)
}

// checkSignParameters checks the sign-intermediate parameters against the
// OpenAPI description of the PKI engine mounted at mount on v.
func checkSignParameters(t *testing.T, v *env.Vault, mount string) {
	t.Helper()
	ctx := t.Context()
	full := vault.SignRequest{
		CSRPEM: []byte("csr"),
		Subject: pkix.Name{CommonName: "cn", Organization: []string{"o"}, OrganizationalUnit: []string{"ou"},
			Country: []string{"c"}, Locality: []string{"l"}, Province: []string{"p"}, StreetAddress: []string{"s"},
			PostalCode: []string{"pc"}, SerialNumber: "sn"},
		DNSNames: []string{"a.example"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")},
		URIs: []*url.URL{{Scheme: "spiffe", Host: "example"}}, EmailAddresses: []string{"a@example"},
		TTL: time.Hour, MaxPathLength: 0, PermittedDNSDomains: []string{"example"}, ExcludedDNSDomains: []string{"bad.example"},
	}
	params := full.Params()
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)

	secret, err := v.Admin.Logical().ReadWithContext(ctx, "sys/internal/specs/openapi")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := secret.Data["paths"].(map[string]any)
	schemas := map[string]any{}
	if components, ok := secret.Data["components"].(map[string]any); ok {
		schemas, _ = components["schemas"].(map[string]any)
	}
	for _, path := range []string{"/" + mount + "/root/sign-intermediate", "/" + mount + "/issuer/{issuer_ref}/sign-intermediate"} {
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("Vault %s has no %s", v.Version, path)
			continue
		}
		props := requestProperties(item, schemas)
		if len(props) == 0 {
			t.Errorf("no request parameters found for %s", path)
			continue
		}
		for _, name := range names {
			if _, ok := props[name]; !ok {
				if optionalParams[name] {
					t.Logf("%s of Vault %s has no parameter %q: policies using it cannot be served by this server", path, v.Version, name)
					continue
				}
				t.Errorf("%s of Vault %s has no parameter %q", path, v.Version, name)
			}
		}
	}
	t.Logf("parameters checked against Vault %s: %v", v.Version, names)
}

// optionalParams are sent only when the policy asks for them, and are known
// to be missing from some supported servers (docs/vault.md).
var optionalParams = map[string]bool{"excluded_dns_domains": true}

// requestProperties finds the JSON schema properties of an OpenAPI path
// item's POST request body, following a $ref into components/schemas.
func requestProperties(item, schemas map[string]any) map[string]any {
	post, _ := item["post"].(map[string]any)
	body, _ := post["requestBody"].(map[string]any)
	content, _ := body["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	schema, _ := media["schema"].(map[string]any)
	if ref, ok := schema["$ref"].(string); ok {
		const prefix = "#/components/schemas/"
		if len(ref) > len(prefix) {
			schema, _ = schemas[ref[len(prefix):]].(map[string]any)
		}
	}
	props, _ := schema["properties"].(map[string]any)
	return props
}
