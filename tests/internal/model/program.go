// Package model holds the random program generator, the renderer that
// writes programs as event logs (docs/event-log.md) with the reference
// store's answers, and the shrinker, which the randomized tests in package
// tests use.
//
//   - The reference store is internal/testutil/reference's, shared with
//     the rule tests' harness: a plain multi-version map with no cache, no
//     regions and no concurrency.
//   - Generate(seed) builds a Program: the host's region table at the start
//     and ops in which that table evolves by splits and merges (children and
//     merged regions get higher versions; one child keeps the source's id),
//     with loads and evictions of current and stale descriptors, writes
//     (single, batched, delete markers, some below a key's newest version),
//     reads at every interesting ts, snapshots and their release, GC that
//     never passes a write in flight, failpoints (pause, resume, error,
//     panic, delay, off; a pause is always let go within a few ops), waits,
//     checks and "settle" ops after which the generator knows which region
//     is active. The seed alone decides the program (math/rand/v2 PCG).
//   - Render writes a Program as an event log in which every get and scan
//     carries the reference model's answer, and sources are asserted only
//     where they are certain (see Render).
//   - Shrink reduces a failing Program by delta debugging over its ops,
//     re-rendering each candidate so that expectations are recomputed.
package model

import (
	"bytes"
	"fmt"
	"time"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// Kind is the kind of an abstract op of a Program.
type Kind uint8

// The abstract ops. Most render to one event-log line of the same name;
// Settle renders to several (see Render).
const (
	OpWrite        Kind = iota + 1 // one put or delete (len(Muts) == 1) or a batch
	OpLoad                         // load Region
	OpEvict                        // evict Region with Reason
	OpSplit                        // split Region into Into
	OpMerge                        // merge Regions into Into[0]
	OpGet                          // get Key at Ts, through Snap when set (Ts 0: the snapshot's ts)
	OpScan                         // scan [Start, End) at Ts with Limit, through Snap when set
	OpSnapshot                     // snapshot Snap of Region at Ts
	OpRelease                      // release Snap
	OpGC                           // gc at Ts
	OpFailpoint                    // failpoint Name Action
	OpWaitIdle                     // wait until idle (only rendered when no failpoint can pause)
	OpCheck                        // check
	OpExpectMemory                 // expect memory_at_most the configured capacity (pressure logs only)
	OpSleep                        // sleep For
	OpSettle                       // make Region the one active region, for certain (see Render)
)

var kindNames = [...]string{"", "write", "load", "evict", "split", "merge", "get", "scan", "snapshot",
	"release", "gc", "failpoint", "wait", "check", "expect-memory", "sleep", "settle"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Mut is one version written.
type Mut struct {
	Key   []byte
	Ts    uint64
	Value []byte
	Tomb  bool
}

// Op is one abstract op. Only the fields its Kind names are set. Ops carry
// no expected answers: Render computes them from the reference model, so a
// shrunk program (ops removed) still has exact expectations.
type Op struct {
	Kind    Kind
	Muts    []Mut
	Region  mvcc.Region
	Regions []mvcc.Region
	Into    []mvcc.Region
	Reason  string
	Key     []byte
	Start   []byte
	End     []byte
	Ts      uint64
	Limit   int
	Snap    string
	Name    string // failpoint
	Action  string // failpoint action
	For     time.Duration
}

// Config is the engine configuration of a program; zero fields keep the
// engine's defaults.
type Config struct {
	Capacity, EvictThreshold, StopLoadThreshold uint64
	Loaders                                     int
}

// Pressure reports whether the program runs with a small memory capacity, in
// which regions may be evicted or fail to load at any time: then the
// generator asserts nothing about where reads are served from.
func (c Config) Pressure() bool { return c.Capacity != 0 }

// Program is a generated scenario: the host's region table at the start, the
// engine configuration and the ops.
type Program struct {
	Seed    uint64
	Config  Config
	Initial []mvcc.Region // the host's table before the first op; a partition of the key space
	Ops     []Op
}

// Clone returns a program whose op list can be changed without touching p's.
func (p *Program) Clone() *Program {
	c := *p
	c.Ops = append([]Op(nil), p.Ops...)
	return &c
}

// HostConsistent reports whether every split and merge applies to the
// descriptors that are current in the host's table at that point: the
// shrinker keeps only programs where it holds, so a shrunk log tells a story
// a real host could have told. (Loads, evictions and snapshots may name any
// descriptor, stale ones included, on purpose.)
func (p *Program) HostConsistent() bool {
	cur := map[uint64]mvcc.Region{}
	for _, r := range p.Initial {
		cur[r.ID] = r
	}
	same := func(a, b mvcc.Region) bool {
		return a.ID == b.ID && a.Version == b.Version && bytes.Equal(a.Start, b.Start) && bytes.Equal(a.End, b.End)
	}
	for _, op := range p.Ops {
		switch op.Kind {
		case OpSplit:
			if c, ok := cur[op.Region.ID]; !ok || !same(c, op.Region) {
				return false
			}
			delete(cur, op.Region.ID)
			for _, ch := range op.Into {
				if _, taken := cur[ch.ID]; taken {
					return false
				}
				cur[ch.ID] = ch
			}
		case OpMerge:
			for _, s := range op.Regions {
				if c, ok := cur[s.ID]; !ok || !same(c, s) {
					return false
				}
			}
			for _, s := range op.Regions {
				delete(cur, s.ID)
			}
			cur[op.Into[0].ID] = op.Into[0]
		}
	}
	return true
}
