package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

// checkProgram renders p and checks that the log parses, that every direct
// and snapshot read carries an expectation, and that rendering is
// deterministic.
func checkProgram(t *testing.T, p *Program) {
	t.Helper()
	rd := Render(p)
	log, err := eventlog.Parse(strings.NewReader(rd.Text))
	if err != nil {
		t.Fatalf("seed %d: rendered log does not parse: %v\n%s", p.Seed, err, rd.Text)
	}
	if len(log.Ops) != rd.Lines {
		t.Fatalf("seed %d: %d op lines parsed, %d rendered", p.Seed, len(log.Ops), rd.Lines)
	}
	if again := Render(p); again.Text != rd.Text {
		t.Fatalf("seed %d: rendering is not deterministic", p.Seed)
	}
	if len(rd.OpOf) != strings.Count(rd.Text, "\n")+1 {
		t.Fatalf("seed %d: line map has %d entries for %d lines", p.Seed, len(rd.OpOf), strings.Count(rd.Text, "\n"))
	}
	for _, op := range log.Ops {
		switch q := op.Payload.(type) {
		case *eventlog.Get:
			if !q.Expect.Set {
				t.Fatalf("seed %d line %d: get without expect", p.Seed, op.Line)
			}
		case *eventlog.Scan:
			if !q.HasExpect {
				t.Fatalf("seed %d line %d: scan without expect", p.Seed, op.Line)
			}
		}
	}
}

func TestGeneratedLogsParse(t *testing.T) {
	n := 120
	if testing.Short() {
		n = 30
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		p := Generate(seed, Options{Steps: 150})
		if !p.HostConsistent() {
			t.Fatalf("seed %d: generated program is not host-consistent", seed)
		}
		checkProgram(t, p)
		// Any op list the shrinker may make must render to a valid log too.
		c := p.Clone()
		for i := len(c.Ops) - 1; i >= 0; i -= 3 {
			c.Ops = append(c.Ops[:i], c.Ops[i+1:]...)
		}
		checkProgram(t, c)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Render(Generate(42, Options{})), Render(Generate(42, Options{}))
	if a.Text != b.Text {
		t.Fatal("same seed, different logs")
	}
	if c := Render(Generate(43, Options{})); c.Text == a.Text {
		t.Fatal("different seeds, same log")
	}
}

// TestShrink: with a failure that needs one write and the GC after it, the
// shrinker ends with just those two ops.
func TestShrink(t *testing.T) {
	p := Generate(7, Options{Steps: 300, Pressure: -1})
	var key []byte
	for _, op := range p.Ops {
		if op.Kind == OpWrite && len(op.Muts) == 1 {
			key = op.Muts[0].Key
			break
		}
	}
	test := func(c *Program) Verdict {
		wrote := false
		for i, op := range c.Ops {
			if op.Kind == OpWrite && bytes.Equal(op.Muts[0].Key, key) {
				wrote = true
			}
			if op.Kind == OpGC && wrote {
				return Verdict{Fails: true, FirstOp: i}
			}
		}
		return Verdict{}
	}
	first := test(p)
	if !first.Fails {
		t.Skip("seed 7 has no write followed by a GC")
	}
	got, runs := Shrink(p, first, test, ShrinkOptions{})
	if len(got.Ops) != 2 || got.Ops[0].Kind != OpWrite || got.Ops[1].Kind != OpGC {
		t.Fatalf("shrunk to %d ops in %d runs: %+v", len(got.Ops), runs, got.Ops)
	}
	if !got.HostConsistent() {
		t.Fatal("shrunk program is not host-consistent")
	}
}

// FuzzGenerate: whatever the seed and size, the generator writes a log the
// parser accepts, with an expectation on every read, and so does any prefix
// the shrinker may cut.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(1), uint16(50), uint16(10))
	f.Add(uint64(1234567), uint16(400), uint16(399))
	f.Add(uint64(0), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, seed uint64, steps, cut uint16) {
		p := Generate(seed, Options{Steps: int(steps%600) + 1})
		if !p.HostConsistent() {
			t.Fatal("not host-consistent")
		}
		checkProgram(t, p)
		c := p.Clone()
		c.Ops = c.Ops[:int(cut)%(len(c.Ops)+1)]
		checkProgram(t, c)
	})
}
