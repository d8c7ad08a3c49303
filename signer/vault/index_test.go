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
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// signDirect signs csr on mount with the root token, n times, and returns
// the serials.
func signDirect(t *testing.T, mount string, csr []byte, n int) []string {
	t.Helper()
	var serials []string
	for range n {
		s, err := bao.Admin.Logical().WriteWithContext(t.Context(), mount+"/root/sign-intermediate",
			map[string]any{"csr": string(csr), "common_name": "Filler CA", "ttl": "1h"})
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, s.Data["serial_number"].(string))
	}
	return serials
}

// TestCertificateIndexResumes: a Sync reads at most its budget, the next
// one continues where it stopped without reading anything twice, a later
// one reads only what was issued since, and Matching finds a certificate by
// its public key.
func TestCertificateIndexResumes(t *testing.T) {
	const mount = "pki-index"
	bao.Root(t, mount, "Index Test Root", "87600h", "ec")
	filler, _ := testCSR(t, "filler")
	signDirect(t, mount, filler, 44)
	target, spki := testCSR(t, "target")
	want := signDirect(t, mount, target, 1)[0]
	obs := newCountingObserver()
	c, creds := newTestClient(t, mount, "index", signPolicy(mount), map[string]any{"token_ttl": "1h"}, obs)
	listed := len(bao.Serials(t, mount)) // 45 and the root itself

	idx := NewCertificateIndex()
	budget := IndexBudget{Reads: 20, Time: time.Minute, Parallel: 4}
	steps := []struct {
		wantRead     int
		wantComplete bool
	}{
		{20, false},
		{20, false},
		{listed - 40, true},
		{0, true},
	}
	for i, step := range steps {
		p, err := idx.Sync(t.Context(), c, creds, budget)
		if err != nil {
			t.Fatalf("sync %d: %v", i+1, err)
		}
		if p.Read != step.wantRead || p.Complete() != step.wantComplete || p.Listed != listed {
			t.Errorf("sync %d: %+v (complete %v), want %d read of %d listed, complete %v", i+1, p, p.Complete(), step.wantRead, listed, step.wantComplete)
		}
	}
	if got := obs.count(opReadCert); got != listed {
		t.Errorf("%d certificate reads for %d certificates: some were read twice", got, listed)
	}
	found := idx.Matching(func(c IndexedCertificate) bool { return c.PublicKeySHA256 == PublicKeyHash(spki) })
	if len(found) != 1 || found[0].Serial != want || !found[0].IsCA {
		t.Errorf("Matching by public key found %+v, want serial %s", found, want)
	}

	more := signDirect(t, mount, filler, 3)
	p, err := idx.Sync(t.Context(), c, creds, budget)
	if err != nil {
		t.Fatal(err)
	}
	if p.Read != 3 || !p.Complete() || idx.Len() != listed+3 {
		t.Errorf("after 3 more signings: %+v, %d indexed; want exactly the 3 new ones read", p, idx.Len())
	}
	for _, s := range more {
		if len(idx.Matching(func(c IndexedCertificate) bool { return c.Serial == s })) != 1 {
			t.Errorf("new certificate %s is not indexed", s)
		}
	}
}

// TestCertificateIndexNeedsList: without the list capability the search
// fails as PermissionDenied, which Check reports before any signing needs it.
func TestCertificateIndexNeedsList(t *testing.T) {
	const mount = "pki-index-nolist"
	bao.Root(t, mount, "No List Root", "87600h", "ec")
	policy := `path "pki-index-nolist/root/sign-intermediate" { capabilities = ["update"] }`
	c, creds := newTestClient(t, mount, "index-nolist", policy, map[string]any{"token_ttl": "1h"}, newCountingObserver())
	_, err := NewCertificateIndex().Sync(t.Context(), c, creds, IndexBudget{})
	if ClassOf(err) != ClassPermissionDenied {
		t.Errorf("Sync without list: %v, want PermissionDenied", err)
	}
}

