package replay

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
)

// The timeline is a picture of a replay: one lane per region, a coloured span
// per state, and marks for load requests, deduplications, rejections and
// failed expectations. The x axis is the op index: every op gets a column of
// the same width, so a 1 µs put and a 2 s wait are equally visible, and what
// happened during one op is spread across its column in order. A row of op
// ticks on top carries each op's line, text and outcome as a hover title.

// StateColors are the timeline's colours per state (absent is not drawn).
var StateColors = map[regioncache.State]string{
	regioncache.Pending:         "#f2c14e",
	regioncache.Loading:         "#5da5da",
	regioncache.Active:          "#60bd68",
	regioncache.LoadingCanceled: "#b276b2",
	regioncache.PendingEvict:    "#9c755f",
	regioncache.Evicting:        "#e5737f",
}

// drawnStates lists the states the timeline colours, in legend order.
var drawnStates = []regioncache.State{
	regioncache.Pending, regioncache.Loading, regioncache.Active,
	regioncache.LoadingCanceled, regioncache.PendingEvict, regioncache.Evicting,
}

const (
	tlLeft      = 120 // lane labels
	tlRight     = 24
	tlLaneH     = 22
	tlLaneGap   = 6
	tlOpsRowH   = 12
	tlTitleH    = 40
	tlAxisH     = 28
	tlLegendH   = 58
	tlMinWidth  = 760
	tlPlotWidth = 960 // what the columns aim to fill
	tlMinCol    = 3.0
	tlMaxCol    = 36.0
	tlLabelGap  = 34.0 // minimum spacing of axis labels
	tlFont      = "font-family=\"Helvetica, Arial, sans-serif\""
)

// opColor colours an op tick by what the op does.
func opColor(rec OpRecord) string {
	switch {
	case rec.Failed:
		return "#d62728"
	case rec.Asserts:
		return "#2ca02c"
	}
	switch rec.Kind {
	case eventlog.KindPut, eventlog.KindDelete, eventlog.KindBatch:
		return "#9e9e9e"
	case eventlog.KindLoad, eventlog.KindEvict, eventlog.KindSplit, eventlog.KindMerge, eventlog.KindGC:
		return "#1f77b4"
	case eventlog.KindGet, eventlog.KindScan, eventlog.KindSnapshot, eventlog.KindRelease:
		return "#17becf"
	}
	return "#cfcfcf"
}

// WriteTimelineSVG draws the replays as one self-contained SVG picture, one
// section per result.
func WriteTimelineSVG(w io.Writer, results ...*Result) error {
	bw := bufio.NewWriter(w)
	writeSVG(bw, results)
	return bw.Flush()
}

