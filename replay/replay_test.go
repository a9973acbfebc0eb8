package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

func parse(t *testing.T, text string) *eventlog.Log {
	t.Helper()
	log, err := eventlog.ParseNamed("test.jsonl", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func run(t *testing.T, text string, opts replay.Options) *replay.Result {
	t.Helper()
	res, err := replay.Run(context.Background(), parse(t, text), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const loadAndWait = `{"op": "put", "key": "a", "ts": 5, "value": "apple"}
{"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "wait", "until": "idle"}
`

func TestGreenRunRecordsEverything(t *testing.T) {
	var started, done, transitions, marks int
	res := run(t, loadAndWait+`{"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "get", "key": "a", "ts": 9, "expect": "apple", "source": "memory"}
{"op": "expect", "region": 1, "state": "active"}
`, replay.Options{Observer: replay.Observer{
		OpStart:    func(int, eventlog.Op) { started++ },
		OpDone:     func(int, eventlog.Op, replay.OpRecord) { done++ },
		Transition: func(replay.Transition) { transitions++ },
		Mark:       func(replay.Mark) { marks++ },
		Failure:    func(f replay.Failure) { t.Errorf("unexpected failure: %+v", f) },
	}})
	if !res.OK() || res.Events != 6 || res.Expectations != 3 || res.Failed != 0 {
		t.Fatalf("result: events %d expectations %d failed %d", res.Events, res.Expectations, res.Failed)
	}
	if started != 6 || done != 6 || len(res.Ops) != 6 {
		t.Errorf("observer saw %d starts, %d ends; %d op records; want 6", started, done, len(res.Ops))
	}
	if transitions != len(res.Transitions) || marks != len(res.Marks) {
		t.Errorf("observer saw %d transitions, %d marks; result has %d, %d", transitions, marks, len(res.Transitions), len(res.Marks))
	}
	// absent -> pending -> loading -> active, in order.
	var states []string
	for _, tr := range res.Transitions {
		if tr.Region.ID == 1 {
			states = append(states, tr.To.String())
		}
	}
	if got := strings.Join(states, ","); got != "pending,loading,active" {
		t.Errorf("region 1 went through %s", got)
	}
	if len(res.Marks) != 2 || res.Marks[0].Kind != replay.MarkLoadAccepted || res.Marks[1].Kind != replay.MarkLoadDeduplicated {
		t.Errorf("marks: %+v", res.Marks)
	}
	if res.Marks[1].Line != 4 {
		t.Errorf("dedup mark on line %d, want 4", res.Marks[1].Line)
	}
	if res.Regions[1] != "active" || res.Counters["loads_deduplicated"] != 1 || res.Counters["reads_memory"] != 1 {
		t.Errorf("regions %v counters %v", res.Regions, res.Counters)
	}
	if len(res.Counters) != len(eventlog.Counters) {
		t.Errorf("counters %v, want all of %v", res.Counters, eventlog.Counters)
	}
}

// TestFailuresAreReportedWithTheirLine runs one failing assertion of each
// kind and checks each is reported on its line, and the replay goes on.
func TestFailuresAreReportedWithTheirLine(t *testing.T) {
	text := loadAndWait + // lines 1-3
		`{"op": "get", "key": "a", "ts": 9, "expect": "pear"}
{"op": "get", "key": "a", "ts": 9, "source": "disk"}
{"op": "get", "key": "b", "ts": 9, "expect": "x"}
{"op": "scan", "start": "a", "end": "m", "ts": 9, "expect": [["a", "apple"], ["b", "x"]]}
{"op": "scan", "start": "a", "end": "m", "ts": 9, "expect": []}
{"op": "expect", "region": 1, "state": "pending"}
{"op": "expect", "counter": "loads_started", "value": 7}
{"op": "expect", "memory_at_most": 1}
{"op": "wait", "region": 2, "state": "active", "timeout": "20ms"}
{"op": "snapshot", "name": "s", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}, "ts": 9, "source": "disk"}
{"op": "get", "key": "z", "snapshot": "s"}
{"op": "get", "key": "a", "ts": 9, "expect": "apple", "source": "memory"}
`
	res := run(t, text, replay.Options{})
	want := map[int]string{
		4:  `got "apple", want "pear"`,
		5:  "served from memory, want disk",
		6:  `got not found, want "x"`,
		7:  "got 1 pair(s), want 2",
		8:  "got 1 pair(s), want 0",
		9:  "it is active",
		10: "it is 1",
		11: "it is ",
		12: "timed out after 20ms: it is absent",
		13: "served from memory, want disk",
		14: "outside",
	}
	got := map[int]string{}
	for _, f := range res.Failures {
		got[f.Line] = f.Message
		if f.OpText != parse(t, text).Ops[f.Op].Text {
			t.Errorf("line %d: op text %q", f.Line, f.OpText)
		}
	}
	for line, msg := range want {
		if !strings.Contains(got[line], msg) {
			t.Errorf("line %d: failure %q, want it to say %q", line, got[line], msg)
		}
	}
	if len(res.Failures) != len(want) || res.Failed != len(want) {
		t.Errorf("%d failures, want %d: %+v", len(res.Failures), len(want), res.Failures)
	}
	// Expectations: the wait on line 3, lines 4-13 and 15, and the plain
	// read on line 14, which asserts nothing but failed.
	if res.Events != 15 || res.Expectations != 13 {
		t.Errorf("events %d expectations %d, want 15 and 13", res.Events, res.Expectations)
	}
	if res.Failures[0].Region != 1 {
		t.Errorf("a get in region 1 failed, but the failure is placed on region %d", res.Failures[0].Region)
	}
}

// TestWaitForPausedWork: a wait on a failpoint returns once that many loads
// are paused there (two loaders, two loads), so the evictions after it are
// known to reach each load after its copy; a wait for more than can arrive
// times out and is a failed expectation. A scan through a snapshot needs no ts.
func TestWaitForPausedWork(t *testing.T) {
	text := `{"op": "config", "loaders": 2}
{"op": "put", "key": "a", "ts": 5, "value": "apple"}
{"op": "put", "key": "n", "ts": 5, "value": "nut"}
{"op": "failpoint", "name": "load/after-copy", "action": "pause"}
{"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "load", "region": {"id": 2, "version": 1, "start": "m", "end": "z"}}
{"op": "wait", "failpoint": "load/after-copy", "count": 2}
{"op": "evict", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "wait", "failpoint": "load/after-copy", "count": 3, "timeout": "20ms"}
{"op": "failpoint", "name": "load/after-copy", "action": "resume"}
{"op": "wait", "until": "idle"}
{"op": "expect", "counter": "keys_loaded", "value": 1}
{"op": "expect", "counter": "loads_canceled", "value": 1}
{"op": "expect", "region": 2, "state": "active"}
{"op": "snapshot", "name": "s", "region": {"id": 2, "version": 1, "start": "m", "end": "z"}, "ts": 9, "source": "memory"}
{"op": "scan", "start": "a", "end": "", "snapshot": "s", "expect": [["n", "nut"]], "source": "memory"}
`
	res := run(t, text, replay.Options{})
	if len(res.Failures) != 1 || res.Failures[0].Line != 9 ||
		!strings.Contains(res.Failures[0].Message, "timed out after 20ms: fewer than 3 pieces of work paused there") {
		t.Fatalf("want only the wait on line 9 to fail (timeout), got %+v", res.Failures)
	}
	if got := res.Ops[6].Outcome; got != "2 pieces of work paused there" {
		t.Errorf("line 7 outcome %q", got)
	}
}

func TestSnapshotThatFailedIsNotHeld(t *testing.T) {
	res := run(t, `{"op": "snapshot", "name": "s", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}, "ts": 5}
{"op": "get", "key": "b", "snapshot": "s"}
{"op": "release", "name": "s"}
`, replay.Options{})
	if res.Failed != 0 {
		t.Fatalf("a snapshot of an uncached region is taken from disk; failures: %+v", res.Failures)
	}
}

func TestLoadRejectionIsAMarkNotAFailure(t *testing.T) {
	res := run(t, loadAndWait+`{"op": "load", "region": {"id": 2, "version": 1, "start": "b", "end": "z"}}
`, replay.Options{})
	if !res.OK() {
		t.Fatalf("failures: %+v", res.Failures)
	}
	last := res.Marks[len(res.Marks)-1]
	if last.Kind != replay.MarkLoadRejected || last.Region.ID != 2 || !strings.Contains(last.Detail, "overlap") {
		t.Errorf("last mark %+v, want the rejection of region 2 (overlap)", last)
	}
	if res.Counters["loads_rejected"] != 1 {
		t.Errorf("loads_rejected %d", res.Counters["loads_rejected"])
	}
}

func TestJSONShape(t *testing.T) {
	res := run(t, loadAndWait+`{"op": "expect", "region": 1, "state": "pending"}
`, replay.Options{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(keys, ","); got != "file,events,expectations,failed,failures,regions,counters" {
		t.Errorf("keys %s", got)
	}
	var v struct {
		Events, Expectations, Failed int
		Failures                     []struct {
			File    string
			Line    int
			Op      map[string]any
			Message string
		}
		Regions  map[string]string
		Counters map[string]int64
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Events != 4 || v.Expectations != 2 || v.Failed != 1 || len(v.Failures) != 1 {
		t.Fatalf("%s", b)
	}
	f := v.Failures[0]
	if f.File != "test.jsonl" || f.Line != 4 || f.Op["op"] != "expect" || !strings.Contains(f.Message, "it is active") {
		t.Errorf("failure %+v", f)
	}
	if v.Regions["1"] != "active" || len(v.Counters) != len(eventlog.Counters) || v.Counters["loads_completed"] != 1 {
		t.Errorf("%s", b)
	}
	// Counters come in the spec's order.
	if i, j := bytes.Index(b, []byte(`"loads_requested"`)), bytes.Index(b, []byte(`"keys_loaded"`)); i < 0 || j < i {
		t.Errorf("counters out of order: %s", b)
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := parse(t, loadAndWait+`{"op": "snapshot", "name": "s", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}, "ts": 9}
{"op": "sleep", "for": "1h"}
{"op": "check"}
`)
	res, err := replay.Run(ctx, log, replay.Options{Observer: replay.Observer{
		OpStart: func(_ int, op eventlog.Op) {
			if op.Kind() == eventlog.KindSleep {
				cancel()
			}
		},
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if res == nil || res.Events != 4 {
		t.Fatalf("partial result %+v, want the 4 ops before the sleep", res)
	}
}

func TestPacingAndDataDir(t *testing.T) {
	dir := t.TempDir()
	res := run(t, `{"op": "put", "at": "2024-09-05T06:49:46.000Z", "key": "a", "ts": 5, "value": "v"}
{"op": "put", "at": "2024-09-05T06:49:46.002Z", "key": "b", "ts": 5, "value": "v"}
{"op": "put", "at": "2024-09-05T06:49:45.000Z", "key": "c", "ts": 5, "value": "v"}
{"op": "get", "key": "b", "ts": 6, "expect": "v", "source": "disk"}
`, replay.Options{Realtime: true, Speed: 4, DataDir: dir})
	if !res.OK() {
		t.Fatalf("failures: %+v", res.Failures)
	}
	if entries, _ := os.ReadDir(dir); len(entries) == 0 {
		t.Errorf("nothing was written to the data dir %s", dir)
	}
	if !res.Ops[0].At.Equal(parse(t, `{"op": "check", "at": "2024-09-05T06:49:46.000Z"}`).Ops[0].At) {
		t.Errorf("op record lost its at: %+v", res.Ops[0])
	}
	if _, err := replay.Run(context.Background(), parse(t, `{"op": "check"}`), replay.Options{Speed: -1}); err == nil {
		t.Error("a negative speed was accepted")
	}
}

func TestTimelineIsWellFormed(t *testing.T) {
	a := run(t, loadAndWait+`{"op": "load", "region": {"id": 2, "version": 1, "start": "b", "end": "z"}}
{"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "evict", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "wait", "until": "idle"}
{"op": "expect", "counter": "evictions", "value": 5}
{"op": "get", "key": "a", "ts": 9, "expect": "<&>"}
`, replay.Options{})
	b := run(t, `{"op": "check"}`, replay.Options{})
	for name, write := range map[string]func(io.Writer, ...*replay.Result) error{
		"svg": replay.WriteTimelineSVG, "html": replay.WriteTimelineHTML,
	} {
		var buf bytes.Buffer
		if err := write(&buf, a, b); err != nil {
			t.Fatal(err)
		}
		checkXML(t, name, buf.Bytes())
		for _, want := range []string{"region 1", "region 2", "load deduplicated", "load rejected", "evictions == 5", "&lt;&amp;&gt;", "PASS", "FAIL"} {
			if !bytes.Contains(buf.Bytes(), []byte(want)) {
				t.Errorf("%s timeline does not mention %q", name, want)
			}
		}
		for _, st := range []regioncache.State{regioncache.Pending, regioncache.Loading, regioncache.Active, regioncache.Evicting} {
			if !bytes.Contains(buf.Bytes(), []byte(replay.StateColors[st])) {
				t.Errorf("%s timeline has no %s span", name, st)
			}
		}
	}
}

// checkXML decodes the whole document.
func checkXML(t *testing.T, name string, doc []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s timeline is not well-formed XML: %v", name, err)
		}
	}
}
