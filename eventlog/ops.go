package eventlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/regioncache/regioncache"
)

// Kind names an op. Its String is the op's name in the file.
type Kind uint8

// The kinds, one per op of the format, in the spec's table order.
const (
	KindConfig Kind = iota + 1
	KindPut
	KindDelete
	KindBatch
	KindLoad
	KindEvict
	KindSplit
	KindMerge
	KindGet
	KindScan
	KindSnapshot
	KindRelease
	KindGC
	KindFailpoint
	KindWait
	KindExpect
	KindCheck
	KindSleep
)

var kindNames = [...]string{"", "config", "put", "delete", "batch", "load", "evict", "split", "merge",
	"get", "scan", "snapshot", "release", "gc", "failpoint", "wait", "expect", "check", "sleep"}

func (k Kind) String() string {
	if k != 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the kind of the op named name.
func ParseKind(name string) (Kind, bool) {
	for i, n := range kindNames {
		if i != 0 && n == name {
			return Kind(i), true
		}
	}
	return 0, false
}

// Payload is the typed content of one op: one of *Config, *Put, *Delete,
// *Batch, *Load, *Evict, *Split, *Merge, *Get, *Scan, *Snapshot, *Release,
// *GC, *Failpoint, *Wait, *Expect, *Check or *Sleep. The set is closed so a
// replay runner's type switch over these cases is exhaustive.
type Payload interface {
	Kind() Kind
	// String is a one-line human summary for timelines.
	String() string
	sealed()
}

// Config sets engine settings. A zero field was not given: zero is refused for
// every one of them, so it cannot also mean a setting.
type Config struct {
	Capacity          uint64 // bytes
	EvictThreshold    uint64 // bytes
	StopLoadThreshold uint64 // bytes
	Loaders           int
}

// Put writes one version.
type Put struct {
	Key   []byte
	Ts    uint64
	Value []byte
}

// Mutation returns the put as the write the engines take.
func (p *Put) Mutation() Mutation { return Mutation{Key: p.Key, Ts: p.Ts, Value: p.Value} }

// Delete writes a delete marker version.
type Delete struct {
	Key []byte
	Ts  uint64
}

// Mutation returns the delete as the write the engines take.
func (d *Delete) Mutation() Mutation {
	return Mutation{Key: d.Key, Ts: d.Ts, Tombstone: true}
}

// Mutation is one write of a batch: a version of Key at Ts, Value or (with
// Tombstone) a delete marker.
type Mutation struct {
	Key       []byte
	Ts        uint64
	Value     []byte
	Tombstone bool
}

// Batch is one atomic write; Ops are in file order, deletes have Tombstone set.
type Batch struct {
	Ops []Mutation
}

// Load asks for a region to be loaded.
type Load struct {
	Region regioncache.Region
}

// Evict drops a region from memory. Reason is one of EvictReasons.
type Evict struct {
	Region regioncache.Region
	Reason string
}

// Split reports a split in the host. Into is in file order; the parser has
// checked that, taken in key order, it partitions Region's range.
type Split struct {
	Region regioncache.Region
	Into   []regioncache.Region
}

// Merge reports a merge in the host. Regions is in file order; the parser has
// checked that, taken in key order, they are adjacent and Into covers them.
type Merge struct {
	Regions []regioncache.Region
	Into    regioncache.Region
}

// GetExpect is what a get asserts. The file distinguishes three cases: no
// "expect" (Set false), "expect": null (Set, not Found) and a string value.
type GetExpect struct {
	Set   bool
	Found bool
	Value []byte
}

// Get reads one key. Ts is 0 when the line gives none, which it may only do
// when reading through Snapshot; Snapshot is "" when the read is direct.
type Get struct {
	Key      []byte
	Ts       uint64
	Snapshot string
	Expect   GetExpect
	Source   Source
}

// KV is one key and value in a scan's expected result.
type KV struct {
	Key   []byte
	Value []byte
}

// Scan reads the range [Start, End); an empty End is unbounded. Ts is 0 when
// the line gives none, which it may only do when reading through Snapshot.
// Limit is 0 when there is none. Expect is meaningful only when HasExpect: an empty
// Expect with HasExpect asserts that the scan finds nothing.
type Scan struct {
	Start     []byte
	End       []byte
	Ts        uint64
	Limit     int
	Snapshot  string
	HasExpect bool
	Expect    []KV
	Source    Source
}

// Snapshot takes a read snapshot of Region at Ts and holds it under Name.
type Snapshot struct {
	Name   string
	Region regioncache.Region
	Ts     uint64
	Source Source
}

// Release drops the snapshot held under Name.
type Release struct {
	Name string
}

// GC advances the safe point.
type GC struct {
	SafePoint uint64
}

// Failpoint sets the action of the failpoint Name (one of FailpointNames).
type Failpoint struct {
	Name   string
	Action Action
}

// Wait blocks until the engine is idle (Idle), until region Region reaches
// State, or until Count pieces of work are paused at the failpoint Failpoint
// (non-empty only for that form; Count is then at least 1). Exactly one of
// the three forms is set. Timeout is always set; DefaultWaitTimeout when the
// line gives none.
type Wait struct {
	Idle      bool
	Region    uint64
	State     regioncache.State
	Failpoint string
	Count     int
	Timeout   time.Duration
}

// Assertion says which of its alternatives an expect op asserts.
type Assertion uint8

const (
	// AssertState: region Region is in State.
	AssertState Assertion = iota + 1
	// AssertCounter: counter Counter equals Value.
	AssertCounter
	// AssertMemory: memory in use is at most MemoryAtMost bytes.
	AssertMemory
)

// Expect asserts something about the engine now; only the fields of its
// Assertion are set.
type Expect struct {
	Assert       Assertion
	Region       uint64
	State        regioncache.State
	Counter      string
	Value        uint64
	MemoryAtMost uint64
}

// Check compares every active region's cached data with the disk engine.
type Check struct{}

// Sleep pauses the replay.
type Sleep struct {
	For time.Duration
}

func (*Config) Kind() Kind    { return KindConfig }
func (*Put) Kind() Kind       { return KindPut }
func (*Delete) Kind() Kind    { return KindDelete }
func (*Batch) Kind() Kind     { return KindBatch }
func (*Load) Kind() Kind      { return KindLoad }
func (*Evict) Kind() Kind     { return KindEvict }
func (*Split) Kind() Kind     { return KindSplit }
func (*Merge) Kind() Kind     { return KindMerge }
func (*Get) Kind() Kind       { return KindGet }
func (*Scan) Kind() Kind      { return KindScan }
func (*Snapshot) Kind() Kind  { return KindSnapshot }
func (*Release) Kind() Kind   { return KindRelease }
func (*GC) Kind() Kind        { return KindGC }
func (*Failpoint) Kind() Kind { return KindFailpoint }
func (*Wait) Kind() Kind      { return KindWait }
func (*Expect) Kind() Kind    { return KindExpect }
func (*Check) Kind() Kind     { return KindCheck }
func (*Sleep) Kind() Kind     { return KindSleep }

func (*Config) sealed()    {}
func (*Put) sealed()       {}
func (*Delete) sealed()    {}
func (*Batch) sealed()     {}
func (*Load) sealed()      {}
func (*Evict) sealed()     {}
func (*Split) sealed()     {}
func (*Merge) sealed()     {}
func (*Get) sealed()       {}
func (*Scan) sealed()      {}
func (*Snapshot) sealed()  {}
func (*Release) sealed()   {}
func (*GC) sealed()        {}
func (*Failpoint) sealed() {}
func (*Wait) sealed()      {}
func (*Expect) sealed()    {}
func (*Check) sealed()     {}
func (*Sleep) sealed()     {}

// maxShown bounds how much of a value or list a summary prints, so one huge
// batch does not swamp a timeline.
const maxShown = 40

func fmtValue(v []byte) string {
	if len(v) > maxShown {
		return fmt.Sprintf("%q...(%d bytes)", v[:maxShown], len(v))
	}
	return fmt.Sprintf("%q", v)
}

func fmtRegions(rs []regioncache.Region) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

func (c *Config) String() string {
	var b strings.Builder
	b.WriteString("config")
	if c.Capacity != 0 {
		b.WriteString(" capacity=" + FormatSize(c.Capacity))
	}
	if c.EvictThreshold != 0 {
		b.WriteString(" evict_threshold=" + FormatSize(c.EvictThreshold))
	}
	if c.StopLoadThreshold != 0 {
		b.WriteString(" stop_load_threshold=" + FormatSize(c.StopLoadThreshold))
	}
	if c.Loaders != 0 {
		b.WriteString(" loaders=" + strconv.Itoa(c.Loaders))
	}
	return b.String()
}

func (p *Put) String() string {
	return fmt.Sprintf("put %s@%d = %s", fmtKey(p.Key), p.Ts, fmtValue(p.Value))
}

func (d *Delete) String() string { return fmt.Sprintf("delete %s@%d", fmtKey(d.Key), d.Ts) }

func (b *Batch) String() string {
	const shown = 3
	parts := make([]string, 0, shown+1)
	for i, m := range b.Ops {
		if i == shown {
			parts = append(parts, fmt.Sprintf("... %d more", len(b.Ops)-shown))
			break
		}
		if m.Tombstone {
			parts = append(parts, (&Delete{Key: m.Key, Ts: m.Ts}).String())
		} else {
			parts = append(parts, (&Put{Key: m.Key, Ts: m.Ts, Value: m.Value}).String())
		}
	}
	return fmt.Sprintf("batch of %d: %s", len(b.Ops), strings.Join(parts, ", "))
}

func (l *Load) String() string { return "load " + l.Region.String() }

func (e *Evict) String() string { return fmt.Sprintf("evict %s (%s)", e.Region, e.Reason) }

func (s *Split) String() string {
	return fmt.Sprintf("split %s into %s", s.Region, fmtRegions(s.Into))
}

func (m *Merge) String() string {
	return fmt.Sprintf("merge %s into %s", fmtRegions(m.Regions), m.Into)
}

func (e GetExpect) String() string {
	switch {
	case !e.Set:
		return ""
	case !e.Found:
		return "not found"
	default:
		return fmtValue(e.Value)
	}
}

func (g *Get) String() string {
	var b strings.Builder
	b.WriteString("get " + fmtKey(g.Key))
	if g.Ts != 0 {
		fmt.Fprintf(&b, "@%d", g.Ts)
	}
	if g.Snapshot != "" {
		fmt.Fprintf(&b, " via snapshot %q", g.Snapshot)
	}
	if g.Source != AnySource {
		b.WriteString(" from " + g.Source.String())
	}
	if g.Expect.Set {
		b.WriteString(" expect " + g.Expect.String())
	}
	return b.String()
}

func (s *Scan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scan [%s, %s)", fmtKey(s.Start), fmtEnd(s.End))
	if s.Ts != 0 {
		fmt.Fprintf(&b, "@%d", s.Ts)
	}
	if s.Limit != 0 {
		fmt.Fprintf(&b, " limit %d", s.Limit)
	}
	if s.Snapshot != "" {
		fmt.Fprintf(&b, " via snapshot %q", s.Snapshot)
	}
	if s.Source != AnySource {
		b.WriteString(" from " + s.Source.String())
	}
	if s.HasExpect {
		fmt.Fprintf(&b, " expect %d pairs", len(s.Expect))
	}
	return b.String()
}

func (s *Snapshot) String() string {
	str := fmt.Sprintf("snapshot %q of %s@%d", s.Name, s.Region, s.Ts)
	if s.Source != AnySource {
		str += " from " + s.Source.String()
	}
	return str
}

func (r *Release) String() string { return fmt.Sprintf("release snapshot %q", r.Name) }

func (g *GC) String() string { return fmt.Sprintf("gc safe_point %d", g.SafePoint) }

func (f *Failpoint) String() string { return fmt.Sprintf("failpoint %s %s", f.Name, f.Action) }

func (w *Wait) String() string {
	if w.Idle {
		return fmt.Sprintf("wait until idle (timeout %s)", w.Timeout)
	}
	if w.Failpoint != "" {
		what := "work is"
		if w.Count > 1 {
			what = fmt.Sprintf("%d pieces of work are", w.Count)
		}
		return fmt.Sprintf("wait until %s paused at %s (timeout %s)", what, w.Failpoint, w.Timeout)
	}
	return fmt.Sprintf("wait until region %d is %s (timeout %s)", w.Region, w.State, w.Timeout)
}

func (e *Expect) String() string {
	switch e.Assert {
	case AssertState:
		return fmt.Sprintf("expect region %d is %s", e.Region, e.State)
	case AssertCounter:
		return fmt.Sprintf("expect %s == %d", e.Counter, e.Value)
	case AssertMemory:
		return "expect memory <= " + FormatSize(e.MemoryAtMost)
	}
	return "expect ?"
}

func (*Check) String() string { return "check" }

func (s *Sleep) String() string { return "sleep " + s.For.String() }
