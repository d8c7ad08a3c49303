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
	"context"
	"crypto/x509"
	"debug/buildinfo"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	cminformers "github.com/cert-manager/cert-manager/pkg/client/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// issuerUnderTest names the two issuers compared.
type issuerUnderTest string

const (
	ours   issuerUnderTest = "ours"
	inTree issuerUnderTest = "in-tree"
)

const (
	// namespace is the one namespace the bank policy allows.
	namespace = "istio-system"
	// oursName is the name the shipped example gives the bank's issuer.
	oursName = "vault-intermediate"
	// inTreeName is cert-manager's Vault ClusterIssuer, on the same path
	// with an AppRole role of its own.
	inTreeName       = "vault-in-tree"
	inTreeSecretName = "vault-approle-in-tree"
	// runLabel marks every request the bench creates with its run, so a run
	// is watched and deleted as a whole.
	runLabel = "bench.golemtrust.am/run"
	// createWorkers is how many Create calls are in flight at once: enough
	// that N requests appear within a second or two.
	createWorkers = 32
	// certManagerWorkers is cert-manager's default workers per controller.
	certManagerWorkers = 5
)

// certManagerControllers is cert-manager's default set for Certificates
// (with the approver, which approves every request) plus the in-tree Vault
// issuer and the issuer controllers that make its ClusterIssuer Ready.
var certManagerControllers = []string{
	"certificates-trigger", "certificates-issuing", "certificates-key-manager", "certificates-request-manager",
	"certificates-readiness", "certificates-revision-manager", "certificaterequests-approver",
	"issuers", "clusterissuers", "certificaterequests-issuer-vault",
}

// The processes whose CPU and memory every run records.
const (
	procOurs        = "vault-intermediate-issuer"
	procCertManager = "cert-manager"
	procOpenBao     = "openbao"
	procAPIServer   = "kube-apiserver"
	procEtcd        = "etcd"
)

var processNames = []string{procOurs, procCertManager, procOpenBao, procAPIServer, procEtcd}

type bench struct {
	stack         *env.Env
	client        client.Client
	cmMetricsAddr string
	kubePIDs      map[string]int
	tracker       *tracker
	stopInformer  context.CancelFunc
	seq           int
	// issuerArgs are extra flags for our controller, kept across restarts.
	issuerArgs []string
	kube       kubernetes.Interface
}

func newBench(ctx context.Context, stack *env.Env, cmMetricsAddr string, issuerArgs []string) (*bench, error) {
	// The bench's own client is not rate limited, so that creating N
	// requests is bounded by the API server, not by the client.
	cfg := rest.CopyConfig(stack.RestConfig)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{Scheme: stack.Scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the bench client: %w", err)
	}
	cs, err := cmclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the cert-manager clientset: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes clientset: %w", err)
	}
	b := &bench{stack: stack, client: c, cmMetricsAddr: cmMetricsAddr, tracker: newTracker(), issuerArgs: issuerArgs, kube: kube}
	b.kubePIDs = childPIDs(procAPIServer, procEtcd)
	if len(b.kubePIDs) != 2 {
		return nil, fmt.Errorf("found %v among this program's children, want kube-apiserver and etcd", b.kubePIDs)
	}

	// One watch for every run: it sees the requests labelled with a run and
	// stamps each state change with the time the event arrived.
	factory := cminformers.NewSharedInformerFactoryWithOptions(cs, 0, cminformers.WithNamespace(namespace),
		cminformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = runLabel }))
	informer := factory.Certmanager().V1().CertificateRequests().Informer()
	if err := informer.AddIndexers(cache.Indexers{runLabel: func(obj any) ([]string, error) {
		cr, ok := obj.(*cmapi.CertificateRequest)
		if !ok {
			return nil, nil
		}
		return []string{cr.Labels[runLabel]}, nil
	}}); err != nil {
		return nil, fmt.Errorf("indexing requests by run: %w", err)
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { b.observe(obj) },
		UpdateFunc: func(_, obj any) { b.observe(obj) },
	}); err != nil {
		return nil, fmt.Errorf("watching requests: %w", err)
	}
	informerCtx, cancel := context.WithCancel(context.Background())
	b.stopInformer = cancel
	factory.Start(informerCtx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			cancel()
			return nil, fmt.Errorf("the watch of %v did not sync", typ)
		}
	}
	b.tracker.store = informer.GetIndexer()
	return b, nil
}

