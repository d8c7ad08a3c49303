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
	"context"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/signer"
)

// requestJournal records the serial Vault issued for a CertificateRequest
// as a condition of its status, applied under a field manager of its own so
// that issuer-lib's status patches leave it alone. Kubernetes
// CertificateSigningRequests are not journaled: their status conditions are
// the API server's to validate, and the in-memory journal covers them while
// the process lives.
type requestJournal struct {
	client     client.Client
	fieldOwner string
	log        logr.Logger
	now        func() time.Time
}

var _ signer.Journal = (*requestJournal)(nil)

// Intent implements signer.Journal.
func (j *requestJournal) Intent(ctx context.Context, req signer.RequestRef, at time.Time) {
	j.apply(ctx, req, "Unknown", "SigningRequested", "Vault was asked to sign at "+at.UTC().Format(time.RFC3339), at)
}

// Record implements signer.Journal.
func (j *requestJournal) Record(ctx context.Context, req signer.RequestRef, serial string) {
	j.apply(ctx, req, "True", "VaultIssued", serial, j.now())
}

func (j *requestJournal) apply(ctx context.Context, req signer.RequestRef, status, reason, message string, at time.Time) {
	if req.Kind != "CertificateRequest" {
		return
	}
	obj := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: req.Name, Namespace: req.Namespace}}
	err := applyStatus(ctx, j.client, j.fieldOwner, obj, cmapi.SchemeGroupVersion.String(), "CertificateRequest",
		map[string]any{"name": req.Name, "namespace": req.Namespace, "uid": req.UID},
		map[string]any{"conditions": []map[string]any{{
			"type":               signer.ConditionVaultSerial,
			"status":             status,
			"reason":             reason,
			"message":            message,
			"lastTransitionTime": metav1.NewTime(at),
		}}})
	if err != nil {
		// The in-memory journal still prevents a second signing while this
		// process lives; only a crash before the next retry could sign
		// twice.
		j.log.Error(err, "could not journal the signing on the request", "request", req.Namespace+"/"+req.Name, "reason", reason)
	}
}
