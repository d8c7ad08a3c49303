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
	"net"
	"path/filepath"
	"strconv"
)

// IssuerOptions configure one more controller process.
type IssuerOptions struct {
	// Name names the process and its log file.
	Name string
	// Binary is the file in bin/ to run; "vault-intermediate-issuer" when
	// empty.
	Binary string
	// Args are added to the defaults (cluster resource namespace, metrics
	// and probe addresses).
	Args []string
	// Env is added to the process environment.
	Env []string
}

// IssuerProcess is a controller process started by StartIssuerWith.
type IssuerProcess struct {
	*Process
	MetricsAddr string
}

// StartIssuerWith starts a controller process as opts say, on free ports. It
// does not replace e.Issuer.
func (e *Env) StartIssuerWith(opts IssuerOptions) (*IssuerProcess, error) {
	if opts.Binary == "" {
		opts.Binary = "vault-intermediate-issuer"
	}
	if opts.Name == "" {
		opts.Name = opts.Binary
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	metrics := net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort))
	args := append([]string{
		"--cluster-resource-namespace", ClusterResourceNamespace,
		"--metrics-bind-address", metrics,
		"--health-probe-bind-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
	}, opts.Args...)
	p, err := StartProcess(opts.Name, e.Artifacts, filepath.Join(e.BinDir, opts.Binary), args,
		append([]string{"KUBECONFIG=" + e.Kubeconfig}, opts.Env...))
	if err != nil {
		return nil, err
	}
	return &IssuerProcess{Process: p, MetricsAddr: metrics}, nil
}