func (b *bench) close() { b.stopInformer() }

func (b *bench) observe(obj any) {
	if cr, ok := obj.(*cmapi.CertificateRequest); ok {
		b.tracker.observe(cr, time.Now())
	}
}

// setUpIssuers creates both issuers and waits until both are Ready.
func (b *bench) setUpIssuers(ctx context.Context) error {
	if _, err := b.stack.ApplyBankIssuer(ctx, oursName, nil); err != nil {
		return err
	}
	// cert-manager's issuer sends parameters of its own (no subject, no
	// path length), which our issuer's generated ACL policy refuses: it
	// gets a role of its own whose policy allows the sign path with any
	// parameters, as cert-manager's documentation sets it up.
	const inTreeRole = "cert-manager-in-tree"
	if err := b.stack.Vault.Admin.Sys().PutPolicyWithContext(ctx, inTreeRole,
		fmt.Sprintf("path %q {\n  capabilities = [\"create\", \"update\"]\n}\n", b.stack.PKI.Mount+"/root/sign-intermediate")); err != nil {
		return fmt.Errorf("writing policy %s: %w", inTreeRole, err)
	}
	if _, err := b.stack.Vault.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/"+inTreeRole, map[string]any{
		"token_policies": []string{inTreeRole}, "token_ttl": "1h", "token_max_ttl": "2h"}); err != nil {
		return fmt.Errorf("creating AppRole role %s: %w", inTreeRole, err)
	}
	roleID, err := b.stack.Vault.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/"+inTreeRole+"/role-id")
	if err != nil {
		return fmt.Errorf("reading the role ID of %s: %w", inTreeRole, err)
	}
	secretID, err := b.stack.Vault.NewSecretID(ctx, inTreeRole)
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: inTreeSecretName, Namespace: env.CertManagerNamespace},
		Data:       map[string][]byte{"secretId": []byte(secretID)},
	}
	if err := b.client.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating Secret %s: %w", inTreeSecretName, err)
	}
	clusterIssuer := &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: inTreeName},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{Vault: &cmapi.VaultIssuer{
			Server: b.stack.Vault.Address,
			Path:   b.stack.PKI.Mount + "/root/sign-intermediate",
			Auth: cmapi.VaultAuth{AppRole: &cmapi.VaultAppRole{
				Path:   "approle",
				RoleId: roleID.Data["role_id"].(string),
				SecretRef: cmmeta.SecretKeySelector{
					LocalObjectReference: cmmeta.LocalObjectReference{Name: inTreeSecretName},
					Key:                  "secretId",
				},
			}},
		}}},
	}
	if err := b.client.Create(ctx, clusterIssuer); err != nil {
		return fmt.Errorf("creating ClusterIssuer %s: %w", inTreeName, err)
	}
	if cond, err := b.stack.WaitForIssuerCondition(ctx, oursName, metav1.ConditionTrue, 60*time.Second); err != nil {
		return fmt.Errorf("our issuer did not become Ready (condition %+v): %w", cond, err)
	}
	return env.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, "ClusterIssuer "+inTreeName+" Ready", func(ctx context.Context) (bool, error) {
		ci := &cmapi.ClusterIssuer{}
		if err := b.client.Get(ctx, client.ObjectKey{Name: inTreeName}, ci); err != nil {
			return false, err
		}
		for _, c := range ci.Status.Conditions {
			if c.Type == cmapi.IssuerConditionReady {
				if c.Status == cmmeta.ConditionTrue {
					return true, nil
				}
				return false, fmt.Errorf("%s: %s", c.Reason, c.Message)
			}
		}
		return false, nil
	})
}

