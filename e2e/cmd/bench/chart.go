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
	"fmt"
	"image/color"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	oursColor   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	inTreeColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	floorColor  = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
)

// chartSeries is one distribution on a panel.
type chartSeries struct {
	label  string
	d      []time.Duration
	color  color.Color
	dashes []vg.Length
}

// writeChart draws, for every N, the distribution (empirical CDF) of the
// time from creation to Ready of both issuers, and the Vault floor's time
// to a response, as one PNG with a panel per N.
func writeChart(path string, r *report) error {
	var plots []*plot.Plot
	for _, n := range r.Options.sizes {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("N = %d requests created at once", n)
		p.X.Label.Text = "time from creation to Ready (s)"
		p.Y.Label.Text = "share of requests Ready"
		p.Y.Min, p.Y.Max = 0, 1
		p.X.Min = 0
		p.Add(plotter.NewGrid())
		p.Legend.Top = false
		p.Legend.Left = false
		p.Legend.XOffs = -vg.Millimeter
		p.Legend.YOffs = vg.Millimeter

		lat, _, runs, _, _ := r.floorSummary(n, false)
		latEach, _, runsEach, _, _ := r.floorSummary(n, true)
		series := []chartSeries{
			{"vault-intermediate-issuer", r.summarize(ours, n).TimeToReady, oursColor, nil},
			{"cert-manager in-tree Vault", r.summarize(inTree, n).TimeToReady, inTreeColor, nil},
		}
		if runs > 0 {
			series = append(series, chartSeries{r.floorName(false), lat, floorColor, []vg.Length{vg.Points(4), vg.Points(3)}})
		}
		if runsEach > 0 {
			series = append(series, chartSeries{r.floorName(true), latEach, floorColor, []vg.Length{vg.Points(1), vg.Points(2)}})
		}
		for _, s := range series {
			if len(s.d) == 0 {
				continue
			}
			line, err := plotter.NewLine(ecdf(s.d))
			if err != nil {
				return err
			}
			line.Color = s.color
			line.Width = vg.Points(1.5)
			line.Dashes = s.dashes
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("%s: p50 %s", s.label, fmtDur(percentile(s.d, 50))), line)
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return fmt.Errorf("nothing to draw")
	}

	const panelWidth, panelHeight = 440, 340
	img := vgimg.New(vg.Points(float64(panelWidth*len(plots))), vg.Points(panelHeight))
	dc := draw.New(img)
	tiles := draw.Tiles{
		Rows: 1, Cols: len(plots),
		PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 3,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3,
	}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// ecdf is the step function of the empirical distribution of sorted
// durations, in seconds.
func ecdf(sorted []time.Duration) plotter.XYs {
	n := float64(len(sorted))
	pts := make(plotter.XYs, 0, 2*len(sorted)+1)
	pts = append(pts, plotter.XY{X: 0, Y: 0})
	for i, d := range sorted {
		x := d.Seconds()
		pts = append(pts, plotter.XY{X: x, Y: float64(i) / n}, plotter.XY{X: x, Y: float64(i+1) / n})
	}
	return pts
}
