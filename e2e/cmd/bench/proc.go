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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golemtrust/vault-intermediate-issuer/e2e/env"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSample is what /proc tells about one process at one moment.
type procSample struct {
	CPU    time.Duration // user + system time since the process started
	RSSKiB int64         // VmRSS
	HWMKiB int64         // VmHWM: peak RSS since start or the last resetPeak
}

// readProc samples /proc/<pid>/stat and /proc/<pid>/status.
func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start at field 3, the state.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return s, fmt.Errorf("/proc/%d/stat has %d fields after the name", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("parsing utime and stime of /proc/%d/stat", pid)
	}
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer status.Close()
	scanner := bufio.NewScanner(status)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			s.RSSKiB = kib
		case "VmHWM":
			s.HWMKiB = kib
		}
	}
	return s, scanner.Err()
}

// resetPeak resets VmHWM to the current RSS (clear_refs value 5, Linux 4.0
// and later), so that the next reading is the peak of one run.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// childPIDs finds the processes this program started whose command name is
// one of names: envtest starts etcd and kube-apiserver without telling
// their PIDs.
func childPIDs(names ...string) map[string]int {
	out := map[string]int{}
	self := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		comm := s[open+1 : closing]
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		for _, name := range names {
			// comm is cut to 15 characters.
			if strings.HasPrefix(name, comm) {
				out[name], _ = strconv.Atoi(filepath.Base(dir))
			}
		}
	}
	return out
}

// scrapeMetrics reads the unlabelled samples of a Prometheus text endpoint
// whose names are in want.
func scrapeMetrics(ctx context.Context, url string, want ...string) (map[string]float64, error) {
	samples, err := env.Scrape(ctx, url)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range samples {
		if len(s.Labels) == 0 && slices.Contains(want, s.Name) {
			out[s.Name] = s.Value
		}
	}
	return out, nil
}

// scrapeSums reads a Prometheus text endpoint and sums, for each name in
// want, every series of that name that has the label labelMatch
// (`key="value"`).
func scrapeSums(ctx context.Context, url, labelMatch string, want ...string) (map[string]float64, error) {
	samples, err := env.Scrape(ctx, url)
	if err != nil {
		return nil, err
	}
	k, v, _ := strings.Cut(labelMatch, "=")
	match := map[string]string{k: strings.Trim(v, `"`)}
	out := map[string]float64{}
	for _, name := range want {
		out[name] = env.Sum(samples, name, match)
	}
	return out, nil
}

// machine describes where the numbers were taken.
type machine struct {
	CPUModel   string
	Cores      int
	MemoryGiB  float64
	Kernel     string
	LoadBefore string
	LoadAfter  string
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Kernel: readTrimmed("/proc/sys/kernel/osrelease"), LoadBefore: loadAverage()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			if k, v, ok := strings.Cut(scanner.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				kib, _ := strconv.ParseFloat(fields[1], 64)
				m.MemoryGiB = kib / (1 << 20)
			}
		}
		_ = f.Close()
	}
	return m
}

func loadAverage() string {
	fields := strings.Fields(readTrimmed("/proc/loadavg"))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

func readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
