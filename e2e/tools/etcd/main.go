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

// Command etcd is a thin wrapper around the upstream etcd server entry point.
// It exists so that the integration tests, which use controller-runtime's
// envtest, can run a real etcd server built from source fetched through the
// Go module proxy, pinned by this module's go.mod and go.sum, instead of a
// prebuilt release binary. It behaves exactly like the upstream etcd binary
// of the pinned version and accepts the same flags.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
