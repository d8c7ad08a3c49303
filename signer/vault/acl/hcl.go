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

package acl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HCL renders the policy in the HCL that "vault policy write" (and "bao
// policy write") read. Values are rendered so that Vault's HCL 1 parser
// decodes them to exactly the Go values of the policy: strings as strings,
// booleans as booleans, lists as lists.
func (p *Policy) HCL() string {
	var b strings.Builder
	comment(&b, "", p.Header)
	for _, path := range p.Paths {
		b.WriteByte('\n')
		comment(&b, "", path.Comment)
		fmt.Fprintf(&b, "path %s {\n", quote(path.Path))
		fmt.Fprintf(&b, "  capabilities = %s\n", stringList(path.Capabilities))
		if len(path.RequiredParameters) > 0 {
			fmt.Fprintf(&b, "  required_parameters = %s\n", stringList(path.RequiredParameters))
		}
		if len(path.AllowedParameters) > 0 {
			b.WriteString("  allowed_parameters = {\n")
			for _, param := range path.AllowedParameters {
				if param.Comment != "" {
					comment(&b, "    ", []string{param.Comment})
				}
				fmt.Fprintf(&b, "    %s = %s\n", quote(param.Name), valueList(param.Values, "    "))
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func comment(b *strings.Builder, indent string, lines []string) {
	for _, line := range lines {
		if line == "" {
			b.WriteString(indent + "#\n")
			continue
		}
		// A comment ends at a line break: one inside a line would let
		// the rest be read as policy.
		line = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
				return '?'
			}
			return r
		}, line)
		b.WriteString(indent + "# " + line + "\n")
	}
}

func stringList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// valueList renders allowed values: on one line when there is at most one,
// otherwise one per line.
func valueList(values []any, indent string) string {
	if len(values) == 0 {
		return "[]"
	}
	if len(values) == 1 {
		return "[" + value(values[0]) + "]"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, v := range values {
		b.WriteString(indent + "  " + value(v) + ",\n")
	}
	b.WriteString(indent + "]")
	return b.String()
}

func value(v any) string {
	switch v := v.(type) {
	case string:
		return quote(v)
	case bool:
		return strconv.FormatBool(v)
	case []string:
		return stringList(v)
	default:
		panic(fmt.Sprintf("acl: unsupported value type %T", v))
	}
}

// quote renders s as an HCL 1 string literal. HCL 1 unquotes Go's escapes;
// "${" opens an interpolation whose braces its scanner balances even inside
// a string, so "$" is written as the escape \u0024, which its unquoting
// turns back into "$" without ever seeing "${".
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '$':
			b.WriteString(`\u0024`)
		case r == utf8.RuneError, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
