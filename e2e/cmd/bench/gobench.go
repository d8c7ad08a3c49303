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
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// goBenchResult is one line of `go test -bench -benchmem` output.
type goBenchResult struct {
	Name, Sub   string // "BenchmarkEvaluate", "RSA-2048"
	NsPerOp     float64
	BytesPerOp  float64
	AllocsPerOp float64
}

// goBench is the parsed output of the Go benchmarks.
type goBench struct {
	CPU     string
	Package string
	Results []goBenchResult
}

var (
	benchLine  = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)
	procSuffix = regexp.MustCompile(`-\d+$`)
)

// parseGoBench reads the output of `go test -bench . -benchmem`.
func parseGoBench(path string) (*goBench, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Go benchmark output: %w", err)
	}
	defer f.Close()
	g := &goBench{}
	var names []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			g.CPU = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "pkg: "); ok {
			g.Package = strings.TrimSpace(v)
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := goBenchResult{}
		r.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		r.BytesPerOp, _ = strconv.ParseFloat(m[3], 64)
		r.AllocsPerOp, _ = strconv.ParseFloat(m[4], 64)
		names = append(names, m[1])
		g.Results = append(g.Results, r)
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if len(g.Results) == 0 {
		return nil, fmt.Errorf("%s holds no benchmark results", path)
	}
	// go test appends -GOMAXPROCS to every name unless it is 1; sub-benchmark
	// names may end in digits too ("RSA-2048"), so strip the suffix only when
	// every line has the same one.
	suffix := procSuffix.FindString(names[0])
	for _, n := range names {
		if suffix == "" || !strings.HasSuffix(n, suffix) {
			suffix = ""
			break
		}
	}
	for i, n := range names {
		n = strings.TrimSuffix(n, suffix)
		g.Results[i].Name, g.Results[i].Sub, _ = strings.Cut(n, "/")
	}
	return g, nil
}

// find returns the result of a benchmark and sub-benchmark.
func (g *goBench) find(name, sub string) (goBenchResult, bool) {
	for _, r := range g.Results {
		if r.Name == name && r.Sub == sub {
			return r, true
		}
	}
	return goBenchResult{}, false
}
