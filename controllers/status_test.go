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

package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

func TestInsecureTransport(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	issuer := func(server string, allow bool) *v1alpha1.VaultIntermediateClusterIssuer {
		iss := &v1alpha1.VaultIntermediateClusterIssuer{}
		iss.Generation = 3
		iss.Spec.Vault.Server, iss.Spec.Vault.InsecureAllowHTTP = server, allow
		return iss
	}
	cases := []struct {
		name     string
		iss      *v1alpha1.VaultIntermediateClusterIssuer
		prev     *metav1.Condition
		want     bool
		wantTime metav1.Time
	}{
		{name: "https", iss: issuer("https://vault.example.com:8200", false)},
		{name: "https with the opt-in left on", iss: issuer("https://vault.example.com:8200", true)},
		{name: "http without the opt-in (refused elsewhere)", iss: issuer("http://127.0.0.1:8200", false)},
		{name: "http with the opt-in", iss: issuer("http://127.0.0.1:8200", true), want: true, wantTime: metav1.NewTime(now)},
		{name: "still http: the transition time stays", iss: issuer("http://127.0.0.1:8200", true), want: true,
			prev: &metav1.Condition{Type: ConditionInsecureTransport, Status: metav1.ConditionTrue, LastTransitionTime: earlier}, wantTime: earlier},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := insecureTransport(tc.iss, tc.prev, now)
			if (c != nil) != tc.want {
				t.Fatalf("condition = %+v, want present %v", c, tc.want)
			}
			if c == nil {
				return
			}
			if c.Type != ConditionInsecureTransport || c.Status != metav1.ConditionTrue || c.Reason != "PlainHTTP" ||
				c.ObservedGeneration != 3 || !c.LastTransitionTime.Equal(&tc.wantTime) {
				t.Errorf("condition = %+v", c)
			}
			for _, want := range []string{"http://127.0.0.1:8200", "clear text", "secret ID", "https://"} {
				if !strings.Contains(c.Message, want) {
					t.Errorf("message %q lacks %q", c.Message, want)
				}
			}
		})
	}
}
