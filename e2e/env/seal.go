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

package env

import (
	"context"
	"fmt"
)

// Seal seals Vault: every request then fails with HTTP 503 until Unseal.
func (v *Vault) Seal(ctx context.Context) error {
	if err := v.Admin.Sys().SealWithContext(ctx); err != nil {
		return fmt.Errorf("sealing Vault: %w", err)
	}
	return nil
}

// Unseal unseals Vault with the key kept from its initialisation.
func (v *Vault) Unseal(ctx context.Context) error {
	status, err := v.Admin.Sys().UnsealWithContext(ctx, v.UnsealKey)
	if err != nil {
		return fmt.Errorf("unsealing Vault: %w", err)
	}
	if status.Sealed {
		return fmt.Errorf("vault is still sealed after the unseal key was given (%d of %d shares)", status.Progress, status.T)
	}
	return nil
}
