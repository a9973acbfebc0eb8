package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

func TestStoreSemantics(t *testing.T) {
	s := NewStore()
	k := []byte("k")
	s.Apply(k, 10, []byte("a"), false)
	s.Apply(k, 20, nil, true)
	snap := s.Now()
	s.Apply(k, 15, []byte("late"), false) // below the delete marker: hidden at 20+
	s.Apply(k, 30, []byte("b"), false)
	s.Apply(k, 30, []byte("b2"), false) // same ts again: the later write wins
	for _, c := range []struct {
		v     View
		ts    uint64
		want  string
		found bool
	}{
		{s.Now(), 5, "", false},
		{s.Now(), 10, "a", true},
		{s.Now(), 16, "late", true},
		{s.Now(), 25, "", false},
		{s.Now(), 30, "b2", true},
		{s.Now(), FarFuture, "b2", true},
		{snap, 16, "a", true}, // the snapshot predates the write at 15
		{snap, FarFuture, "", false},
	} {
		v, ok := c.v.Get(k, c.ts)
		if ok != c.found || string(v) != c.want {
			t.Errorf("get at %d: %q %v, want %q %v", c.ts, v, ok, c.want, c.found)
		}
	}
	s.Apply([]byte("a"), 1, []byte("1"), false)
	s.Apply([]byte("c"), 1, []byte("3"), false)
	s.Apply([]byte{}, 1, []byte("empty"), false)
	got := s.Scan([]byte{}, nil, 100, 0)
	var keys []string
	for _, kv := range got {
		keys = append(keys, string(kv.Key)+"="+string(kv.Value))
	}
	if want := "=empty a=1 c=3 k=b2"; strings.Join(keys, " ") != want {
		t.Errorf("scan: %q, want %q", strings.Join(keys, " "), want)
	}
	if got := s.Scan([]byte("a"), []byte("k"), 100, 1); len(got) != 1 || string(got[0].Key) != "a" {
		t.Errorf("scan with limit: %v", got)
	}
	if got := s.Scan([]byte("k"), nil, 25, 0); len(got) != 0 {
		t.Errorf("scan hides deleted keys: %v", got)
	}
}

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
