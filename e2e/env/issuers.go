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
	// Binary is the file in bin/ to run; Options.IssuerBinary when empty.
	Binary string
	// Args are added to the defaults (cluster resource namespace, metrics
	// and probe addresses).
	Args []string
	// Env is added to the process environment.
	Env []string
	// Kubeconfig is the controller's kubeconfig; the admin one when empty.
	Kubeconfig string
}

// IssuerProcess is a controller process started by StartIssuerWith, with the
// addresses of its metrics and probe endpoints.
type IssuerProcess struct {
	*Process
	MetricsAddr string
	ProbeAddr   string
}

// StartIssuerWith starts a controller process as opts say, on free ports. It
// does not replace e.Issuer.
func (e *Env) StartIssuerWith(opts IssuerOptions) (*IssuerProcess, error) {
	if opts.Binary == "" {
		opts.Binary = e.issuerBinary
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
	probe := net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort))
	if opts.Kubeconfig == "" {
		opts.Kubeconfig = e.Kubeconfig
	}
	// The bind addresses come last and so override any in opts.Args (the
	// last of a repeated flag wins), which lets a test run the exact
	// arguments of a rendered Deployment.
	args := append(append([]string{"--cluster-resource-namespace", ClusterResourceNamespace}, opts.Args...),
		"--metrics-bind-address="+metrics, "--health-probe-bind-address="+probe)
	p, err := StartProcess(opts.Name, e.Artifacts, filepath.Join(e.BinDir, opts.Binary), args,
		append([]string{"KUBECONFIG=" + opts.Kubeconfig}, opts.Env...))
	if err != nil {
		return nil, err
	}
	return &IssuerProcess{Process: p, MetricsAddr: metrics, ProbeAddr: probe}, nil
}
