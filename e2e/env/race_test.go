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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDataRaces(t *testing.T) {
	long := `{"msg":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name string
		logs map[string]string
		want []string
	}{
		{
			name: "no logs",
		},
		{
			name: "clean logs",
			logs: map[string]string{"vault-intermediate-issuer.log": "starting\n" + long + "\nstopped\n", "etcd.log": "ok\n"},
		},
		{
			name: "one report after a long line",
			logs: map[string]string{"vault-intermediate-issuer.log": long + "\n==================\nWARNING: DATA RACE\nWrite at 0x00c000 by goroutine 7:\n"},
			want: []string{"vault-intermediate-issuer.log:3"},
		},
		{
			name: "reports in two logs",
			logs: map[string]string{
				"issuer-a.log": "WARNING: DATA RACE\n",
				"issuer-b.log": "a\nb\nWARNING: DATA RACE\nc\nWARNING: DATA RACE\n",
			},
			want: []string{"issuer-a.log:1", "issuer-b.log:3", "issuer-b.log:5"},
		},
		{
			name: "only *.log files are read",
			logs: map[string]string{"kubeconfig": "WARNING: DATA RACE\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Env{Artifacts: t.TempDir()}
			for name, content := range tc.logs {
				if err := os.WriteFile(filepath.Join(e.Artifacts, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := e.DataRaces()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, filepath.Join(e.Artifacts, w))
			}
			if !slices.Equal(got, want) {
				t.Errorf("DataRaces() = %q, want %q", got, want)
			}
		})
	}
}
