package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPUModel     string     `json:"cpu_model"`
	LogicalCPUs  int        `json:"logical_cpus"`
	GOMAXPROCS   int        `json:"gomaxprocs"`
	Memory       Q          `json:"memory"`
	OS           string     `json:"os"`
	Arch         string     `json:"arch"`
	Kernel       string     `json:"kernel"`
	LoadAvgStart [3]float64 `json:"loadavg_start"`
	LoadAvgEnd   [3]float64 `json:"loadavg_end"`
}

// Versions are the toolchain and the libraries that decide the figures.
type Versions struct {
	Go          string `json:"go"`
	Gnark       string `json:"gnark"`
	GnarkCrypto string `json:"gnark_crypto"`
	Vegeta      string `json:"vegeta"`
	GonumPlot   string `json:"gonum_plot"`
	Commit      string `json:"commit,omitempty"`
}

func describeMachine() Machine {
	m := Machine{
		CPUModel:     "unknown CPU",
		LogicalCPUs:  runtime.NumCPU(),
		GOMAXPROCS:   runtime.GOMAXPROCS(0),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		LoadAvgStart: loadAvg(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				m.Memory = Q{round(kb/(1<<20), 1), "GiB"}
				break
			}
		}
		f.Close()
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var b strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		m.Kernel = b.String()
	}
	return m
}

func loadAvg() [3]float64 {
	var out [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	for i, f := range strings.Fields(string(data)) {
		if i >= 3 {
			break
		}
		out[i], _ = strconv.ParseFloat(f, 64)
	}
	return out
}

func describeVersions() Versions {
	v := Versions{Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			ver := d.Version
			if d.Replace != nil {
				ver = d.Replace.Version
			}
			switch d.Path {
			case "github.com/consensys/gnark":
				v.Gnark = ver
			case "github.com/consensys/gnark-crypto":
				v.GnarkCrypto = ver
			case "github.com/tsenart/vegeta/v12":
				v.Vegeta = ver
			case "gonum.org/v1/plot":
				v.GonumPlot = ver
			}
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		v.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			v.Commit += " with uncommitted changes"
		}
	}
	return v
}
