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

// Package faults runs fault drills and hostile input against the real stack
// (kube-apiserver + etcd, cert-manager, OpenBao, the issuer): every request
// the policy allows is issued exactly once, every request it denies is
// denied, and none is left without a condition saying why. The suite prints
// a table of every drill at the end and writes it to faults.md in the
// artifacts directory.
package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// bankIssuer is the shipped bank issuer's name.
const bankIssuer = "vault-intermediate"

// namespace is where every drill's requests live.
const namespace = "istio-system"

var stack *env.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	stack, err = env.Start(ctx, env.Options{RestartableVault: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the e2e environment:", err)
		return 1
	}
	defer stack.Stop()
	fmt.Printf("fault drill environment up (Vault %s at %s, logs in %s)\n", stack.Vault.Version, stack.Vault.Address, stack.Artifacts)
	if _, err := stack.ApplyBankIssuer(ctx, bankIssuer, nil); err != nil {
		fmt.Fprintln(os.Stderr, "applying the bank issuer:", err)
		return 1
	}
	if _, err := stack.WaitForIssuerCondition(ctx, bankIssuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "the bank issuer did not become Ready:", err)
		return 1
	}
	code := m.Run()
	table := results.markdown()
	fmt.Print("\n" + table)
	if err := os.WriteFile(filepath.Join(stack.Artifacts, "faults.md"), []byte(table), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "writing faults.md:", err)
	}
	return code
}

// drillResult is one row of the evidence table.
type drillResult struct {
	Drill      string
	Requests   int
	Issued     int
	Denied     int
	Lost       int
	Duplicates int
	MaxReady   time.Duration
	Note       string
}

type resultTable struct {
	mu   sync.Mutex
	rows []drillResult
}

var results resultTable

func (r *resultTable) add(row drillResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
}

func (r *resultTable) markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("| drill | requests | issued | denied | lost | duplicates | max time to ready | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, row := range r.rows {
		maxReady := "-"
		if row.MaxReady > 0 {
			maxReady = row.MaxReady.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s |\n", row.Drill, row.Requests, row.Issued, row.Denied,
			row.Lost, row.Duplicates, maxReady, row.Note)
	}
	return b.String()
}
