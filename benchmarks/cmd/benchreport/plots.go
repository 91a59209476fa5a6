package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plots draws the PNGs and returns their file names.
func (r *Report) plots(dir string) ([]string, error) {
	var names []string
	if len(r.Sweep.Points) > 0 || len(r.Circuits) > 0 {
		if err := r.proveVsConstraints(filepath.Join(dir, "prove_vs_constraints.png")); err != nil {
			return nil, err
		}
		names = append(names, "prove_vs_constraints.png")
	}
	if len(r.HTTP) > 0 {
		if err := r.latencyPlot(filepath.Join(dir, "latency.png")); err != nil {
			return nil, err
		}
		names = append(names, "latency.png")
	}
	return names, nil
}

func (r *Report) proveVsConstraints(path string) error {
	p := plot.New()
	p.Title.Text = "Groth16 prove time against constraint count (median)"
	p.X.Label.Text = "R1CS constraints"
	p.Y.Label.Text = "prove time (ms)"
	p.Add(plotter.NewGrid())

	var sweep plotter.XYs
	var labels []string
	for _, pt := range r.Sweep.Points {
		sweep = append(sweep, plotter.XY{X: pt.Constraints.Value, Y: pt.ProveMedian.Value})
		labels = append(labels, fmt.Sprintf("P=%d", pt.Predicates))
	}
	xmin, xmax := 0.0, 1.0
	for _, xy := range sweep {
		xmax = max(xmax, xy.X)
	}
	if len(sweep) > 0 {
		line, points, err := plotter.NewLinePoints(sweep)
		if err != nil {
			return err
		}
		line.Color, points.Color = plotutil.Color(0), plotutil.Color(0)
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add("clinical, P predicate slots", line, points)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: sweep, Labels: labels})
		if err != nil {
			return err
		}
		lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(-12)}
		p.Add(lb)
	}
	var shipped plotter.XYs
	var names []string
	for _, c := range r.Circuits {
		if c.Backend != "groth16" {
			continue
		}
		shipped = append(shipped, plotter.XY{X: c.Constraints.Value, Y: c.ProveMedian.Value})
		names = append(names, c.Circuit)
		xmax = max(xmax, c.Constraints.Value)
	}
	if len(shipped) > 0 {
		sc, err := plotter.NewScatter(shipped)
		if err != nil {
			return err
		}
		sc.Shape, sc.Color, sc.Radius = draw.PyramidGlyph{}, plotutil.Color(1), vg.Points(5)
		p.Add(sc)
		p.Legend.Add("shipped circuits", sc)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: shipped, Labels: names})
		if err != nil {
			return err
		}
		lb.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(4)}
		p.Add(lb)
	}
	ymax := 500.0
	for _, xy := range append(slices.Clone(sweep), shipped...) {
		ymax = max(ymax, xy.Y)
	}
	// FFT domain boundaries: Groth16's MSM and FFT sizes step there.
	xlow := xmax
	for _, xy := range append(slices.Clone(sweep), shipped...) {
		xlow = min(xlow, xy.X)
	}
	legend := false
	for k := domainLog2(int(xlow)); float64(int(1)<<k) <= xmax*1.05; k++ {
		x := float64(int(1) << k)
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: ymax * 1.1}})
		if err != nil {
			return err
		}
		l.Dashes, l.Color = []vg.Length{vg.Points(1), vg.Points(3)}, color.Gray{Y: 100}
		p.Add(l)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x, Y: ymax * 1.1}}, Labels: []string{fmt.Sprintf("2^%d", k)}})
		if err != nil {
			return err
		}
		lb.Offset = vg.Point{X: vg.Points(3), Y: vg.Points(-10)}
		p.Add(lb)
		if !legend {
			p.Legend.Add("FFT domain boundary (2^k constraints)", l)
			legend = true
		}
	}
	for i, b := range []struct {
		ms    float64
		label string
	}{{100, "coverage budget (100 ms)"}, {500, "clinical budget (500 ms)"}} {
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: b.ms}, {X: xmax * 1.05, Y: b.ms}})
		if err != nil {
			return err
		}
		l.Dashes, l.Color = []vg.Length{vg.Points(6), vg.Points(3)}, plotutil.Color(2+i)
		p.Add(l)
		p.Legend.Add(b.label, l)
	}
	p.Legend.Top, p.Legend.Left = false, false // bottom right: the points climb to the right
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	p.Y.Min, p.Y.Max = 0, ymax*1.15
	p.X.Min = 0
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}

// cdf is up to n points of the empirical distribution of sorted latencies, in ms.
func cdf(sorted []time.Duration, n int) plotter.XYs {
	if len(sorted) == 0 {
		return nil
	}
	var out plotter.XYs
	for i := 0; i <= n; i++ {
		q := float64(i) / float64(n)
		d := percentile(sorted, q)
		out = append(out, plotter.XY{X: max(float64(d)/1e6, 1e-3), Y: q})
	}
	return out
}

func (r *Report) latencyPlot(path string) error {
	var modes []string
	for _, s := range r.HTTP {
		if !slices.Contains(modes, s.Mode) {
			modes = append(modes, s.Mode)
		}
	}
	row := make([]*plot.Plot, len(modes))
	for i, mode := range modes {
		p := plot.New()
		p.Title.Text = "latency distribution, " + mode + " mode"
		p.X.Label.Text = "latency (ms, log scale)"
		p.Y.Label.Text = "fraction of requests ≤ latency"
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = 0, 1
		p.Add(plotter.NewGrid())
		k := 0
		for _, s := range r.HTTP {
			if s.Mode != mode || len(s.latencies) == 0 {
				continue
			}
			// verify: the open-loop runs (latency without saturation); proofs: every run
			if (s.Name == "verify_cached" || s.Name == "verify_uncached") && s.Rate == nil {
				continue
			}
			name := scenarioTitles[s.Name] + " " + shortCircuit(s.Circuit)
			switch {
			case s.Rate != nil:
				name += fmt.Sprintf(" @ %.0f req/s", s.Rate.Value)
			case s.Name == "proofs_async":
				name += fmt.Sprintf(", %d prover(s), queue+prove", s.Workers)
			}
			l, err := plotter.NewLine(cdf(s.latencies, 300))
			if err != nil {
				return err
			}
			l.Color, l.Dashes, l.Width = plotutil.Color(k), plotutil.Dashes(k), vg.Points(1.5)
			k++
			p.Add(l)
			p.Legend.Add(name, l)
		}
		p.Legend.Top, p.Legend.Left = true, true
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		row[i] = p
	}
	w, h := vg.Length(len(modes))*6.5*vg.Inch, 5*vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(modes), PadX: vg.Inch / 4, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func shortCircuit(id string) string {
	switch id {
	case "coverage-v1":
		return "(coverage)"
	case "clinical-v1":
		return "(clinical)"
	}
	return "(" + id + ")"
}
