package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/private"
)

// outcome is what running one op gave.
type outcome struct {
	text    string // what happened, in words
	asserts bool   // the op is an expectation
	fail    string // why it failed; "" when it held
	region  uint64 // the region a failure is about, when there is one
	marks   []Mark // Event is filled in by the runner
}

func (o *outcome) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if o.fail != "" {
		o.fail += "; " + msg
	} else {
		o.fail = msg
	}
}

// exec runs one op. It never panics: a panic is the op's failure.
func (r *runner) exec(ctx context.Context, op eventlog.Op) (out outcome) {
	defer func() {
		if v := recover(); v != nil {
			out.fail = r.recovered(v)
		}
	}()
	switch p := op.Payload.(type) {
	case *eventlog.Config:
		return outcome{text: "applied when the engine opened"}
	case *eventlog.Put:
		return r.write(new(regioncache.Batch).Put(p.Key, p.Ts, p.Value))
	case *eventlog.Delete:
		return r.write(new(regioncache.Batch).Delete(p.Key, p.Ts))
	case *eventlog.Batch:
		b := new(regioncache.Batch)
		for _, m := range p.Ops {
			if m.Tombstone {
				b.Delete(m.Key, m.Ts)
			} else {
				b.Put(m.Key, m.Ts, m.Value)
			}
		}
		return r.write(b)
	case *eventlog.Load:
		return r.load(p)
	case *eventlog.Evict:
		return r.evict(p)
	case *eventlog.Split:
		return r.split(p)
	case *eventlog.Merge:
		return r.merge(p)
	case *eventlog.Get:
		return r.get(p)
	case *eventlog.Scan:
		return r.scan(p)
	case *eventlog.Snapshot:
		return r.snapshot(p)
	case *eventlog.Release:
		return r.release(p)
	case *eventlog.GC:
		if err := r.eng.GC(p.SafePoint); err != nil {
			return outcome{fail: err.Error()}
		}
		return outcome{text: fmt.Sprintf("safe point is %d", r.eng.SafePoint())}
	case *eventlog.Failpoint:
		return errOutcome(private.Hooks(r.eng).Failpoint(failpoint.Name(p.Name), p.Action.String()), "")
	case *eventlog.Wait:
		return r.wait(ctx, p)
	case *eventlog.Expect:
		return r.expect(p)
	case *eventlog.Check:
		return r.check()
	case *eventlog.Sleep:
		sleep(ctx, p.For)
		return outcome{text: "slept"}
	}
	return outcome{fail: fmt.Sprintf("op %s is not supported by this replay", op.Kind())}
}

// errOutcome is the outcome of an op whose only result is an error.
func errOutcome(err error, ok string) outcome {
	if err != nil {
		return outcome{fail: err.Error()}
	}
	return outcome{text: ok}
}

func (r *runner) write(b *regioncache.Batch) outcome {
	ok := ""
	if b.Len() > 1 {
		ok = fmt.Sprintf("%d versions, atomically", b.Len())
	}
	return errOutcome(r.eng.Write(b), ok)
}

func (r *runner) load(p *eventlog.Load) outcome {
	res, err := r.eng.Load(p.Region)
	var rej *regioncache.LoadRejectedError
	switch {
	case errors.As(err, &rej):
		why := rej.Reason
		switch {
		case rej.Detail != "":
			why += ": " + rej.Detail
		case rej.Conflict != nil:
			why += " with " + rej.Conflict.String()
		}
		return outcome{text: "rejected (" + why + ")", marks: []Mark{{Kind: MarkLoadRejected, Region: p.Region, Detail: why}}}
	case err != nil:
		return outcome{fail: err.Error(), region: p.Region.ID}
	case res == regioncache.LoadDeduplicated:
		why := "already " + r.eng.RegionState(p.Region.ID).String()
		return outcome{text: "deduplicated (" + why + ")", marks: []Mark{{Kind: MarkLoadDeduplicated, Region: p.Region, Detail: why}}}
	default:
		return outcome{text: "accepted", marks: []Mark{{Kind: MarkLoadAccepted, Region: p.Region}}}
	}
}

func (r *runner) evict(p *eventlog.Evict) outcome {
	reached, err := r.eng.Evict(p.Region, regioncache.EvictReason(p.Reason))
	if err != nil {
		return outcome{fail: err.Error(), region: p.Region.ID}
	}
	if len(reached) == 0 {
		return outcome{text: "nothing held there"}
	}
	names := make([]string, len(reached))
	for i, reg := range reached {
		names[i] = reg.String()
	}
	return outcome{text: "reached " + strings.Join(names, ", ")}
}

func (r *runner) split(p *eventlog.Split) outcome {
	return errOutcome(r.eng.Split(p.Region, p.Into), "done")
}

func (r *runner) merge(p *eventlog.Merge) outcome {
	return errOutcome(r.eng.Merge(p.Regions, p.Into), "done")
}

