package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

// printer writes a replay as a table, one row per event:
//
//	TIME          LINE  REGION        EVENT                       CAUSE
//	06:49:46.848    10  409114 v214   absent -> pending           load
//
// TIME has one format per log: when the log has "at" times, the "at" of the
// op during which the event happened (blank for an op without one, such as a
// config line before the first timed op); otherwise the time since the
// replay started. Failed expectations are
// printed as FILE:LINE: message, so that editors can jump to them.
//
// In verbose mode every op gets a row with what it did, and the events it
// caused are indented below it. In quiet mode only failures are printed.
type printer struct {
	w        io.Writer
	file     string
	verbose  bool
	quiet    bool
	clock    bool      // the log has "at" times: TIME shows them
	progress *progress // cleared before each row; nil: none

	// verbose mode buffers the rows of the op in progress until it is done,
	// so that they follow the op's own row.
	pending []string
}

// Column widths.
const (
	colTime   = 12
	colLine   = 5
	colRegion = 13
	colEvent  = 29
	colOp     = 46
)

func (p *printer) observer() replay.Observer {
	o := replay.Observer{Failure: p.failure}
	if p.quiet {
		return o
	}
	o.Transition = p.transition
	o.Mark = p.mark
	if p.verbose {
		o.OpDone = p.opDone
	}
	return o
}

func (p *printer) header() string {
	if p.verbose {
		return fmt.Sprintf("%-*s %*s  %s", colTime, "TIME", colLine, "LINE", "OP, AND WHAT IT CAUSED")
	}
	return fmt.Sprintf("%-*s %*s  %-*s %-*s %s", colTime, "TIME", colLine, "LINE", colRegion, "REGION", colEvent, "EVENT", "CAUSE")
}

func (p *printer) printHeader() {
	if !p.quiet {
		p.emit(p.header())
	}
}

// emit writes a row now.
func (p *printer) emit(row string) {
	if p.progress != nil {
		p.progress.clear()
	}
	fmt.Fprintln(p.w, strings.TrimRight(row, " "))
}

// row writes a row now, or after the op's own row in verbose mode.
func (p *printer) row(row string) {
	if p.verbose {
		p.pending = append(p.pending, row)
		return
	}
	p.emit(row)
}

// when renders the TIME column.
func (p *printer) when(e replay.Event) string {
	switch {
	case e.HasAt():
		return e.At.Format("15:04:05.000")
	case p.clock:
		return ""
	}
	return fmt.Sprintf("%*s", colTime, fmt.Sprintf("+%.3fs", e.Elapsed.Seconds()))
}

func (p *printer) prefix(e replay.Event) string {
	return fmt.Sprintf("%-*s %*d  ", colTime, p.when(e), colLine, e.Line)
}

func regionName(id, version uint64) string { return fmt.Sprintf("%d v%d", id, version) }

func (p *printer) transition(t replay.Transition) {
	change := t.From.String() + " -> " + t.To.String()
	region := regionName(t.Region.ID, t.Region.Version)
	if p.verbose {
		p.row(fmt.Sprintf("%*s    %-*s %-*s %s", colTime+colLine+1, "", colRegion, region, colEvent, change, humanCause(t.Cause)))
		return
	}
	p.row(p.prefix(t.Event) + fmt.Sprintf("%-*s %-*s %s", colRegion, region, colEvent, change, humanCause(t.Cause)))
}

func (p *printer) mark(m replay.Mark) {
	// A load that was accepted shows as the region's transition to
	// pending; verbose mode shows every outcome on the op's row.
	if m.Kind == replay.MarkLoadAccepted || p.verbose {
		return
	}
	p.row(p.prefix(m.Event) + fmt.Sprintf("%-*s %-*s %s", colRegion, regionName(m.Region.ID, m.Region.Version), colEvent, m.Kind, m.Detail))
}

func (p *printer) failure(f replay.Failure) {
	line := fmt.Sprintf("%s:%d: %s", p.file, f.Line, plainText(f.Message))
	if p.verbose {
		p.pending = append(p.pending, line)
		return
	}
	p.emit(line)
}

func (p *printer) opDone(_ int, op eventlog.Op, rec replay.OpRecord) {
	e := replay.Event{Op: rec.Index, Line: rec.Line, At: rec.At, Elapsed: rec.Start}
	row := p.prefix(e) + rec.Summary
	if rec.Outcome != "" {
		if len(rec.Summary) < colOp {
			row += strings.Repeat(" ", colOp-len(rec.Summary))
		}
		row += "  " + rec.Outcome
	}
	p.emit(row)
	for _, r := range p.pending {
		p.emit(r)
	}
	p.pending = p.pending[:0]
}

// flush prints rows still buffered (a run stopped in the middle of an op).
func (p *printer) flush() {
	for _, r := range p.pending {
		p.emit(r)
	}
	p.pending = nil
}

// humanCause turns the engine's event name, which leads the cause, into
// words: "loader_granted" -> "loader granted". The rest is detail, such as a
// spec name ("evict (memory_limit_reached)"), and is left alone.
func humanCause(c string) string {
	end := strings.IndexFunc(c, func(r rune) bool { return !(r == '_' || 'a' <= r && r <= 'z') })
	if end < 0 {
		end = len(c)
	}
	return strings.ReplaceAll(c[:end], "_", " ") + c[end:]
}

// summary is the closing line of a replay.
func summary(file string, res *replay.Result) string {
	verdict := "PASS"
	if !res.OK() {
		verdict = "FAIL"
	}
	if res.Events == 0 {
		return fmt.Sprintf("%s  %s: no ops (the log is empty or only comments), nothing to check", verdict, file)
	}
	return fmt.Sprintf("%s  %s: %s, %s, %d failed (%s)",
		verdict, file, count(res.Events, "op"), count(res.Expectations, "expectation"), res.Failed, roundDuration(res.Duration))
}

// count says n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// details lists the counters that moved and the final region states.
func details(res *replay.Result) []string {
	var counters []string
	for _, name := range eventlog.Counters {
		if v := res.Counters[name]; v != 0 {
			counters = append(counters, fmt.Sprintf("%s %d", name, v))
		}
	}
	var regions []string
	for _, id := range res.RegionIDs() {
		regions = append(regions, fmt.Sprintf("%d %s", id, res.Regions[id]))
	}
	var out []string
	if len(counters) > 0 {
		out = append(out, "counters: "+strings.Join(counters, ", "))
	}
	if len(regions) > 0 {
		out = append(out, "regions:  "+strings.Join(regions, ", "))
	}
	return out
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
