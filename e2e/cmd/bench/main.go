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

// Command bench measures vault-intermediate-issuer side by side with
// cert-manager's in-tree Vault issuer on the real stack of package env
// (kube-apiserver + etcd, OpenBao, the cert-manager controllers with the
// in-tree Vault issuer enabled, and our controller), both signing through
// pki/root/sign-intermediate with the same AppRole role.
//
// For every N it creates N approved-by-cert-manager CertificateRequests at
// once for our issuer, then for the in-tree issuer, alternating A B A B, and
// times each request from the moment its Create call returned to the moment
// a watch saw it Ready. Around every run it reads the AppRole logins Vault
// counted, and the CPU time and peak RSS of every process from /proc. It
// then sends the same N signings straight to Vault (the floor), measures the
// controllers' memory with 5,000 CertificateRequests of a foreign issuer in
// the cluster, and writes bench/results.md and bench/time-to-ready.png.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

type options struct {
	sizes            []int
	reps             int
	out              string
	goBench          string
	foreign          int
	floorConcurrency int
	runTimeout       time.Duration
	issuerArgs       []string
	issuerEnv        []string
}

func parseFlags() (*options, error) {
	o := &options{}
	sizes := flag.String("n", "50,200,1000", "comma-separated numbers of CertificateRequests created at once per run (empty: only the memory measurement)")
	flag.IntVar(&o.reps, "reps", 2, "runs per issuer and N, alternating ours and in-tree (2: A B A B)")
	flag.StringVar(&o.out, "out", "", "directory for results.md and time-to-ready.png (default: bench/ of the repository)")
	flag.StringVar(&o.goBench, "go-bench", "", "output of `go test -bench` to include in the report (optional)")
	flag.IntVar(&o.foreign, "foreign", 5000, "CertificateRequests of a foreign issuer for the memory measurement (0 skips it)")
	flag.IntVar(&o.floorConcurrency, "floor-concurrency", 4, "parallel signings of the Vault floor (our controller's --concurrent-signings default)")
	flag.DurationVar(&o.runTimeout, "run-timeout", 20*time.Minute, "how long one run may take before the requests still pending count as timed out")
	issuerArgs := flag.String("issuer-args", "", "space-separated extra flags for our controller, e.g. \"--concurrent-signings=8\" (default: none, the shipped defaults)")
	issuerEnv := flag.String("issuer-env", "", "space-separated NAME=value for our controller's environment only, e.g. \"GOMEMLIMIT=48MiB\"")
	flag.Parse()
	o.issuerArgs = strings.Fields(*issuerArgs)
	o.issuerEnv = strings.Fields(*issuerEnv)
	for _, s := range strings.Split(*sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-n: %q is not a positive number", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if len(o.sizes) == 0 && o.foreign == 0 {
		return nil, fmt.Errorf("-n names no size and -foreign is 0: nothing to measure")
	}
	if o.reps < 1 {
		return nil, fmt.Errorf("-reps must be at least 1")
	}
	return o, nil
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
}

