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
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestVaultEnforcesThePolicy runs, on OpenBao, what someone who can read the
// AppRole Secret would try against the generated ACL policy of the bank
// issuer (TestHashiCorpVault runs the same on HashiCorp Vault).
func TestVaultEnforcesThePolicy(t *testing.T) {
	checkVaultEnforcesPolicy(t, stack.Vault, stack.PKI, env.AppRoleSecretName)
}

// TestVaultACLMatching pins down, on OpenBao, how Vault's ACL matches
// parameter values: what the generated policy and the signer's encoding rely
// on (TestHashiCorpVault runs the same on HashiCorp Vault).
func TestVaultACLMatching(t *testing.T) {
	checkACLMatching(t, stack.Vault)
}

// TestWidenedPolicyNeedsItsACL widens an issuer's policy (an OU it now
// allows) without writing the regenerated ACL policy to Vault: a request
// with that OU passes the controller's policy but Vault refuses it, the
// issuer says PermissionDenied and the request waits instead of failing.
// Once the policy "policy vault-acl" generates for the widened issuer is
// written, the waiting request is issued with the OU.
func TestWidenedPolicyNeedsItsACL(t *testing.T) {
	ctx := t.Context()
	const issuer, role, secretName = "vault-widened", "widened", "vault-approle-widened"
	bank, err := stack.BankIssuer(issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	appRole, err := stack.Vault.CreateIssuerAppRole(ctx, role, "1h", "2h", bank)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.WriteSecret(ctx, secretName, map[string][]byte{
		"roleId": []byte(appRole.RoleID), "secretId": []byte(appRole.SecretID)}); err != nil {
		t.Fatal(err)
	}
	widened, err := stack.ApplyBankIssuer(ctx, issuer, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
		iss.Spec.Policy.Subject.OrganizationalUnits = &v1alpha1.ValuePolicy{Required: []string{"Mesh PKI"}}
		iss.Spec.Vault.Auth.AppRole.RoleIDSecretRef.Name = secretName
		iss.Spec.Vault.Auth.AppRole.SecretRef.Name = secretName
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	subject := env.BankSubject
	subject.OrganizationalUnit = []string{"Mesh PKI"}
	createRequest(t, "widened-01", issuer, csrWithSubject(t, subject), 720*time.Hour)
	cond, err := stack.WaitForVaultReady(ctx, issuer, "PermissionDenied", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before the ACL was written: VaultReady %s: %s", cond.Reason, cond.Message)
	cr, err := getRequest(ctx, "widened-01")
	if err != nil {
		t.Fatal(err)
	}
	if env.IsFinal(cr) {
		t.Fatalf("the request ended while Vault refused it: %+v", cr.Status.Conditions)
	}

	hcl, err := env.IssuerACL(widened)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hcl, `"ou" = ["Mesh PKI"]`) {
		t.Fatalf("the regenerated policy does not allow the OU:\n%s", hcl)
	}
	if err := stack.Vault.Admin.Sys().PutPolicyWithContext(ctx, appRole.Policies[0], hcl); err != nil {
		t.Fatal(err)
	}
	cr = waitForFinal(t, "widened-01", 3*time.Minute)
	requireIssued(t, cr)
	chain, err := vault.ParseCertificates(cr.Status.Certificate)
	if err != nil || len(chain) == 0 {
		t.Fatalf("status.certificate: %v", err)
	}
	if got := chain[0].Subject.OrganizationalUnit; !slices.Equal(got, []string{"Mesh PKI"}) {
		t.Errorf("OU = %q, want Mesh PKI", got)
	}
}

// checkVaultEnforcesPolicy reads the role ID and secret ID from the issuer's
// AppRole Secret, as an attacker would, logs in to Vault directly and asks
// the sign path of the bank issuer's mount for what the bank's policy
// forbids. Vault must refuse each with 403 permission denied (its ACL, not
// a parameter error) and issue nothing. The issuer's own signings under the
// same policy are the other tests' (TestBankIstioCACerts, and the Issue
// subtest of TestHashiCorpVault).
func checkVaultEnforcesPolicy(t *testing.T, v *env.Vault, pki *env.PKI, secretName string) {
	t.Helper()
	ctx := t.Context()
	var secret corev1.Secret
	if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: env.ClusterResourceNamespace, Name: secretName}, &secret); err != nil {
		t.Fatal(err)
	}
	c, err := v.AppRoleClient(ctx, string(secret.Data["roleId"]), string(secret.Data["secretId"]))
	if err != nil {
		t.Fatal(err)
	}
	signPath := vault.SignPath(pki.Mount, "")
	// The stolen token may call the sign path: a refusal below is the
	// ACL's parameter constraints, not a missing capability.
	caps, err := c.Sys().CapabilitiesSelfWithContext(ctx, signPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(caps, "update") {
		t.Fatalf("the AppRole token has %v on %s; the issuer needs update", caps, signPath)
	}
	for path, want := range map[string]string{pki.Mount + "/revoke": "deny", pki.Mount + "/certs": "list", "sys/policies/acl/x": "deny"} {
		caps, err := c.Sys().CapabilitiesSelfWithContext(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(caps, []string{want}) {
			t.Errorf("the AppRole token has %v on %s, want [%s]", caps, path, want)
		}
	}
	// What the controller reads without a grant: the OpenAPI document
	// (which, for this token, describes the mount it may use), the issuer
	// and the certificates.
	spec, err := c.Logical().ReadWithContext(ctx, "sys/internal/specs/openapi")
	if err != nil {
		t.Fatalf("the AppRole token cannot read the OpenAPI document: %v", err)
	}
	if paths, _ := spec.Data["paths"].(map[string]any); paths["/"+signPath] == nil {
		t.Errorf("the OpenAPI document read with the AppRole token does not describe /%s", signPath)
	}
	if _, err := c.Logical().ReadWithContext(ctx, pki.Mount+"/issuer/default/json"); err != nil {
		t.Errorf("the AppRole token cannot read the issuer: %v", err)
	}
	before, err := v.IssuedSerials(ctx, pki.Mount)
	if err != nil {
		t.Fatal(err)
	}

	evilCSR := func(t *testing.T, subject pkix.Name, uris ...string) string {
		tmpl := &x509.CertificateRequest{Subject: subject}
		for _, u := range uris {
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			tmpl.URIs = append(tmpl.URIs, parsed)
		}
		csr, err := env.CSR(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		return string(csr)
	}
	// compliant is what the signer sends for the bank's Istio CA, with a
	// CSR of the attacker's key: every case below changes one thing.
	compliant := vault.SignRequest{CSRPEM: []byte(evilCSR(t, env.BankSubject)), Subject: env.BankSubject, TTL: 720 * time.Hour}.Params()
	with := func(change func(p map[string]any)) map[string]any {
		p := maps.Clone(compliant)
		change(p)
		return p
	}
	pastRoot := time.Until(pki.Root.NotAfter.Add(365*24*time.Hour)) / time.Second
	cases := []struct {
		name   string
		params map[string]any
	}{
		{"CN Evil CA", with(func(p map[string]any) { p["common_name"] = "Evil CA" })},
		{"another O", with(func(p map[string]any) { p["organization"] = "Evil Corp" })},
		{"a second O", with(func(p map[string]any) { p["organization"] = "Evil Corp,Golem Trust" })},
		{"an extra OU", with(func(p map[string]any) { p["ou"] = "Evil Unit" })},
		{"max_path_length 3", with(func(p map[string]any) { p["max_path_length"] = "3" })},
		{"max_path_length -1", with(func(p map[string]any) { p["max_path_length"] = "-1" })},
		{"no max_path_length", with(func(p map[string]any) { delete(p, "max_path_length") })},
		{"use_csr_values true", with(func(p map[string]any) { p["use_csr_values"] = true })},
		{"a URI SAN the policy does not allow", with(func(p map[string]any) { p["uri_sans"] = "spiffe://evil.example/ca" })},
		{"not_after", with(func(p map[string]any) {
			delete(p, "ttl")
			p["not_after"] = pki.Root.NotAfter.Add(365 * 24 * time.Hour).UTC().Format(time.RFC3339)
		})},
		{"permitted_dns_domains (the policy has none)", with(func(p map[string]any) { p["permitted_dns_domains"] = "evil.example" })},
		{"exclude_cn_from_sans false", with(func(p map[string]any) { p["exclude_cn_from_sans"] = false })},
		{"an empty common name (Vault would take the CSR's)", with(func(p map[string]any) { p["common_name"] = "" })},
		{"another issuer of the mount", with(func(p map[string]any) { p["issuer_ref"] = "default" })},
		// The attacks as they were tried on a demo stack.
		{"reproduction: CN=Evil CA,O=Evil Corp, no path length, NotAfter past the root's", map[string]any{
			"csr": evilCSR(t, pkix.Name{CommonName: "Evil CA", Organization: []string{"Evil Corp"}}), "common_name": "Evil CA",
			"organization": "Evil Corp", "ttl": strconv.FormatInt(int64(pastRoot), 10) + "s", "format": "pem",
		}},
		{"reproduction: use_csr_values=true", map[string]any{
			"csr":         evilCSR(t, pkix.Name{CommonName: "Evil CA", Organization: []string{"Evil Corp"}}, "spiffe://evil.example"),
			"common_name": "Evil CA", "use_csr_values": true, "format": "pem",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Logical().WriteWithContext(t.Context(), signPath, tc.params)
			requirePermissionDenied(t, err)
		})
	}
	after, err := v.IssuedSerials(ctx, pki.Mount)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("Vault issued %d certificates to the stolen credentials", len(after)-len(before))
	}
}

// requirePermissionDenied fails unless err is Vault's 403 "permission
// denied": the answer of its ACL.
func requirePermissionDenied(t *testing.T, err error) {
	t.Helper()
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("Vault did not refuse: %v", err)
	}
	if re.StatusCode != http.StatusForbidden || !strings.Contains(strings.Join(re.Errors, " "), "permission denied") {
		t.Fatalf("Vault answered %d %v, want 403 permission denied", re.StatusCode, re.Errors)
	}
}

// checkACLMatching writes a policy with the kinds of allowed values the
// generator could use, on a mount of its own, and checks which request
// values a token carrying it may send to sign-intermediate, and what Vault
// then puts in the certificate. These are the facts the generated policy
// and the signer's encoding (vault.ListValue) are built on.
func checkACLMatching(t *testing.T, v *env.Vault) {
	t.Helper()
	ctx := t.Context()
	const mount = "acl-matching"
	if _, err := v.GenerateRoot(ctx, mount, "ACL Matching Test Root", "87600h"); err != nil {
		t.Fatal(err)
	}
	policy := `path "` + mount + `/root/sign-intermediate" {
  capabilities = ["update"]
  allowed_parameters = {
    "csr" = []
    "common_name" = ["x", ""]
    "format" = ["pem"]
    "exclude_cn_from_sans" = [true]
    "max_path_length" = ["0"]
    "organization" = ["Golem Trust", "A,B", ["X"], ["Y", "Z"], ["Golem Trust, Inc."]]
    "ou" = ["Golem*"]
  }
}
`
	if err := v.Admin.Sys().PutPolicyWithContext(ctx, "acl-matching", policy); err != nil {
		t.Fatal(err)
	}
	tok, err := v.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"acl-matching"}, NoDefaultPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Admin.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(tok.Auth.ClientToken)
	csr, err := env.CSR(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "from the CSR"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		param string
		value any
		// wantOK is whether the ACL lets the request through; then the
		// certificate must have wantCN and wantO (or wantOU).
		wantOK bool
		want   []string
		wantCN string
	}{
		{name: "string matches an equal string", param: "organization", value: "Golem Trust", wantOK: true, want: []string{"Golem Trust"}},
		{name: "a list never matches a string", param: "organization", value: []string{"Golem Trust"}},
		{name: "a comma-joined string matches only the equal string, and is split", param: "organization", value: "A,B", wantOK: true, want: []string{"A", "B"}},
		{name: "the same values in another order are refused", param: "organization", value: "B,A"},
		{name: "a list never matches a comma-joined string", param: "organization", value: []string{"A", "B"}},
		{name: "a list matches an equal list", param: "organization", value: []string{"X"}, wantOK: true, want: []string{"X"}},
		{name: "a string never matches a list", param: "organization", value: "X"},
		{name: "a list of two matches the equal list", param: "organization", value: []string{"Y", "Z"}, wantOK: true, want: []string{"Y", "Z"}},
		{name: "a reordered list is refused", param: "organization", value: []string{"Z", "Y"}},
		{name: "a part of an allowed list is refused", param: "organization", value: []string{"Y"}},
		{name: "a list keeps a value with a comma whole", param: "organization", value: []string{"Golem Trust, Inc."}, wantOK: true, want: []string{"Golem Trust, Inc."}},
		{name: "the same value as a string is refused", param: "organization", value: "Golem Trust, Inc."},
		{name: "a prefix glob matches", param: "ou", value: "Golem Unit", wantOK: true, want: []string{"Golem Unit"}},
		{name: "a prefix glob lets a second value in after a comma", param: "ou", value: "Golem Unit,Evil Unit", wantOK: true, want: []string{"Evil Unit", "Golem Unit"}},
		{name: "a number never matches a string", param: "max_path_length", value: 0},
		{name: "a string path length matches", param: "max_path_length", value: "0", wantOK: true},
		{name: "a string never matches a boolean", param: "exclude_cn_from_sans", value: "true"},
		{name: "an empty common_name takes the CSR's", param: "common_name", value: "", wantOK: true, wantCN: "from the CSR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]any{"csr": string(csr), "common_name": "x", "format": "pem", "exclude_cn_from_sans": true, tc.param: tc.value}
			secret, err := c.Logical().WriteWithContext(t.Context(), mount+"/root/sign-intermediate", params)
			if !tc.wantOK {
				requirePermissionDenied(t, err)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			block, _ := pem.Decode([]byte(secret.Data["certificate"].(string)))
			if block == nil {
				t.Fatal("no certificate")
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			got := cert.Subject.Organization
			if tc.param == "ou" {
				got = cert.Subject.OrganizationalUnit
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("%s = %q, want %q", tc.param, got, tc.want)
			}
			if tc.wantCN != "" && cert.Subject.CommonName != tc.wantCN {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tc.wantCN)
			}
		})
	}
}
