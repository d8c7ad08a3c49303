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

package controllers

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// metricsNamespace prefixes every metric of this controller.
const metricsNamespace = "vault_intermediate_issuer"

// Metrics are the controller's Prometheus metrics. Their names and labels
// are stable API: alerts in deploy/prometheus/alerts.yaml depend on them.
type Metrics struct {
	requests          *prometheus.CounterVec
	violations        *prometheus.CounterVec
	vaultRequests     *prometheus.CounterVec
	vaultDuration     *prometheus.HistogramVec
	vaultLogins       *prometheus.CounterVec
	tokenTTL          *prometheus.GaugeVec
	notAfter          *prometheus.GaugeVec
	issuerVaultOK     *prometheus.GaugeVec
	journalMismatches *prometheus.CounterVec
	collectorsOrder   []prometheus.Collector
}

var _ vault.Observer = (*Metrics)(nil)

// NewMetrics creates the metrics; Register adds them to a registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "requests_total",
			Help: "Decisions on certificate requests, by issuer and decision (issued, denied, failed, verification_failed).",
		}, []string{"issuer", "decision"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "policy_violations_total",
			Help: "Broken policy rules in denied requests, by issuer and rule (the policy field path without indices).",
		}, []string{"issuer", "rule"}),
		vaultRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "vault_requests_total",
			Help: "HTTP calls to Vault, by issuer, operation and HTTP status code (0: no answer).",
		}, []string{"issuer", "operation", "code"}),
		vaultDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "vault_request_duration_seconds",
			Help:    "Duration of HTTP calls to Vault, by issuer and operation.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"issuer", "operation"}),
		vaultLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "vault_logins_total",
			Help: "AppRole logins, by issuer and result (success or the failure class).",
		}, []string{"issuer", "result"}),
		tokenTTL: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "token_ttl_seconds",
			Help: "TTL of the issuer's Vault token when it was last obtained or renewed.",
		}, []string{"issuer"}),
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "issued_certificate_not_after_timestamp_seconds",
			Help: "NotAfter (Unix seconds) of the newest certificate issued per owner: the cert-manager Certificate named by the request, or the request itself.",
		}, []string{"issuer", "namespace", "request"}),
		issuerVaultOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "issuer_vault_ready",
			Help: "1 when the issuer's last check or signing proved Vault can sign, else 0 (the VaultReady condition).",
		}, []string{"issuer"}),
		journalMismatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "journal_mismatches_total",
			Help: "VaultSerial records on requests that named a certificate which is not the request's, and were ignored, by issuer.",
		}, []string{"issuer"}),
	}
	m.collectorsOrder = []prometheus.Collector{m.requests, m.violations, m.vaultRequests, m.vaultDuration,
		m.vaultLogins, m.tokenTTL, m.notAfter, m.issuerVaultOK, m.journalMismatches}
	return m
}

// Register adds the metrics to reg; controller-runtime's registry (served on
// the metrics endpoint) when reg is nil.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	if reg == nil {
		reg = ctrlmetrics.Registry
	}
	for _, c := range m.collectorsOrder {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// VaultCall implements vault.Observer.
func (m *Metrics) VaultCall(issuer, op string, code int, took time.Duration) {
	m.vaultRequests.WithLabelValues(issuer, op, strconv.Itoa(code)).Inc()
	m.vaultDuration.WithLabelValues(issuer, op).Observe(took.Seconds())
}

// VaultLogin implements vault.Observer.
func (m *Metrics) VaultLogin(issuer, result string) {
	m.vaultLogins.WithLabelValues(issuer, result).Inc()
}

// VaultTokenTTL implements vault.Observer.
func (m *Metrics) VaultTokenTTL(issuer string, ttl time.Duration) {
	m.tokenTTL.WithLabelValues(issuer).Set(ttl.Seconds())
}
