package tests

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

// scenarioLogs are the replay scenarios: testdata/*.jsonl (the
// subdirectories belong to other tests).
func scenarioLogs(t *testing.T) []*eventlog.Log {
	t.Helper()
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(files) < 12 {
		t.Fatalf("want at least 12 scenario logs in testdata/, found %d (%v)", len(files), err)
	}
	logs := make([]*eventlog.Log, len(files))
	for i, f := range files {
		if logs[i], err = eventlog.ParseFile(f); err != nil {
			t.Fatal(err)
		}
	}
	return logs
}

// TestReplayScenarios replays every scenario: each must hold every
// expectation it makes.
func TestReplayScenarios(t *testing.T) {
	for _, log := range scenarioLogs(t) {
		t.Run(strings.TrimSuffix(filepath.Base(log.Name), ".jsonl"), func(t *testing.T) {
			t.Parallel()
			if len(log.Comments) == 0 || log.Comments[0].Line != 1 {
				t.Errorf("%s does not open with a comment saying what it covers", log.Name)
			}
			inv := &invariants{} // and, after every op, the account and the load counters
			res, err := replay.Run(context.Background(), log, inv.options())
			if err != nil {
				t.Fatal(err)
			}
			inv.addTo(res)
			for _, f := range res.Failures {
				t.Errorf("%s:%d: %s", log.Name, f.Line, f.Message)
			}
		})
	}
}

// TestReplayScenariosCoverTheSpec checks that the scenarios, together, use
// every op, reach and assert every state, and assert every counter with a
// value other than zero: a part of the spec no scenario touches is untested.
func TestReplayScenariosCoverTheSpec(t *testing.T) {
	ops := map[eventlog.Kind]bool{}
	asserted := map[regioncache.State]bool{}
	counters := map[string]bool{}
	// The forms spec 1.1 added: a wait on a failpoint, a scan through a
	// snapshot without ts.
	var waitsOnFailpoint, scansAtSnapshotTs bool
	for _, log := range scenarioLogs(t) {
		for _, op := range log.Ops {
			ops[op.Kind()] = true
			switch p := op.Payload.(type) {
			case *eventlog.Scan:
				scansAtSnapshotTs = scansAtSnapshotTs || p.Snapshot != "" && p.Ts == 0
			case *eventlog.Expect:
				switch p.Assert {
				case eventlog.AssertState:
					asserted[p.State] = true
				case eventlog.AssertCounter:
					counters[p.Counter] = counters[p.Counter] || p.Value > 0
				}
			case *eventlog.Wait:
				waitsOnFailpoint = waitsOnFailpoint || p.Failpoint != ""
				if !p.Idle && p.Failpoint == "" {
					asserted[p.State] = true
				}
			}
		}
	}
	if !waitsOnFailpoint {
		t.Error("no scenario waits on a failpoint")
	}
	if !scansAtSnapshotTs {
		t.Error("no scenario scans through a snapshot without ts")
	}
	for k := eventlog.KindConfig; k <= eventlog.KindSleep; k++ {
		if !ops[k] {
			t.Errorf("no scenario uses op %s", k)
		}
	}
	for _, s := range []regioncache.State{regioncache.Absent, regioncache.Pending, regioncache.Loading, regioncache.Active,
		regioncache.LoadingCanceled, regioncache.PendingEvict, regioncache.Evicting} {
		if !asserted[s] {
			t.Errorf("no scenario asserts state %s", s)
		}
	}
	for _, c := range eventlog.Counters {
		if !counters[c] {
			t.Errorf("no scenario asserts a nonzero %s", c)
		}
	}
}
