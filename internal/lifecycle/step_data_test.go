package lifecycle_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/regioncache/regioncache/internal/lifecycle"
)

// The lifecycle table is data, as etcd raft tests its Step: testdata holds
// one file per fixture (every state, with and without held snapshots where
// that matters), and in it one "step event=NAME" case per event, each with
// what Step returns rendered below its "----". The files are the reviewed
// table: a change to Step shows as a diff of them.
//
// Regenerate after a deliberate change, then read the diff:
//
//	go test ./internal/lifecycle -run 'TestStepData|TestArchitectureTable' -rewrite
//
// -rewrite (the datadriven package's flag) also writes a fixture's file if
// it is missing, and the generated table of ARCHITECTURE.md.

const testdataDir = "testdata"

// rewriting reports whether the test runs with datadriven's -rewrite.
func rewriting() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}

// describeMachine renders a machine in one line.
func describeMachine(m lifecycle.Machine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, safe point %d, %d snapshots", m.State, m.Inc, m.SafePoint, m.Snapshots)
	if m.Reason != "" {
		fmt.Fprintf(&b, ", reason %s", m.Reason)
	}
	return b.String()
}

// describeEvent renders an event in one line.
func describeEvent(ev lifecycle.Event) string {
	return fmt.Sprintf("%s %+v", lifecycle.EventName(ev), ev)
}

var outcomeNames = map[lifecycle.Outcome]string{
	lifecycle.Applied:      "applied",
	lifecycle.Deduplicated: "deduplicated",
	lifecycle.Rejected:     "rejected",
	lifecycle.Ignored:      "ignored",
	lifecycle.NotCached:    "not_cached",
}

func joinStrings[T any](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}

// renderStep is what a case of testdata says about one step: every field
// of the Result, those that are empty left out.
func renderStep(from lifecycle.Machine, ev lifecycle.Event, res lifecycle.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event: %s\n", describeEvent(ev))
	outcome, ok := outcomeNames[res.Outcome]
	if !ok {
		outcome = fmt.Sprintf("outcome(%d)", res.Outcome)
	}
	if res.Reject != lifecycle.NoReject {
		outcome += " (" + res.Reject.String() + ")"
	}
	fmt.Fprintf(&b, "outcome: %s\n", outcome)
	if reflect.DeepEqual(res.Next, from) {
		b.WriteString("next: unchanged\n")
	} else {
		fmt.Fprintf(&b, "next: %s\n", describeMachine(res.Next))
	}
	if len(res.Effects) > 0 {
		fmt.Fprintf(&b, "effects: %s\n", joinStrings(res.Effects))
	}
	if len(res.Counters) > 0 {
		fmt.Fprintf(&b, "counters: %s\n", joinStrings(res.Counters))
	}
	if res.Job != lifecycle.NoJobPart {
		fmt.Fprintf(&b, "job part: %s\n", res.Job)
	}
	if res.Why != "" {
		fmt.Fprintf(&b, "why: %s\n", res.Why)
	}
	return b.String()
}

// skeleton is a fixture's file before its first -rewrite: a header and one
// case per event, with no expected output yet.
func skeleton(f fixture) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Every event stepped from the fixture %q:\n# %s.\n", f.name, describeMachine(f.m))
	b.WriteString("# Generated with -rewrite (see step_data_test.go); review the diff.\n")
	for _, e := range events {
		fmt.Fprintf(&b, "\nstep event=%s\n----\n", e.name)
	}
	return b.String()
}

