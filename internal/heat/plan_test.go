package heat

import (
	"fmt"
	"math"
	"testing"

	"github.com/regioncache/regioncache/internal/mvcc"
)

func region(id uint64) mvcc.Region {
	return mvcc.Region{ID: id, Version: 1, Start: []byte{byte(id)}, End: []byte{byte(id + 1)}}
}

func sample(id uint64, reads, stepped, returned int64) Sample {
	return Sample{Region: region(id), Reads: reads, Stepped: stepped, Returned: returned}
}

func TestScoresDecayAndForget(t *testing.T) {
	s := Scores{Decay: 0.5}
	s.Update([]Sample{sample(1, 100, 0, 0), sample(2, 10, 0, 0)})
	got := s.Update([]Sample{sample(1, 0, 0, 0), sample(2, 110, 0, 0)})
	if got[0].Heat != 50 || got[1].Heat != 115 {
		t.Fatalf("heat after two rounds of 110 reads: %v, %v; want 50, 115", got[0].Heat, got[1].Heat)
	}
	// A round without reads changes nothing; one with half the usual reads
	// weighs the past down by sqrt(Decay).
	got = s.Update([]Sample{sample(1, 0, 0, 0), sample(2, 0, 0, 0)})
	if got[0].Heat != 50 || got[1].Heat != 115 {
		t.Fatalf("heat after an idle round: %v, %v; want 50, 115", got[0].Heat, got[1].Heat)
	}
	usual := s.usual
	got = s.Update([]Sample{sample(1, 0, 0, 0), sample(2, int64(usual/2), 0, 0)})
	if want := 50 * math.Sqrt(0.5); math.Abs(got[0].Heat-want) > 1e-9 {
		t.Fatalf("heat after a half-busy round: %v, want %v", got[0].Heat, want)
	}
	// A new version starts again; a region no longer sampled is forgotten.
	r := region(1)
	r.Version = 2
	got = s.Update([]Sample{{Region: r, Reads: 4}})
	if got[0].Heat != 4 {
		t.Fatalf("heat of a new version: %v, want 4", got[0].Heat)
	}
	if _, ok := s.byID[2]; ok {
		t.Fatal("region 2 is not known any more but still scored")
	}
}

func TestScoresSizes(t *testing.T) {
	s := Scores{Decay: 0.5}
	s.Update([]Sample{sample(1, 1, 0, 0), sample(2, 1, 0, 0), sample(3, 1, 0, 0)})
	if s.SizeOf(3) != 0 {
		t.Fatal("size known before any region was measured")
	}
	s.NoteSize(1, 100)
	s.NoteSize(2, 300)
	s.NoteSize(2, 200) // measured again: replaces
	if got := s.SizeOf(1); got != 100 {
		t.Fatalf("size of 1: %d", got)
	}
	if got := s.SizeOf(3); got != 150 {
		t.Fatalf("estimate for an unmeasured region: %d, want the average 150", got)
	}
}

func TestDecide(t *testing.T) {
	amp := func(id uint64, heat float64, reads int64, bytes int64) Candidate {
		return Candidate{Heat: Heat{Sample: sample(id, reads, 50*reads, reads), Heat: heat}, Bytes: bytes}
	}
	flat := func(id uint64, heat float64, reads int64) Candidate {
		return Candidate{Heat: Heat{Sample: sample(id, reads, reads, reads), Heat: heat}, Bytes: 10}
	}
	p := Policy{AmplificationThreshold: 10, SwapMargin: 2, MaxLoads: 3, Budget: 100}
	cases := []struct {
		name   string
		p      Policy
		used   int64
		cached []Cached
		cands  []Candidate
		want   string
	}{
		{"hottest first within the budget", p, 70, nil,
			[]Candidate{amp(1, 5, 5, 10), amp(2, 50, 50, 10), amp(3, 20, 20, 10), amp(4, 30, 30, 10)},
			"cold [] displaced [] load [2 4 3]"},
		{"not amplified or not read this round: not loaded", p, 0, nil,
			[]Candidate{flat(1, 100, 100), amp(2, 40, 0, 10)},
			"cold [] displaced [] load []"},
		{"cold cached regions go, whatever the memory", p, 30,
			[]Cached{{ID: 7, Heat: 0.5, Reads: 0, Bytes: 10}, {ID: 8, Heat: 3, Reads: 0, Bytes: 10}, {ID: 9, Heat: 0.2, Reads: 1, Bytes: 10}}, nil,
			"cold [7] displaced [] load []"},
		{"a much hotter candidate displaces the coldest", p, 100,
			[]Cached{{ID: 7, Heat: 40, Reads: 40, Bytes: 50}, {ID: 8, Heat: 5, Reads: 5, Bytes: 50}},
			[]Candidate{amp(1, 60, 60, 40)},
			"cold [] displaced [8] load [1]"},
		{"not hotter by the margin: nothing moves", p, 100,
			[]Cached{{ID: 7, Heat: 40, Reads: 40, Bytes: 50}, {ID: 8, Heat: 35, Reads: 35, Bytes: 50}},
			[]Candidate{amp(1, 60, 60, 40)},
			"cold [] displaced [] load []"},
		{"unknown sizes load while memory is below the budget", p, 90, nil,
			[]Candidate{amp(1, 60, 60, 0), amp(2, 50, 50, 0)},
			"cold [] displaced [] load [1 2]"},
		{"at most MaxLoads", Policy{AmplificationThreshold: 10, MaxLoads: 1}, 0, nil,
			[]Candidate{amp(1, 60, 60, 10), amp(2, 50, 50, 10)},
			"cold [] displaced [] load [1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := c.p.Decide(c.used, c.cached, c.cands)
			var ids []uint64
			for _, r := range plan.Load {
				ids = append(ids, r.ID)
			}
			got := fmt.Sprintf("cold %v displaced %v load %v", plan.Cold, plan.Displaced, ids)
			if got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