// bankCSR is a PEM CSR with its own P-256 key and the subject the bank's
// policy requires.
func bankCSR() ([]byte, error) {
	return env.CSR(&x509.CertificateRequest{Subject: env.BankSubject})
}

// issuerRef points a request at one of the issuers under test.
func issuerRef(iss issuerUnderTest) cmmeta.IssuerReference {
	if iss == ours {
		return cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "VaultIntermediateClusterIssuer", Name: oursName}
	}
	return cmmeta.IssuerReference{Group: "cert-manager.io", Kind: cmapi.ClusterIssuerKind, Name: inTreeName}
}

// procDelta is what one process spent during a run.
type procDelta struct {
	CPU     time.Duration
	PeakKiB int64
}

// runResult is one run: N requests for one issuer.
type runResult struct {
	Issuer issuerUnderTest
	N, Rep int
	// TimeToReady holds, sorted, the time from each issued request's
	// Create call returning to the watch seeing it Ready.
	TimeToReady []time.Duration
	// TimeToApproved is the same up to the Approved condition, which
	// cert-manager's approver sets.
	TimeToApproved []time.Duration
	// CreateSpan is how long creating all N requests took.
	CreateSpan time.Duration
	// Wall runs from the first Create call to the last request Ready.
	Wall             time.Duration
	Failed, TimedOut int
	FailReasons      []string
	// Logins is the AppRole logins Vault counted during the run.
	Logins int
	Procs  map[string]procDelta
	Load   string
	// Ours is where our controller's time went (zero for in-tree runs).
	Ours reconcileStats
	// Writes is what kube-apiserver served over the run.
	Writes apiWrites
}

// reconcileStats is the change of our controller's CertificateRequest
// controller metrics over a run.
type reconcileStats struct {
	Reconciles    float64
	ReconcileTime time.Duration // sum over reconciles
	QueueWaits    float64
	QueueWaitTime time.Duration // sum over items taken from the queue
	APIWrites     float64       // PATCH/PUT/POST requests to the API server
}

var reconcileMetrics = []string{
	"controller_runtime_reconcile_total", "controller_runtime_reconcile_time_seconds_sum",
	"workqueue_queue_duration_seconds_sum", "workqueue_queue_duration_seconds_count",
}

// ourMetrics samples the counters of reconcileStats.
func (b *bench) ourMetrics(ctx context.Context) (reconcileStats, error) {
	url := "http://" + b.stack.IssuerMetricsAddr + "/metrics"
	ctrl, err := scrapeSums(ctx, url, `controller="certificaterequest"`, reconcileMetrics...)
	if err != nil {
		return reconcileStats{}, err
	}
	queue, err := scrapeSums(ctx, url, `name="certificaterequest"`, reconcileMetrics...)
	if err != nil {
		return reconcileStats{}, err
	}
	var writes float64
	for _, verb := range []string{"PATCH", "PUT", "POST"} {
		w, err := scrapeSums(ctx, url, `method="`+verb+`"`, "rest_client_requests_total")
		if err != nil {
			return reconcileStats{}, err
		}
		writes += w["rest_client_requests_total"]
	}
	return reconcileStats{
		Reconciles:    ctrl["controller_runtime_reconcile_total"],
		ReconcileTime: time.Duration(ctrl["controller_runtime_reconcile_time_seconds_sum"] * float64(time.Second)),
		QueueWaits:    queue["workqueue_queue_duration_seconds_count"],
		QueueWaitTime: time.Duration(queue["workqueue_queue_duration_seconds_sum"] * float64(time.Second)),
		APIWrites:     writes,
	}, nil
}

func (s reconcileStats) minus(o reconcileStats) reconcileStats {
	return reconcileStats{
		Reconciles: s.Reconciles - o.Reconciles, ReconcileTime: s.ReconcileTime - o.ReconcileTime,
		QueueWaits: s.QueueWaits - o.QueueWaits, QueueWaitTime: s.QueueWaitTime - o.QueueWaitTime,
		APIWrites: s.APIWrites - o.APIWrites,
	}
}

