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

package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets the report checks.
const (
	// certManagerBurst is the burst of cert-manager's default client rate
	// limiter (20 QPS).
	certManagerBurst      = 50
	targetP50Ratio        = 0.5
	targetP50N            = 200
	targetEvaluate        = 100 * time.Microsecond
	targetRSSKiB          = 64 * 1024
	tokenLifetimeFraction = 0.8 // signer/vault renews a token at 80% of its TTL
	appRoleTokenTTL       = time.Hour
)

type report struct {
	Machine  machine
	Options  options
	Versions versions
	Started  time.Time
	Finished time.Time
	Runs     []*runResult
	Floors   []*floorResult
	Memory   *memoryResult
	GoBench  *goBench
}

// summary pools the runs of one issuer and N.
type summary struct {
	Issuer          issuerUnderTest
	N, Runs, Issued int
	Failed, Timeout int
	TimeToReady     []time.Duration
	TimeToApproved  []time.Duration
	Wall            time.Duration // sum over runs
	Logins          int           // sum over runs
	CPU             map[string]time.Duration
	PeakKiB         map[string]int64
	Ours            reconcileStats // sum over runs
	Writes          apiWrites      // sum over runs
}

func (s *summary) rate() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.Issued) / s.Wall.Seconds()
}

func (s *summary) meanWall() time.Duration { return s.Wall / time.Duration(max(1, s.Runs)) }

func (s *summary) meanCPU(proc string) time.Duration {
	return s.CPU[proc] / time.Duration(max(1, s.Runs))
}

func (r *report) summarize(iss issuerUnderTest, n int) *summary {
	s := &summary{Issuer: iss, N: n, CPU: map[string]time.Duration{}, PeakKiB: map[string]int64{}}
	for _, run := range r.Runs {
		if run.Issuer != iss || run.N != n {
			continue
		}
		s.Runs++
		s.Issued += len(run.TimeToReady)
		s.Failed += run.Failed
		s.Timeout += run.TimedOut
		s.TimeToReady = append(s.TimeToReady, run.TimeToReady...)
		s.TimeToApproved = append(s.TimeToApproved, run.TimeToApproved...)
		s.Wall += run.Wall
		s.Logins += run.Logins
		s.Ours.Reconciles += run.Ours.Reconciles
		s.Ours.ReconcileTime += run.Ours.ReconcileTime
		s.Ours.QueueWaits += run.Ours.QueueWaits
		s.Ours.QueueWaitTime += run.Ours.QueueWaitTime
		s.Ours.APIWrites += run.Ours.APIWrites
		s.Writes = s.Writes.add(run.Writes)
		for name, p := range run.Procs {
			s.CPU[name] += p.CPU
			s.PeakKiB[name] = max(s.PeakKiB[name], p.PeakKiB)
		}
	}
	slices.Sort(s.TimeToReady)
	slices.Sort(s.TimeToApproved)
	return s
}

// floorSummary pools the floor runs of one N and mode.
func (r *report) floorSummary(n int, loginEach bool) (latency []time.Duration, wall time.Duration, runs, logins int, vaultCPU time.Duration) {
	for _, f := range r.Floors {
		if f.N != n || f.LoginEach != loginEach {
			continue
		}
		runs++
		latency = append(latency, f.Latency...)
		wall += f.Wall
		logins += f.Logins
		vaultCPU += f.VaultCPU
	}
	slices.Sort(latency)
	return
}

