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
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// apiWrites counts the write requests kube-apiserver served, by kind, from
// its apiserver_request_total. The verb and API group tell the writers
// apart: cert-manager updates CertificateRequest status with PUT and
// records core/v1 Events; our controller patches status with
// server-side apply (APPLY, or PATCH) and records events.k8s.io Events.
type apiWrites struct {
	StatusUpdate float64 // certificaterequests/status PUT: cert-manager's approver and in-tree issuer
	StatusPatch  float64 // certificaterequests/status APPLY or PATCH: our controller
	CoreEvents   float64 // core/v1 events POST or PATCH: cert-manager
	EventsAPI    float64 // events.k8s.io events POST or PATCH: our controller
	Creates      float64 // certificaterequests POST: the bench
}

func (a apiWrites) minus(o apiWrites) apiWrites {
	return apiWrites{
		StatusUpdate: a.StatusUpdate - o.StatusUpdate, StatusPatch: a.StatusPatch - o.StatusPatch,
		CoreEvents: a.CoreEvents - o.CoreEvents, EventsAPI: a.EventsAPI - o.EventsAPI, Creates: a.Creates - o.Creates,
	}
}

func (a apiWrites) add(o apiWrites) apiWrites {
	return apiWrites{
		StatusUpdate: a.StatusUpdate + o.StatusUpdate, StatusPatch: a.StatusPatch + o.StatusPatch,
		CoreEvents: a.CoreEvents + o.CoreEvents, EventsAPI: a.EventsAPI + o.EventsAPI, Creates: a.Creates + o.Creates,
	}
}

// certManager is what went through cert-manager's shared client rate
// limiter.
func (a apiWrites) certManager() float64 { return a.StatusUpdate + a.CoreEvents }

// readAPIWrites scrapes kube-apiserver's /metrics with the admin client.
func readAPIWrites(ctx context.Context, kube kubernetes.Interface) (apiWrites, error) {
	raw, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return apiWrites{}, fmt.Errorf("reading kube-apiserver's metrics: %w", err)
	}
	var a apiWrites
	scanner := bufio.NewScanner(bytes.NewReader(raw))
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		end := strings.LastIndexByte(rest, '}')
		if end < 0 {
			continue
		}
		labels := parseLabels(rest[:end])
		v, err := strconv.ParseFloat(strings.TrimSpace(rest[end+1:]), 64)
		if err != nil {
			continue
		}
		verb, group, resource, sub := labels["verb"], labels["group"], labels["resource"], labels["subresource"]
		switch {
		case resource == "certificaterequests" && sub == "status" && verb == "PUT":
			a.StatusUpdate += v
		case resource == "certificaterequests" && sub == "status" && (verb == "APPLY" || verb == "PATCH"):
			a.StatusPatch += v
		case resource == "certificaterequests" && sub == "" && verb == "POST":
			a.Creates += v
		case resource == "events" && group == "" && (verb == "POST" || verb == "PATCH"):
			a.CoreEvents += v
		case resource == "events" && group == "events.k8s.io" && (verb == "POST" || verb == "PATCH"):
			a.EventsAPI += v
		}
	}
	return a, scanner.Err()
}

// parseLabels parses the inside of a Prometheus label set; the values the
// API server writes hold no escaped quotes.
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		key, rest, ok := strings.Cut(s, `="`)
		if !ok {
			break
		}
		value, rest, ok := strings.Cut(rest, `"`)
		if !ok {
			break
		}
		out[strings.TrimPrefix(key, ",")] = value
		s = rest
	}
	return out
}
