//go:build faultinjection

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

package signer

import (
	"os"
	"syscall"
)

// faultPoint kills the process with SIGKILL (no deferred functions, no token
// revocation, no status write) when VAULT_INTERMEDIATE_ISSUER_FAULT names
// this point: the crashes the fault drills repeat.
func faultPoint(name string) {
	if os.Getenv("VAULT_INTERMEDIATE_ISSUER_FAULT") == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