// TestReadCertificateRefusesWhatIsNoSerial: a serial can come from a field
// someone else wrote, so it never shapes the path read.
func TestReadCertificateRefusesWhatIsNoSerial(t *testing.T) {
	const mount = "pki-serials"
	bao.Root(t, mount, "Serial Test Root", "87600h", "ec")
	csr, _ := testCSR(t, "serial")
	serial := signDirect(t, mount, csr, 1)[0]
	obs := newCountingObserver()
	c, _ := newTestClient(t, mount, "serials", signPolicy(mount), nil, obs)
	for _, bad := range []string{"ca", "crl", "../../sys/health", "ab:cd/../../x", strings.Repeat("ab:", 60) + "ab", ""} {
		if _, err := c.ReadCertificate(t.Context(), bad); ClassOf(err) != ClassInvalidRequest {
			t.Errorf("ReadCertificate(%q): %v, want InvalidRequest", bad, err)
		}
	}
	if got := obs.count(opReadCert); got != 0 {
		t.Errorf("%d reads reached Vault for values that are no serials", got)
	}
	issued, err := c.ReadCertificate(t.Context(), serial)
	if err != nil || issued.Revoked || issued.Certificate.Subject.CommonName != "Filler CA" {
		t.Errorf("ReadCertificate(%s) = %+v, %v", serial, issued, err)
	}
	if _, err := c.ReadCertificate(t.Context(), "01:02:03"); ClassOf(err) != ClassNotFound {
		t.Errorf("ReadCertificate of an unknown serial: %v, want MountOrIssuerMissing (not found)", err)
	}
}

// TestCheckCapabilities: every capability a signing may need is proven in
// one call, and each missing one is named.
func TestCheckCapabilities(t *testing.T) {
	const mount = "pki-caps"
	bao.Root(t, mount, "Capabilities Test Root", "87600h", "ec")
	sign := `path "pki-caps/root/sign-intermediate" { capabilities = ["create", "update"] }` + "\n"
	list := `path "pki-caps/certs" { capabilities = ["list"] }` + "\n"
	tests := []struct {
		name        string
		policy      string
		wantMissing []string
	}{
		{"sign and list", sign + list, nil},
		{"update alone signs", `path "pki-caps/root/sign-intermediate" { capabilities = ["update"] }` + "\n" + list, nil},
		{"no list on certs", sign, []string{`"pki-caps/certs" needs list`}},
		{"no sign", list, []string{`"pki-caps/root/sign-intermediate" needs create or update`}},
		{"read is not enough", `path "pki-caps/*" { capabilities = ["read"] }`, []string{"sign-intermediate", "certs"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, creds := newTestClient(t, mount, fmt.Sprintf("caps-%c", 'a'+i), tc.policy, nil, newCountingObserver())
			err := c.CheckCapabilities(t.Context(), creds)
			// The answer is the policy's: checking again reuses the token.
			if err2 := c.CheckCapabilities(t.Context(), creds); ClassOf(err2) != ClassOf(err) || c.Logins() != 1 {
				t.Errorf("a second check answered %v after %d logins; want the same answer and one login", err2, c.Logins())
			}
			if tc.wantMissing == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if ClassOf(err) != ClassPermissionDenied {
				t.Fatalf("got %v, want PermissionDenied", err)
			}
			for _, want := range tc.wantMissing {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
		})
	}
}

// TestDescribeSignPath reads the sign path's parameters from OpenBao itself,
// for both sign paths, and caches them.
func TestDescribeSignPath(t *testing.T) {
	const mount = "pki-describe"
	bao.Root(t, mount, "Describe Test Root", "87600h", "ec")
	for _, issuerRef := range []string{"", "default"} {
		t.Run("issuerRef="+issuerRef, func(t *testing.T) {
			obs := newCountingObserver()
			roleID, secretID := bao.AppRole(t, "describe", signPolicy(mount), nil)
			c, err := NewClient(Config{Address: bao.Address, Mount: mount, IssuerRef: issuerRef, AppRolePath: "approle"}, WithObserver("describe", obs))
			if err != nil {
				t.Fatal(err)
			}
			creds := Credentials{RoleID: roleID, SecretID: secretID}
			d, err := c.DescribeSignPath(t.Context(), creds)
			if err != nil {
				t.Fatal(err)
			}
			if d.Server != "OpenBao "+bao.Version {
				t.Errorf("server %q, want OpenBao %s", d.Server, bao.Version)
			}
			var sent []string
			for name := range (SignRequest{TTL: time.Hour}).Params() {
				sent = append(sent, name)
			}
			if missing := d.Missing(sent); len(missing) != 0 {
				t.Errorf("OpenBao lacks parameters the signer always sends: %v", missing)
			}
			if got := d.Missing([]string{"excluded_dns_domains", "csr", "permitted_dns_domains"}); !slices.Equal(got, []string{"excluded_dns_domains"}) {
				t.Errorf("Missing = %v, want [excluded_dns_domains] (OpenBao 2.4.0 does not define it)", got)
			}
			if _, err := c.DescribeSignPath(t.Context(), creds); err != nil {
				t.Fatal(err)
			}
			if n := obs.count(opDescribeSign); n != 1 {
				t.Errorf("%d descriptions read for two calls, want 1 (cached)", n)
			}
		})
	}
}
