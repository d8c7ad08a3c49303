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
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
)

// parsedRules is one path rule as Vault's policy parser (vault/policy.go of
// OpenBao 2.4 and Vault 1.13, both on HCL 1) decodes it.
type parsedRules struct {
	Capabilities         []string                 `hcl:"capabilities"`
	RequiredParameters   []string                 `hcl:"required_parameters"`
	AllowedParametersHCL map[string][]interface{} `hcl:"allowed_parameters"`
}

// parseHCL decodes a policy the way Vault does, path by path.
func parseHCL(t testing.TB, text string) map[string]parsedRules {
	t.Helper()
	root, err := hcl.Parse(text)
	if err != nil {
		t.Fatalf("HCL does not parse: %v\n%s", err, text)
	}
	list, ok := root.Node.(*ast.ObjectList)
	if !ok {
		t.Fatalf("the policy is not an object list")
	}
	out := map[string]parsedRules{}
	for _, item := range list.Filter("path").Items {
		key, ok := item.Keys[0].Token.Value().(string)
		if !ok {
			t.Fatalf("path key %v is not a string", item.Keys[0].Token)
		}
		var pr parsedRules
		if err := hcl.DecodeObject(&pr, item.Val); err != nil {
			t.Fatalf("decoding path %q: %v", key, err)
		}
		if _, dup := out[key]; dup {
			t.Fatalf("path %q appears twice", key)
		}
		out[key] = pr
	}
	return out
}

// vaultRequestData is params as Vault's HTTP layer decodes the JSON body the
// API client sends: numbers as json.Number, lists as []interface{}.
func vaultRequestData(t testing.TB, params map[string]any) map[string]interface{} {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var data map[string]interface{}
	if err := dec.Decode(&data); err != nil {
		t.Fatal(err)
	}
	return data
}

// allows is Vault's parameter check for a create or update request
// (ACL.AllowOperation in vault/acl.go, identical in OpenBao 2.4.0 and
// HashiCorp Vault 1.13.0): every required parameter present; with allowed
// parameters, every parameter of the request listed and its value in the
// list, where an empty list allows any value. The end-to-end tests prove
// this model against both servers.
func allows(pr parsedRules, data map[string]interface{}) (bool, string) {
	for _, p := range pr.RequiredParameters {
		if _, ok := data[strings.ToLower(p)]; !ok {
			return false, "missing required parameter " + p
		}
	}
	if len(data) == 0 || len(pr.AllowedParametersHCL) == 0 {
		return true, ""
	}
	allowed := map[string][]interface{}{}
	for k, v := range pr.AllowedParametersHCL {
		allowed[strings.ToLower(k)] = v
	}
	_, allowAll := allowed["*"]
	for k, v := range data {
		list, ok := allowed[strings.ToLower(k)]
		if !ok {
			if allowAll {
				continue
			}
			return false, "parameter " + k + " is not allowed"
		}
		if len(list) > 0 && !valueInSlice(v, list) {
			return false, fmt.Sprintf("value %#v of %s is not allowed", v, k)
		}
	}
	return true, ""
}

// valueInSlice is vault/acl.go's: strings by GlobbedStringsMatch, anything
// else by reflect.DeepEqual.
func valueInSlice(v interface{}, list []interface{}) bool {
	for _, el := range list {
		if el == nil || v == nil {
			if el == v {
				return true
			}
			continue
		}
		es, eok := el.(string)
		vs, vok := v.(string)
		if eok && vok {
			if globbedStringsMatch(es, vs) {
				return true
			}
			continue
		}
		if reflect.DeepEqual(el, v) {
			return true
		}
	}
	return false
}

// globbedStringsMatch is go-secure-stdlib/strutil's.
func globbedStringsMatch(item, val string) bool {
	if len(item) < 2 {
		return val == item
	}
	hasPrefix := strings.HasPrefix(item, "*")
	hasSuffix := strings.HasSuffix(item, "*")
	switch {
	case hasPrefix && hasSuffix:
		return strings.Contains(val, item[1:len(item)-1])
	case hasPrefix:
		return strings.HasSuffix(val, item[1:])
	case hasSuffix:
		return strings.HasPrefix(val, item[:len(item)-1])
	}
	return val == item
}
