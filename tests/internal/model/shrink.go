package model

import "time"

// Verdict is what one run of a candidate program gave.
type Verdict struct {
	// Fails: the run failed the way the original did (same signature).
	Fails bool
	// FirstOp is the index in Program.Ops of the op of the first such
	// failure; -1 when it was in the closing checks or unknown.
	FirstOp int
}

// ShrinkOptions bound the shrinker.
type ShrinkOptions struct {
	// Deadline stops shrinking (the best program so far is returned).
	Deadline time.Time
	// MaxRuns bounds how many candidates are tried (default 400).
	MaxRuns int
	// Tries is how many times a candidate is run before it is judged not
	// to fail (default 2): failures can depend on timing.
	Tries int
}

// Shrink returns a smaller program that still fails, by delta debugging over
// the op list (ddmin: remove chunks, halving their size down to single ops),
// after first cutting everything past the first failing op.
//
// Shrinking works on the abstract op list and re-renders every candidate, so
// the expected answers are always recomputed from the reference model: a
// removed write changes what later reads expect, and the rendered log says
// so. Candidates whose splits and merges no longer follow the host's table
// (HostConsistent) are skipped, so a shrunk log stays a story a real host
// could tell. test runs one candidate; the shrinker calls it Tries times at
// most per candidate.
func Shrink(p *Program, first Verdict, test func(*Program) Verdict, o ShrinkOptions) (*Program, int) {
	if o.MaxRuns <= 0 {
		o.MaxRuns = 400
	}
	if o.Tries <= 0 {
		o.Tries = 2
	}
	runs := 0
	over := func() bool {
		return runs >= o.MaxRuns || (!o.Deadline.IsZero() && time.Now().After(o.Deadline))
	}
	try := func(c *Program) (Verdict, bool) {
		if !c.HostConsistent() {
			return Verdict{}, false
		}
		for i := 0; i < o.Tries && !over(); i++ {
			runs++
			if v := test(c); v.Fails {
				return v, true
			}
		}
		return Verdict{}, false
	}
	best := p.Clone()
	// Cut the tail after the first failing op.
	if first.FirstOp >= 0 && first.FirstOp+1 < len(best.Ops) {
		c := best.Clone()
		c.Ops = c.Ops[:first.FirstOp+1]
		if v, ok := try(c); ok {
			best, first = c, v
		}
	}
	// ddmin.
	n := 2
	for len(best.Ops) >= 2 && !over() {
		chunk := (len(best.Ops) + n - 1) / n
		reduced := false
		for start := 0; start < len(best.Ops) && !over(); start += chunk {
			end := min(start+chunk, len(best.Ops))
			c := best.Clone()
			c.Ops = append(c.Ops[:start:start], best.Ops[end:]...)
			if v, ok := try(c); ok {
				best, first = c, v
				if v.FirstOp >= 0 && v.FirstOp+1 < len(best.Ops) {
					t := best.Clone()
					t.Ops = t.Ops[:v.FirstOp+1]
					if v2, ok := try(t); ok {
						best, first = t, v2
					}
				}
				n = max(n-1, 2)
				reduced = true
				break
			}
		}
		if reduced {
			continue
		}
		if chunk == 1 {
			break
		}
		n = min(n*2, len(best.Ops))
	}
	// Thin batches: drop single mutations.
	for i := 0; i < len(best.Ops) && !over(); i++ {
		for j := 0; j < len(best.Ops[i].Muts) && len(best.Ops[i].Muts) > 1 && !over(); {
			c := best.Clone()
			op := c.Ops[i]
			op.Muts = append(append([]Mut(nil), op.Muts[:j]...), op.Muts[j+1:]...)
			c.Ops[i] = op
			if _, ok := try(c); ok {
				best = c
				continue
			}
			j++
		}
	}
	// Simplify the configuration: drop it, or one setting at a time.
	for _, drop := range []func(*Config){
		func(c *Config) { *c = Config{} },
		func(c *Config) { c.Loaders = 0 },
		func(c *Config) { c.EvictThreshold, c.StopLoadThreshold = 0, 0 },
	} {
		if over() {
			break
		}
		c := best.Clone()
		drop(&c.Config)
		if c.Config == best.Config {
			continue
		}
		if _, ok := try(c); ok {
			best = c
		}
	}
	return best, runs
}
