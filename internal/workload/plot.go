package workload

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// The picture: three panels over the stream (x: operations, both sides ran
// the same ones): the engine's hit ratio with the best static choice's,
// its accounted memory with the capacity, and read latency p50/p99 of both
// sides on a log scale. A dashed line marks where the hot set moved.
const (
	plotW, panelH, marginL, marginR, marginT, gap = 900, 190, 80, 150, 40, 50
)

type panel struct {
	y0         float64 // top
	title      string
	min, max   float64
	log        bool
	yLabel     func(float64) string
	yTicks     []float64
	maxOps     float64
	buf        *strings.Builder
	plotLeft   float64
	plotRight  float64
	plotHeight float64
}

func (p *panel) x(ops float64) float64 {
	return p.plotLeft + (p.plotRight-p.plotLeft)*ops/p.maxOps
}

func (p *panel) y(v float64) float64 {
	lo, hi, x := p.min, p.max, v
	if p.log {
		lo, hi, x = math.Log10(lo), math.Log10(hi), math.Log10(math.Max(v, p.min))
	}
	f := (x - lo) / (hi - lo)
	f = math.Min(math.Max(f, 0), 1)
	return p.y0 + p.plotHeight*(1-f)
}

func (p *panel) frame() {
	b := p.buf
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="13" font-weight="bold">%s</text>`+"\n", p.plotLeft, p.y0-8, html.EscapeString(p.title))
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", p.plotLeft, p.y0, p.plotRight-p.plotLeft, p.plotHeight)
	for _, t := range p.yTicks {
		y := p.y(t)
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", p.plotLeft, p.plotRight, y, y)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" font-size="11" text-anchor="end">%s</text>`+"\n", p.plotLeft-5, y+4, p.yLabel(t))
	}
}

