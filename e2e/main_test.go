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
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// bankIssuer is the name the shipped example gives the bank's issuer.
const bankIssuer = "vault-intermediate"

// stack is the environment shared by the tests of this package. The tests
// run one after another: several of them count the certificates Vault
// issued, which concurrent tests would disturb.
var stack *env.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	var err error
	// This suite runs the controller built with the race detector.
	stack, err = env.Start(ctx, env.Options{IssuerBinary: env.RaceIssuerBinary})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the e2e environment:", err)
		return 1
	}
	// Deferred before Stop, so it runs after it: a race the controller hits
	// while shutting down fails the suite too.
	defer func() {
		races, err := stack.DataRaces()
		switch {
		case err != nil:
			fmt.Fprintln(os.Stderr, "scanning the logs for data races:", err)
			code = 1
		case len(races) > 0:
			fmt.Fprintf(os.Stderr, "the race detector reported data races:\n  %s\n", strings.Join(races, "\n  "))
			code = 1
		}
	}()
	defer stack.Stop()
	fmt.Printf("e2e environment up in %s (Vault %s at %s, logs in %s)\n",
		time.Since(start).Round(time.Millisecond), stack.Vault.Version, stack.Vault.Address, stack.Artifacts)
	if _, err := stack.ApplyBankIssuer(ctx, bankIssuer, nil); err != nil {
		fmt.Fprintln(os.Stderr, "applying the bank issuer:", err)
		return 1
	}
	if cond, err := stack.WaitForIssuerCondition(ctx, bankIssuer, metav1.ConditionTrue, 60*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "the bank issuer did not become Ready: %v (condition: %+v)\n", err, cond)
		return 1
	}
	code = m.Run()
	if code != 0 {
		return code
	}
	// The whole run is over: prove that no secret reached a log line, an
	// Event or a status field.
	scanCtx, cancelScan := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelScan()
	leaks, err := scanForSecrets(scanCtx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scanning for leaked secrets:", err)
		return 1
	}
	if len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "secrets leaked into logs, Events or status:\n  %s\n", strings.Join(leaks, "\n  "))
		return 1
	}
	return 0
}
