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

package policy

import (
	"strings"
	"testing"
	"time"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"Golem Trust", "Golem Trust", true},
		{"Golem Trust", "Golem Trust ", false},
		{"Golem Trust", "golem trust", false},
		{"*", "", true},
		{"*", "anything at all", true},
		{"Golem *", "Golem Trust", true},
		{"Golem *", "Golem ", true},
		{"Golem *", "The Golem Trust", false},
		{"* CA", "Golem Trust Istio CA", true},
		{"* CA", "Golem Trust Istio CA 2", false},
		{"*Istio*", "Golem Trust Istio CA", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbYcZ", false},
		{"a*b*c", "acb", false},
		{"a**c", "abc", true},
		{"spiffe://cluster.local/*", "spiffe://cluster.local/ns/spire/sa/x", true},
		{"spiffe://cluster.local/*", "spiffe://cluster.local", false},
		{"spiffe://cluster.local", "spiffe://cluster.local/ns/spire", false},
		{"*@golemtrust.am", "pki@golemtrust.am", true},
		{"*@golemtrust.am", "pki@golemtrust.am.evil", false},
		{"", "", true},
		{"", "a", false},
	}
	for _, tc := range tests {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %t, want %t", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestDNSMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"istiod.istio-system.svc", "istiod.istio-system.svc", true},
		{"istiod.istio-system.svc", "ISTIOD.Istio-System.svc", true},
		{"istiod.istio-system.svc", "istiod.istio-system.svc.cluster.local", false},
		{"*.istio-system.svc", "istiod.istio-system.svc", true},
		{"*.istio-system.svc", "istio-system.svc", false},
		{"*.istio-system.svc", "a.b.istio-system.svc", false},
		{"istiod-*.istio-system.svc", "istiod-1.istio-system.svc", true},
		{"istiod-*.istio-system.svc", "istiod.istio-system.svc", false},
		{"*.*.svc", "istiod.istio-system.svc", true},
		// A wildcard name matches only the same wildcard.
		{"*.istio-system.svc", "*.istio-system.svc", true},
		{"*.istio-system.svc", "*.ISTIO-system.svc", true},
		{"istiod.istio-system.svc", "*.istio-system.svc", false},
		{"*.*.svc", "*.istio-system.svc", false},
		{"*", "*", true},
		{"*", "istiod", true},
		{"*", "istiod.svc", false},
	}
	for _, tc := range tests {
		if got := dnsMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("dnsMatch(%q, %q) = %t, want %t", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestDNSNameProblem(t *testing.T) {
	for name, want := range map[string]bool{
		"istiod.istio-system.svc": true,
		"_spiffe.example.com":     true,
		"*.istio-system.svc":      true,
		"*":                       true,
		"":                        false,
		"istiod..svc":             false,
		".istiod.svc":             false,
		"istiod.svc.":             false,
		"a*.svc":                  false,
		"a.*.svc":                 false,
		"a,b.svc":                 false,
		"a b.svc":                 false,
		strings.Repeat("a", 64):   false,
		strings.Repeat("a.", 127): false,
	} {
		if got := dnsNameProblem(name) == ""; got != want {
			t.Errorf("dnsNameProblem(%q) = %q", name, dnsNameProblem(name))
		}
	}
}

// The matcher must stay fast on inputs that make backtracking regular
// expression engines blow up.
func TestGlobMatchPathological(t *testing.T) {
	pattern := strings.Repeat("*a", 32) + "b"
	s := strings.Repeat("a", maxURILength)
	start := time.Now()
	if globMatch(pattern, s) {
		t.Fatal("matched")
	}
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Errorf("globMatch took %s", elapsed)
	}
}
