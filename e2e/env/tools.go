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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ToolResult is what a command-line tool of bin/ printed and how it exited.
type ToolResult struct {
	Stdout, Stderr string
	ExitCode       int
}

// RunTool runs bin/<name> with args and returns its output and exit code.
// A tool that could not be started, or was killed, is an error; a non-zero
// exit code is not (the caller judges it).
func (e *Env) RunTool(ctx context.Context, name string, args ...string) (ToolResult, error) {
	bin := filepath.Join(e.BinDir, name)
	if _, err := os.Stat(bin); err != nil {
		return ToolResult{}, fmt.Errorf("%s is missing from %s: run `make tools` first", name, e.BinDir)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := ToolResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.Exited():
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("running %s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return res, nil
}

// Cmctl runs bin/cmctl (cert-manager's CLI) with the kubeconfig, as the
// user the kubeconfig acts as.
func (e *Env) Cmctl(ctx context.Context, kubeconfig string, args ...string) (ToolResult, error) {
	return e.RunTool(ctx, "cmctl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// RunJSONTool runs a tool of bin/ that prints one JSON verdict on stdout
// (istio-ca, spire-upstream), decodes it into v and returns the exit code.
func (e *Env) RunJSONTool(ctx context.Context, v any, name string, args ...string) (ToolResult, error) {
	res, err := e.RunTool(ctx, name, args...)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal([]byte(res.Stdout), v); err != nil {
		return res, fmt.Errorf("%s printed no JSON verdict (exit %d): %w\nstdout: %s\nstderr: %s", name, res.ExitCode, err, res.Stdout, res.Stderr)
	}
	return res, nil
}
