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
	"bufio"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// TestAuditTrail answers the auditors' question from the cluster and the
// logs alone: after one allowed and one denied request, the issuer's status,
// the Events, the audit log lines and the metrics all say what was signed
// under which policy for which request, and what was refused and why; the
// serial can be followed into Vault's own audit log; the policy digest moves
// with the policy and only with it; the counters survive a restart.
func TestAuditTrail(t *testing.T) {
	ctx := t.Context()
	const issuer = "vault-audit"

	// Vault's own audit device, with serial numbers in clear as
	// docs/auditing.md recommends.
	vaultAudit := filepath.Join(stack.Artifacts, "openbao-audit.log")
	if err := stack.Vault.Admin.Sys().EnableAuditWithOptionsWithContext(ctx, "file", &vaultapi.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": vaultAudit}}); err != nil {
		t.Fatal(err)
	}
	if err := stack.Vault.Admin.Sys().TuneMountAllowNilWithContext(ctx, stack.PKI.Mount, vaultapi.TuneMountConfigInput{
		AuditNonHMACResponseKeys: &[]string{"serial_number"}}); err != nil {
		t.Fatal(err)
	}

	if _, err := stack.ApplyBankIssuer(ctx, issuer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, issuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	live := getIssuer(t, issuer)
	digest := policy.Digest(&live.Spec.Policy)
	if live.Status.PolicyDigest != digest || live.Status.ObservedGeneration != live.Generation {
		t.Errorf("status.policyDigest %q (generation %d), want %q (generation %d)",
			live.Status.PolicyDigest, live.Status.ObservedGeneration, digest, live.Generation)
	}

	createRequest(t, "audit-allowed", issuer, bankCSR(t), 720*time.Hour)
	allowed := waitForFinal(t, "audit-allowed", 60*time.Second)
	requireIssued(t, allowed)
	chain, err := vault.ParseCertificates(allowed.Status.Certificate)
	if err != nil || len(chain) == 0 {
		t.Fatalf("parsing the issued chain: %v", err)
	}
	leaf := chain[0]
	serial := colonSerial(leaf)

	createRequest(t, "audit-denied", issuer, csrWithSubject(t, pkix.Name{CommonName: "Golem Trust Istio CA",
		Organization: []string{"Evil Corp"}, Country: []string{"AM"}}), 720*time.Hour)
	denied := waitForFinal(t, "audit-denied", 60*time.Second)
	if ready := env.CertificateRequestCondition(denied, cmapi.CertificateRequestConditionReady); ready == nil || ready.Reason != cmapi.CertificateRequestReasonFailed {
		t.Fatalf("the request with a forbidden organization was not refused: %+v", ready)
	}

	t.Run("Status", func(t *testing.T) {
		st := getIssuer(t, issuer).Status
		if st.IssuedCount != 1 || st.DeniedCount != 1 {
			t.Errorf("issuedCount %d, deniedCount %d; want 1 and 1", st.IssuedCount, st.DeniedCount)
		}
		li := st.LastIssued
		if li == nil {
			t.Fatal("no lastIssued")
		}
		if li.Request.Namespace != "istio-system" || li.Request.Name != "audit-allowed" || li.Request.UID != string(allowed.UID) {
			t.Errorf("lastIssued.request = %+v", li.Request)
		}
		if li.SerialNumber != serial || li.Fingerprint != vault.Fingerprint(leaf) || li.PolicyDigest != digest {
			t.Errorf("lastIssued serial %q fingerprint %q digest %q; want %q %q %q", li.SerialNumber, li.Fingerprint,
				li.PolicyDigest, serial, vault.Fingerprint(leaf), digest)
		}
		if li.NotAfter == nil || !li.NotAfter.Time.Equal(leaf.NotAfter) || !strings.Contains(li.Subject, "CN=Golem Trust Istio CA") || li.VaultRequestID == "" {
			t.Errorf("lastIssued = %+v", li)
		}
		ld := st.LastDenied
		if ld == nil {
			t.Fatal("no lastDenied")
		}
		if ld.Request.Name != "audit-denied" || ld.Decision != "denied" || ld.PolicyDigest != digest ||
			len(ld.Violations) == 0 || !strings.Contains(strings.Join(ld.Violations, "\n"), "Evil Corp") {
			t.Errorf("lastDenied = %+v", ld)
		}
		if st.PolicyDigestShort != strings.TrimPrefix(digest, "sha256:")[:12] {
			t.Errorf("policyDigestShort %q", st.PolicyDigestShort)
		}
	})

	t.Run("Events", func(t *testing.T) {
		issued := waitForEvent(t, "istio-system", "audit-allowed", "Issued")
		if !strings.Contains(issued.Note, serial) || !strings.Contains(issued.Note, digest) {
			t.Errorf("Issued Event %q lacks the serial or the policy digest", issued.Note)
		}
		refused := waitForEvent(t, "istio-system", "audit-denied", "PolicyDenied")
		if !strings.Contains(refused.Note, "Evil Corp") || !strings.Contains(refused.Note, digest) {
			t.Errorf("PolicyDenied Event %q lacks the violation or the policy digest", refused.Note)
		}
		// Events about the cluster-scoped issuer live in "default".
		waitForEvent(t, "default", issuer, "Issued")
		waitForEvent(t, "default", issuer, "PolicyDenied")
	})

	var issuedLine map[string]any
	t.Run("AuditLog", func(t *testing.T) {
		lines := auditLines(t, issuer)
		if len(lines) != 2 {
			t.Fatalf("%d audit lines for issuer %s, want exactly one per decision (2): %v", len(lines), issuer, lines)
		}
		byDecision := map[string]map[string]any{}
		for _, l := range lines {
			byDecision[fmt.Sprint(l["decision"])] = l
		}
		issuedLine = byDecision["issued"]
		want := map[string]string{"request": "istio-system/audit-allowed", "namespace": "istio-system",
			"serial": serial, "fingerprint": vault.Fingerprint(leaf), "policyDigest": digest,
			"notAfter": leaf.NotAfter.UTC().Format(time.RFC3339)}
		for k, v := range want {
			if fmt.Sprint(issuedLine[k]) != v {
				t.Errorf("issued audit line: %s = %v, want %s", k, issuedLine[k], v)
			}
		}
		for _, k := range []string{"requester", "subject", "sans", "violations", "vaultRequestID"} {
			if _, ok := issuedLine[k]; !ok {
				t.Errorf("issued audit line lacks key %q", k)
			}
		}
		deniedLine := byDecision["denied"]
		if deniedLine == nil || deniedLine["request"] != "istio-system/audit-denied" ||
			!strings.Contains(fmt.Sprint(deniedLine["violations"]), "Evil Corp") || deniedLine["serial"] != "" {
			t.Errorf("denied audit line = %v", deniedLine)
		}
	})

	t.Run("VaultAuditJoin", func(t *testing.T) {
		if issuedLine == nil {
			t.Fatal("no issued audit line to follow (see AuditLog)")
		}
		id := fmt.Sprint(issuedLine["vaultRequestID"])
		entry := vaultAuditResponse(t, vaultAudit, id)
		if entry == nil {
			t.Fatalf("Vault's audit log has no response with request id %s", id)
		}
		resp, _ := entry["response"].(map[string]any)
		data, _ := resp["data"].(map[string]any)
		if data["serial_number"] != serial {
			t.Errorf("Vault's audit entry %s names serial %v, want %s", id, data["serial_number"], serial)
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		samples, err := stack.IssuerMetrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		is := map[string]string{"issuer": issuer}
		with := func(kv ...string) map[string]string {
			m := map[string]string{"issuer": issuer}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		checks := []struct {
			name   string
			labels map[string]string
			want   func(float64) bool
			what   string
		}{
			{"vault_intermediate_issuer_requests_total", with("decision", "issued"), eq(1), "1"},
			{"vault_intermediate_issuer_requests_total", with("decision", "denied"), eq(1), "1"},
			{"vault_intermediate_issuer_policy_violations_total", is, func(v float64) bool { return v >= 1 }, ">= 1"},
			{"vault_intermediate_issuer_vault_requests_total", with("operation", "sign-intermediate", "code", "200"), eq(1), "1"},
			{"vault_intermediate_issuer_vault_request_duration_seconds_count", with("operation", "sign-intermediate"), eq(1), "1"},
			{"vault_intermediate_issuer_vault_logins_total", with("result", "success"), eq(1), "1"},
			{"vault_intermediate_issuer_token_ttl_seconds", is, func(v float64) bool { return v > 0 }, "> 0"},
			{"vault_intermediate_issuer_issued_certificate_not_after_timestamp_seconds",
				with("namespace", "istio-system", "request", "audit-allowed"), eq(float64(leaf.NotAfter.Unix())), fmt.Sprint(leaf.NotAfter.Unix())},
		}
		for _, c := range checks {
			if got := env.Sum(samples, c.name, c.labels); !c.want(got) {
				t.Errorf("%s%v = %v, want %s", c.name, c.labels, got, c.what)
			}
		}
	})

	t.Run("DigestFollowsThePolicyOnly", func(t *testing.T) {
		iss := getIssuer(t, issuer)
		iss.Labels = map[string]string{"team": "security"}
		if err := stack.Client.Update(ctx, iss); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if got := getIssuer(t, issuer).Status.PolicyDigest; got != digest {
			t.Errorf("a label changed the policy digest: %s -> %s", digest, got)
		}
		iss = getIssuer(t, issuer)
		iss.Spec.Policy.AllowedNamespaces = append(iss.Spec.Policy.AllowedNamespaces, "spire-system")
		if err := stack.Client.Update(ctx, iss); err != nil {
			t.Fatal(err)
		}
		want := policy.Digest(&iss.Spec.Policy)
		if want == digest {
			t.Fatal("the edited policy has the old digest")
		}
		err := env.WaitFor(ctx, 30*time.Second, 200*time.Millisecond, "the new policy digest", func(context.Context) (bool, error) {
			st := getIssuer(t, issuer).Status
			return st.PolicyDigest == want && st.ObservedGeneration == iss.Generation, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		digest = want
	})

	t.Run("CountersSurviveRestart", func(t *testing.T) {
		if err := stack.Issuer.Stop(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := stack.StartIssuer(); err != nil {
			t.Fatal(err)
		}
		createRequest(t, "audit-after-restart", issuer, bankCSR(t), 720*time.Hour)
		requireIssued(t, waitForFinal(t, "audit-after-restart", 90*time.Second))
		st := getIssuer(t, issuer).Status
		if st.IssuedCount != 2 || st.DeniedCount != 1 {
			t.Errorf("after a restart: issuedCount %d, deniedCount %d; want 2 and 1", st.IssuedCount, st.DeniedCount)
		}
		if st.LastIssued == nil || st.LastIssued.Request.Name != "audit-after-restart" || st.LastIssued.PolicyDigest != digest {
			t.Errorf("lastIssued after the restart = %+v", st.LastIssued)
		}
	})
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

func getIssuer(t *testing.T, name string) *v1alpha1.VaultIntermediateClusterIssuer {
	t.Helper()
	iss := &v1alpha1.VaultIntermediateClusterIssuer{}
	if err := stack.Client.Get(t.Context(), client.ObjectKey{Name: name}, iss); err != nil {
		t.Fatal(err)
	}
	return iss
}

// csrWithSubject returns a P-256 CSR for subject.
func csrWithSubject(t *testing.T, subject pkix.Name) []byte {
	t.Helper()
	csr, err := env.CSR(&x509.CertificateRequest{Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// auditLines returns the issuer process's audit log lines about issuer.
func auditLines(t *testing.T, issuer string) []map[string]any {
	t.Helper()
	f, err := os.Open(stack.Issuer.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line["audit"] == true && line["issuer"] == issuer {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// vaultAuditResponse finds the response entry for request id in Vault's file
// audit log.
func vaultAuditResponse(t *testing.T, path, id string) map[string]any {
	t.Helper()
	var found map[string]any
	err := env.WaitFor(t.Context(), 10*time.Second, 200*time.Millisecond, "Vault audit entry "+id, func(context.Context) (bool, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		for _, raw := range strings.Split(string(data), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(raw), &entry) != nil || entry["type"] != "response" {
				continue
			}
			req, _ := entry["request"].(map[string]any)
			if req["id"] == id {
				found = entry
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