func (r *runResult) percentile(p float64) time.Duration { return percentile(r.TimeToReady, p) }

func (r *runResult) rate() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(len(r.TimeToReady)) / r.Wall.Seconds()
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// pids maps each process name to its current PID: the controllers may have
// been restarted.
func (b *bench) pids() map[string]int {
	return map[string]int{
		procOurs:        b.stack.Issuer.Pid(),
		procCertManager: b.stack.CertManager.Pid(),
		procOpenBao:     b.stack.Vault.Process.Pid(),
		procAPIServer:   b.kubePIDs[procAPIServer],
		procEtcd:        b.kubePIDs[procEtcd],
	}
}

func (b *bench) sampleAll() (map[string]procSample, error) {
	out := map[string]procSample{}
	for name, pid := range b.pids() {
		s, err := readProc(pid)
		if err != nil {
			return nil, fmt.Errorf("reading /proc of %s (%d): %w", name, pid, err)
		}
		out[name] = s
	}
	return out, nil
}

// waitQuiet waits until both controllers have used less than 3% of a core
// and cert-manager has written nothing to the API server for 3 seconds in a
// row, or 5 minutes have passed. cert-manager queues its Events behind the
// same 20 QPS limiter as its approvals: a run must not start while the
// previous run's Events still drain through it, and not before the limiter's
// burst has refilled (50 tokens at 20 per second).
func (b *bench) waitQuiet(ctx context.Context) {
	const quietFor = 3
	deadline := time.Now().Add(5 * time.Minute)
	prev, _ := b.sampleAll()
	prevWrites, _ := readAPIWrites(ctx, b.kube)
	quiet := 0
	for quiet < quietFor && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		cur, err := b.sampleAll()
		writes, werr := readAPIWrites(ctx, b.kube)
		if err != nil || werr != nil || prev == nil {
			prev, prevWrites, quiet = cur, writes, 0
			continue
		}
		busy := cur[procOurs].CPU - prev[procOurs].CPU + cur[procCertManager].CPU - prev[procCertManager].CPU
		if busy < 30*time.Millisecond && writes.minus(prevWrites).certManager() == 0 {
			quiet++
		} else {
			quiet = 0
		}
		prev, prevWrites = cur, writes
	}
	if quiet < quietFor {
		logf("  the controllers did not become quiet within 5 minutes; starting anyway")
	}
}

