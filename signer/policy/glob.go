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
)

// globMatch reports whether s matches pattern, in which "*" matches any run
// of bytes (also an empty one) and every other byte matches itself. The match
// is anchored at both ends.
//
// It is the classic greedy matcher that backtracks only to the most recent
// star: no recursion and no regular expressions, so its cost is bounded by
// len(pattern)*len(s) and in practice linear. Callers bound the length of s
// before matching.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			// Let the last star swallow one more byte and retry.
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchAny reports whether s matches one of the patterns.
func matchAny(patterns []string, s string) bool {
	for _, pattern := range patterns {
		if globMatch(pattern, s) {
			return true
		}
	}
	return false
}

// dnsMatch reports whether the DNS name matches the DNS pattern. Both are
// compared case-insensitively. A "*" in the pattern matches within one label
// only: "*.istio-system.svc" matches "istiod.istio-system.svc" but neither
// "istio-system.svc" nor "a.b.istio-system.svc". A name that is itself a
// wildcard ("*.istio-system.svc") matches only a pattern that is the same
// string: the star of a pattern never stands for the star of a wildcard
// certificate name.
func dnsMatch(pattern, name string) bool {
	if strings.IndexByte(name, '*') >= 0 {
		return strings.EqualFold(pattern, name)
	}
	for {
		pl, prest, pmore := strings.Cut(pattern, ".")
		nl, nrest, nmore := strings.Cut(name, ".")
		if pmore != nmore {
			// Different number of labels.
			return false
		}
		if !globMatch(asciiLower(pl), asciiLower(nl)) {
			return false
		}
		if !pmore {
			return true
		}
		pattern, name = prest, nrest
	}
}

// dnsMatchAny reports whether name matches one of the DNS patterns.
func dnsMatchAny(patterns []string, name string) bool {
	for _, pattern := range patterns {
		if dnsMatch(pattern, name) {
			return true
		}
	}
	return false
}

// asciiLower lowercases ASCII letters only; DNS names are ASCII and
// case-insensitive. It does not allocate when s has no upper-case letter.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// maxDNSNameLength is the longest DNS name in presentation form (RFC 1035).
const maxDNSNameLength = 253

// dnsNameProblem says what is wrong with a DNS name from a CSR, or "" if it
// is well formed: labels of 1 to 63 letters, digits, hyphens or
// underscores, and at most a "*" as the whole leftmost label. No trailing
// dot, no comma (Vault splits its alt_names parameter at commas).
func dnsNameProblem(name string) string {
	if name == "" {
		return "is empty"
	}
	if len(name) > maxDNSNameLength {
		return "is longer than 253 characters"
	}
	first := true
	for rest := name; ; first = false {
		label, next, more := strings.Cut(rest, ".")
		if label == "" {
			return "has an empty label"
		}
		if len(label) > 63 {
			return "has a label longer than 63 characters"
		}
		if label != "*" || !first {
			for i := 0; i < len(label); i++ {
				if !isLDH(label[i]) {
					if label[i] == '*' {
						return "has a \"*\" that is not the whole leftmost label"
					}
					return "has a character that is not a letter, digit, hyphen or underscore"
				}
			}
		}
		if !more {
			return ""
		}
		rest = next
	}
}

// dnsPatternProblem says what is wrong with a DNS pattern of the policy, or
// "" if it is well formed: like a DNS name, but "*" may appear anywhere
// within a label.
func dnsPatternProblem(pattern string) string {
	if pattern == "" {
		return "is empty"
	}
	if len(pattern) > maxDNSNameLength {
		return "is longer than 253 characters"
	}
	for rest := pattern; ; {
		label, next, more := strings.Cut(rest, ".")
		if label == "" {
			return "has an empty label"
		}
		if len(label) > 63 {
			return "has a label longer than 63 characters"
		}
		for i := 0; i < len(label); i++ {
			if !isLDH(label[i]) && label[i] != '*' {
				return "has a character that is not a letter, digit, hyphen, underscore or \"*\""
			}
		}
		if !more {
			return ""
		}
		rest = next
	}
}

// domainProblem says what is wrong with a name constraint domain, or "" if
// it is well formed: a DNS name without wildcards, optionally with a leading
// dot (which X.509 name constraints read as "subdomains only").
func domainProblem(domain string) string {
	d := strings.TrimPrefix(domain, ".")
	if strings.IndexByte(d, '*') >= 0 {
		return "contains a \"*\"; name constraints match a domain and its subdomains without wildcards"
	}
	return dnsNameProblem(d)
}

func isLDH(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
