package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

// README.md's generated Performance block is what benchmarks/results/latest.json says: `make bench`
// writes both, and a hand edit of either shows here.
func TestReadmeMatchesLatest(t *testing.T) {
	data, err := os.ReadFile("../../results/latest.json")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no benchmarks/results/latest.json: run make bench")
	}
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		t.Fatal("README.md has no generated Performance block")
	}
	got, want := s[i+len(readmeBegin):j], "\n"+r.readmeBlock("benchmarks/results", nil)
	if got != want {
		t.Errorf("README.md's Performance block differs from latest.json: run make bench (or go run ./benchmarks/cmd/benchreport)\n got: %.300s\nwant: %.300s", got, want)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	s := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for _, tc := range []struct {
		p    float64
		want int
	}{{0, 1}, {.5, 5}, {.9, 9}, {.99, 10}, {1, 10}} {
		if got := percentile(s, tc.p); got != time.Duration(tc.want)*time.Millisecond {
			t.Errorf("percentile(1..10, %v) = %v, want %d ms", tc.p, got, tc.want)
		}
	}
	if percentile(nil, .5) != 0 {
		t.Error("percentile of no samples")
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		q    Q
		want string
	}{
		{Q{14825, "constraints"}, "14,825"},
		{Q{1234567.891, "req/s"}, "1,234,568 req/s"},
		{Q{0.3594, "ms"}, "0.359 ms"},
		{Q{-104.8, "ms"}, "-105 ms"},
		{Q{1.45, "ms"}, "1.45 ms"},
		{Q{4.7e6, "bytes"}, "4.5 MiB"},
		{Q{34384, "bytes"}, "34 KiB"},
		{Q{196, "bytes"}, "196 B"},
		{Q{10.2, "s"}, "10.2 s"},
	} {
		if got := fmtQ(tc.q); got != tc.want {
			t.Errorf("fmtQ(%v) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

func TestDomainLog2(t *testing.T) {
	for n, want := range map[int]int{1: 0, 2: 1, 14825: 14, 16384: 14, 16385: 15, 32084: 15, 38942: 16} {
		if got := domainLog2(n); got != want {
			t.Errorf("domainLog2(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestParseBenchTxt(t *testing.T) {
	got := parseBenchTxt("goos: linux\nBenchmarkProve/coverage-v1/groth16-2 \t 4\t 308267130 ns/op\t 14825 constraints\t 196.0 proof_bytes\nPASS\n")
	if len(got) != 1 || got[0].Iterations != 4 || len(got[0].Metrics) != 3 || got[0].Metrics[1] != (Q{14825, "constraints"}) {
		t.Fatalf("parseBenchTxt = %+v", got)
	}
}
