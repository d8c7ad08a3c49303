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
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// raceWarning opens every report a binary built with -race writes to its
// stderr when it sees a data race.
const raceWarning = "WARNING: DATA RACE"

// DataRaces scans the logs of every process of the run (the *.log files in
// e.Artifacts) for race detector reports and returns one line per report,
// naming the log and the line where it starts. Only a binary built with
// -race writes such reports (IssuerBinary: RaceIssuerBinary); a suite calls
// this when its tests are done and fails if any are found.
func (e *Env) DataRaces() ([]string, error) {
	logs, err := filepath.Glob(filepath.Join(e.Artifacts, "*.log"))
	if err != nil {
		return nil, fmt.Errorf("listing the logs in %s: %w", e.Artifacts, err)
	}
	var found []string
	for _, path := range logs {
		races, err := dataRacesIn(path)
		if err != nil {
			return nil, err
		}
		found = append(found, races...)
	}
	return found, nil
}

func dataRacesIn(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	var found []string
	sc := bufio.NewScanner(f)
	// Logs hold long JSON lines; a race report's own lines are short.
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), raceWarning) {
			found = append(found, fmt.Sprintf("%s:%d", path, n))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return found, nil
}
