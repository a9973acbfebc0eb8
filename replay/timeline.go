package replay

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
)

// The timeline is a picture of a replay: the legend on top, then one lane per
// region with a coloured span per state, and marks for load requests,
// deduplications, rejections, splits, merges, supersedes, a region reborn
// under a new version, GC and failed expectations. The x axis is time: the
// ops' "at" times when the log has them, else the time measured during the
// replay. Each op's column is as wide as the time until the next op, plus a
// small minimum so that ops at the same instant stay visible and in order;
// axis labels give the time at their column. A row of op ticks on top
// carries each op's line, text and outcome as a hover title.
//
// Marks sit in a band at the top of their lane, above the state spans, so
// that they never cover a state's label.

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
	tlMarkBand  = 14 // top of a lane: marks
	tlSpanH     = 18 // bottom of a lane: state spans and their labels
	tlLaneH     = tlMarkBand + tlSpanH
	tlLaneGap   = 6
	tlOpsRowH   = 12
	tlTitleH    = 40
	tlAxisH     = 32
	tlLegendRow = 22
	tlMinWidth  = 760
	tlPlotWidth = 960 // what the columns aim to fill
	tlMinCol    = 4.0 // every op, even at the same instant as the next
	tlLabelGap  = 64.0
	tlFont      = "font-family=\"Helvetica, Arial, sans-serif\""
)

// HeldColor marks an op whose expectation held: purple, not the green of
// "active", so that the two never read as one.
const HeldColor = "#6a3d9a"

// Colours of what is not a state.
const (
	colorHeld   = HeldColor
	colorFailed = "#d62728"
)