// held returns the snapshot a read names, or why it cannot be used.
func (r *runner) held(name string) (*regioncache.Snapshot, string) {
	if s, ok := r.snaps[name]; ok {
		return s, ""
	}
	if line, ok := r.failed[name]; ok {
		return nil, fmt.Sprintf("snapshot %q is not held: taking it failed on line %d", name, line)
	}
	return nil, fmt.Sprintf("snapshot %q is not held", name)
}

func (r *runner) get(p *eventlog.Get) outcome {
	out := outcome{asserts: p.Expect.Set || p.Source != eventlog.AnySource}
	var res regioncache.GetResult
	var err error
	if p.Snapshot != "" {
		s, why := r.held(p.Snapshot)
		if s == nil {
			out.fail = why
			return out
		}
		out.region = s.Region().ID
		res, err = s.Get(p.Key, p.Ts) // Ts 0 reads at the snapshot's ts
	} else {
		out.region = r.regionOf(p.Key)
		res, err = r.eng.Get(p.Key, p.Ts)
	}
	if err != nil {
		out.fail = err.Error()
		return out
	}
	got := "not found"
	if res.Found {
		got = quote(res.Value)
	}
	out.text = got + " from " + describeSource(res.ReadInfo)
	if e := p.Expect; e.Set && (e.Found != res.Found || e.Found && !bytes.Equal(e.Value, res.Value)) {
		want := "not found"
		if e.Found {
			want = quote(e.Value)
		}
		out.failf("got %s, want %s", got, want)
	}
	checkSource(&out, p.Source, res.ReadInfo, "served")
	return out
}

func (r *runner) scan(p *eventlog.Scan) outcome {
	out := outcome{asserts: p.HasExpect || p.Source != eventlog.AnySource}
	var res regioncache.ScanResult
	var err error
	if p.Snapshot != "" {
		s, why := r.held(p.Snapshot)
		if s == nil {
			out.fail = why
			return out
		}
		out.region = s.Region().ID
		res, err = s.Scan(p.Start, p.End, p.Ts, p.Limit)
	} else {
		out.region = r.regionOf(p.Start)
		res, err = r.eng.Scan(p.Start, p.End, p.Ts, p.Limit)
	}
	if err != nil {
		out.fail = err.Error()
		return out
	}
	out.text = fmt.Sprintf("%d pair(s) from %s", len(res.Pairs), describeSource(res.ReadInfo))
	if p.HasExpect {
		if diff := diffPairs(res.Pairs, p.Expect); diff != "" {
			out.failf("%s", diff)
		}
	}
	checkSource(&out, p.Source, res.ReadInfo, "served")
	return out
}

// diffPairs describes the first difference between a scan's pairs and the
// expected ones; "" when they are equal.
func diffPairs(got []regioncache.KV, want []eventlog.KV) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("got %d pair(s), want %d: missing %s=%s", len(got), len(want), key(want[i].Key), quote(want[i].Value))
		case i >= len(want):
			return fmt.Sprintf("got %d pair(s), want %d: unexpected %s=%s", len(got), len(want), key(got[i].Key), quote(got[i].Value))
		case !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value):
			return fmt.Sprintf("pair %d: got %s=%s, want %s=%s", i, key(got[i].Key), quote(got[i].Value), key(want[i].Key), quote(want[i].Value))
		}
	}
	return ""
}

func (r *runner) snapshot(p *eventlog.Snapshot) outcome {
	out := outcome{asserts: p.Source != eventlog.AnySource, region: p.Region.ID}
	s, err := r.eng.Snapshot(p.Region, p.Ts)
	if err != nil {
		r.failed[p.Name] = r.curOp.Line
		out.fail = err.Error()
		return out
	}
	r.snaps[p.Name] = s
	delete(r.failed, p.Name)
	out.text = "held, served from " + describeSource(s.Info())
	checkSource(&out, p.Source, s.Info(), "served")
	return out
}

func (r *runner) release(p *eventlog.Release) outcome {
	s, ok := r.snaps[p.Name]
	if !ok {
		// Taking it failed, which its own line reports.
		return outcome{text: "nothing to release"}
	}
	delete(r.snaps, p.Name)
	s.Release()
	return outcome{text: "released"}
}

func (r *runner) wait(ctx context.Context, p *eventlog.Wait) outcome {
	out := outcome{asserts: true}
	wctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	var err error
	switch {
	case p.Idle:
		err = r.eng.WaitIdle(wctx)
	case p.Failpoint != "":
		err = private.Hooks(r.eng).WaitFailpointPaused(wctx, failpoint.Name(p.Failpoint), p.Count)
	default:
		out.region = p.Region
		err = private.Hooks(r.eng).WaitRegionState(wctx, p.Region, lifecycle.State(p.State))
	}
	switch {
	case err == nil && p.Idle:
		out.text = "idle"
	case err == nil && p.Failpoint != "":
		out.text = pausedText(p.Count) + " paused there"
	case err == nil:
		out.text = "reached"
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		switch {
		case p.Idle:
			out.failf("timed out after %s: %s", p.Timeout, r.busy())
		case p.Failpoint != "":
			out.failf("timed out after %s: fewer than %s paused there", p.Timeout, pausedText(p.Count))
		default:
			out.failf("timed out after %s: it is %s", p.Timeout, r.eng.RegionState(p.Region))
		}
	default:
		out.fail = err.Error()
	}
	return out
}

