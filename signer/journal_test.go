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
	"slices"
	"sort"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// TestEntryFromRequest reads the VaultSerial condition of both request
// kinds: an intent is a time, a True record a hint, anything else nothing.
func TestEntryFromRequest(t *testing.T) {
	at := time.Date(2026, 11, 23, 13, 53, 5, 0, time.UTC)
	cr := func(status cmmeta.ConditionStatus, reason, message string) RequestRef {
		return RequestRef{Kind: "CertificateRequest", Object: withJournal(&cmapi.CertificateRequest{}, status, reason, message, at)}
	}
	csr := func(status corev1.ConditionStatus, reason, message string) RequestRef {
		return RequestRef{Kind: "CertificateSigningRequest", Object: &certificatesv1.CertificateSigningRequest{
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{{
				Type: ConditionVaultSerial, Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(at)}}}}}
	}
	tests := []struct {
		name string
		ref  RequestRef
		want journalEntry
	}{
		{"no condition", RequestRef{Object: &cmapi.CertificateRequest{}}, journalEntry{}},
		{"intent on a CertificateRequest", cr(cmmeta.ConditionUnknown, JournalReasonIntent, "asked"), journalEntry{intent: at}},
		{"intent on a CertificateSigningRequest", csr(corev1.ConditionUnknown, JournalReasonIntent, "asked"), journalEntry{intent: at}},
		{"a serial record is a hint", cr(cmmeta.ConditionTrue, JournalReasonIssued, "4a:58"), journalEntry{hint: "4a:58"}},
		{"a serial record on a CSR is a hint", csr(corev1.ConditionTrue, JournalReasonIssued, "4a:58"), journalEntry{hint: "4a:58"}},
		{"an Unknown condition of another reason is no intent", cr(cmmeta.ConditionUnknown, "Whatever", "x"), journalEntry{}},
		{"a True condition without a message is nothing", cr(cmmeta.ConditionTrue, JournalReasonIssued, ""), journalEntry{}},
		{"False is nothing", cr(cmmeta.ConditionFalse, JournalReasonIssued, "4a:58"), journalEntry{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := entryFromRequest(tc.ref)
			if !got.intent.Equal(tc.want.intent) || got.hint != tc.want.hint || got.delivered != "" || got.failed != nil {
				t.Errorf("entryFromRequest = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestMemoryJournal: an intent is remembered only once it was written on
// the request; the memory answers before the (possibly stale) request.
func TestMemoryJournal(t *testing.T) {
	at := time.Now()
	ref := RequestRef{Kind: "CertificateRequest", UID: types.UID("u1"),
		Object: withJournal(&cmapi.CertificateRequest{}, cmmeta.ConditionTrue, JournalReasonIssued, "aa:bb", at)}

	failing := &memoryJournal{next: &testJournal{fail: errors.New("no API server")}, entries: map[types.UID]journalEntry{}}
	if err := failing.intent(t.Context(), ref, at); err == nil {
		t.Fatal("an intent that could not be written was reported written")
	}
	if e := failing.lookup(ref); !e.intent.IsZero() || e.hint != "aa:bb" {
		t.Errorf("after a failed write the journal says %+v; want the request's own record only", e)
	}

	j := &memoryJournal{next: &testJournal{}, entries: map[types.UID]journalEntry{}}
	j.ignoreHint(ref)
	if e := j.lookup(ref); e.hint != "" {
		t.Errorf("an ignored hint is still returned: %+v", e)
	}
	if err := j.intent(t.Context(), ref, at); err != nil {
		t.Fatal(err)
	}
	if e := j.lookup(ref); !e.intent.Equal(at) || e.hint != "" {
		t.Errorf("after the intent: %+v", e)
	}
	j.delivered(ref, "cc:dd")
	if e := j.lookup(ref); e.delivered != "cc:dd" {
		t.Errorf("after delivery: %+v", e)
	}
}

// TestPolicyParams: the parameters a policy can make the issuer send, which
// Check compares with what the server defines.
func TestPolicyParams(t *testing.T) {
	always := []string{"common_name", "csr", "exclude_cn_from_sans", "format", "max_path_length", "ttl", "use_csr_values"}
	tests := []struct {
		name   string
		change func(*v1alpha1.IntermediatePolicy)
		extra  []string
	}{
		{"the bank policy", func(*v1alpha1.IntermediatePolicy) {}, []string{"alt_names", "country", "organization"}},
		{"an attribute with no value allowed is never sent", func(p *v1alpha1.IntermediatePolicy) {
			p.Subject.Localities = &v1alpha1.ValuePolicy{}
		}, []string{"alt_names", "country", "organization"}},
		{"every attribute, name and constraint", func(p *v1alpha1.IntermediatePolicy) {
			allow := &v1alpha1.ValuePolicy{Allowed: []string{"*"}}
			p.Subject.OrganizationalUnits, p.Subject.Localities, p.Subject.Provinces = allow, allow, allow
			p.Subject.StreetAddresses, p.Subject.PostalCodes, p.Subject.SerialNumber = allow, allow, allow
			p.SubjectAltNames = v1alpha1.SubjectAltNamesPolicy{IPAddresses: []string{"10.0.0.0/8"}, URIs: []string{"spiffe://*"}, EmailAddresses: []string{"*@bank.example"}}
			p.NameConstraints = &v1alpha1.NameConstraintsPolicy{PermittedDNSDomains: []string{"cluster.local"}, ExcludedDNSDomains: []string{"evil.example"}}
		}, []string{"alt_names", "country", "excluded_dns_domains", "ip_sans", "locality", "organization", "ou", "permitted_dns_domains",
			"postal_code", "province", "serial_number", "street_address", "uri_sans"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := bankPolicy()
			tc.change(&p)
			var got []string
			for name := range policyParams(&p) {
				got = append(got, name)
			}
			want := append(append([]string{}, always...), tc.extra...)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("policyParams = %v, want %v", got, want)
			}
		})
	}
}
