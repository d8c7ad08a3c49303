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

package main

import (
	"sort"

	"github.com/openbao/openbao/builtin/credential/approle"
	"github.com/openbao/openbao/builtin/logical/pki"
	"github.com/openbao/openbao/sdk/v2/helper/consts"
	"github.com/openbao/openbao/sdk/v2/logical"
)

// secretEngines and authMethods are the only plugins this server offers on
// top of the ones the core always has (kv, cubbyhole, system, identity,
// token). OpenBao's default registry would link in every builtin plugin, with
// their cloud SDKs; these two are all the issuer talks to.
var (
	secretEngines = map[string]logical.Factory{"pki": pki.Factory}
	authMethods   = map[string]logical.Factory{"approle": approle.Factory}
)

// builtinRegistry implements vault.BuiltinRegistry for secretEngines and
// authMethods, so that the plugin catalog (sys/plugins/catalog, mount
// version checks) agrees with the factories handed to the core.
type builtinRegistry struct{}

func (builtinRegistry) factories(pluginType consts.PluginType) map[string]logical.Factory {
	switch pluginType {
	case consts.PluginTypeSecrets:
		return secretEngines
	case consts.PluginTypeCredential:
		return authMethods
	default:
		return nil
	}
}

func (r builtinRegistry) Contains(name string, pluginType consts.PluginType) bool {
	_, ok := r.factories(pluginType)[name]
	return ok
}

func (r builtinRegistry) Get(name string, pluginType consts.PluginType) (func() (interface{}, error), bool) {
	f, ok := r.factories(pluginType)[name]
	if !ok {
		return nil, false
	}
	return func() (interface{}, error) { return f, nil }, true
}

func (r builtinRegistry) Keys(pluginType consts.PluginType) []string {
	m := r.factories(pluginType)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (r builtinRegistry) DeprecationStatus(name string, pluginType consts.PluginType) (consts.DeprecationStatus, bool) {
	if r.Contains(name, pluginType) {
		return consts.Supported, true
	}
	return consts.Unknown, false
}
