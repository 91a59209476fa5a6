package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlots draws both plots from the committed latest.json (circuits and sweep) and synthetic
// latencies into a temporary directory: they render, and each image is taller than its plots by
// the legend strip below them (the legend is never drawn over the data).
func TestPlots(t *testing.T) {
	data, err := os.ReadFile("../../results/latest.json")
	if err != nil {
		t.Skipf("no benchmarks/results/latest.json: %v", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	lat := func(base time.Duration, n int) []time.Duration {
		var out []time.Duration
		for i := range n {
			out = append(out, base+time.Duration(i)*base/time.Duration(n))
		}
		return out
	}
	for i := range r.HTTP {
		r.HTTP[i].latencies = lat(time.Duration(r.HTTP[i].P50.Value*float64(time.Millisecond)), 200)
	}
	dir := t.TempDir()
	names, err := r.plots(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 {
		t.Fatalf("plots %v, want both", names)
	}
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d×%d", name, cfg.Width, cfg.Height)
		if cfg.Height <= 5*96 { // taller than the plots themselves (5 in or more at vgimg's 96 dpi)
			t.Errorf("%s is %d px high: no room for the legend below the plots", name, cfg.Height)
		}
	}
	if os.Getenv("BENCHREPORT_KEEP_PLOTS") != "" {
		for _, name := range names {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			os.WriteFile(filepath.Join(os.Getenv("BENCHREPORT_KEEP_PLOTS"), name), b, 0o644)
		}
	}
}

// TestQuickDefaults: a quick run writes into a new temporary directory and leaves README.md and
// the committed bench.txt alone, unless -out, -readme or -bench-txt were given.
func TestQuickDefaults(t *testing.T) {
	o := options{out: "benchmarks/results", readme: "README.md", quick: true}
	if err := quickDefaults(&o, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(o.out)
	if o.out == "benchmarks/results" || !filepath.IsAbs(o.out) || o.readme != "" || o.benchTxt != filepath.Join(o.out, "bench.txt") {
		t.Errorf("quick defaults: out %q, readme %q, bench-txt %q", o.out, o.readme, o.benchTxt)
	}
	if fi, err := os.Stat(o.out); err != nil || !fi.IsDir() {
		t.Errorf("no temporary directory %s: %v", o.out, err)
	}
	given := options{out: "x", readme: "R.md", benchTxt: "b.txt", quick: true}
	if err := quickDefaults(&given, map[string]bool{"out": true, "readme": true, "bench-txt": true}); err != nil {
		t.Fatal(err)
	}
	if given.out != "x" || given.readme != "R.md" || given.benchTxt != "b.txt" {
		t.Errorf("explicit flags overridden: %+v", given)
	}
}
