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
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// RestartAPIServer stops kube-apiserver (SIGTERM, as an upgrade or a node
// drain would), waits down, and starts it again with the same command line,
// so the same etcd, port and certificates: clients see the API go away and
// come back.
func (e *Env) RestartAPIServer(ctx context.Context, down time.Duration) error {
	certDir := e.testEnv.ControlPlane.APIServer.CertDir
	bin := filepath.Join(e.BinDir, "kube-apiserver")
	pid, args, err := findProcess(bin, certDir)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	// kube-apiserver drains in-flight requests and watches on SIGTERM;
	// after 15s it is killed, as the kubelet would after its grace period.
	deadline := time.Now().Add(15 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(time.Hour)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if e.apiServer != nil {
		_ = e.apiServer.Kill()
	}
	p, err := StartProcess("kube-apiserver-restarted", e.Artifacts, bin, args, nil)
	if err != nil {
		return err
	}
	e.apiServer = p
	return WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "kube-apiserver to serve again", func(ctx context.Context) (bool, error) {
		var list corev1.NamespaceList
		if err := e.Client.List(ctx, &list); err != nil {
			return false, err
		}
		return true, nil
	})
}

// running reports whether pid is alive: not gone and not a zombie waiting
// for its parent.
func running(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// findProcess finds the running bin whose command line mentions marker and
// returns its PID and arguments.
func findProcess(bin, marker string) (int, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		parts := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if parts[0] != bin || !strings.Contains(string(raw), marker) {
			continue
		}
		return pid, parts[1:], nil
	}
	return 0, nil, fmt.Errorf("no running %s with %q on its command line", bin, marker)
}