// pausedText counts pieces of work in words.
func pausedText(n int) string {
	if n == 1 {
		return "1 piece of work"
	}
	return fmt.Sprintf("%d pieces of work", n)
}

// busy describes the regions that keep the engine from being idle.
func (r *runner) busy() string {
	m, err := r.eng.Metrics()
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, s := range m.Regions {
		switch s.State {
		case regioncache.Active:
			continue
		case regioncache.PendingEvict:
			if s.Snapshots > 0 {
				continue
			}
		}
		parts = append(parts, fmt.Sprintf("region %d is %s", s.Region.ID, s.State))
	}
	if len(parts) == 0 {
		return "no region is busy now"
	}
	return strings.Join(parts, ", ")
}

func (r *runner) expect(p *eventlog.Expect) outcome {
	out := outcome{asserts: true}
	switch p.Assert {
	case eventlog.AssertState:
		out.region = p.Region
		got := r.eng.RegionState(p.Region)
		out.text = "it is " + got.String()
		if got != p.State {
			out.failf("it is %s", got)
		}
	case eventlog.AssertCounter:
		m, err := r.eng.Metrics()
		if err != nil {
			out.failf("%v", err)
			break
		}
		got, err := m.Counter(p.Counter)
		if err != nil {
			out.failf("%v", err)
			break
		}
		out.text = fmt.Sprintf("it is %d", got)
		if got < 0 || uint64(got) != p.Value {
			out.failf("it is %d", got)
		}
	case eventlog.AssertMemory:
		m, err := r.eng.Metrics()
		if err != nil {
			out.failf("%v", err)
			break
		}
		got := m.Memory.Used
		out.text = "it is " + formatBytes(got)
		if got < 0 || uint64(got) > p.MemoryAtMost {
			out.failf("it is %s", formatBytes(got))
		}
	default:
		out.fail = "unknown assertion"
	}
	return out
}

// maxDifferences bounds how many differences a failed check lists.
const maxDifferences = 3

func (r *runner) check() outcome {
	out := outcome{asserts: true}
	diffs, err := r.eng.Check()
	if err != nil {
		out.fail = err.Error()
		return out
	}
	if len(diffs) == 0 {
		out.text = "memory matches disk"
		return out
	}
	out.region = diffs[0].Region.ID
	parts := make([]string, 0, maxDifferences+1)
	for i, d := range diffs {
		if i == maxDifferences {
			parts = append(parts, fmt.Sprintf("and %d more", len(diffs)-maxDifferences))
			break
		}
		parts = append(parts, d.String())
	}
	out.failf("%d difference(s) between memory and disk: %s", len(diffs), strings.Join(parts, "; "))
	return out
}

// checkSource compares where a read was served from with what the line asserts.
func checkSource(out *outcome, want eventlog.Source, got regioncache.ReadInfo, verb string) {
	var ok bool
	switch want {
	case eventlog.AnySource:
		return
	case eventlog.FromMemory:
		ok = got.Source == regioncache.FromMemory
	case eventlog.FromDisk:
		ok = got.Source == regioncache.FromDisk
	}
	if !ok {
		out.failf("%s from %s, want %s", verb, describeSource(got), want)
	}
}

func describeSource(info regioncache.ReadInfo) string {
	s := info.Source.String()
	if info.Source != regioncache.FromMemory {
		if why := info.Reason.String(); why != "" {
			s += " (" + strings.ReplaceAll(why, "_", " ") + ")"
		}
	}
	return s
}

// regionOf returns the id of the region that holds key, among those the log
// has loaded, split or merged so far (the latest first); 0 when none does.
// It only places a failure on a timeline lane.
func (r *runner) regionOf(k []byte) uint64 {
	for i := len(r.named) - 1; i >= 0; i-- {
		if r.named[i].Contains(k) {
			return r.named[i].ID
		}
	}
	return 0
}

// name records the regions an op describes, for regionOf.
func (r *runner) name(op eventlog.Op) {
	switch p := op.Payload.(type) {
	case *eventlog.Load:
		r.named = append(r.named, p.Region)
	case *eventlog.Split:
		r.named = append(r.named, p.Into...)
	case *eventlog.Merge:
		r.named = append(r.named, p.Into)
	}
}

func quote(v []byte) string { return fmt.Sprintf("%q", v) }

func key(k []byte) string { return mvcc.FormatKey(k) }

// formatBytes renders a byte count for people: "1.5MiB (1572864 bytes)".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/unit, 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f%s (%d bytes)", v, units[i], n)
}
