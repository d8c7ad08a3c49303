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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/policy"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// The SPIRE server of the test: its namespace, ServiceAccount and trust
// domain, as docs/spire.md configures it.
const (
	spireNamespace   = "spire"
	spireServiceAcct = "spire-server"
	spireTrustDomain = "cluster.local"
	spireIssuer      = "vault-spire"
	// spireCASubject is server.conf's ca_subject as docs/spire.md sets it:
	// SPIRE's default C and O, and a common name Vault's ACL can pin.
	spireCASubject = "C=US,O=SPIFFE,CN=Golem Trust SPIRE CA"
)

// spireVerdict is what bin/spire-upstream prints (e2e/tools/spire-upstream).
type spireVerdict struct {
	Accepted    bool    `json:"accepted"`
	Stage       string  `json:"stage"`
	Error       string  `json:"error"`
	MintSeconds float64 `json:"mintSeconds"`
	CSR         struct {
		Subject string   `json:"subject"`
		URIs    []string `json:"uris"`
		PEM     string   `json:"pem"`
	} `json:"csr"`
	X509CA        []spireCert `json:"x509CA"`
	UpstreamRoots []spireCert `json:"upstreamRoots"`
	SVID          *spireCert  `json:"svid"`
}

type spireCert struct {
	Subject     string   `json:"subject"`
	Serial      string   `json:"serial"`
	IsCA        bool     `json:"isCA"`
	MaxPathLen  int      `json:"maxPathLen"`
	URIs        []string `json:"uris"`
	Fingerprint string   `json:"fingerprint"`
}

