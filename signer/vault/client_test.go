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

package vault

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for Client.now: the client decides when to renew
// from it, while OpenBao keeps real time.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// TestTokenCache drives the token cache against OpenBao: a first call logs
// in, and what happens at the second call depends on the token and on the
// time between the calls.
func TestTokenCache(t *testing.T) {
	const mount = "pki-tokens"
	bao.Root(t, mount, "Token Test Root", "87600h", "ec")
	tests := []struct {
		name     string
		settings map[string]any
		// between runs between the two calls; it may advance the client's
		// clock, wait in real time or change the credentials.
		between       func(t *testing.T, c *Client, clk *clock, creds *Credentials, role string)
		wantLogins    int
		wantRenewals  int
		wantSecondErr Class
	}{
		{
			name:       "a fresh token is reused",
			settings:   map[string]any{"token_ttl": "1h", "token_max_ttl": "2h"},
			between:    func(*testing.T, *Client, *clock, *Credentials, string) {},
			wantLogins: 1,
		},
		{
			name:     "a renewable token is renewed at 80% of its TTL",
			settings: map[string]any{"token_ttl": "1h", "token_max_ttl": "3h"},
			between: func(_ *testing.T, _ *Client, clk *clock, _ *Credentials, _ string) {
				clk.advance(49 * time.Minute)
			},
			wantLogins: 1, wantRenewals: 1,
		},
		{
			name:     "a token near its max TTL is replaced by a login, not renewed for less",
			settings: map[string]any{"token_ttl": "4s", "token_max_ttl": "4s"},
			between: func(*testing.T, *Client, *clock, *Credentials, string) {
				time.Sleep(3500 * time.Millisecond) // real time: OpenBao grants only what is left of the max TTL
			},
			wantLogins: 2,
		},
		{
			name:     "a batch token, which cannot be renewed, is replaced by a login at 80% of its TTL",
			settings: map[string]any{"token_type": "batch", "token_ttl": "1h"},
			between: func(_ *testing.T, _ *Client, clk *clock, _ *Credentials, _ string) {
				clk.advance(49 * time.Minute)
			},
			wantLogins: 2,
		},
		{
			name:     "a rotated secret ID logs in at once",
			settings: map[string]any{"token_ttl": "1h"},
			between: func(t *testing.T, _ *Client, _ *clock, creds *Credentials, role string) {
				creds.SecretID = bao.SecretID(t, role)
			},
			wantLogins: 2,
		},
		{
			name:     "a token revoked behind the client's back is replaced after Vault's 403",
			settings: map[string]any{"token_ttl": "1h"},
			between: func(t *testing.T, c *Client, _ *clock, _ *Credentials, _ string) {
				c.mu.Lock()
				tok := c.token
				c.mu.Unlock()
				if _, err := bao.Admin.Logical().WriteWithContext(t.Context(), "auth/token/revoke", map[string]any{"token": tok}); err != nil {
					t.Fatal(err)
				}
			},
			wantLogins: 2,
		},
		{
			name:     "a rejected secret ID is not tried again before its backoff",
			settings: map[string]any{"token_ttl": "1h"},
			between: func(_ *testing.T, _ *Client, _ *clock, creds *Credentials, _ string) {
				creds.SecretID = "00000000-0000-0000-0000-000000000000"
			},
			// The first login succeeded; the wrong secret ID is tried once
			// by the second call and the third gets the remembered failure.
			wantLogins:    1,
			wantSecondErr: ClassAuthFailed,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			role := fmt.Sprintf("tokens-%d", i)
			obs := newCountingObserver()
			c, creds := newTestClient(t, mount, role, signPolicy(mount), tc.settings, obs)
			clk := &clock{}
			c.now = clk.now
			ctx := t.Context()
			if err := c.CheckCapabilities(ctx, creds); err != nil {
				t.Fatalf("first call: %v", err)
			}
			tc.between(t, c, clk, &creds, role)
			err := c.CheckCapabilities(ctx, creds)
			if got := ClassOf(err); got != tc.wantSecondErr {
				t.Fatalf("second call: class %q (%v), want %q", got, err, tc.wantSecondErr)
			}
			if tc.wantSecondErr != "" {
				// A third call with the same rejected credentials must
				// not reach Vault.
				before := obs.loginsOf(string(ClassAuthFailed))
				if err := c.CheckCapabilities(ctx, creds); ClassOf(err) != ClassAuthFailed || !strings.Contains(err.Error(), "not tried again") {
					t.Errorf("third call: %v, want the remembered AuthFailed", err)
				}
				if obs.loginsOf(string(ClassAuthFailed)) != before {
					t.Errorf("the rejected credentials were tried again within the backoff")
				}
			}
			if got := c.Logins(); got != tc.wantLogins {
				t.Errorf("%d logins, want %d", got, tc.wantLogins)
			}
			if got := c.Renewals(); got != tc.wantRenewals {
				t.Errorf("%d renewals, want %d", got, tc.wantRenewals)
			}
		})
	}
}

// TestRevokeTokenOnShutdown: RevokeToken makes OpenBao forget the token.
func TestRevokeTokenOnShutdown(t *testing.T) {
	const mount = "pki-shutdown"
	bao.Root(t, mount, "Shutdown Test Root", "87600h", "ec")
	c, creds := newTestClient(t, mount, "shutdown", signPolicy(mount), map[string]any{"token_ttl": "1h"}, newCountingObserver())
	if err := c.Login(t.Context(), creds); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if err := c.RevokeToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := bao.Admin.Logical().WriteWithContext(t.Context(), "auth/token/lookup", map[string]any{"token": tok}); err == nil {
		t.Error("the token is still known to OpenBao after RevokeToken")
	}
}