// WriteTimelineHTML writes a minimal page that shows the timeline SVG (with
// its legend) and lists the failures; hovering over any span or mark tells
// what it is. The page is well-formed XML too.
func WriteTimelineHTML(w io.Writer, results ...*Result) error {
	bw := bufio.NewWriter(w)
	title := "regioncache replay"
	if len(results) == 1 {
		title += ": " + results[0].Name
	}
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>%s</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 24px; }
.fail { color: #d62728; font-family: monospace; white-space: pre-wrap; }
.hint { color: #666; font-size: 13px; }
</style></head><body>
<h1>%s</h1>
<p class="hint">One lane per region, one colour per state (the legend is below the picture). Hover over a span, a mark or an op tick to see what it is.</p>
`, esc(title), esc(title))
	writeSVG(bw, results)
	for _, r := range results {
		if len(r.Failures) == 0 {
			continue
		}
		fmt.Fprintf(bw, "<h2>Failed expectations in %s</h2>\n", esc(r.Name))
		for _, f := range r.Failures {
			fmt.Fprintf(bw, "<div class=\"fail\">%s:%d: %s</div>\n", esc(r.Name), f.Line, esc(f.Message))
		}
	}
	fmt.Fprint(bw, "</body></html>\n")
	return bw.Flush()
}

// section is one result laid out.
type section struct {
	r      *Result
	lanes  []uint64        // region ids, top to bottom
	laneOf map[uint64]int  // id -> lane index
	slots  map[slotKey]int // where each item sits in its op's column
	counts []int           // items per op
	other  bool            // has a row for failures about no region
	col    float64         // column width
	top    float64         // y of the section's first pixel
	height float64
}

type slotKey struct {
	kind byte // 'm' mark, 't' transition, 'f' failure
	i    int  // index in the result's slice
}

func layout(r *Result, top float64) *section {
	s := &section{r: r, laneOf: map[uint64]int{}, slots: map[slotKey]int{}, top: top}
	n := len(r.Ops)
	s.counts = make([]int, n+1)
	first := map[uint64]int{}
	see := func(id uint64, op int) {
		if id == 0 {
			return
		}
		if f, ok := first[id]; !ok || op < f {
			first[id] = op
		}
	}
	place := func(kind byte, i, op int) {
		if op < 0 || op > n {
			op = n
		}
		s.slots[slotKey{kind, i}] = s.counts[op]
		s.counts[op]++
	}
	// Within an op: the request (mark) first, then the state changes it
	// caused, then what was found wrong.
	for i, m := range r.Marks {
		see(m.Region.ID, m.Op)
		place('m', i, m.Op)
	}
	for i, t := range r.Transitions {
		see(t.Region.ID, t.Op)
		place('t', i, t.Op)
	}
	for i, f := range r.Failures {
		see(f.Region, f.Op)
		place('f', i, f.Op)
	}
	for id := range first {
		s.lanes = append(s.lanes, id)
	}
	sort.Slice(s.lanes, func(i, j int) bool {
		a, b := s.lanes[i], s.lanes[j]
		if first[a] != first[b] {
			return first[a] < first[b]
		}
		return a < b
	})
	for i, id := range s.lanes {
		s.laneOf[id] = i
	}
	rows := len(s.lanes)
	for _, f := range r.Failures {
		if _, ok := first[f.Region]; !ok {
			s.other = true // a row for failures that are about no region
		}
	}
	if s.other {
		rows++
	}
	s.col = math.Max(tlMinCol, math.Min(tlMaxCol, tlPlotWidth/math.Max(1, float64(n))))
	s.height = tlTitleH + tlOpsRowH + 8 + float64(rows)*(tlLaneH+tlLaneGap) + tlAxisH
	return s
}

func (s *section) plotWidth() float64 { return float64(len(s.r.Ops)) * s.col }

// x is where the k-th of the items of op sits.
func (s *section) x(op, k int) float64 {
	n := len(s.r.Ops)
	if op < 0 || op > n {
		op = n
	}
	return tlLeft + (float64(op)+float64(k+1)/float64(s.counts[op]+1))*s.col
}

func (s *section) opsY() float64 { return s.top + tlTitleH }

// laneY is the top of lane i; lane -1 is the "other failures" row below the regions.
func (s *section) laneY(i int) float64 {
	if i < 0 {
		i = len(s.lanes)
	}
	return s.opsY() + tlOpsRowH + 8 + float64(i)*(tlLaneH+tlLaneGap)
}

func (s *section) laneFor(id uint64) int {
	if i, ok := s.laneOf[id]; ok {
		return i
	}
	return -1
}

func writeSVG(w io.Writer, results []*Result) {
	var secs []*section
	y := 0.0
	width := float64(tlMinWidth)
	for _, r := range results {
		s := layout(r, y)
		secs = append(secs, s)
		y += s.height
		width = math.Max(width, tlLeft+s.plotWidth()+tlRight)
	}
	height := y + tlLegendH
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" %s font-size="11">`+"\n",
		width, height, width, height, tlFont)
	fmt.Fprintf(w, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	for _, s := range secs {
		s.draw(w)
	}
	drawLegend(w, y+10)
	fmt.Fprint(w, "</svg>\n")
}

func (s *section) draw(w io.Writer) {
	r := s.r
	verdict, color := "PASS", "#2ca02c"
	if !r.OK() {
		verdict, color = "FAIL", "#d62728"
	}
	fmt.Fprintf(w, `<text x="12" y="%.1f" font-size="14" font-weight="bold"><tspan fill="%s">%s</tspan> %s</text>`+"\n",
		s.top+18, color, verdict, esc(r.Name))
	fmt.Fprintf(w, `<text x="12" y="%.1f" fill="#555">%d ops, %d expectations, %d failed, %s</text>`+"\n",
		s.top+33, r.Events, r.Expectations, r.Failed, r.Duration.Round(1e6))
	end := tlLeft + s.plotWidth()

	// Op ticks.
	fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">ops</text>`+"\n", tlLeft-8, s.opsY()+tlOpsRowH-2)
	for i, op := range r.Ops {
		x := tlLeft + float64(i)*s.col
		title := fmt.Sprintf("line %d: %s", op.Line, op.Summary)
		if !op.At.IsZero() {
			title += "\nat " + op.At.Format("15:04:05.000")
		}
		if op.Outcome != "" {
			title += "\n→ " + op.Outcome
		}
		fmt.Fprintf(w, `<rect x="%.2f" y="%.1f" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			x+0.5, s.opsY(), math.Max(1, s.col-1), tlOpsRowH, opColor(op), esc(title))
	}

	// Lanes and their state spans.
	for i, id := range s.lanes {
		y := s.laneY(i)
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">region %d</text>`+"\n", tlLeft-8, y+tlLaneH/2+4, id)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", tlLeft, y+tlLaneH/2, end, y+tlLaneH/2)
	}
	type open struct {
		t  Transition
		x  float64
		ok bool
	}
	cur := make([]open, len(s.lanes))
	closeSpan := func(lane int, x2 float64, endLine int) {
		o := cur[lane]
		if !o.ok || o.t.To == regioncache.Absent {
			return
		}
		y := s.laneY(lane)
		title := fmt.Sprintf("region %d v%d: %s\nfrom line %d", o.t.Region.ID, o.t.Region.Version, o.t.To, o.t.Line)
		if endLine > 0 {
			title += fmt.Sprintf(" to line %d", endLine)
		} else {
			title += " to the end"
		}
		if o.t.Cause != "" {
			title += "\nentered by: " + o.t.Cause
		}
		fmt.Fprintf(w, `<rect x="%.2f" y="%.1f" width="%.2f" height="%d" rx="2" fill="%s"><title>%s</title></rect>`+"\n",
			o.x, y+2, math.Max(1, x2-o.x), tlLaneH-4, StateColors[o.t.To], esc(title))
		if x2-o.x > 7*float64(len(o.t.To.String()))+6 {
			fmt.Fprintf(w, `<text x="%.1f" y="%.1f" fill="#1a1a1a" font-size="10" pointer-events="none">%s</text>`+"\n",
				o.x+4, y+tlLaneH/2+3.5, o.t.To)
		}
	}
	for i, t := range r.Transitions {
		lane := s.laneFor(t.Region.ID)
		if lane < 0 {
			continue
		}
		x := s.x(t.Op, s.slots[slotKey{'t', i}])
		closeSpan(lane, x, t.Line)
		cur[lane] = open{t: t, x: x, ok: true}
	}
	for lane := range s.lanes {
		closeSpan(lane, end, 0)
	}

	// Marks on top of the spans.
	for i, m := range r.Marks {
		x := s.x(m.Op, s.slots[slotKey{'m', i}])
		y := s.laneY(s.laneFor(m.Region.ID)) + tlLaneH/2
		title := fmt.Sprintf("line %d: %s of %s", m.Line, m.Kind, m.Region)
		if m.Detail != "" {
			title += "\n" + m.Detail
		}
		fmt.Fprintf(w, "%s\n", markShape(m.Kind, x, y, esc(title)))
	}
	for i, f := range r.Failures {
		lane := s.laneFor(f.Region)
		x := s.x(f.Op, s.slots[slotKey{'f', i}])
		y := s.laneY(lane) + tlLaneH/2
		fmt.Fprintf(w, `<g><title>%s</title><rect x="%.1f" y="%.1f" width="12" height="12" rx="2" fill="#d62728" stroke="#7f0000"/>`+
			`<text x="%.1f" y="%.1f" fill="#ffffff" font-size="10" font-weight="bold" text-anchor="middle" pointer-events="none">!</text></g>`+"\n",
			esc(fmt.Sprintf("line %d: %s", f.Line, f.Message)), x-6, y-6, x, y+3.5)
	}
	if s.other {
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" fill="#d62728">other</text>`+"\n", tlLeft-8, s.laneY(-1)+tlLaneH/2+4)
	}

	// Axis: op line numbers, as many as fit.
	axisY := s.laneY(-1) + 4
	if s.other {
		axisY += tlLaneH + tlLaneGap
	}
	fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888888"/>`+"\n", tlLeft, axisY, end, axisY)
	fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">line</text>`+"\n", tlLeft-8, axisY+14)
	every := int(math.Ceil(tlLabelGap / s.col))
	for i, op := range r.Ops {
		if i%every != 0 {
			continue
		}
		x := tlLeft + (float64(i)+0.5)*s.col
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888888"/>`+"\n", x, axisY, x, axisY+3)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%d</text>`+"\n", x, axisY+14, op.Line)
	}
}

// markShape draws a mark centred on (x, y).
func markShape(k MarkKind, x, y float64, title string) string {
	switch k {
	case MarkLoadDeduplicated:
		return fmt.Sprintf(`<g><title>%s</title><path d="M %.1f %.1f l 6 6 l -6 6 l -6 -6 z" fill="#ffffff" stroke="#7a4f00" stroke-width="1.5"/></g>`,
			title, x, y-6)
	case MarkLoadRejected:
		return fmt.Sprintf(`<g><title>%s</title><circle cx="%.1f" cy="%.1f" r="6" fill="#ffffff" stroke="#9b1c1c" stroke-width="1.2"/>`+
			`<path d="M %.1f %.1f l 7 7 M %.1f %.1f l -7 7" stroke="#9b1c1c" stroke-width="2"/></g>`,
			title, x, y, x-3.5, y-3.5, x+3.5, y-3.5)
	default: // a load request
		return fmt.Sprintf(`<g><title>%s</title><path d="M %.1f %.1f l 0 -9 l 7 3.5 l -7 3.5" fill="#1f3f99" stroke="#1f3f99" stroke-width="1.2"/></g>`,
			title, x, y+4)
	}
}

func drawLegend(w io.Writer, y float64) {
	// Text is about 6.2 px a character at this font size.
	width := func(label string) float64 { return 6.2 * float64(len(label)) }
	x := 12.0
	for _, st := range drawnStates {
		fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="16" height="10" rx="2" fill="%s"/>`, x, y, StateColors[st])
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x+20, y+9, st)
		x += 36 + width(st.String())
	}
	y += 24
	x = 16
	for _, k := range []MarkKind{MarkLoadAccepted, MarkLoadDeduplicated, MarkLoadRejected} {
		fmt.Fprintf(w, "%s<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", markShape(k, x, y+5, k.String()), x+12, y+9, k)
		x += 40 + width(k.String())
	}
	fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="12" height="12" rx="2" fill="#d62728" stroke="#7f0000"/>`+
		`<text x="%.1f" y="%.1f" fill="#ffffff" font-size="10" font-weight="bold" text-anchor="middle">!</text>`+
		`<text x="%.1f" y="%.1f">failed expectation</text>`+"\n", x-6, y-1, x, y+8.5, x+12, y+9)
	x += 40 + width("failed expectation")
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" fill="#555">ops:</text>`, x, y+9)
	x += 30
	for _, c := range []struct{ color, label string }{
		{"#2ca02c", "expectation held"}, {"#9e9e9e", "write"}, {"#1f77b4", "load/evict/gc"}, {"#17becf", "read"}, {"#cfcfcf", "other"},
	} {
		fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="6" height="12" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			x, y-1, c.color, x+10, y+9, c.label)
		x += 24 + width(c.label)
	}
}

// esc escapes text for XML content and attributes.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