// opColor colours an op tick by what the op does.
func opColor(rec OpRecord) string {
	switch {
	case rec.Failed:
		return colorFailed
	case rec.Asserts:
		return colorHeld
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
<p class="hint">One lane per region, one colour per state (the legend is at the top). The x axis is time; hover over a span, a mark or an op tick to see what it is and which line of the log it came from.</p>
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
	colX   []float64       // left edge of each op's column; one more for the end
	times  []time.Duration // each op's time from the first op's; see opTimes
	clock  bool            // times come from "at"
	origin time.Time       // with clock: the first op's time
	top    float64         // y of the section's first pixel
	height float64
}

type slotKey struct {
	kind byte // 'm' mark, 't' transition, 'f' failure
	i    int  // index in the result's slice
}

// opTimes gives each op its time from the start, and the time after the
// last: from "at" when the log has any (an op without one follows the
// previous op by the time measured between them), else as measured.
func opTimes(ops []OpRecord) (times []time.Duration, clock bool, origin time.Time) {
	n := len(ops)
	times = make([]time.Duration, n+1)
	first := -1
	for i, op := range ops {
		if !op.At.IsZero() {
			first = i
			break
		}
	}
	if first < 0 {
		for i, op := range ops {
			times[i] = op.Start
		}
		if n > 0 {
			times[n] = ops[n-1].End
		}
		return times, false, time.Time{}
	}
	origin = ops[first].At
	// Ops before the first "at": measured, ending where it starts.
	for i := first - 1; i >= 0; i-- {
		times[i] = times[i+1] - (ops[i+1].Start - ops[i].Start)
	}
	for i := first; i < n; i++ {
		switch {
		case !ops[i].At.IsZero():
			times[i] = ops[i].At.Sub(origin)
		default:
			times[i] = times[i-1] + (ops[i].Start - ops[i-1].Start)
		}
	}
	times[n] = times[n-1] + (ops[n-1].End - ops[n-1].Start)
	// Times never go backwards on the axis ("at" values may).
	for i := 1; i <= n; i++ {
		times[i] = max(times[i], times[i-1])
	}
	base := times[0]
	for i := range times {
		times[i] -= base
	}
	origin = origin.Add(base)
	return times, true, origin
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
	// Columns: a minimum each, the rest of the plot shared by time.
	s.times, s.clock, s.origin = opTimes(r.Ops)
	s.colX = make([]float64, n+1)
	total := float64(s.times[n])
	spare := math.Max(0, tlPlotWidth-float64(n)*tlMinCol)
	x := float64(tlLeft)
	for i := 0; i < n; i++ {
		s.colX[i] = x
		w := tlMinCol
		if total > 0 {
			w += spare * float64(s.times[i+1]-s.times[i]) / total
		} else {
			w += spare / float64(n)
		}
		x += w
	}
	s.colX[n] = x
	s.height = tlTitleH + tlOpsRowH + 8 + float64(rows)*(tlLaneH+tlLaneGap) + tlAxisH
	return s
}

func (s *section) plotWidth() float64 { return s.colX[len(s.colX)-1] - tlLeft }

// col returns the left edge and width of op's column.
func (s *section) col(op int) (float64, float64) {
	n := len(s.r.Ops)
	if op < 0 || op >= n {
		return s.colX[n], 0
	}
	return s.colX[op], s.colX[op+1] - s.colX[op]
}

// x is where the k-th of the items of op sits.
func (s *section) x(op, k int) float64 {
	n := len(s.r.Ops)
	if op < 0 || op > n {
		op = n
	}
	x0, w := s.col(op)
	if w == 0 {
		return x0
	}
	return x0 + w*float64(k+1)/float64(s.counts[op]+1)
}

func (s *section) opsY() float64 { return s.top + tlTitleH }

// laneY is the top of lane i; lane -1 is the "other failures" row below the regions.
func (s *section) laneY(i int) float64 {
	if i < 0 {
		i = len(s.lanes)
	}
	return s.opsY() + tlOpsRowH + 8 + float64(i)*(tlLaneH+tlLaneGap)
}

// markY is the middle of lane i's mark band; spanY the top of its spans.
func (s *section) markY(i int) float64 { return s.laneY(i) + tlMarkBand/2 }
func (s *section) spanY(i int) float64 { return s.laneY(i) + tlMarkBand }

func (s *section) laneFor(id uint64) int {
	if i, ok := s.laneOf[id]; ok {
		return i
	}
	return -1
}

// timeLabel renders an op's time for the axis.
func (s *section) timeLabel(d time.Duration) string {
	if s.clock {
		return s.origin.Add(d).Format("15:04:05.000")
	}
	return "+" + formatSpan(d)
}

func formatSpan(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func writeSVG(w io.Writer, results []*Result) {
	width := float64(tlMinWidth)
	var secs []*section
	for _, r := range results {
		s := layout(r, 0)
		secs = append(secs, s)
		width = math.Max(width, tlLeft+s.plotWidth()+tlRight)
	}
	var legend strings.Builder
	legendH := drawLegend(&legend, width)
	y := legendH
	for _, s := range secs {
		s.shift(y)
		y += s.height
	}
	height := y
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" %s font-size="11">`+"\n",
		width, height, width, height, tlFont)
	fmt.Fprintf(w, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprint(w, legend.String())
	for _, s := range secs {
		s.draw(w)
	}
	fmt.Fprint(w, "</svg>\n")
}

// shift moves a laid-out section down to y.
func (s *section) shift(y float64) { s.top = y }

func (s *section) draw(w io.Writer) {
	r := s.r
	verdict, color := "PASS", "#2ca02c"
	if !r.OK() {
		verdict, color = "FAIL", colorFailed
	}
	fmt.Fprintf(w, `<text x="12" y="%.1f" font-size="14" font-weight="bold"><tspan fill="%s">%s</tspan> %s</text>`+"\n",
		s.top+18, color, verdict, esc(r.Name))
	fmt.Fprintf(w, `<text x="12" y="%.1f" fill="#555">%d ops, %d expectations, %d failed, %s</text>`+"\n",
		s.top+33, r.Events, r.Expectations, r.Failed, "replayed in "+formatSpan(r.Duration))
	end := tlLeft + s.plotWidth()

	// Op ticks.
	fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">ops</text>`+"\n", tlLeft-8, s.opsY()+tlOpsRowH-2)
	for i, op := range r.Ops {
		x, cw := s.col(i)
		title := fmt.Sprintf("line %d: %s", op.Line, op.Summary)
		title += "\nat " + s.timeLabel(s.times[i])
		if op.Outcome != "" {
			title += "\n→ " + op.Outcome
		}
		fmt.Fprintf(w, `<rect x="%.2f" y="%.1f" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			x+0.5, s.opsY(), math.Max(1, math.Min(cw-1, 12)), tlOpsRowH, opColor(op), esc(title))
	}

	// Lanes and their state spans.
	for i, id := range s.lanes {
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">region %d</text>`+"\n", tlLeft-8, s.spanY(i)+tlSpanH/2+4, id)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", tlLeft, s.spanY(i)+tlSpanH/2, end, s.spanY(i)+tlSpanH/2)
	}
	// GC raises the safe point of every region: a line across the lanes.
	for i, op := range r.Ops {
		if op.Kind != eventlog.KindGC || len(s.lanes) == 0 {
			continue
		}
		x0, cw := s.col(i)
		x := x0 + cw/2
		fmt.Fprintf(w, `<g><title>%s</title><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555555" stroke-dasharray="3 2"/>`+
			`<text x="%.1f" y="%.1f" font-size="9" fill="#555" text-anchor="middle">GC</text></g>`+"\n",
			esc(fmt.Sprintf("line %d: %s", op.Line, op.Summary)), x, s.laneY(0)+tlMarkBand-2, x, s.laneY(len(s.lanes)-1)+tlLaneH,
			x, s.laneY(0)+tlMarkBand-4)
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
		y := s.spanY(lane)
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
			o.x, y+1, math.Max(1, x2-o.x), tlSpanH-2, StateColors[o.t.To], esc(title))
		if x2-o.x > 6*float64(len(o.t.To.String()))+8 {
			fmt.Fprintf(w, `<text x="%.1f" y="%.1f" fill="#1a1a1a" font-size="10" pointer-events="none">%s</text>`+"\n",
				o.x+4, y+tlSpanH/2+3.5, o.t.To)
		}
	}
	lastVersion := map[uint64]uint64{}
	for i, t := range r.Transitions {
		lane := s.laneFor(t.Region.ID)
		if lane < 0 {
			continue
		}
		x := s.x(t.Op, s.slots[slotKey{'t', i}])
		closeSpan(lane, x, t.Line)
		cur[lane] = open{t: t, x: x, ok: true}
		// A region reborn: the same id under a new version.
		if v, seen := lastVersion[t.Region.ID]; seen && v != t.Region.Version {
			fmt.Fprintf(w, `<g><title>%s</title><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222222" stroke-width="2"/>`+
				`<text x="%.1f" y="%.1f" font-size="9" font-weight="bold" fill="#222">v%d</text></g>`+"\n",
				esc(fmt.Sprintf("line %d: region %d is now version %d (was %d)", t.Line, t.Region.ID, t.Region.Version, v)),
				x, s.laneY(lane)+1, x, s.spanY(lane)+tlSpanH, x+2, s.laneY(lane)+9, t.Region.Version)
		}
		lastVersion[t.Region.ID] = t.Region.Version
		if strings.HasPrefix(t.Cause, "supersede") {
			fmt.Fprintf(w, "%s\n", eventShape("supersede", x, s.markY(lane), esc(fmt.Sprintf("line %d: %s superseded: %s", t.Line, t.Region, t.Cause))))
		}
	}
	for lane := range s.lanes {
		closeSpan(lane, end, 0)
	}
	// Splits and merges: a mark on every lane that changed during the op.
	for i, op := range r.Ops {
		var kind string
		switch op.Kind {
		case eventlog.KindSplit:
			kind = "split"
		case eventlog.KindMerge:
			kind = "merge"
		default:
			continue
		}
		seen := map[int]bool{}
		for _, t := range r.Transitions {
			if lane := s.laneFor(t.Region.ID); t.Op == i && lane >= 0 && !seen[lane] {
				seen[lane] = true
				x0, _ := s.col(i) // at the column's start: a reborn region's "vN" is to the right
				fmt.Fprintf(w, "%s\n", eventShape(kind, x0-2, s.markY(lane), esc(fmt.Sprintf("line %d: %s", op.Line, op.Summary))))
			}
		}
	}

	// Marks in their band, above the spans.
	for i, m := range r.Marks {
		x := s.x(m.Op, s.slots[slotKey{'m', i}])
		y := s.markY(s.laneFor(m.Region.ID))
		title := fmt.Sprintf("line %d: %s of %s", m.Line, m.Kind, m.Region)
		if m.Detail != "" {
			title += "\n" + m.Detail
		}
		fmt.Fprintf(w, "%s\n", markShape(m.Kind, x, y, esc(title)))
	}
	for i, f := range r.Failures {
		lane := s.laneFor(f.Region)
		x := s.x(f.Op, s.slots[slotKey{'f', i}])
		y := s.markY(lane)
		fmt.Fprintf(w, "%s\n", failureShape(x, y, esc(fmt.Sprintf("line %d: %s", f.Line, f.Message))))
	}
	if s.other {
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">other</text>`+"\n", tlLeft-8, s.markY(-1)+4, colorFailed)
	}

	// Axis: time, labelled where a label fits.
	axisY := s.laneY(-1) + 4
	if s.other {
		axisY += tlLaneH + tlLaneGap
	}
	fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888888"/>`+"\n", tlLeft, axisY, end, axisY)
	axisName := "time"
	if !s.clock {
		axisName = "measured"
	}
	fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", tlLeft-8, axisY+14, axisName)
	lastLabel := math.Inf(-1)
	for i := range r.Ops {
		x, _ := s.col(i)
		if x-lastLabel < tlLabelGap || x > end-tlLabelGap/2 {
			continue
		}
		lastLabel = x
		label := s.timeLabel(s.times[i])
		if s.clock && i > 0 {
			label = s.origin.Add(s.times[i]).Format("05.000") + "s"
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888888"/>`+"\n", x, axisY, x, axisY+3)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="start" fill="#555">%s</text>`+"\n", x, axisY+14, label)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s in all</text>`+"\n", end, axisY+27, formatSpan(s.times[len(s.times)-1]))
}

// markShape draws a load outcome centred on (x, y).
func markShape(k MarkKind, x, y float64, title string) string {
	switch k {
	case MarkLoadDeduplicated:
		return fmt.Sprintf(`<g><title>%s</title><path d="M %.1f %.1f l 6 6 l -6 6 l -6 -6 z" fill="#ffffff" stroke="#7a4f00" stroke-width="1.5"/></g>`,
			title, x, y-6)
	case MarkLoadRejected:
		return fmt.Sprintf(`<g><title>%s</title><circle cx="%.1f" cy="%.1f" r="5.5" fill="#ffffff" stroke="#9b1c1c" stroke-width="1.2"/>`+
			`<path d="M %.1f %.1f l 6 6 M %.1f %.1f l -6 6" stroke="#9b1c1c" stroke-width="2"/></g>`,
			title, x, y, x-3, y-3, x+3, y-3)
	default: // a load request
		return fmt.Sprintf(`<g><title>%s</title><path d="M %.1f %.1f l 0 -9 l 7 3.5 l -7 3.5" fill="#1f3f99" stroke="#1f3f99" stroke-width="1.2"/></g>`,
			title, x, y+4.5)
	}
}

// eventShape draws a range change centred on (x, y): split, merge, supersede.
func eventShape(kind string, x, y float64, title string) string {
	switch kind {
	case "split": // a fork
		return fmt.Sprintf(`<g><title>%s</title><path d="M %.1f %.1f l 5 0 l 5 -5 M %.1f %.1f l 5 5" fill="none" stroke="#0b6e4f" stroke-width="2"/></g>`,
			title, x-5, y, x, y)
	case "merge": // a join
		return fmt.Sprintf(`<g><title>%s</title><path d="M %.1f %.1f l 5 5 l 5 0 M %.1f %.1f l -5 5" fill="none" stroke="#0b6e4f" stroke-width="2"/></g>`,
			title, x-5, y-5, x, y+5)
	}
	// supersede: a struck-through square
	return fmt.Sprintf(`<g><title>%s</title><rect x="%.1f" y="%.1f" width="10" height="10" fill="#ffffff" stroke="#555555"/>`+
		`<path d="M %.1f %.1f l 10 -10" stroke="#555555" stroke-width="1.5"/></g>`, title, x-5, y-5, x-5, y+5)
}

func failureShape(x, y float64, title string) string {
	return fmt.Sprintf(`<g><title>%s</title><rect x="%.1f" y="%.1f" width="12" height="12" rx="2" fill="%s" stroke="#7f0000"/>`+
		`<text x="%.1f" y="%.1f" fill="#ffffff" font-size="10" font-weight="bold" text-anchor="middle" pointer-events="none">!</text></g>`,
		title, x-6, y-6, colorFailed, x, y+3.5)
}

// drawLegend draws the legend at the top of a picture width wide, wrapping
// its items onto as many rows as they need, and returns its height.
func drawLegend(w io.Writer, width float64) float64 {
	// Text is about 6.2 px a character at this font size.
	textW := func(label string) float64 { return 6.2 * float64(len(label)) }
	x, y := 12.0, 8.0
	place := func(itemW float64) (float64, float64) {
		if x+itemW > width-tlRight && x > 12 {
			x, y = 12, y+tlLegendRow
		}
		px, py := x, y
		x += itemW
		return px, py
	}
	fmt.Fprint(w, `<g id="legend">`+"\n")
	fmt.Fprintf(w, `<text x="12" y="%.1f" fill="#555" font-weight="bold">states</text>`+"\n", y+9)
	x += 48
	for _, st := range drawnStates {
		px, py := place(30 + textW(st.String()))
		fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="16" height="10" rx="2" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			px, py, StateColors[st], px+20, py+9, st)
	}
	x, y = 12, y+tlLegendRow
	fmt.Fprintf(w, `<text x="12" y="%.1f" fill="#555" font-weight="bold">marks</text>`+"\n", y+9)
	x += 48
	for _, k := range []MarkKind{MarkLoadAccepted, MarkLoadDeduplicated, MarkLoadRejected} {
		px, py := place(30 + textW(k.String()))
		fmt.Fprintf(w, "%s<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", markShape(k, px+6, py+5, k.String()), px+16, py+9, k)
	}
	for _, k := range []string{"split", "merge", "supersede"} {
		px, py := place(30 + textW(k))
		fmt.Fprintf(w, "%s<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", eventShape(k, px+6, py+5, k), px+16, py+9, k)
	}
	px, py := place(30 + textW("reborn (new version)"))
	fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222222" stroke-width="2"/><text x="%.1f" y="%.1f">reborn (new version)</text>`+"\n",
		px+4, py-1, px+4, py+11, px+16, py+9)
	px, py = place(30 + textW("GC"))
	fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555555" stroke-dasharray="3 2"/><text x="%.1f" y="%.1f">GC</text>`+"\n",
		px+4, py-1, px+4, py+11, px+16, py+9)
	px, py = place(30 + textW("failed expectation"))
	fmt.Fprintf(w, "%s<text x=\"%.1f\" y=\"%.1f\">failed expectation</text>\n", failureShape(px+6, py+5, "failed expectation"), px+16, py+9)
	x, y = 12, y+tlLegendRow
	fmt.Fprintf(w, `<text x="12" y="%.1f" fill="#555" font-weight="bold">ops</text>`+"\n", y+9)
	x += 48
	for _, c := range []struct{ color, label string }{
		{colorHeld, "expectation held"}, {colorFailed, "expectation failed"}, {"#9e9e9e", "write"}, {"#1f77b4", "load/evict/split/merge/gc"},
		{"#17becf", "read"}, {"#cfcfcf", "other"},
	} {
		px, py := place(24 + textW(c.label))
		fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="6" height="12" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			px, py-1, c.color, px+10, py+9, c.label)
	}
	fmt.Fprint(w, "</g>\n")
	return y + tlLegendRow + 6
}

// esc escapes text for XML content and attributes.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
