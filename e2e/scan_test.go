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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// vaultTokenShape matches Vault and OpenBao service, batch and recovery
// tokens.
var vaultTokenShape = regexp.MustCompile(`\b(?:hv[sbr]|s|b|r)\.[A-Za-z0-9]{20,}\b`)

// scanForSecrets searches every log of the controllers under test (the
// issuer, restarts included, and cert-manager), every Event, and the status
// of every issuer and CertificateRequest for secret IDs and their
// accessors, Vault tokens and accessors, and private keys. It returns one
// line per finding.
func scanForSecrets(ctx context.Context) ([]string, error) {
	needles := map[string]string{}
	for _, s := range env.CreatedSecrets() {
		needles[s] = "an AppRole secret ID or its accessor"
	}
	needles[stack.Vault.RootToken] = "the Vault root token"
	accessors, err := stack.Vault.TokenAccessors(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accessors {
		needles[a] = "a Vault token accessor"
	}
	// Private keys cert-manager generated for the requests.
	var secrets corev1.SecretList
	if err := stack.Client.List(ctx, &secrets); err != nil {
		return nil, err
	}
	for _, s := range secrets.Items {
		if key := s.Data[corev1.TLSPrivateKeyKey]; len(key) > 0 {
			needles[string(key)] = "the private key of Secret " + s.Namespace + "/" + s.Name
		}
	}

	var leaks []string
	check := func(where, text string) {
		for needle, what := range needles {
			if needle != "" && strings.Contains(text, needle) {
				leaks = append(leaks, fmt.Sprintf("%s holds %s", where, what))
			}
		}
		if strings.Contains(text, "PRIVATE KEY") {
			leaks = append(leaks, where+" holds a PEM private key")
		}
		if m := vaultTokenShape.FindString(text); m != "" {
			leaks = append(leaks, fmt.Sprintf("%s holds something shaped like a Vault token (%.6s...)", where, m))
		}
	}

	logs, err := filepath.Glob(filepath.Join(stack.Artifacts, "*.log"))
	if err != nil {
		return nil, err
	}
	for _, path := range logs {
		base := filepath.Base(path)
		if !strings.HasPrefix(base, "vault-intermediate-issuer") && !strings.HasPrefix(base, "cert-manager") {
			continue // the servers' own logs are not ours to judge
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		check("log "+base, string(data))
	}

	var events eventsv1.EventList
	if err := stack.Client.List(ctx, &events); err != nil {
		return nil, err
	}
	for _, ev := range events.Items {
		check(fmt.Sprintf("Event %s/%s (%s)", ev.Namespace, ev.Name, ev.Reason), ev.Note)
	}
	var coreEvents corev1.EventList
	if err := stack.Client.List(ctx, &coreEvents); err != nil {
		return nil, err
	}
	for _, ev := range coreEvents.Items {
		check(fmt.Sprintf("Event %s/%s (%s)", ev.Namespace, ev.Name, ev.Reason), ev.Message)
	}

	var issuers v1alpha1.VaultIntermediateClusterIssuerList
	if err := stack.Client.List(ctx, &issuers); err != nil {
		return nil, err
	}
	for _, iss := range issuers.Items {
		data, _ := json.Marshal(iss.Status)
		check("status of issuer "+iss.Name, string(data))
	}
	var requests cmapi.CertificateRequestList
	if err := stack.Client.List(ctx, &requests); err != nil {
		return nil, err
	}
	for _, cr := range requests.Items {
		data, _ := json.Marshal(cr.Status.Conditions)
		check("status of CertificateRequest "+cr.Namespace+"/"+cr.Name, string(data))
	}
	fmt.Printf("secret scan: %d secrets and keys, %d log files, %d Events, %d issuers, %d requests: %d findings\n",
		len(needles), len(logs), len(events.Items)+len(coreEvents.Items), len(issuers.Items), len(requests.Items), len(leaks))
	return leaks, nil
}