func (r *report) floorName(loginEach bool) string {
	if loginEach {
		return fmt.Sprintf("Vault floor, login per signing (%d at a time)", certManagerWorkers)
	}
	return fmt.Sprintf("Vault floor, one login (%d at a time)", r.Options.floorConcurrency)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

func mibBytes(b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", b/(1<<20))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func ratio(a, b float64) string {
	if b <= 0 || a <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m, v := r.Machine, r.Versions

	p("# Benchmark: vault-intermediate-issuer vs cert-manager's in-tree Vault issuer")
	p("")
	p("Written by `make bench` (`e2e/cmd/bench`) on %s; the run took %s. Sizes N = %s, %d runs per issuer and N,",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second), joinInts(r.Options.sizes), r.Options.reps)
	p("alternating ours and in-tree (A B A B). The chart of every time to Ready is [time-to-ready.png](time-to-ready.png).")
	p("")
	p("![Time from creation to Ready](time-to-ready.png)")
	p("")
	p("## Machine and versions")
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPU | %s, %d cores (shared with other work) |", m.CPUModel, m.Cores)
	p("| Memory | %.1f GiB |", m.MemoryGiB)
	p("| Kernel | Linux %s |", m.Kernel)
	p("| Load average (1, 5, 15 min) | %s before, %s after |", m.LoadBefore, m.LoadAfter)
	p("| Go | %s |", v.Go)
	p("| Kubernetes | kube-apiserver %s, etcd %s |", v.Kubernetes, v.Etcd)
	p("| cert-manager | %s (controllers built from the module; in-tree Vault issuer enabled) |", v.CertManager)
	p("| OpenBao | %s (in-memory storage, PKI root RSA-2048) |", v.OpenBao)
	p("| vault-intermediate-issuer | %s (issuer-lib %s, controller-runtime %s) |", v.Ours, v.IssuerLib, v.ControllerRuntime)
	p("")
	p("## Set-up")
	p("")
	p("- Both issuers sign through `pki/root/sign-intermediate` with the same AppRole role (token TTL 1h), each with its own secret ID:")
	p("  ours is `deploy/examples/issuer-bank.yaml` (policy checked before and after Vault); the in-tree one is a `ClusterIssuer`")
	p("  with `vault.path: pki/root/sign-intermediate` and AppRole auth.")
	p("- Every request: `isCA: true`, 720h, a P-256 CSR with the subject the bank policy requires, in `istio-system`; keys and")
	p("  CSRs are made before the clock starts. cert-manager's approver approves every request, for both issuers.")
	p("- N requests are created at once from %d goroutines by a client without rate limit. **Time to Ready** runs from the", createWorkers)
	p("  moment a request's Create call returned to the moment a watch saw `Ready=True`; **approved** is the same up to")
	p("  `Approved=True`. **Wall** runs from the first Create call to the last request Ready; req/s = issued / wall.")
	p("- **Logins**: the change of OpenBao's `vault_token_creation{auth_method=\"approle\"}` over the run. **CPU**: user + system")
	p("  time from `/proc/<pid>/stat` over the run (plus 2 s after the last Ready). **Peak RSS**: `VmHWM` after resetting it")
	p("  (`clear_refs`) at the start of the run. The in-tree issuer runs inside the cert-manager process, so its cost is in")
	p("  the cert-manager column; that column also holds the approver's work in both runs.")
	p("- Controllers at their defaults: cert-manager 5 workers per controller and a client limited to 20 QPS (burst 50);")
	p("  ours `--concurrent-signings=4` and no client-side limit (controller-runtime's default). Requests are deleted after")
	p("  every run, and a run starts once both controllers are idle and cert-manager has written nothing for 3 s (its")
	p("  Events drain through the same limiter, and its burst must refill). 5 warm-up requests per issuer are not counted.")
	p("- **Vault floor**: the same N signings (our controller's parameters) sent straight to OpenBao with")
	p("  `github.com/hashicorp/vault/api`, no Kubernetes: %d at a time after one login (our pattern), and %d at a time with a new",
		r.Options.floorConcurrency, certManagerWorkers)
	p("  client and an AppRole login per signing (the in-tree pattern). Latency is counted from the start of the batch.")
	if len(r.Options.issuerArgs) > 0 {
		p("- Our controller ran with the extra flags `%s`.", strings.Join(r.Options.issuerArgs, " "))
	}
	if len(r.Options.issuerEnv) > 0 {
		p("- Our controller ran with the environment `%s`.", strings.Join(r.Options.issuerEnv, " "))
	}
	p("")

	p("## Summary (runs pooled per issuer and N)")
	p("")
	p("| N | issuer | issued | p50 | p95 | max | wall (mean) | req/s | approved p50 | logins per run | CPU s ours | CPU s cert-manager | CPU s OpenBao | peak RSS MiB ours | peak RSS MiB cert-manager |")
	p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range r.Options.sizes {
		for _, iss := range []issuerUnderTest{ours, inTree} {
			s := r.summarize(iss, n)
			if s.Runs == 0 {
				continue
			}
			issued := fmt.Sprintf("%d/%d", s.Issued, s.N*s.Runs)
			oursCPU, oursRSS := secs(s.meanCPU(procOurs)), mib(s.PeakKiB[procOurs])
			if iss == inTree {
				oursCPU, oursRSS = "("+oursCPU+")", "("+oursRSS+")"
			}
			p("| %d | %s | %s | %s | %s | %s | %s | %.1f | %s | %.1f | %s | %s | %s | %s | %s |", n, iss, issued,
				fmtDur(percentile(s.TimeToReady, 50)), fmtDur(percentile(s.TimeToReady, 95)), fmtDur(percentile(s.TimeToReady, 100)),
				fmtDur(s.meanWall()), s.rate(), fmtDur(percentile(s.TimeToApproved, 50)), float64(s.Logins)/float64(s.Runs),
				oursCPU, secs(s.meanCPU(procCertManager)), secs(s.meanCPU(procOpenBao)), oursRSS, mib(s.PeakKiB[procCertManager]))
		}
		for _, loginEach := range []bool{false, true} {
			lat, wall, runs, logins, vaultCPU := r.floorSummary(n, loginEach)
			if runs == 0 {
				continue
			}
			p("| %d | %s | %d/%d | %s | %s | %s | %s | %.1f | – | %.1f | – | – | %s | – | – |", n, r.floorName(loginEach), len(lat), n*runs,
				fmtDur(percentile(lat, 50)), fmtDur(percentile(lat, 95)), fmtDur(percentile(lat, 100)),
				fmtDur(wall/time.Duration(runs)), float64(len(lat))/wall.Seconds(), float64(logins)/float64(runs),
				secs(vaultCPU/time.Duration(runs)))
		}
	}
	p("")
	p("Parenthesised: our idle controller during the in-tree runs (it watches the same requests and ignores them).")
	p("")
	p("### Ratios")
	p("")
	p("| N | p50 in-tree / ours | p95 in-tree / ours | max in-tree / ours | req/s ours / in-tree | logins in-tree / ours | CPU (all controllers) in-tree / ours | p50 ours / floor |")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range r.Options.sizes {
		a, bb := r.summarize(ours, n), r.summarize(inTree, n)
		if a.Runs == 0 || bb.Runs == 0 {
			continue
		}
		lat, _, _, _, _ := r.floorSummary(n, false)
		loginRatio := "–"
		switch {
		case a.Logins == 0 && bb.Logins > 0:
			loginRatio = fmt.Sprintf("%d / 0", bb.Logins)
		case a.Logins > 0:
			loginRatio = ratio(float64(bb.Logins), float64(a.Logins))
		}
		cpuA := a.meanCPU(procOurs) + a.meanCPU(procCertManager)
		cpuB := bb.meanCPU(procOurs) + bb.meanCPU(procCertManager)
		p("| %d | %s | %s | %s | %s | %s | %s | %s |", n,
			ratio(percentile(bb.TimeToReady, 50).Seconds(), percentile(a.TimeToReady, 50).Seconds()),
			ratio(percentile(bb.TimeToReady, 95).Seconds(), percentile(a.TimeToReady, 95).Seconds()),
			ratio(percentile(bb.TimeToReady, 100).Seconds(), percentile(a.TimeToReady, 100).Seconds()),
			ratio(a.rate(), bb.rate()), loginRatio, ratio(cpuB.Seconds(), cpuA.Seconds()),
			ratio(percentile(a.TimeToReady, 50).Seconds(), percentile(lat, 50).Seconds()))
	}
	p("")

	p("### API writes per request, and the bound they set")
	p("")
	p("From kube-apiserver's `apiserver_request_total` over each run, divided by the requests: cert-manager updates")
	p("CertificateRequest status with PUT and records core/v1 Events, all through **one client rate limiter of 20 QPS")
	p("(burst 50) shared by every cert-manager controller**; ours patches status with server-side apply and records")
	p("events.k8s.io Events without a client-side limit. The approver's approval is one of cert-manager's writes for")
	p("both issuers. *Bound* is 20 QPS divided by cert-manager's writes per request: the rate the limiter sustains once its")
	p("burst of 50 is spent. It is an estimate: a run also spends the burst, and the counts include Events written in the")
	p("2 s after the last request was Ready, so a run of a few hundred requests can beat it. Not shown for N ≤ 50.")
	p("")
	p("| N | issuer | status PUT (cert-manager) | core Events (cert-manager) | status apply (ours) | events.k8s.io (ours) | cert-manager writes | bound req/s | measured req/s |")
	p("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range r.Options.sizes {
		for _, iss := range []issuerUnderTest{ours, inTree} {
			s := r.summarize(iss, n)
			if s.Runs == 0 || s.Issued == 0 {
				continue
			}
			per := func(v float64) float64 { return v / float64(s.N*s.Runs) }
			cm := per(s.Writes.certManager())
			bound := "–"
			if cm > 0 && n > certManagerBurst {
				bound = fmt.Sprintf("%.1f", 20/cm)
			}
			p("| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.1f |", n, iss, per(s.Writes.StatusUpdate), per(s.Writes.CoreEvents),
				per(s.Writes.StatusPatch), per(s.Writes.EventsAPI), cm, bound, s.rate())
		}
	}
	p("")

	p("### Where our controller's time goes")
	p("")
	p("From our controller's own metrics (`controller_runtime_reconcile_*`, `workqueue_queue_duration_seconds`,")
	p("`rest_client_requests_total`) over its runs: issuer-lib reconciles an approved request twice (it first patches")
	p("`Ready=Unknown/Initializing`, then signs on the update that patch causes); `--concurrent-signings` workers (4 by")
	p("default) serve the queue.")
	p("")
	p("*Busy workers* is the reconcile time summed over the run divided by the wall time: well below the worker count,")
	p("the controller waits for work (approvals), not for workers.")
	p("")
	p("| N | reconciles per request | mean reconcile | mean wait in queue | API writes per request | busy workers (reconcile time / wall) |")
	p("|---:|---:|---:|---:|---:|---:|")
	for _, n := range r.Options.sizes {
		s := r.summarize(ours, n)
		if s.Runs == 0 || s.Issued == 0 || s.Ours.Reconciles == 0 {
			continue
		}
		perReq := float64(s.N * s.Runs)
		p("| %d | %.2f | %s | %s | %.2f | %.2f |", n, s.Ours.Reconciles/perReq,
			fmtDur(time.Duration(float64(s.Ours.ReconcileTime)/s.Ours.Reconciles)),
			fmtDur(time.Duration(float64(s.Ours.QueueWaitTime)/max(1, s.Ours.QueueWaits))),
			s.Ours.APIWrites/perReq, s.Ours.ReconcileTime.Seconds()/s.Wall.Seconds())
	}
	p("")

	p("## Every run")
	p("")
	p("| N | rep | issuer | p50 | p95 | max | wall | req/s | created in | approved p50 | failed | timed out | logins | CPU s ours / cert-manager / OpenBao / kube-apiserver / etcd | peak RSS MiB ours / cert-manager | load 1 min |")
	p("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
	for _, run := range r.Runs {
		load, _, _ := strings.Cut(run.Load, " ")
		p("| %d | %d | %s | %s | %s | %s | %s | %.1f | %s | %s | %d | %d | %d | %s / %s / %s / %s / %s | %s / %s | %s |",
			run.N, run.Rep, run.Issuer, fmtDur(run.percentile(50)), fmtDur(run.percentile(95)), fmtDur(run.percentile(100)),
			fmtDur(run.Wall), run.rate(), fmtDur(run.CreateSpan), fmtDur(percentile(run.TimeToApproved, 50)),
			run.Failed, run.TimedOut, run.Logins,
			secs(run.Procs[procOurs].CPU), secs(run.Procs[procCertManager].CPU), secs(run.Procs[procOpenBao].CPU),
			secs(run.Procs[procAPIServer].CPU), secs(run.Procs[procEtcd].CPU),
			mib(run.Procs[procOurs].PeakKiB), mib(run.Procs[procCertManager].PeakKiB), load)
	}
	for _, run := range r.Runs {
		for _, reason := range run.FailReasons {
			p("")
			p("- N=%d rep %d %s failed: %s", run.N, run.Rep, run.Issuer, strings.ReplaceAll(reason, "\n", " "))
		}
	}
	p("")
	p("### Vault floor, every run")
	p("")
	p("| N | rep | mode | concurrency | p50 | p95 | max | per call p50 | per call p95 | wall | req/s | logins | CPU s OpenBao |")
	p("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, f := range r.Floors {
		mode := "one login"
		if f.LoginEach {
			mode = "login per signing"
		}
		p("| %d | %d | %s | %d | %s | %s | %s | %s | %s | %s | %.1f | %d | %s |", f.N, f.Rep, mode, f.Concurrency,
			fmtDur(f.percentile(50)), fmtDur(f.percentile(95)), fmtDur(f.percentile(100)),
			fmtDur(percentile(f.Service, 50)), fmtDur(percentile(f.Service, 95)), fmtDur(f.Wall), f.rate(), f.Logins, secs(f.VaultCPU))
	}
	p("")

	if mem := r.Memory; mem != nil {
		p("## Memory with %d CertificateRequests of a foreign issuer", mem.Foreign)
		p("")
		p("The requests reference `ForeignIssuer.foreign.example.com/nobody`, which no controller serves; each has an RSA-2048")
		p("leaf CSR and is approved (created and approved in %s). *Idle*: both controllers freshly restarted, no request", fmtDur(mem.CreateSpan))
		p("in the cluster. *Watched*: the same processes after watching all of them arrive, %s later. *Restarted*: both", settleTime)
		p("controllers restarted with the requests present, %s after start. VmHWM is the peak since the process started.", settleTime)
		p("One request is %d bytes of JSON as the API server serves it, %d of them `metadata.managedFields`.", mem.ObjectBytes, mem.ManagedFieldsBytes)
		p("")
		p("| controller | state | VmRSS MiB | VmHWM MiB | Go heap in use MiB | Go heap live MiB | Go runtime from OS MiB | goroutines |")
		p("|---|---|---:|---:|---:|---:|---:|---:|")
		for _, proc := range []string{procOurs, procCertManager} {
			for _, st := range []struct {
				name string
				s    map[string]memorySample
			}{{"idle", mem.Idle}, {"watched", mem.Watched}, {"restarted", mem.Restarted}} {
				s := st.s[proc]
				p("| %s | %s | %s | %s | %s | %s | %s | %.0f |", proc, st.name, mib(s.RSSKiB), mib(s.HWMKiB),
					mibBytes(s.HeapInuse), mibBytes(s.HeapAlloc), mibBytes(s.GoSys), s.Goroutines)
			}
		}
		p("")
		for _, proc := range []string{procOurs, procCertManager} {
			idle, rs := mem.Idle[proc], mem.Restarted[proc]
			if idle.HeapAlloc > 0 && rs.HeapAlloc > 0 {
				p("- %s: %.1f KiB of live heap and %.1f KiB of RSS per foreign request (restarted minus idle, / %d).", proc,
					(rs.HeapAlloc-idle.HeapAlloc)/1024/float64(mem.Foreign), float64(rs.RSSKiB-idle.RSSKiB)/float64(mem.Foreign), mem.Foreign)
			}
		}
		p("")
	}

	if g := r.GoBench; g != nil {
		p("## Go benchmarks (`signer/policy`, `go test -bench . -benchmem`)")
		p("")
		p("CPU as Go reports it: %s.", g.CPU)
		p("")
		p("| benchmark | CSR key | time/op | B/op | allocs/op |")
		p("|---|---|---:|---:|---:|")
		for _, res := range g.Results {
			sub := res.Sub
			if sub == "" {
				sub = "–"
			}
			p("| %s | %s | %s | %.0f | %.0f |", res.Name, sub, fmtDur(time.Duration(res.NsPerOp)), res.BytesPerOp, res.AllocsPerOp)
		}
		p("")
		p("`EvaluateExcludingSignature` is every policy rule on a CSR parsed beforehand; `Evaluate` adds parsing and the")
		p("CSR signature check (`CheckSignature`); `Verify` is the post-issuance check of Vault's certificate.")
		p("")
	}

	p("## Targets")
	p("")
	p("| target | measured | result |")
	p("|---|---|---|")
	for _, t := range r.targets() {
		p("| %s | %s | %s |", t.name, t.measured, t.result)
	}
	p("")
	for _, note := range r.notes() {
		p("- %s", note)
	}
	return b.String()
}

type target struct{ name, measured, result string }

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func (r *report) targets() []target {
	var out []target
	a, bb := r.summarize(ours, targetP50N), r.summarize(inTree, targetP50N)
	t := target{name: fmt.Sprintf("our p50 at N=%d ≤ half the in-tree's", targetP50N), measured: "not run", result: "not measured"}
	if a.Issued > 0 && bb.Issued > 0 {
		pa, pb := percentile(a.TimeToReady, 50), percentile(bb.TimeToReady, 50)
		t.measured = fmt.Sprintf("ours %s, in-tree %s (ours = %.2f × in-tree)", fmtDur(pa), fmtDur(pb), pa.Seconds()/pb.Seconds())
		t.result = verdict(pa.Seconds() <= targetP50Ratio*pb.Seconds())
	}
	out = append(out, t)

	var oursLogins, inTreeLogins, oursRuns, inTreeRequests, worst int
	for _, run := range r.Runs {
		if run.Issuer == ours {
			oursLogins += run.Logins
			oursRuns++
			worst = max(worst, run.Logins)
		} else {
			inTreeLogins += run.Logins
			inTreeRequests += run.N
		}
	}
	lifetime := time.Duration(float64(appRoleTokenTTL) * tokenLifetimeFraction)
	lifetimes := int(r.Finished.Sub(r.Started)/lifetime) + 1
	out = append(out, target{
		name: "one Vault login per token lifetime (ours)",
		measured: fmt.Sprintf("ours: %d logins in %d runs (at most %d in one run) over %s, i.e. %d token lifetimes of %s; in-tree: %d logins for %d requests",
			oursLogins, oursRuns, worst, r.Finished.Sub(r.Started).Round(time.Minute), lifetimes, lifetime, inTreeLogins, inTreeRequests),
		result: verdict(oursRuns > 0 && oursLogins <= lifetimes && worst <= 1),
	})

	t = target{name: "policy evaluation < 100 µs, signature check excluded", measured: "Go benchmarks not run", result: "not measured"}
	if g := r.GoBench; g != nil {
		var worstRules, worstWithParse time.Duration
		var parts []string
		for _, res := range g.Results {
			if res.Name != "BenchmarkEvaluateExcludingSignature" {
				continue
			}
			rules := time.Duration(res.NsPerOp)
			withParse := rules
			if pr, ok := g.find("BenchmarkParseCSR", res.Sub); ok {
				withParse += time.Duration(pr.NsPerOp)
			}
			worstRules, worstWithParse = max(worstRules, rules), max(worstWithParse, withParse)
			parts = append(parts, fmt.Sprintf("%s %s (%s with parsing)", res.Sub, fmtDur(rules), fmtDur(withParse)))
		}
		if len(parts) > 0 {
			t.measured = strings.Join(parts, "; ")
			t.result = verdict(worstWithParse < targetEvaluate)
		}
	}
	out = append(out, t)

	t = target{name: "our RSS < 64 MiB with 5,000 foreign CertificateRequests", measured: "not run", result: "not measured"}
	if mem := r.Memory; mem != nil {
		o, c := mem.Restarted[procOurs], mem.Restarted[procCertManager]
		w := mem.Watched[procOurs]
		t.measured = fmt.Sprintf("%d requests: ours %s MiB after a restart (peak %s), %s MiB after watching them arrive; cert-manager %s MiB after a restart (peak %s)",
			mem.Foreign, mib(o.RSSKiB), mib(o.HWMKiB), mib(w.RSSKiB), mib(c.RSSKiB), mib(c.HWMKiB))
		t.result = verdict(max(o.RSSKiB, w.RSSKiB) < targetRSSKiB)
		if mem.Foreign != 5000 {
			t.result += fmt.Sprintf(" (at %d requests)", mem.Foreign)
		}
	}
	out = append(out, t)
	return out
}

// notes explain the numbers with the numbers.
func (r *report) notes() []string {
	var out []string
	for _, n := range r.Options.sizes {
		a, bb := r.summarize(ours, n), r.summarize(inTree, n)
		if a.Issued == 0 || bb.Issued == 0 {
			continue
		}
		pa, pb := percentile(a.TimeToReady, 50), percentile(bb.TimeToReady, 50)
		aa, ab := percentile(a.TimeToApproved, 50), percentile(bb.TimeToApproved, 50)
		perA := a.Writes.certManager() / float64(a.N*a.Runs)
		perB := bb.Writes.certManager() / float64(bb.N*bb.Runs)
		note := fmt.Sprintf("N=%d: our median request waited %s for cert-manager's approver and was Ready %s after creation "+
			"(in-tree: %s and %s). Each request cost cert-manager's shared 20 QPS limiter %.1f writes with ours and %.1f with the "+
			"in-tree issuer", n, fmtDur(aa), fmtDur(pa), fmtDur(ab), fmtDur(pb), perA, perB)
		if n > certManagerBurst {
			note += fmt.Sprintf(": we reached %.1f req/s against a bound of %.1f, the in-tree issuer %.1f against %.1f",
				a.rate(), 20/max(perA, 1e-9), bb.rate(), 20/max(perB, 1e-9))
		} else {
			note += " (within the limiter's burst of 50, so it does not bound this size)"
		}
		note += fmt.Sprintf(". The in-tree issuer logged in to Vault %d times for %d requests, ours %d times.", bb.Logins, bb.Issued, a.Logins)
		out = append(out, note)
	}
	if mem := r.Memory; mem != nil {
		o, idle := mem.Restarted[procOurs], mem.Idle[procOurs]
		if o.HeapAlloc > 0 && idle.HeapAlloc > 0 {
			out = append(out, fmt.Sprintf("Memory: issuer-lib's CertificateRequest controller watches every request in the cluster and "+
				"skips foreign ones only when it reconciles them, so controller-runtime's cache holds all %d foreign requests; "+
				"the controller's cache transforms drop their CSR, certificate and managedFields (of %d bytes of JSON each, %d are "+
				"managedFields), leaving %.1f KiB of live heap per request after a restart. Go's default "+
				"GOGC=100 lets the heap grow to about twice the live data before collecting, and after a restart the runtime "+
				"still holds the pages the initial list needed (%s MiB obtained from the OS against %s MiB of heap in use), "+
				"which it returns to the OS only slowly.",
				mem.Foreign, mem.ObjectBytes, mem.ManagedFieldsBytes, (o.HeapAlloc-idle.HeapAlloc)/1024/float64(mem.Foreign),
				mibBytes(o.GoSys), mibBytes(o.HeapInuse)))
		}
	}
	out = append(out, fmt.Sprintf("The machine is shared with other work (load average %s before, %s after, on %d cores): absolute "+
		"times carry that noise; the A B A B interleaving exposes both issuers to it alike.", r.Machine.LoadBefore, r.Machine.LoadAfter, r.Machine.Cores))
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