// TestStepData checks every state x every event against testdata: each
// fixture has its file, and each file has exactly one case per event.
func TestStepData(t *testing.T) {
	byName := make(map[string]namedEvent, len(events))
	for _, e := range events {
		byName[e.name] = e
	}
	var files []string
	for _, f := range fixtures {
		path := filepath.Join(testdataDir, f.name+".txt")
		files = append(files, path)
		if _, err := os.Stat(path); os.IsNotExist(err) && rewriting() {
			if err := os.MkdirAll(testdataDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(skeleton(f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(f.name, func(t *testing.T) {
			seen := map[string]int{}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				if d.Cmd != "step" {
					t.Fatalf("%s: unknown command %q (want step event=NAME)", d.Pos, d.Cmd)
				}
				var name string
				d.ScanArgs(t, "event", &name)
				e, ok := byName[name]
				if !ok {
					t.Fatalf("%s: unknown event %q", d.Pos, name)
				}
				seen[name]++
				res, p := stepSafely(f.m, e.ev)
				if p != nil {
					t.Fatalf("%s: Step panicked: %v", d.Pos, p)
				}
				if (res.Outcome == lifecycle.Ignored || res.Outcome == lifecycle.Rejected) && res.Why == "" {
					t.Errorf("%s: %s outcome without a reason for the log", d.Pos, outcomeNames[res.Outcome])
				}
				return renderStep(f.m, e.ev, res)
			})
			for _, e := range events {
				if seen[e.name] != 1 {
					t.Errorf("%s: event %s has %d cases, want exactly 1 (delete the file and run with -rewrite to regenerate it)", path, e.name, seen[e.name])
				}
			}
		})
	}
	// No file for a fixture that no longer exists.
	all, err := filepath.Glob(filepath.Join(testdataDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range all {
		if !slices.Contains(files, path) {
			t.Errorf("%s belongs to no fixture: delete it", path)
		}
	}
}

// --- ARCHITECTURE.md's table -------------------------------------------------

const (
	architecturePath = "../../ARCHITECTURE.md"
	tableBegin       = "<!-- lifecycle table: generated from internal/lifecycle's fixtures and events by `go test ./internal/lifecycle -run TestArchitectureTable -rewrite`; do not edit -->"
	tableEnd         = "<!-- end of the generated lifecycle table -->"
)

// architectureTable renders every pair that Step applies and that changes
// the machine or asks for work, one row per (state, next state, effects,
// counters, job part), with the events that take it. A row names the state
// alone when every fixture of that state steps the event alike, else the
// fixture. Every other pair (ignored, deduplicated, rejected, not cached,
// or applied as a no-op) leaves the machine unchanged; testdata lists them
// all.
func architectureTable() string {
	type cell struct{ from, to, effects, counts string }
	render := func(f fixture, res lifecycle.Result) cell {
		c := cell{from: f.label, to: res.Next.State.String(), effects: joinStrings(res.Effects), counts: joinStrings(res.Counters)}
		if res.Next.State == f.m.State && res.Next.Snapshots != f.m.Snapshots {
			c.to = fmt.Sprintf("%s (%+d snapshot)", c.to, res.Next.Snapshots-f.m.Snapshots)
		}
		if res.Next.Inc.Gen == f.m.Inc.Gen && res.Next.State != lifecycle.Absent && !reflect.DeepEqual(res.Next.Inc.Region, f.m.Inc.Region) {
			c.to += " (narrowed to the first child)"
		}
		if res.Job != lifecycle.NoJobPart {
			c.counts = strings.TrimPrefix(c.counts+", job part "+res.Job.String(), ", ")
		}
		if c.effects == "" {
			c.effects = "(none)"
		}
		return c
	}
	type row struct {
		cell
		events []string
	}
	var rows []*row
	index := map[cell]*row{}
	add := func(c cell, event string) {
		if r, ok := index[c]; ok {
			if !slices.Contains(r.events, event) {
				r.events = append(r.events, event)
			}
			return
		}
		r := &row{cell: c, events: []string{event}}
		index[c] = r
		rows = append(rows, r)
	}
	var states []lifecycle.State
	for _, f := range fixtures {
		if !slices.Contains(states, f.m.State) {
			states = append(states, f.m.State)
		}
	}
	for _, state := range states {
		for _, e := range events {
			var cells []cell
			var froms []fixture
			for _, f := range fixtures {
				if f.m.State != state {
					continue
				}
				res := lifecycle.Step(f.m, e.ev)
				if res.Outcome != lifecycle.Applied || (reflect.DeepEqual(res.Next, f.m) && len(res.Effects) == 0) {
					cells = append(cells, cell{})
				} else {
					cells = append(cells, render(f, res))
				}
				froms = append(froms, f)
			}
			same := true
			for _, c := range cells[1:] {
				a, b := c, cells[0]
				a.from, b.from = "", ""
				same = same && a == b
			}
			for i, c := range cells {
				if c == (cell{}) {
					continue
				}
				if same {
					c.from = state.String()
					add(c, e.label)
					break
				}
				c.from = froms[i].label
				add(c, e.label)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| from | event | to | effects the actor performs | counts |\n| --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.from, strings.Join(r.events, "; "), r.to, r.effects, r.counts)
	}
	return b.String()
}

// TestArchitectureTable fails when ARCHITECTURE.md's lifecycle table is not
// what the fixtures and events give; -rewrite rewrites it.
func TestArchitectureTable(t *testing.T) {
	doc, err := os.ReadFile(architecturePath)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(doc, []byte(tableBegin))
	end := bytes.Index(doc, []byte(tableEnd))
	if begin < 0 || end < begin {
		t.Fatalf("ARCHITECTURE.md has no generated lifecycle table: want a line %q, the table, and a line %q", tableBegin, tableEnd)
	}
	start := begin + len(tableBegin) + 1
	want := architectureTable()
	if string(doc[start:end]) == want {
		return
	}
	if rewriting() {
		out := slices.Concat(doc[:start], []byte(want), doc[end:])
		if err := os.WriteFile(architecturePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("ARCHITECTURE.md's lifecycle table is stale; run go test ./internal/lifecycle -run TestArchitectureTable -rewrite. It should be:\n%s", want)
}

// stepSafely steps m with ev and returns a panic as a value, so that one
// broken pair fails its case instead of the whole run.
func stepSafely(m lifecycle.Machine, ev lifecycle.Event) (res lifecycle.Result, panicked any) {
	defer func() { panicked = recover() }()
	return lifecycle.Step(m, ev), nil
}