// TestSPIREUpstreamAuthority has SPIRE's own cert-manager UpstreamAuthority
// plugin (SPIRE v1.13.3), driven by SPIRE's own CA rotation code, get its
// upstream CA through the shipped deploy/examples/issuer-spire.yaml: the CSR
// SPIRE really makes is allowed, SPIRE's validator accepts the chain, an SVID
// signed with it verifies to the returned roots, and the audit trail still
// names the serial, the requester and the policy after SPIRE deleted its
// CertificateRequest. The same request under the example's policy without
// its serialNumber rule is denied, which is what SPIRE's real CSR needs it
// for.
func TestSPIREUpstreamAuthority(t *testing.T) {
	ctx := t.Context()
	if err := stack.EnsureNamespace(ctx, spireNamespace); err != nil {
		t.Fatal(err)
	}
	spireUser := env.ServiceAccountUser(spireNamespace, spireServiceAcct)
	// The permissions docs/spire.md gives the SPIRE server.
	if err := stack.Grant(ctx, "spire-server-certificaterequests", spireNamespace, []rbacv1.PolicyRule{{
		APIGroups: []string{"cert-manager.io"}, Resources: []string{"certificaterequests"},
		Verbs: []string{"create", "get", "list", "delete"},
	}}, spireUser); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := stack.ImpersonatingKubeconfig(spireUser)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := stack.ApplyExampleIssuer(ctx, "issuer-spire.yaml", spireIssuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitForIssuerCondition(ctx, spireIssuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	digest := policy.Digest(&iss.Spec.Policy)

	before := issuedSerials(t)
	v := mintWithSPIRE(t, kubeconfig, spireIssuer)
	if !v.Accepted {
		t.Fatalf("SPIRE's upstream authority failed at %s: %s", v.Stage, v.Error)
	}
	t.Logf("SPIRE's MintX509CA returned a validated chain in %.2fs (SPIRE gives up after about 75s)", v.MintSeconds)
	if !strings.Contains(v.CSR.Subject, "SERIALNUMBER=") || !strings.Contains(v.CSR.Subject, "CN=Golem Trust SPIRE CA") {
		t.Errorf("SPIRE's CSR subject %q: expected the configured ca_subject and a subject serialNumber", v.CSR.Subject)
	}
	if len(v.X509CA) == 0 {
		t.Fatal("no X.509 CA chain")
	}
	ca := v.X509CA[0]
	if !ca.IsCA || ca.MaxPathLen != 0 || len(ca.URIs) != 1 || ca.URIs[0] != "spiffe://"+spireTrustDomain {
		t.Errorf("SPIRE's CA: %+v; want a CA with path length 0 and the trust domain's SPIFFE ID", ca)
	}
	if len(v.UpstreamRoots) != 1 || v.UpstreamRoots[0].Fingerprint != vault.Fingerprint(stack.PKI.Root) {
		t.Errorf("upstream roots %+v, want the bank's root %s", v.UpstreamRoots, vault.Fingerprint(stack.PKI.Root))
	}
	if v.SVID == nil || len(v.SVID.URIs) != 1 || v.SVID.URIs[0] != "spiffe://"+spireTrustDomain+"/ns/default/sa/default" {
		t.Errorf("SVID signed with SPIRE's new CA: %+v", v.SVID)
	}
	if after := issuedSerials(t); len(after) != len(before)+1 {
		t.Errorf("Vault issued %d certificates for one mint", len(after)-len(before))
	}

	t.Run("RequestDeletedBySPIRE", func(t *testing.T) {
		var crs cmapi.CertificateRequestList
		if err := stack.Client.List(ctx, &crs, client.InNamespace(spireNamespace),
			client.MatchingLabels{"cert-manager.spiffe.io/trust-domain": spireTrustDomain}); err != nil {
			t.Fatal(err)
		}
		if len(crs.Items) != 0 {
			t.Errorf("SPIRE left %d CertificateRequests behind; it deletes finished ones", len(crs.Items))
		}
	})

	t.Run("AuditTrailOutlivesTheRequest", func(t *testing.T) {
		serial := colonHex(ca.Serial)
		li := getIssuer(t, spireIssuer).Status.LastIssued
		if li == nil || li.Request.Namespace != spireNamespace || !strings.HasPrefix(li.Request.Name, "spiffe-ca-") ||
			li.Request.Requester != spireUser || li.SerialNumber != serial || li.PolicyDigest != digest {
			t.Errorf("lastIssued = %+v; want spire/spiffe-ca-* by %s, serial %s, policy %s", li, spireUser, serial, digest)
		}
		var line map[string]any
		for _, l := range auditLines(t, spireIssuer) {
			if l["decision"] == "issued" && l["serial"] == serial {
				line = l
			}
		}
		if line == nil || line["requester"] != spireUser || line["policyDigest"] != digest ||
			!strings.HasPrefix(fmt.Sprint(line["request"]), spireNamespace+"/spiffe-ca-") {
			t.Errorf("audit line of serial %s = %v", serial, line)
		}
		ev := waitForEvent(t, "default", spireIssuer, "Issued")
		if !strings.Contains(ev.Note, serial) || !strings.Contains(ev.Note, fmt.Sprintf("requester %q", spireUser)) {
			t.Errorf("the issuer's Issued Event %q does not name the serial and the requester", ev.Note)
		}
	})

	t.Run("PolicyCheckOfSPIREsCSR", func(t *testing.T) {
		// The offline check docs/spire.md describes, on the CSR SPIRE made.
		// Kept with the run's logs: the CSR SPIRE's own code made.
		csr := filepath.Join(stack.Artifacts, "spire-ca.csr")
		if err := os.WriteFile(csr, []byte(v.CSR.PEM), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := stack.RunTool(ctx, "vault-intermediate-issuer", "policy", "check", "--issuer", stack.Example("issuer-spire.yaml"),
			"--csr", csr, "--namespace", spireNamespace, "--duration", "24h", "--usages", "cert sign,crl sign", "--requester", spireUser)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, "ALLOW") {
			t.Errorf("policy check of SPIRE's CSR: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
		}
	})

	t.Run("WithoutTheSerialNumberRule", func(t *testing.T) {
		const strict = "vault-spire-no-serial"
		if _, err := stack.ApplyExampleIssuer(ctx, "issuer-spire.yaml", strict, func(iss *v1alpha1.VaultIntermediateClusterIssuer) {
			iss.Spec.Policy.Subject.SerialNumber = nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := stack.WaitForIssuerCondition(ctx, strict, metav1.ConditionTrue, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		before := issuedSerials(t)
		v := mintWithSPIRE(t, kubeconfig, strict)
		if v.Accepted || v.Stage != "mint" || !strings.Contains(v.Error, "request has failed") {
			t.Fatalf("SPIRE's request under a policy without the serialNumber rule: %+v", v)
		}
		ld := getIssuer(t, strict).Status.LastDenied
		if ld == nil || !strings.Contains(strings.Join(ld.Violations, "\n"), "subject.serialNumber") || ld.Request.Requester != spireUser {
			t.Errorf("lastDenied = %+v; want the subject.serialNumber violation of %s's request", ld, spireUser)
		}
		if after := issuedSerials(t); len(after) != len(before) {
			t.Errorf("Vault issued a certificate for a denied request")
		}
	})
}

// mintWithSPIRE runs bin/spire-upstream with the plugin configuration of
// docs/spire.md, pointed at the issuer, acting as the SPIRE server's
// ServiceAccount.
func mintWithSPIRE(t *testing.T, kubeconfig, issuer string) spireVerdict {
	t.Helper()
	pluginData := filepath.Join(t.TempDir(), "plugin_data.hcl")
	hcl := fmt.Sprintf(`namespace        = %q
issuer_name      = %q
issuer_kind      = "VaultIntermediateClusterIssuer"
issuer_group     = "pki.golemtrust.am"
kube_config_file = %q
`, spireNamespace, issuer, kubeconfig)
	if err := os.WriteFile(pluginData, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var v spireVerdict
	res, err := stack.RunJSONTool(ctx, &v, "spire-upstream", "--plugin-data", pluginData,
		"--trust-domain", spireTrustDomain, "--ca-ttl", "24h", "--ca-key-type", "ec-p256", "--ca-subject", spireCASubject)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stack.Artifacts, "spire-upstream-"+issuer+".log"), []byte(res.Stderr), 0o600); err != nil {
		t.Fatal(err)
	}
	if (res.ExitCode == 0) != v.Accepted {
		t.Errorf("spire-upstream exited %d with accepted=%t", res.ExitCode, v.Accepted)
	}
	return v
}

// colonHex writes a hex serial as Vault does: colon-separated byte pairs.
func colonHex(hexSerial string) string {
	if len(hexSerial)%2 == 1 {
		hexSerial = "0" + hexSerial
	}
	var parts []string
	for i := 0; i < len(hexSerial); i += 2 {
		parts = append(parts, hexSerial[i:i+2])
	}
	return strings.Join(parts, ":")
}