// logf prints progress to stderr; stdout gets the report only.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o *options) error {
	started := time.Now()
	machine := describeMachine()
	cmMetricsPort, err := env.FreePort()
	if err != nil {
		return err
	}
	cmMetricsAddr := fmt.Sprintf("127.0.0.1:%d", cmMetricsPort)

	logf("starting etcd, kube-apiserver, OpenBao, cert-manager (with the in-tree Vault issuer) and vault-intermediate-issuer")
	stack, err := env.Start(ctx, env.Options{CertManagerArgs: []string{
		"--controllers", strings.Join(certManagerControllers, ","),
		"--metrics-listen-address", cmMetricsAddr,
	}})
	if err != nil {
		return err
	}
	defer stack.Stop()
	logf("stack up in %s; logs in %s", time.Since(started).Round(time.Millisecond), stack.Artifacts)
	if o.out == "" {
		o.out = filepath.Join(stack.RepoRoot, "bench")
	}

	b, err := newBench(ctx, stack, cmMetricsAddr, o.issuerArgs)
	if err != nil {
		return err
	}
	defer b.close()
	if len(o.issuerArgs) > 0 || len(o.issuerEnv) > 0 {
		stack.IssuerEnv = o.issuerEnv
		logf("restarting our controller with flags %v and environment %v", o.issuerArgs, o.issuerEnv)
		if err := b.restartIssuer(ctx); err != nil {
			return err
		}
	}
	if err := b.setUpIssuers(ctx); err != nil {
		return err
	}
	report := &report{Machine: machine, Options: *o, Versions: b.versions(ctx), Started: started}

	// Not measured: the first signing of each issuer opens connections and
	// fills caches that every later one reuses.
	logf("warming up both issuers with 5 requests each")
	for _, iss := range []issuerUnderTest{ours, inTree} {
		r, err := b.runOnce(ctx, iss, 5, 0, o.runTimeout)
		if err != nil {
			return fmt.Errorf("warm-up of %s: %w", iss, err)
		}
		if r.Failed > 0 || r.TimedOut > 0 {
			return fmt.Errorf("warm-up of %s: %d failed, %d timed out; see %s", iss, r.Failed, r.TimedOut, stack.Artifacts)
		}
	}

	for _, n := range o.sizes {
		for rep := 1; rep <= o.reps; rep++ {
			for _, iss := range []issuerUnderTest{ours, inTree} {
				logf("N=%d rep %d: %s", n, rep, iss)
				r, err := b.runOnce(ctx, iss, n, rep, o.runTimeout)
				if err != nil {
					return fmt.Errorf("run N=%d rep %d %s: %w", n, rep, iss, err)
				}
				logf("  p50 %s p95 %s max %s wall %s (%.1f req/s), %d logins, %d failed, %d timed out",
					fmtDur(r.percentile(50)), fmtDur(r.percentile(95)), fmtDur(r.percentile(100)), fmtDur(r.Wall),
					r.rate(), r.Logins, r.Failed, r.TimedOut)
				report.Runs = append(report.Runs, r)
			}
			for _, loginEach := range []bool{false, true} {
				conc, what := o.floorConcurrency, "one login"
				if loginEach {
					conc, what = certManagerWorkers, "a login per signing"
				}
				logf("N=%d rep %d: Vault floor, %s, %d at a time", n, rep, what, conc)
				f, err := b.floor(ctx, n, rep, conc, loginEach)
				if err != nil {
					return fmt.Errorf("Vault floor N=%d: %w", n, err)
				}
				logf("  p50 %s p95 %s max %s wall %s (%.1f req/s), %d logins", fmtDur(f.percentile(50)), fmtDur(f.percentile(95)),
					fmtDur(f.percentile(100)), fmtDur(f.Wall), f.rate(), f.Logins)
				report.Floors = append(report.Floors, f)
			}
		}
	}

	if o.foreign > 0 {
		logf("memory at scale: %d CertificateRequests for a foreign issuer", o.foreign)
		if report.Memory, err = b.memoryAtScale(ctx, o.foreign); err != nil {
			return fmt.Errorf("memory at scale: %w", err)
		}
	}
	if o.goBench != "" {
		if report.GoBench, err = parseGoBench(o.goBench); err != nil {
			return err
		}
	}
	report.Finished = time.Now()
	report.Machine.LoadAfter = loadAverage()

	if err := os.MkdirAll(o.out, 0o755); err != nil { //nolint:gosec // G301: bench/ is part of the repository tree, readable like the rest
		return fmt.Errorf("creating %s: %w", o.out, err)
	}
	md := report.markdown()
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(md), 0o644); err != nil { //nolint:gosec // G306: the committed report, readable like the rest of the tree
		return fmt.Errorf("writing results.md: %w", err)
	}
	if len(o.sizes) > 0 {
		if err := writeChart(filepath.Join(o.out, "time-to-ready.png"), report); err != nil {
			return fmt.Errorf("drawing the chart: %w", err)
		}
	}
	fmt.Print(md)
	logf("wrote %s and %s in %s", filepath.Join(o.out, "results.md"), filepath.Join(o.out, "time-to-ready.png"),
		time.Since(started).Round(time.Second))
	return nil
}