// runOnce creates n requests for iss at once, waits until each is Ready or
// failed, measures, and deletes them. rep 0 is a warm-up.
func (b *bench) runOnce(ctx context.Context, iss issuerUnderTest, n, rep int, timeout time.Duration) (*runResult, error) {
	b.seq++
	id := fmt.Sprintf("%s-n%d-r%d-%d", iss, n, rep, b.seq)
	// Keys and CSRs are made before anything is timed.
	crs := make([]*cmapi.CertificateRequest, n)
	names := make([]string, n)
	for i := range crs {
		csr, err := bankCSR()
		if err != nil {
			return nil, err
		}
		names[i] = fmt.Sprintf("bench-%d-%04d", b.seq, i)
		crs[i] = &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: names[i], Labels: map[string]string{runLabel: id}},
			Spec: cmapi.CertificateRequestSpec{
				Request:   csr,
				IsCA:      true,
				Duration:  &metav1.Duration{Duration: 720 * time.Hour},
				IssuerRef: issuerRef(iss),
			},
		}
	}
	b.waitQuiet(ctx)
	r := &runResult{Issuer: iss, N: n, Rep: rep, Load: loadAverage(), Procs: map[string]procDelta{}}
	for _, pid := range b.pids() {
		_ = resetPeak(pid) // Without it the peak is since the process started; read below either way.
	}
	loginsBefore, err := b.stack.Vault.AppRoleLogins(ctx)
	if err != nil {
		return nil, err
	}
	before, err := b.sampleAll()
	if err != nil {
		return nil, err
	}
	metricsBefore, err := b.ourMetrics(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading our controller's metrics: %w", err)
	}
	writesBefore, err := readAPIWrites(ctx, b.kube)
	if err != nil {
		return nil, err
	}
	b.tracker.begin(id, names)

	start := time.Now()
	if err := b.createAll(ctx, crs); err != nil {
		return nil, err
	}
	r.CreateSpan = time.Since(start)
	final := b.tracker.wait(ctx, timeout)
	// Let the controllers finish what follows Ready (Events, the last
	// status writes) so that it is billed to this run.
	time.Sleep(2 * time.Second)
	after, err := b.sampleAll()
	if err != nil {
		return nil, err
	}
	loginsAfter, err := b.stack.Vault.AppRoleLogins(ctx)
	if err != nil {
		return nil, err
	}
	r.Logins = loginsAfter - loginsBefore
	metricsAfter, err := b.ourMetrics(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading our controller's metrics: %w", err)
	}
	if iss == ours {
		r.Ours = metricsAfter.minus(metricsBefore)
	}
	writesAfter, err := readAPIWrites(ctx, b.kube)
	if err != nil {
		return nil, err
	}
	r.Writes = writesAfter.minus(writesBefore)
	for _, name := range processNames {
		r.Procs[name] = procDelta{CPU: after[name].CPU - before[name].CPU, PeakKiB: after[name].HWMKiB}
	}
	var lastReady time.Time
	for _, rec := range final {
		switch {
		case !rec.ready.IsZero():
			r.TimeToReady = append(r.TimeToReady, max(0, rec.ready.Sub(rec.created)))
			if !rec.approved.IsZero() {
				r.TimeToApproved = append(r.TimeToApproved, max(0, rec.approved.Sub(rec.created)))
			}
			if rec.ready.After(lastReady) {
				lastReady = rec.ready
			}
		case rec.failed != "":
			r.Failed++
			if len(r.FailReasons) < 3 {
				r.FailReasons = append(r.FailReasons, rec.failed)
			}
		default:
			r.TimedOut++
		}
	}
	slices.Sort(r.TimeToReady)
	slices.Sort(r.TimeToApproved)
	if !lastReady.IsZero() {
		r.Wall = lastReady.Sub(start)
	}
	if err := b.deleteRun(ctx, id); err != nil {
		return nil, err
	}
	return r, nil
}

