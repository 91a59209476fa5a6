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

// The plots follow three rules: a legend sits below its plot, never over data or a budget line;
// a measured point is drawn with its spread (min–max of its runs) and points are not joined by
// lines, which would suggest a trend the noise does not carry; anything not measured (a budget)
// says so in its label.

// plots draws the PNGs and returns their file names.
func (r *Report) plots(dir string) ([]string, error) {
	var names []string
	if len(r.Sweep.Points) > 0 || len(r.Circuits) > 0 {
		if err := r.proveVsConstraints(filepath.Join(dir, "prove_vs_constraints.png")); err != nil {
			return nil, err
		}
		names = append(names, "prove_vs_constraints.png")
	}
	if r.hasLatencies() {
		if err := r.latencyPlot(filepath.Join(dir, "latency.png")); err != nil {
			return nil, err
		}
		names = append(names, "latency.png")
	}
	return names, nil
}

// hasLatencies reports whether the HTTP runs' raw latencies are at hand (not after -render).
func (r *Report) hasLatencies() bool {
	for _, s := range r.HTTP {
		if len(s.latencies) > 0 {
			return true
		}
	}
	return false
}

// spread is measured points with their spread: a median and the min–max of its runs.
type spread []struct{ x, median, lo, hi float64 }

func (s spread) Len() int                { return len(s) }
func (s spread) XY(i int) (x, y float64) { return s[i].x, s[i].median }
func (s spread) YError(i int) (float64, float64) {
	return s[i].median - s[i].lo, s[i].hi - s[i].median
}

// add appends a point; a missing min or max (zero: not recorded) is the median.
func (s *spread) add(x float64, median, lo, hi Q) {
	p := struct{ x, median, lo, hi float64 }{x, median.Value, lo.Value, hi.Value}
	if p.lo == 0 {
		p.lo = p.median
	}
	if p.hi == 0 {
		p.hi = p.median
	}
	*s = append(*s, p)
}

// addSpread draws the points of s as glyphs with min–max bars, labelled (offset from the point),
// and adds one legend entry.
func addSpread(p *plot.Plot, s spread, labels []string, offset vg.Point, shape draw.GlyphDrawer, c color.Color, legend string) error {
	if len(s) == 0 {
		return nil
	}
	sc, err := plotter.NewScatter(s)
	if err != nil {
		return err
	}
	sc.Shape, sc.Color, sc.Radius = shape, c, vg.Points(4)
	bars, err := plotter.NewYErrorBars(s)
	if err != nil {
		return err
	}
	bars.Color = c
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: s.xys(), Labels: labels})
	if err != nil {
		return err
	}
	lb.Offset = offset
	p.Add(bars, sc, lb)
	p.Legend.Add(legend, sc)
	return nil
}

func (s spread) xys() plotter.XYs {
	out := make(plotter.XYs, len(s))
	for i, p := range s {
		out[i] = plotter.XY{X: p.x, Y: p.median}
	}
	return out
}

func (r *Report) proveVsConstraints(path string) error {
	p := plot.New()
	p.Title.Text = "Groth16 prove time against constraint count (median; bars: min–max of the runs)"
	p.X.Label.Text = "R1CS constraints"
	p.Y.Label.Text = "prove time (ms)"
	p.Add(plotter.NewGrid())

	var sweep spread
	var sweepLabels []string
	for _, pt := range r.Sweep.Points {
		sweep.add(pt.Constraints.Value, pt.ProveMedian, pt.ProveMin, pt.ProveMax)
		sweepLabels = append(sweepLabels, fmt.Sprintf("P=%d", pt.Predicates))
	}
	var shipped spread
	var names []string
	for _, c := range r.Circuits {
		if c.Backend != "groth16" {
			continue
		}
		shipped.add(c.Constraints.Value, c.ProveMedian, c.ProveMin, c.ProveMax)
		names = append(names, c.Circuit)
	}
	n := 0
	if len(r.Sweep.Points) > 0 {
		n = r.Sweep.Points[0].Iterations
	}
	// sweep labels below right of their points, the shipped circuits' above right: clinical-v1 is
	// the P=16 point of the sweep
	if err := addSpread(p, sweep, sweepLabels, vg.Point{X: vg.Points(6), Y: vg.Points(-14)}, draw.CircleGlyph{}, plotutil.Color(0),
		fmt.Sprintf("clinical circuit with P predicate slots (%d proofs each)", n)); err != nil {
		return err
	}
	if err := addSpread(p, shipped, names, vg.Point{X: vg.Points(6), Y: vg.Points(6)}, draw.PyramidGlyph{}, plotutil.Color(1), "shipped circuits"); err != nil {
		return err
	}

	all := append(slices.Clone(sweep), shipped...)
	xmin, xmax, ymax := 0.0, 1.0, 500.0
	if len(all) > 0 {
		xmin = all[0].x
	}
	for _, pt := range all {
		xmin, xmax, ymax = min(xmin, pt.x), max(xmax, pt.x), max(ymax, pt.hi)
	}
	// FFT domain boundaries: Groth16's MSM and FFT sizes step there.
	legend := false
	for k := domainLog2(int(xmin)); float64(int(1)<<k) <= xmax*1.05; k++ {
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
	}{{100, "budget, coverage-v1: 100 ms (a target, not a measurement)"}, {500, "budget, clinical-v1: 500 ms (a target, not a measurement)"}} {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: b.ms}, {X: xmax * 1.05, Y: b.ms}})
		if err != nil {
			return err
		}
		l.Dashes, l.Color = []vg.Length{vg.Points(6), vg.Points(3)}, plotutil.Color(2+i)
		p.Add(l)
		p.Legend.Add(b.label, l)
	}
	p.Y.Min, p.Y.Max = 0, ymax*1.15
	p.X.Min = 0
	return savePNG(path, 9*vg.Inch, 5.5*vg.Inch, []*plot.Plot{p})
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
			name := fmt.Sprintf("%s %s, %d requests", scenarioTitles[s.Name], shortCircuit(s.Circuit), len(s.latencies))
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
		p.Legend.TextStyle.Font.Size = vg.Points(9)
		row[i] = p
	}
	return savePNG(path, vg.Length(len(modes))*6.5*vg.Inch, 5*vg.Inch, row)
}

// legendBelow is the height of the strip below the plots that holds their legends: the tallest
// legend, and a margin.
func legendBelow(row []*plot.Plot) vg.Length {
	var h vg.Length
	for _, p := range row {
		leg := p.Legend
		leg.Top = true
		r := leg.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: 100 * vg.Inch, Y: 100 * vg.Inch}}})
		h = max(h, r.Max.Y-r.Min.Y)
	}
	return h + vg.Points(12)
}

// savePNG draws a row of plots of w × h in all, each with its legend in a strip below it (never
// over the data), and writes the PNG.
func savePNG(path string, w, h vg.Length, row []*plot.Plot) error {
	strip := legendBelow(row)
	img := vgimg.New(w, h+strip)
	dc := draw.New(img)
	plots := dc
	plots.Min.Y += strip
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Inch / 4, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, plots)
	for i, p := range row {
		leg := p.Legend
		p.Legend = plot.NewLegend() // drawn below instead
		p.Draw(canvases[0][i])
		p.Legend = leg
		below := canvases[0][i]
		below.Max.Y, below.Min.Y = strip-vg.Points(4), 0
		below.Min.X = p.DataCanvas(canvases[0][i]).Min.X // aligned with the data area
		leg.Top, leg.Left = true, true
		leg.Draw(below)
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