func (p *panel) line(xs, ys []float64, color string, dash bool, label string, slot int) {
	if len(xs) == 0 {
		return
	}
	var pts []string
	for i := range xs {
		if math.IsNaN(ys[i]) {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.x(xs[i]), p.y(ys[i])))
	}
	d := ""
	if dash {
		d = ` stroke-dasharray="5,3"`
	}
	fmt.Fprintf(p.buf, `<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>`+"\n", color, d, strings.Join(pts, " "))
	ly := p.y0 + 14 + float64(slot)*16
	fmt.Fprintf(p.buf, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="2"%s/>`, p.plotRight+10, p.plotRight+30, ly-4, ly-4, color, d)
	fmt.Fprintf(p.buf, `<text x="%.0f" y="%.0f" font-size="11">%s</text>`+"\n", p.plotRight+35, ly, html.EscapeString(label))
}

// WriteSVG draws the run.
func (r *Report) WriteSVG(w io.Writer) error {
	var b strings.Builder
	height := marginT + 3*panelH + 2*gap + 45
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">`+"\n", plotW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	c := r.Config
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", marginL, html.EscapeString(fmt.Sprintf(
		"demo workload: %d regions x %d keys x %d versions, skew %g, mix %s, capacity %s, disk %s",
		c.Regions, c.KeysPerRegion, c.Versions, c.Skew, c.Mix, fmtBytes(r.Capacity), fmtBytes(r.DataBytes))))
	maxOps := float64(c.Ops)
	var xs, hit, mem, pp50, pp99, ep50, ep99 []float64
	maxLat, minLat := 1.0, math.Inf(1)
	var maxMem float64
	for _, pt := range r.Timeline {
		xs = append(xs, float64(pt.Ops))
		hit = append(hit, pt.EngineHitRatio)
		mem = append(mem, float64(pt.EngineMemory))
		pp50, pp99 = append(pp50, pt.PebbleP50), append(pp99, pt.PebbleP99)
		ep50, ep99 = append(ep50, pt.EngineP50), append(ep99, pt.EngineP99)
		for _, v := range []float64{pt.PebbleP50, pt.PebbleP99, pt.EngineP50, pt.EngineP99} {
			if v > 0 {
				maxLat, minLat = math.Max(maxLat, v), math.Min(minLat, v)
			}
		}
		maxMem = math.Max(maxMem, float64(pt.EngineMemory))
	}
	if math.IsInf(minLat, 1) {
		minLat = 0.1
	}
	mk := func(i int, title string) *panel {
		return &panel{y0: float64(marginT + 10 + i*(panelH+gap)), title: title, maxOps: maxOps, buf: &b,
			plotLeft: marginL, plotRight: plotW - marginR, plotHeight: panelH}
	}
	// Hit ratio.
	hp := mk(0, "engine: reads served from memory (per window)")
	lowHit := 1.0
	for _, h := range hit {
		lowHit = math.Min(lowHit, h)
	}
	hp.min = math.Max(0, math.Floor(lowHit*10)/10)
	if hp.min > 0.9 {
		hp.min = 0.9
	}
	hp.max = 1
	hp.yLabel = func(v float64) string { return fmt.Sprintf("%.2f", v) }
	for v := hp.min; v <= 1.0001; v += (1 - hp.min) / 4 {
		hp.yTicks = append(hp.yTicks, v)
	}
	hp.frame()
	hp.line([]float64{0, float64(r.MoveAt), float64(r.MoveAt), maxOps}, []float64{r.Static[0], r.Static[0], r.Static[1], r.Static[1]}, "#999", true, "best static choice", 1)
	hp.line([]float64{0, maxOps}, []float64{0.99, 0.99}, "#d62728", true, "target 0.99", 2)
	hp.line(xs, hit, "#1f77b4", false, "engine", 0)
	// Memory.
	capacity := float64(r.Capacity)
	mp := mk(1, "engine: accounted memory")
	mp.min, mp.max = 0, math.Max(capacity, maxMem)*1.05
	mp.yLabel = func(v float64) string { return fmtBytes(int64(v)) }
	for i := 0; i <= 4; i++ {
		mp.yTicks = append(mp.yTicks, mp.max*float64(i)/4)
	}
	mp.frame()
	mp.line([]float64{0, maxOps}, []float64{capacity, capacity}, "#d62728", true, "capacity", 1)
	mp.line(xs, mem, "#1f77b4", false, "engine", 0)
	// Latency.
	lp := mk(2, "read latency (µs, log scale)")
	lp.log = true
	lp.min = math.Pow(10, math.Floor(math.Log10(minLat)))
	lp.max = math.Pow(10, math.Ceil(math.Log10(maxLat)))
	if lp.max <= lp.min {
		lp.max = lp.min * 10
	}
	lp.yLabel = func(v float64) string { return fmt.Sprintf("%g", v) }
	for v := lp.min; v <= lp.max*1.0001; v *= 10 {
		lp.yTicks = append(lp.yTicks, v)
	}
	lp.frame()
	lp.line(xs, pp99, "#ff7f0e", false, "Pebble alone p99", 0)
	lp.line(xs, pp50, "#ff7f0e", true, "Pebble alone p50", 1)
	lp.line(xs, ep99, "#1f77b4", false, "engine p99", 2)
	lp.line(xs, ep50, "#1f77b4", true, "engine p50", 3)
	// The move, across the panels, and the x axis.
	mx := hp.x(float64(r.MoveAt))
	bottom := lp.y0 + lp.plotHeight
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="6,4"/>`+"\n", mx, mx, hp.y0, bottom)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" fill="#2ca02c">hot set moves</text>`+"\n", mx+4, hp.y0+12)
	for i := 0; i <= 5; i++ {
		ops := maxOps * float64(i) / 5
		x := lp.x(ops)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`+"\n", x, bottom+16, fmtOps(ops))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="middle">operations of the stream (both sides ran the same, interleaved in chunks; %.0f s in all)</text>`+"\n",
		(lp.plotLeft+lp.plotRight)/2, bottom+34, r.RunSeconds)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtOps(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%gM", math.Round(n/1e5)/10)
	case n >= 1e3:
		return fmt.Sprintf("%gk", math.Round(n/1e2)/10)
	default:
		return fmt.Sprintf("%.0f", n)
	}
}

// WriteHTML writes a page with the picture and the table.
func (r *Report) WriteHTML(w io.Writer) error {
	var table strings.Builder
	r.WriteTable(&table)
	if _, err := fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>demo workload</title></head><body>\n"); err != nil {
		return err
	}
	if err := r.WriteSVG(w); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "<pre>%s</pre>\n</body></html>\n", html.EscapeString(table.String()))
	return err
}
