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

package env

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ServiceAccountUser is the user name Kubernetes gives a ServiceAccount's
// tokens: system:serviceaccount:<namespace>:<name>.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ImpersonatingKubeconfig writes a copy of the admin kubeconfig whose user
// acts as the given user, and returns its path. The API server then
// authorizes every request as that user alone: for a ServiceAccount user it
// adds the groups a real token of the account has (system:serviceaccounts,
// system:serviceaccounts:<namespace>, system:authenticated) and nothing of
// the admin's.
func (e *Env) ImpersonatingKubeconfig(user string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		return "", fmt.Errorf("loading the admin kubeconfig: %w", err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
	}
	path := filepath.Join(e.Artifacts, "kubeconfig-"+strings.NewReplacer(":", "_", "/", "_").Replace(user))
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("writing the kubeconfig of %s: %w", user, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", fmt.Errorf("restricting the kubeconfig of %s: %w", user, err)
	}
	return path, nil
}

// ImpersonatingClient returns a client that acts as the given user.
func (e *Env) ImpersonatingClient(user string) (client.Client, error) {
	cfg := rest.CopyConfig(e.RestConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: e.Scheme})
	if err != nil {
		return nil, fmt.Errorf("creating a client acting as %s: %w", user, err)
	}
	return c, nil
}
