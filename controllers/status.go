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
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/golemtrust/vault-intermediate-issuer/api/v1alpha1"
)

// ConditionVaultReady is the condition this controller owns next to
// issuer-lib's Ready: its reason says precisely why Vault can or cannot sign.
const ConditionVaultReady = "VaultReady"

// ConditionInsecureTransport is a warning: present, with status True and
// reason PlainHTTP, while the issuer talks to Vault over plain HTTP
// (spec.vault.insecureAllowHTTP); absent otherwise.
const ConditionInsecureTransport = "InsecureTransport"

// ownedStatus is the part of the issuer's status this controller writes.
// issuer-lib owns the Ready condition under another field manager; server-side
// apply keeps the two apart because conditions is a map keyed by type.
type ownedStatus struct {
	VaultReady         *metav1.Condition
	InsecureTransport  *metav1.Condition
	ObservedGeneration int64
	PolicyDigest       string
	LastIssued         *v1alpha1.IssuedRecord
	LastDenied         *v1alpha1.DeniedRecord
	IssuedCount        int64
	DeniedCount        int64
}

func ownedFrom(iss *v1alpha1.VaultIntermediateClusterIssuer) ownedStatus {
	st := iss.Status
	o := ownedStatus{
		ObservedGeneration: st.ObservedGeneration,
		PolicyDigest:       st.PolicyDigest,
		LastIssued:         st.LastIssued,
		LastDenied:         st.LastDenied,
		IssuedCount:        st.IssuedCount,
		DeniedCount:        st.DeniedCount,
	}
	if c := meta.FindStatusCondition(st.Conditions, ConditionVaultReady); c != nil {
		cp := *c
		o.VaultReady = &cp
	}
	if c := meta.FindStatusCondition(st.Conditions, ConditionInsecureTransport); c != nil {
		cp := *c
		o.InsecureTransport = &cp
	}
	return o
}

// statusWriter applies ownedStatus with server-side apply under its own field
// manager. Updates of one issuer are serialised and read the issuer from the
// API server, not the cache, so counters are never computed from a stale
// copy.
type statusWriter struct {
	client     client.Client
	reader     client.Reader
	fieldOwner string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func newStatusWriter(c client.Client, reader client.Reader, fieldOwner string) *statusWriter {
	return &statusWriter{client: c, reader: reader, fieldOwner: fieldOwner, locks: map[string]*sync.Mutex{}}
}

func (w *statusWriter) lock(name string) func() {
	w.mu.Lock()
	l, ok := w.locks[name]
	if !ok {
		l = &sync.Mutex{}
		w.locks[name] = l
	}
	w.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// update reads the issuer, lets mutate change the owned status, and applies
// it if it changed. mutate sees the live issuer (its generation and spec).
func (w *statusWriter) update(ctx context.Context, name string, uid types.UID,
	mutate func(iss *v1alpha1.VaultIntermediateClusterIssuer, st *ownedStatus)) error {
	defer w.lock(name)()
	var iss v1alpha1.VaultIntermediateClusterIssuer
	if err := w.reader.Get(ctx, types.NamespacedName{Name: name}, &iss); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading issuer %s: %w", name, err)
	}
	if uid != "" && iss.UID != uid {
		return nil // deleted and re-created: the record belongs to the old one
	}
	before := ownedFrom(&iss)
	after := before
	if before.VaultReady != nil {
		cp := *before.VaultReady
		after.VaultReady = &cp
	}
	if before.InsecureTransport != nil {
		cp := *before.InsecureTransport
		after.InsecureTransport = &cp
	}
	mutate(&iss, &after)
	if equality.Semantic.DeepEqual(before, after) {
		return nil
	}
	return w.apply(ctx, &iss, after)
}

func (w *statusWriter) apply(ctx context.Context, iss *v1alpha1.VaultIntermediateClusterIssuer, st ownedStatus) error {
	status := map[string]any{}
	var conditions []metav1.Condition
	for _, c := range []*metav1.Condition{st.VaultReady, st.InsecureTransport} {
		if c != nil {
			conditions = append(conditions, *c)
		}
	}
	if len(conditions) > 0 {
		// A condition left out is one this field manager no longer
		// manages, which server-side apply removes.
		status["conditions"] = conditions
	}
	if st.ObservedGeneration != 0 {
		status["observedGeneration"] = st.ObservedGeneration
	}
	if st.PolicyDigest != "" {
		status["policyDigest"] = st.PolicyDigest
		status["policyDigestShort"] = shortDigest(st.PolicyDigest)
	}
	if st.LastIssued != nil {
		status["lastIssued"] = st.LastIssued
	}
	if st.LastDenied != nil {
		status["lastDenied"] = st.LastDenied
	}
	if st.IssuedCount != 0 {
		status["issuedCount"] = st.IssuedCount
	}
	if st.DeniedCount != 0 {
		status["deniedCount"] = st.DeniedCount
	}
	obj := &v1alpha1.VaultIntermediateClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: iss.Name}}
	err := applyStatus(ctx, w.client, w.fieldOwner, obj, v1alpha1.GroupVersion.String(), "VaultIntermediateClusterIssuer",
		map[string]any{"name": iss.Name, "uid": iss.UID}, status)
	if err := client.IgnoreNotFound(err); err != nil { // a deleted issuer needs no status
		return fmt.Errorf("applying the status of issuer %s: %w", iss.Name, err)
	}
	return nil
}

// applyStatus server-side applies status (the fields this field owner
// manages, all of them) to the status subresource of obj.
func applyStatus(ctx context.Context, c client.Client, fieldOwner string, obj client.Object,
	apiVersion, kind string, metadata, status map[string]any) error {
	patch, err := json.Marshal(map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   metadata,
		"status":     status,
	})
	if err != nil {
		return fmt.Errorf("encoding the status patch: %w", err)
	}
	force := true
	return c.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, patch), &client.SubResourcePatchOptions{
		PatchOptions: client.PatchOptions{FieldManager: fieldOwner, Force: &force},
	})
}

// shortDigest is the first 12 hex digits of a "sha256:<hex>" digest.
func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// insecureTransport is the InsecureTransport condition of iss: present while
// its server is plain HTTP, which it may only be with insecureAllowHTTP.
// prev keeps its transition time.
func insecureTransport(iss *v1alpha1.VaultIntermediateClusterIssuer, prev *metav1.Condition, now time.Time) *metav1.Condition {
	v := iss.Spec.Vault
	u, err := url.Parse(v.Server)
	if err != nil || u.Scheme != "http" || !v.InsecureAllowHTTP {
		return nil
	}
	c := &metav1.Condition{
		Type: ConditionInsecureTransport, Status: metav1.ConditionTrue, Reason: "PlainHTTP",
		Message: fmt.Sprintf("spec.vault.server %s is plain HTTP, allowed by spec.vault.insecureAllowHTTP: the AppRole secret ID, "+
			"the Vault token and every certificate cross the network in clear text, readable and changeable by anyone on the path. "+
			"Use an https:// server outside of tests and demos.", v.Server),
		ObservedGeneration: iss.Generation, LastTransitionTime: metav1.NewTime(now),
	}
	if prev != nil && prev.Status == c.Status {
		c.LastTransitionTime = prev.LastTransitionTime
	}
	return c
}
