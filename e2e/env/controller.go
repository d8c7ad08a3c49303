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
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Controller is a vault-intermediate-issuer controller process started by a
// test, with the addresses of its metrics and probe endpoints.
type Controller struct {
	*Process
	MetricsAddr string
	ProbeAddr   string
}

// StartController runs bin/vault-intermediate-issuer with the given
// arguments and kubeconfig, logging to <name>.log. Its metrics and probe
// endpoints are bound to free loopback ports; these flags come after args
// and so override any bind addresses in them (the last of a repeated flag
// wins), which lets a test run the exact arguments of a rendered Deployment.
func (e *Env) StartController(name, kubeconfig string, args []string) (*Controller, error) {
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &Controller{
		MetricsAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort)),
		ProbeAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
	}
	all := append(append([]string{}, args...),
		"--metrics-bind-address="+c.MetricsAddr,
		"--health-probe-bind-address="+c.ProbeAddr)
	c.Process, err = StartProcess(name, e.Artifacts, filepath.Join(e.BinDir, "vault-intermediate-issuer"),
		all, []string{"KUBECONFIG=" + kubeconfig})
	if err != nil {
		return nil, err
	}
	return c, nil
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
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, labelSet, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		matches := true
		for _, l := range labels {
			if !strings.Contains(labelSet, l) {
				matches = false
				break
			}
		}
		if !matches {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("parsing the value of %q: %w", line, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}
