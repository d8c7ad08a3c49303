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
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// auditSecretsPolicy records every request on Secrets, at the Metadata
// level (who, which verb, which object; never the data), and nothing else.
const auditSecretsPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets"]
  - level: None
`

// AuditEvent is the part of a kube-apiserver audit event the tests read.
type AuditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// Actor is the user the request acted as: the impersonated one, if any.
func (a AuditEvent) Actor() string {
	if a.ImpersonatedUser != nil {
		return a.ImpersonatedUser.Username
	}
	return a.User.Username
}

// ReadAuditLog reads every event of the audit log (Options.AuditSecrets).
func (e *Env) ReadAuditLog() ([]AuditEvent, error) {
	if e.AuditLog == "" {
		return nil, fmt.Errorf("the environment was started without an audit log")
	}
	f, err := os.Open(e.AuditLog)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("parsing an audit event: %w", err)
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}
