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
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
	"github.com/golemtrust/vault-intermediate-issuer/signer/vault"
)

// floorResult is N signings sent straight to Vault: what no controller can
// beat on this machine.
type floorResult struct {
	N, Rep, Concurrency int
	// LoginEach is the in-tree issuer's pattern: a new client and an
	// AppRole login for every signing. Otherwise one login serves all.
	LoginEach bool
	// Latency holds, sorted, the time from the start of the batch (all N
	// queued at once, like N requests created at once) to each response.
	Latency []time.Duration
	// Service holds, sorted, the duration of each call alone.
	Service  []time.Duration
	Wall     time.Duration
	Failed   int
	Logins   int
	VaultCPU time.Duration
}

func (f *floorResult) percentile(p float64) time.Duration { return percentile(f.Latency, p) }

func (f *floorResult) rate() float64 {
	if f.Wall <= 0 {
		return 0
	}
	return float64(len(f.Latency)) / f.Wall.Seconds()
}

// floor sends n sign-intermediate calls with the parameters our controller
// sends, from concurrency goroutines, with github.com/hashicorp/vault/api:
// after one AppRole login, or with loginEach after a login of a new client
// for every call, as cert-manager's in-tree issuer does.
func (b *bench) floor(ctx context.Context, n, rep, concurrency int, loginEach bool) (*floorResult, error) {
	csrs := make([]string, n)
	for i := range csrs {
		csr, err := bankCSR()
		if err != nil {
			return nil, err
		}
		csrs[i] = string(csr)
	}
	secretID, err := b.stack.Vault.NewSecretID(ctx, b.stack.PKI.RoleName)
	if err != nil {
		return nil, err
	}
	newClient := func() (*vaultapi.Client, error) {
		cfg := vaultapi.DefaultConfig()
		cfg.Address = b.stack.Vault.Address
		cfg.MaxRetries = 0
		if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok {
			t.MaxIdleConnsPerHost = concurrency
		}
		vc, err := vaultapi.NewClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("creating the Vault client: %w", err)
		}
		vc.ClearToken()
		return vc, nil
	}
	login := func(vc *vaultapi.Client) error {
		secret, err := vc.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{
			"role_id": b.stack.PKI.RoleID, "secret_id": secretID,
		})
		if err != nil || secret == nil || secret.Auth == nil {
			return fmt.Errorf("logging in with AppRole: %w", err)
		}
		vc.SetToken(secret.Auth.ClientToken)
		return nil
	}
	vc, err := newClient()
	if err != nil {
		return nil, err
	}
	path := b.stack.PKI.Mount + "/root/sign-intermediate"

	b.waitQuiet(ctx)
	loginsBefore, err := b.stack.Vault.AppRoleLogins(ctx)
	if err != nil {
		return nil, err
	}
	vaultPID := b.stack.Vault.Process.Pid()
	cpuBefore, err := readProc(vaultPID)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	if !loginEach {
		if err := login(vc); err != nil {
			return nil, err
		}
		defer func() { _ = vc.Auth().Token().RevokeSelfWithContext(context.Background(), "") }()
	}

	f := &floorResult{N: n, Rep: rep, Concurrency: concurrency, LoginEach: loginEach}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for csr := range work {
				t0 := time.Now()
				c := vc
				var err error
				if loginEach {
					// Like cert-manager: a new client, and its token is
					// left to expire.
					if c, err = newClient(); err == nil {
						err = login(c)
					}
				}
				if err == nil {
					// Exactly what our signer sends, which the
					// role's generated ACL policy allows.
					_, err = c.Logical().WriteWithContext(ctx, path, vault.SignRequest{
						CSRPEM: []byte(csr), Subject: env.BankSubject, TTL: 720 * time.Hour,
					}.Params())
				}
				done := time.Now()
				mu.Lock()
				if err != nil {
					f.Failed++
				} else {
					f.Latency = append(f.Latency, done.Sub(start))
					f.Service = append(f.Service, done.Sub(t0))
				}
				mu.Unlock()
			}
		}()
	}
	for _, csr := range csrs {
		work <- csr
	}
	close(work)
	wg.Wait()
	f.Wall = time.Since(start)

	cpuAfter, err := readProc(vaultPID)
	if err != nil {
		return nil, err
	}
	f.VaultCPU = cpuAfter.CPU - cpuBefore.CPU
	loginsAfter, err := b.stack.Vault.AppRoleLogins(ctx)
	if err != nil {
		return nil, err
	}
	f.Logins = loginsAfter - loginsBefore
	slices.Sort(f.Latency)
	slices.Sort(f.Service)
	if f.Failed > 0 {
		return f, fmt.Errorf("%d of %d direct signings failed", f.Failed, n)
	}
	return f, nil
}