// createAll creates the requests from createWorkers goroutines and tells the
// tracker when each Create call returned.
func (b *bench) createAll(ctx context.Context, crs []*cmapi.CertificateRequest) error {
	work := make(chan *cmapi.CertificateRequest)
	errs := make(chan error, createWorkers)
	var wg sync.WaitGroup
	for range min(createWorkers, len(crs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cr := range work {
				if err := b.createWithRetry(ctx, cr); err != nil {
					errs <- err
					return
				}
				b.tracker.created(cr.Name, time.Now())
			}
		}()
	}
	var err error
feed:
	for _, cr := range crs {
		select {
		case work <- cr:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs
}

// createWithRetry retries what an overloaded API server may answer (429,
// timeouts); an object that exists after a lost response is fine.
func (b *bench) createWithRetry(ctx context.Context, cr *cmapi.CertificateRequest) error {
	var err error
	for attempt := range 5 {
		if err = b.client.Create(ctx, cr.DeepCopy()); err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if !apierrors.IsTooManyRequests(err) && !apierrors.IsServerTimeout(err) && !apierrors.IsTimeout(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	return fmt.Errorf("creating CertificateRequest %s: %w", cr.Name, err)
}

// deleteRun deletes the run's requests and waits until the watch has seen
// every one of them go.
func (b *bench) deleteRun(ctx context.Context, id string) error {
	if err := b.client.DeleteAllOf(ctx, &cmapi.CertificateRequest{}, client.InNamespace(namespace),
		client.MatchingLabels{runLabel: id}); err != nil {
		return fmt.Errorf("deleting the requests of run %s: %w", id, err)
	}
	return env.WaitFor(ctx, 5*time.Minute, 200*time.Millisecond, "the requests of run "+id+" to be deleted", func(context.Context) (bool, error) {
		left, err := b.tracker.store.ByIndex(runLabel, id)
		return len(left) == 0, err
	})
}

// record is what the watch saw of one request.
type record struct {
	created, approved, ready time.Time
	failed                   string
}

// tracker collects the state changes of the current run's requests.
type tracker struct {
	store cache.Indexer

	mu       sync.Mutex
	run      string
	records  map[string]*record
	final    int
	progress chan struct{}
}

func newTracker() *tracker { return &tracker{progress: make(chan struct{}, 1)} }

func (t *tracker) begin(run string, names []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.run, t.final = run, 0
	t.records = make(map[string]*record, len(names))
	for _, name := range names {
		t.records[name] = &record{}
	}
}

func (t *tracker) created(name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec := t.records[name]; rec != nil {
		rec.created = at
	}
}

func (t *tracker) observe(cr *cmapi.CertificateRequest, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.records[cr.Name]
	if rec == nil || cr.Labels[runLabel] != t.run || !rec.ready.IsZero() || rec.failed != "" {
		return
	}
	for _, c := range cr.Status.Conditions {
		switch {
		case c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue && rec.approved.IsZero():
			rec.approved = at
		case c.Type == cmapi.CertificateRequestConditionDenied && c.Status == cmmeta.ConditionTrue:
			rec.failed = "Denied: " + c.Message
		case c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionTrue:
			rec.ready = at
		case c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed:
			rec.failed = c.Reason + ": " + c.Message
		}
	}
	if !rec.ready.IsZero() || rec.failed != "" {
		t.final++
		select {
		case t.progress <- struct{}{}:
		default:
		}
	}
}

// wait returns a copy of the records once every request is final or the
// timeout passed.
func (t *tracker) wait(ctx context.Context, timeout time.Duration) map[string]record {
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		t.mu.Lock()
		done := t.final == len(t.records)
		t.mu.Unlock()
		if done {
			break
		}
		select {
		case <-ctx.Done():
			break wait
		case <-deadline:
			break wait
		case <-t.progress:
		case <-tick.C:
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]record, len(t.records))
	for name, rec := range t.records {
		out[name] = *rec
	}
	return out
}

// versions of everything measured.
type versions struct {
	Go, OpenBao, CertManager, Kubernetes, Etcd, Ours, IssuerLib, ControllerRuntime string
}

func (b *bench) versions(ctx context.Context) versions {
	v := versions{Go: runtime.Version(), OpenBao: b.stack.Vault.Version}
	v.CertManager = moduleVersion(filepath.Join(b.stack.BinDir, "cert-manager-controller"), "github.com/cert-manager/cert-manager")
	v.Etcd = moduleVersion(filepath.Join(b.stack.BinDir, "etcd"), "go.etcd.io/etcd/server/v3")
	oursBin := filepath.Join(b.stack.BinDir, "vault-intermediate-issuer")
	v.IssuerLib = moduleVersion(oursBin, "github.com/cert-manager/issuer-lib")
	v.ControllerRuntime = moduleVersion(oursBin, "sigs.k8s.io/controller-runtime")
	if out, err := exec.CommandContext(ctx, oursBin, "--version").Output(); err == nil {
		v.Ours = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "vault-intermediate-issuer"))
	}
	v.Kubernetes = "unknown"
	if dc, err := discovery.NewDiscoveryClientForConfig(b.stack.RestConfig); err == nil {
		if sv, err := dc.ServerVersion(); err == nil {
			v.Kubernetes = sv.GitVersion
		}
	}
	return v
}

// moduleVersion reads the version of a dependency from a binary's build
// information.
func moduleVersion(bin, module string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == module {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}

// fmtDur renders a duration with three significant figures.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 999500*time.Nanosecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 999500*time.Microsecond:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3g s", d.Seconds())
	}
}
