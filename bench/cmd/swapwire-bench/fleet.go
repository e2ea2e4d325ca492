package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// FleetResult holds the figures of the fleet tests: three swapwire serve
// processes on one store, under load, while versions are uploaded through
// one of them.
type FleetResult struct {
	Rows []FleetRow
}

// FleetRow is one store's run.
type FleetRow struct {
	Store              string // the test's store: shared directory or S3
	Replicas, Uploads  int
	P50, Max           float64 // seconds from an upload's answer to each replica's first answer from the new version
	Requests, Failed   int
	ConcurrentLabels   string // the concurrent-label test's line, if it ran
	ConcurrentLabelsOK bool
}

// fleetLine matches what fleet_test.go logs for one run.
var fleetLine = regexp.MustCompile(`fleet: (\d+) replicas, (\d+) uploads: convergence p50 ([0-9.]+)s, max ([0-9.]+)s; (\d+) requests, (\d+) failed`)

var fleetStores = map[string]string{
	"TestFleetSharedDirectory": "shared directory",
	"TestFleetS3":              "S3 (versitygw)",
}

// runFleet runs the fleet tests of cmd/swapwire (real swapwire serve
// processes with Python workers, a real S3 server) and records the figures
// they log. It runs from the repository root, on every CPU.
func runFleet(c common, r *Report) error {
	args := []string{"go", "test", "-count=1", "-v", "-run", `^TestFleet(SharedDirectory|S3)$`, "./cmd/swapwire"}
	if c.pin {
		args = append([]string{"taskset", "-c", allCPUs()}, args...)
	}
	logf("fleet: %s", strings.Join(args, " "))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	res := &FleetResult{}
	test := ""
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "=== RUN   "); ok {
			test = strings.TrimSpace(name)
			continue
		}
		m := fleetLine.FindStringSubmatch(line)
		if m == nil || fleetStores[test] == "" {
			continue
		}
		row := FleetRow{Store: fleetStores[test]}
		row.Replicas, _ = strconv.Atoi(m[1])
		row.Uploads, _ = strconv.Atoi(m[2])
		row.P50, _ = strconv.ParseFloat(m[3], 64)
		row.Max, _ = strconv.ParseFloat(m[4], 64)
		row.Requests, _ = strconv.Atoi(m[5])
		row.Failed, _ = strconv.Atoi(m[6])
		res.Rows = append(res.Rows, row)
	}
	if err != nil {
		fmt.Fprint(os.Stderr, out.String())
		return fmt.Errorf("fleet tests failed: %w", err)
	}
	if len(res.Rows) != len(fleetStores) {
		fmt.Fprint(os.Stderr, out.String())
		return fmt.Errorf("fleet: found %d result lines in the tests' output, want %d", len(res.Rows), len(fleetStores))
	}
	for _, row := range res.Rows {
		logf("fleet: %s: convergence p50 %.2fs, max %.2fs; %d requests, %d failed", row.Store, row.P50, row.Max, row.Requests, row.Failed)
	}
	r.Fleet = res
	fmt.Println(res.markdown())
	return nil
}

// score is higher for a better run: no failures first, then the slowest
// convergence.
func (f *FleetResult) score() float64 {
	s := 0.0
	for _, row := range f.Rows {
		s -= row.Max + 1000*float64(row.Failed)
	}
	return s
}

func (f *FleetResult) markdown() string {
	var b strings.Builder
	b.WriteString("### A fleet of replicas on one store\n\n")
	b.WriteString("Three `swapwire serve` processes with Python workers on one model store, two callers each, while three versions are uploaded through one replica (`go test -run 'TestFleet(SharedDirectory|S3)$' ./cmd/swapwire`: the shared directory without fsnotify, polled every 500 ms; S3 on a local versitygw, polled every 500 ms). Convergence is the time from the upload's answer to each replica's first answer from the new version; it includes starting the new version's Python workers.\n\n")
	b.WriteString("| store | replicas | uploads | convergence p50 | convergence max | requests | failed |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range f.Rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f s | %.2f s | %d | %d |\n", row.Store, row.Replicas, row.Uploads, row.P50, row.Max, row.Requests, row.Failed)
	}
	failed := 0
	for _, row := range f.Rows {
		failed += row.Failed
	}
	fmt.Fprintf(&b, "\nFailed requests on any replica: **%d** (target 0: %s).\n", failed, verdict(failed == 0))
	return b.String()
}
