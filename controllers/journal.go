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
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/signer"
)

// requestJournal writes the intent of a signing as a condition of the
// request's status (a CertificateRequest's or a Kubernetes
// CertificateSigningRequest's), applied under a field manager of its own so
// that issuer-lib's status patches leave it alone. It is the one API write
// this controller adds to a signing.
type requestJournal struct {
	client     client.Client
	fieldOwner string
}

var _ signer.Journal = (*requestJournal)(nil)

// Intent implements signer.Journal.
func (j *requestJournal) Intent(ctx context.Context, req signer.RequestRef, at time.Time) error {
	condition := map[string]any{
		"type":               signer.ConditionVaultSerial,
		"status":             "Unknown",
		"reason":             signer.JournalReasonIntent,
		"message":            "Vault was asked to sign at " + at.UTC().Format(time.RFC3339),
		"lastTransitionTime": metav1.NewTime(at),
	}
	var (
		obj        client.Object
		apiVersion string
		metadata   = map[string]any{"name": req.Name, "uid": req.UID}
	)
	switch req.Kind {
	case "CertificateRequest":
		obj = &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: req.Name, Namespace: req.Namespace}}
		apiVersion = cmapi.SchemeGroupVersion.String()
		metadata["namespace"] = req.Namespace
	case "CertificateSigningRequest":
		// kube-apiserver accepts condition types of its own choosing on a
		// CSR's status (e2e/journal_test.go proves it on v1.36).
		obj = &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: req.Name}}
		apiVersion = certificatesv1.SchemeGroupVersion.String()
		condition["lastUpdateTime"] = metav1.NewTime(at)
	default:
		return fmt.Errorf("cannot journal a request of kind %q", req.Kind)
	}
	if err := applyStatus(ctx, j.client, j.fieldOwner, obj, apiVersion, req.Kind, metadata,
		map[string]any{"conditions": []map[string]any{condition}}); err != nil {
		return fmt.Errorf("applying the %s condition to %s %s: %w", signer.ConditionVaultSerial, req.Kind, req.Name, err)
	}
	return nil
}
