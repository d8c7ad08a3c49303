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
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Controller is a vault-intermediate-issuer controller process started by a
// test, with the addresses of its metrics and probe endpoints.
type Controller = IssuerProcess

// StartController runs bin/vault-intermediate-issuer with the given
// arguments and kubeconfig, logging to <name>.log, on free loopback ports
// for metrics and probes (see StartIssuerWith).
func (e *Env) StartController(name, kubeconfig string, args []string) (*Controller, error) {
	return e.StartIssuerWith(IssuerOptions{Name: name, Kubeconfig: kubeconfig, Args: args})
}

// Get fetches path from the controller's metrics (when metrics is true) or
// probe endpoint, and returns the status code and body.
func (c *Controller) Get(ctx context.Context, metrics bool, path string) (int, string, error) {
	addr := c.ProbeAddr
	if metrics {
		addr = c.MetricsAddr
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("fetching %s from %s: %w", path, c.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, "", fmt.Errorf("reading %s from %s: %w", path, c.Name, err)
	}
	return resp.StatusCode, string(body), nil
}

// MetricValue returns the value of the first sample in the controller's
// Prometheus text exposition whose name is name and whose labels include
// every label in labels (written as `key="value"`), and whether there was
// one.
func (c *Controller) MetricValue(ctx context.Context, name string, labels ...string) (float64, bool, error) {
	code, body, err := c.Get(ctx, true, "/metrics")
	if err != nil {
		return 0, false, err
	}
	if code != http.StatusOK {
		return 0, false, fmt.Errorf("%s answered /metrics with HTTP %d", c.Name, code)
	}
	return FindSample(body, name, labels...)
}

// FindSample finds a sample in a Prometheus text exposition; see
// Controller.MetricValue.
func FindSample(exposition, name string, labels ...string) (float64, bool, error) {
	samples, err := ParseSamples(exposition)
	if err != nil {
		return 0, false, err
	}
	match := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		match[k] = strings.Trim(v, `"`)
	}
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return s.Value, true, nil
		}
	}
	return 0, false, nil
}
