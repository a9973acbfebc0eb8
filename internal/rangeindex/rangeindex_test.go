package rangeindex_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/internal/rangeindex"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// bounds reads a range written "start-end".
func bounds(r string) (start, end []byte) {
	s, e, _ := strings.Cut(r, "-")
	return []byte(s), []byte(e)
}

// build indexes ranges written "start-end" (an empty end is unbounded),
// each valued by its own text.
func build(ranges ...string) *rangeindex.Index[string] {
	x := rangeindex.New(bounds)
	for _, r := range ranges {
		x.Set(r)
	}
	return x
}

func overlapping(x *rangeindex.Index[string], start, end string) []string {
	out := []string{}
	x.Overlapping([]byte(start), []byte(end), func(v string) bool {
		out = append(out, v)
		return true
	})
	return out
}

func TestOverlapping(t *testing.T) {
	table := []string{"b-d", "d-f", "h-k", "m-"}
	for _, tc := range []struct {
		name       string
		index      []string
		start, end string
		want       []string
	}{
		{"empty index", nil, "a", "z", []string{}},
		{"empty index, unbounded", nil, "", "", []string{}},
		{"before everything", table, "a", "ab", []string{}},
		{"adjacent on the left", table, "a", "b", []string{}},
		{"adjacent on the right", table, "f", "h", []string{}},
		{"in a gap", table, "f", "g", []string{}},
		{"same range", table, "b", "d", []string{"b-d"}},
		{"inside one", table, "c", "cc", []string{"b-d"}},
		{"reaches in from the left", table, "a", "c", []string{"b-d"}},
		{"starts inside, ends outside", table, "c", "e", []string{"b-d", "d-f"}},
		{"two touching entries", table, "b", "f", []string{"b-d", "d-f"}},
		{"across a gap", table, "e", "i", []string{"d-f", "h-k"}},
		{"ends at a start", table, "e", "h", []string{"d-f"}},
		{"starts at an end", table, "f", "j", []string{"h-k"}},
		{"unbounded query", table, "e", "", []string{"d-f", "h-k", "m-"}},
		{"unbounded query from the start", table, "", "", []string{"b-d", "d-f", "h-k", "m-"}},
		{"unbounded entry", table, "x", "y", []string{"m-"}},
		{"unbounded entry, at its start", table, "m", "n", []string{"m-"}},
		{"just before an unbounded entry", table, "l", "m", []string{}},
		{"empty start key entry", []string{"-c", "c-"}, "", "a", []string{"-c"}},
		{"single unbounded entry", []string{"-"}, "q", "r", []string{"-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := overlapping(build(tc.index...), tc.start, tc.end)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("overlapping [%q, %q) = %q, want %q", tc.start, tc.end, got, tc.want)
			}
		})
	}
}

func TestOverlappingStops(t *testing.T) {
	x := build("b-d", "d-f", "h-k")
	for _, tc := range []struct {
		name       string
		start, end string
		want       string
	}{
		{"stops at the entry reaching in from the left", "c", "", "b-d"},
		{"stops at the first entry starting inside", "d", "", "d-f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			x.Overlapping([]byte(tc.start), []byte(tc.end), func(v string) bool {
				seen = append(seen, v)
				return false
			})
			if len(seen) != 1 || seen[0] != tc.want {
				t.Fatalf("saw %q, want only %q", seen, tc.want)
			}
		})
	}
}

func TestContainingAndAfter(t *testing.T) {
	x := build("b-d", "d-f", "h-k", "m-")
	for _, tc := range []struct {
		key               string
		containing, after string // "" for none
	}{
		{"a", "", "b-d"},
		{"b", "b-d", "d-f"},
		{"c", "b-d", "d-f"},
		{"d", "d-f", "h-k"},
		{"f", "", "h-k"},
		{"g", "", "h-k"},
		{"k", "", "m-"},
		{"m", "m-", ""},
		{"zzz", "m-", ""},
	} {
		got, ok := x.Containing([]byte(tc.key))
		if ok != (tc.containing != "") || got != tc.containing {
			t.Errorf("Containing(%q) = %q, %v; want %q", tc.key, got, ok, tc.containing)
		}
		got, ok = x.After([]byte(tc.key))
		if ok != (tc.after != "") || got != tc.after {
			t.Errorf("After(%q) = %q, %v; want %q", tc.key, got, ok, tc.after)
		}
	}
}

func TestSetGetDeleteCopy(t *testing.T) {
	x := build("b-d", "h-k")
	snap := x.Copy()
	x.Set("b-c") // same start: replaces
	x.Delete([]byte("h"))
	x.Delete([]byte("zz")) // absent: no-op
	if v, ok := x.Get([]byte("b")); !ok || v != "b-c" {
		t.Fatalf("Get(b) = %q, %v; want the replacement b-c", v, ok)
	}
	if _, ok := x.Get([]byte("c")); ok {
		t.Fatal("Get(c) found an entry: Get matches starts only")
	}
	if got := x.Values(); !slices.Equal(got, []string{"b-c"}) || x.Len() != 1 {
		t.Fatalf("after replace and delete: %q (len %d), want [b-c]", got, x.Len())
	}
	if got := overlapping(x, "c", "d"); len(got) != 0 {
		t.Fatalf("the replaced entry's old range still matches: %q", got)
	}
	if got := snap.Values(); !slices.Equal(got, []string{"b-d", "h-k"}) {
		t.Fatalf("the copy changed with the original: %q", got)
	}
}
