package eventlog_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
)

func reg(id, ver uint64, start, end string) regioncache.Region {
	r := regioncache.Region{ID: id, Version: ver, Start: []byte(start)}
	if end != "" {
		r.End = []byte(end)
	}
	return r
}

const (
	regionAM       = `{"id": 409114, "version": 214, "start": "a", "end": "m"}`
	takeS1         = `{"op": "snapshot", "name": "s1", "region": {"id": 1, "version": 1, "start": "a"}, "ts": 9}` + "\n"
	pauseAfterCopy = `{"op": "failpoint", "name": "load/after-copy", "action": "pause"}` + "\n"
)

// TestValidOps parses one line per case (after optional setup lines) and
// compares the last op's payload with the expected one.
func TestValidOps(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want eventlog.Payload
		str  string // expected String(), when given
	}{
		{"config sizes", `{"op":"config","capacity":"64MiB","evict_threshold":"512KiB","stop_load_threshold":1024,"loaders":3}`,
			&eventlog.Config{Capacity: 64 << 20, EvictThreshold: 512 << 10, StopLoadThreshold: 1024, Loaders: 3},
			"config capacity=64MiB evict_threshold=512KiB stop_load_threshold=1KiB loaders=3"},
		{"config one field", `{"op":"config","capacity":"2GiB"}`, &eventlog.Config{Capacity: 2 << 30}, ""},
		{"config units", `{"op":"config","capacity":"1TiB","evict_threshold":"10B","stop_load_threshold":"77"}`,
			&eventlog.Config{Capacity: 1 << 40, EvictThreshold: 10, StopLoadThreshold: 77}, ""},
		{"put", `{"op":"put","key":"a","ts":5,"value":"apple"}`,
			&eventlog.Put{Key: []byte("a"), Ts: 5, Value: []byte("apple")}, `put "a"@5 = "apple"`},
		{"put hex key", `{"op":"put","key":"0x7A7480","ts":1,"value":""}`,
			&eventlog.Put{Key: []byte{0x7a, 0x74, 0x80}, Ts: 1, Value: []byte{}}, `put 0x7a7480@1 = ""`},
		{"put lowercase hex and empty hex", `{"op":"put","key":"0x","ts":18446744073709551615,"value":"v"}`,
			&eventlog.Put{Key: []byte{}, Ts: 18446744073709551615, Value: []byte("v")}, ""},
		{"put unicode key", `{"op":"put","key":"é\u00e9","ts":1,"value":"\u00e9"}`,
			&eventlog.Put{Key: []byte("éé"), Ts: 1, Value: []byte("é")}, ""},
		{"put non-hex 0X is literal", `{"op":"put","key":"0X1","ts":1,"value":"v"}`,
			&eventlog.Put{Key: []byte("0X1"), Ts: 1, Value: []byte("v")}, ""},
		{"delete", `{"op":"delete","key":"k","ts":7}`, &eventlog.Delete{Key: []byte("k"), Ts: 7}, `delete "k"@7`},
		{"batch", `{"op":"batch","ops":[{"op":"put","key":"a","ts":1,"value":"x"},{"op":"delete","key":"0x00","ts":2}]}`,
			&eventlog.Batch{Ops: []eventlog.Mutation{
				{Key: []byte("a"), Ts: 1, Value: []byte("x")},
				{Key: []byte{0}, Ts: 2, Tombstone: true},
			}}, `batch of 2: put "a"@1 = "x", delete 0x00@2`},
		{"load", `{"op":"load","region":` + regionAM + `}`,
			&eventlog.Load{Region: reg(409114, 214, "a", "m")}, `load region 409114 v214 ["a", "m")`},
		{"load unbounded end missing", `{"op":"load","region":{"id":1,"version":1,"start":""}}`,
			&eventlog.Load{Region: reg(1, 1, "", "")}, `load region 1 v1 ["", +inf)`},
		{"load unbounded end empty", `{"op":"load","region":{"id":1,"version":1,"start":"z","end":""}}`,
			&eventlog.Load{Region: reg(1, 1, "z", "")}, ""},
		{"evict default reason", `{"op":"evict","region":` + regionAM + `}`,
			&eventlog.Evict{Region: reg(409114, 214, "a", "m"), Reason: "manual"}, `evict region 409114 v214 ["a", "m") (manual)`},
		{"evict reason", `{"op":"evict","region":` + regionAM + `,"reason":"ingest_sst"}`,
			&eventlog.Evict{Region: reg(409114, 214, "a", "m"), Reason: "ingest_sst"}, ""},
		{"split", `{"op":"split","region":{"id":1,"version":5,"start":"a","end":"z"},"into":[{"id":2,"version":6,"start":"m","end":"z"},{"id":1,"version":6,"start":"a","end":"m"}]}`,
			&eventlog.Split{Region: reg(1, 5, "a", "z"), Into: []regioncache.Region{reg(2, 6, "m", "z"), reg(1, 6, "a", "m")}}, ""},
		{"split three unbounded", `{"op":"split","region":{"id":1,"version":5,"start":""},"into":[{"id":1,"version":7,"start":"","end":"f"},{"id":3,"version":7,"start":"f","end":"q"},{"id":4,"version":8,"start":"q"}]}`,
			&eventlog.Split{Region: reg(1, 5, "", ""), Into: []regioncache.Region{reg(1, 7, "", "f"), reg(3, 7, "f", "q"), reg(4, 8, "q", "")}}, ""},
		{"merge", `{"op":"merge","regions":[{"id":2,"version":6,"start":"m","end":"z"},{"id":1,"version":6,"start":"a","end":"m"}],"into":{"id":2,"version":7,"start":"a","end":"z"}}`,
			&eventlog.Merge{Regions: []regioncache.Region{reg(2, 6, "m", "z"), reg(1, 6, "a", "m")}, Into: reg(2, 7, "a", "z")},
			`merge region 2 v6 ["m", "z"), region 1 v6 ["a", "m") into region 2 v7 ["a", "z")`},
		{"get no expectation", `{"op":"get","key":"a","ts":3}`, &eventlog.Get{Key: []byte("a"), Ts: 3}, `get "a"@3`},
		{"get expect null", `{"op":"get","key":"a","ts":3,"expect":null}`,
			&eventlog.Get{Key: []byte("a"), Ts: 3, Expect: eventlog.GetExpect{Set: true}}, `get "a"@3 expect not found`},
		{"get expect value", `{"op":"get","key":"a","ts":3,"expect":"v","source":"memory"}`,
			&eventlog.Get{Key: []byte("a"), Ts: 3, Expect: eventlog.GetExpect{Set: true, Found: true, Value: []byte("v")}, Source: eventlog.FromMemory},
			`get "a"@3 from memory expect "v"`},
		{"get expect empty string", `{"op":"get","key":"a","ts":3,"expect":"","source":"disk"}`,
			&eventlog.Get{Key: []byte("a"), Ts: 3, Expect: eventlog.GetExpect{Set: true, Found: true, Value: []byte{}}, Source: eventlog.FromDisk}, ""},
		{"get via snapshot without ts", takeS1 + `{"op":"get","key":"b","snapshot":"s1"}`,
			&eventlog.Get{Key: []byte("b"), Snapshot: "s1"}, `get "b" via snapshot "s1"`},
		{"get via snapshot with ts", takeS1 + `{"op":"get","key":"b","snapshot":"s1","ts":4}`,
			&eventlog.Get{Key: []byte("b"), Snapshot: "s1", Ts: 4}, ""},
		{"scan", `{"op":"scan","start":"a","end":"z","ts":9,"limit":2,"expect":[["b","1"],["0x63","2"]],"source":"disk"}`,
			&eventlog.Scan{Start: []byte("a"), End: []byte("z"), Ts: 9, Limit: 2, HasExpect: true,
				Expect: []eventlog.KV{{Key: []byte("b"), Value: []byte("1")}, {Key: []byte("c"), Value: []byte("2")}}, Source: eventlog.FromDisk},
			`scan ["a", "z")@9 limit 2 from disk expect 2 pairs`},
		{"scan unbounded expect empty", `{"op":"scan","start":"","end":"","ts":9,"expect":[]}`,
			&eventlog.Scan{Start: []byte{}, Ts: 9, HasExpect: true, Expect: []eventlog.KV{}}, `scan ["", +inf)@9 expect 0 pairs`},
		{"scan via snapshot", takeS1 + `{"op":"scan","start":"a","end":"b","ts":9,"snapshot":"s1"}`,
			&eventlog.Scan{Start: []byte("a"), End: []byte("b"), Ts: 9, Snapshot: "s1"}, ""},
		{"scan via snapshot without ts (1.1)", takeS1 + `{"op":"scan","start":"a","end":"b","snapshot":"s1","expect":[]}`,
			&eventlog.Scan{Start: []byte("a"), End: []byte("b"), Snapshot: "s1", HasExpect: true, Expect: []eventlog.KV{}},
			`scan ["a", "b") via snapshot "s1" expect 0 pairs`},
		{"snapshot", `{"op":"snapshot","name":"s1","region":` + regionAM + `,"ts":9,"source":"memory"}`,
			&eventlog.Snapshot{Name: "s1", Region: reg(409114, 214, "a", "m"), Ts: 9, Source: eventlog.FromMemory},
			`snapshot "s1" of region 409114 v214 ["a", "m")@9 from memory`},
		{"release", takeS1 + `{"op":"release","name":"s1"}`, &eventlog.Release{Name: "s1"}, `release snapshot "s1"`},
		{"name reusable after release", takeS1 + `{"op":"release","name":"s1"}` + "\n" + takeS1,
			&eventlog.Snapshot{Name: "s1", Region: reg(1, 1, "a", ""), Ts: 9}, ""},
		{"gc", `{"op":"gc","safe_point":100}`, &eventlog.GC{SafePoint: 100}, "gc safe_point 100"},
		{"failpoint pause", `{"op":"failpoint","name":"load/before-copy","action":"pause"}`,
			&eventlog.Failpoint{Name: "load/before-copy", Action: eventlog.Action{Kind: eventlog.ActionPause}}, "failpoint load/before-copy pause"},
		{"failpoint delay", `{"op":"failpoint","name":"evict/before-delete","action":"delay:10ms"}`,
			&eventlog.Failpoint{Name: "evict/before-delete", Action: eventlog.Action{Kind: eventlog.ActionDelay, Delay: 10 * time.Millisecond}},
			"failpoint evict/before-delete delay:10ms"},
		{"failpoint off", `{"op":"failpoint","name":"load/after-copy","action":"off"}`,
			&eventlog.Failpoint{Name: "load/after-copy", Action: eventlog.Action{Kind: eventlog.ActionOff}}, ""},
		{"failpoint error", `{"op":"failpoint","name":"load/after-copy","action":"error"}`,
			&eventlog.Failpoint{Name: "load/after-copy", Action: eventlog.Action{Kind: eventlog.ActionError}}, ""},
		{"failpoint panic", `{"op":"failpoint","name":"load/after-copy","action":"panic"}`,
			&eventlog.Failpoint{Name: "load/after-copy", Action: eventlog.Action{Kind: eventlog.ActionPanic}}, ""},
		{"failpoint resume", `{"op":"failpoint","name":"load/after-copy","action":"resume"}`,
			&eventlog.Failpoint{Name: "load/after-copy", Action: eventlog.Action{Kind: eventlog.ActionResume}}, ""},
		{"wait idle", `{"op":"wait","until":"idle"}`, &eventlog.Wait{Idle: true, Timeout: 10 * time.Second}, "wait until idle (timeout 10s)"},
		{"wait region", `{"op":"wait","region":7,"state":"loading_canceled","timeout":"1m"}`,
			&eventlog.Wait{Region: 7, State: regioncache.LoadingCanceled, Timeout: time.Minute}, "wait until region 7 is loading_canceled (timeout 1m0s)"},
		{"wait failpoint (1.1)", pauseAfterCopy + `{"op":"wait","failpoint":"load/after-copy"}`,
			&eventlog.Wait{Failpoint: "load/after-copy", Count: 1, Timeout: 10 * time.Second},
			"wait until work is paused at load/after-copy (timeout 10s)"},
		{"wait failpoint count", pauseAfterCopy + `{"op":"wait","failpoint":"load/after-copy","count":3,"timeout":"2s"}`,
			&eventlog.Wait{Failpoint: "load/after-copy", Count: 3, Timeout: 2 * time.Second},
			"wait until 3 pieces of work are paused at load/after-copy (timeout 2s)"},
		{"wait failpoint paused again", pauseAfterCopy + `{"op":"failpoint","name":"load/after-copy","action":"resume"}` + "\n" +
			pauseAfterCopy + `{"op":"wait","failpoint":"load/after-copy","count":1}`,
			&eventlog.Wait{Failpoint: "load/after-copy", Count: 1, Timeout: 10 * time.Second}, ""},
		{"expect state", `{"op":"expect","region":7,"state":"absent"}`,
			&eventlog.Expect{Assert: eventlog.AssertState, Region: 7, State: regioncache.Absent}, "expect region 7 is absent"},
		{"expect counter zero", `{"op":"expect","counter":"keys_loaded","value":0}`,
			&eventlog.Expect{Assert: eventlog.AssertCounter, Counter: "keys_loaded", Value: 0}, "expect keys_loaded == 0"},
		{"expect memory", `{"op":"expect","memory_at_most":"48MiB"}`,
			&eventlog.Expect{Assert: eventlog.AssertMemory, MemoryAtMost: 48 << 20}, "expect memory <= 48MiB"},
		{"expect memory zero", `{"op":"expect","memory_at_most":0}`,
			&eventlog.Expect{Assert: eventlog.AssertMemory}, "expect memory <= 0B"},
		{"check", `{"op":"check"}`, &eventlog.Check{}, "check"},
		{"sleep", `{"op":"sleep","for":"1.5s"}`, &eventlog.Sleep{For: 1500 * time.Millisecond}, "sleep 1.5s"},
		{"whitespace and escapes", "  {\"op\" : \"sle\\u0065p\" ,\t\"for\":\"5s\"}  ", &eventlog.Sleep{For: 5 * time.Second}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, err := eventlog.Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			last := log.Ops[len(log.Ops)-1]
			if !reflect.DeepEqual(last.Payload, tc.want) {
				t.Errorf("payload\n got %#v\nwant %#v", last.Payload, tc.want)
			}
			if last.Kind() != tc.want.Kind() {
				t.Errorf("kind %v, want %v", last.Kind(), tc.want.Kind())
			}
			if tc.str != "" && last.String() != tc.str {
				t.Errorf("String() = %q, want %q", last.String(), tc.str)
			}
			if last.Text != strings.Split(tc.in, "\n")[last.Line-1] {
				t.Errorf("Text = %q", last.Text)
			}
		})
	}
}

func TestEveryKindCovered(t *testing.T) {
	for k := eventlog.KindConfig; k <= eventlog.KindSleep; k++ {
		got, ok := eventlog.ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if _, ok := eventlog.ParseKind(""); ok {
		t.Error("ParseKind(\"\") succeeded")
	}
}

func TestAt(t *testing.T) {
	in := `{"op":"check","at":"2024-09-05T06:49:46.858Z"}
{"op":"check"}
{"op":"check","at":"2024-09-05T08:49:46+02:00"}
{"op":"batch","at":"2024-09-05T06:49:47.000000001Z","ops":[{"op":"delete","key":"a","ts":1}]}`
	log, err := eventlog.Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 9, 5, 6, 49, 46, 858e6, time.UTC)
	if op := log.Ops[0]; !op.HasAt || !op.At.Equal(want) {
		t.Errorf("op 0 at %v %v", op.HasAt, op.At)
	}
	if op := log.Ops[1]; op.HasAt || !op.At.IsZero() {
		t.Errorf("op 1 at %v %v", op.HasAt, op.At)
	}
	if op := log.Ops[2]; !op.HasAt || !op.At.Equal(want.Add(-858*time.Millisecond)) {
		t.Errorf("op 2 at %v", op.At)
	}
	if op := log.Ops[3]; !op.At.Equal(want.Add(142*time.Millisecond + 1)) {
		t.Errorf("op 3 at %v", op.At)
	}
}

func TestCommentsAndLines(t *testing.T) {
	in := "\ufeff# Title of the example\r\n" +
		"#   indented text\r\n" +
		"\r\n" +
		"  // second paragraph\n" +
		"\t\n" +
		`{"op":"config","loaders":2}` + "\r\n" +
		"# between ops\n" +
		`{"op":"config","loaders":4,"capacity":100}` + "\n" +
		`{"op":"check"}` // no final newline
	log, err := eventlog.ParseNamed("x.jsonl", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if log.Name != "x.jsonl" {
		t.Errorf("Name %q", log.Name)
	}
	want := []eventlog.Comment{{Line: 1, Text: "Title of the example"}, {Line: 2, Text: "  indented text"},
		{Line: 4, Text: "second paragraph"}, {Line: 7, Text: "between ops"}}
	if !reflect.DeepEqual(log.Comments, want) {
		t.Errorf("Comments = %#v", log.Comments)
	}
	if got, w := log.LeadingComment(), "Title of the example\n  indented text\n\nsecond paragraph"; got != w {
		t.Errorf("LeadingComment = %q, want %q", got, w)
	}
	var lines []int
	for _, op := range log.Ops {
		lines = append(lines, op.Line)
	}
	if !reflect.DeepEqual(lines, []int{6, 8, 9}) {
		t.Errorf("op lines %v", lines)
	}
	if log.Ops[0].Text != `{"op":"config","loaders":2}` {
		t.Errorf("Text %q keeps the line ending", log.Ops[0].Text)
	}
	if want := (eventlog.Config{Capacity: 100, Loaders: 4}); log.Config != want {
		t.Errorf("merged Config %+v", log.Config)
	}
}

func TestEmptyInput(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment", "\ufeff"} {
		log, err := eventlog.Parse(strings.NewReader(in))
		if err != nil || len(log.Ops) != 0 {
			t.Errorf("Parse(%q) = %v, %v", in, log, err)
		}
	}
}

func TestValidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		log, err := eventlog.ParseFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(log.Ops) == 0 || log.LeadingComment() == "" {
			t.Errorf("%s: %d ops, leading comment %q", f, len(log.Ops), log.LeadingComment())
		}
		for _, op := range log.Ops {
			if op.String() == "" {
				t.Errorf("%s:%d: empty summary", f, op.Line)
			}
		}
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := eventlog.ParseFile(filepath.Join(t.TempDir(), "nope.jsonl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadError(t *testing.T) {
	_, err := eventlog.ParseNamed("in", failingReader{})
	if err == nil || err.Error() != "regioncache: eventlog: reading in: disk on fire" {
		t.Errorf("err = %v", err)
	}
}

func TestParseKey(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a", "0x": "", "0x00ff": "\x00\xff", "0xAbCd": "\xab\xcd", "x0x1": "x0x1"} {
		got, err := eventlog.ParseKey(in)
		if err != nil || string(got) != want || got == nil {
			t.Errorf("ParseKey(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"0x0", "0xg0", "0x 0", "0x0x"} {
		if _, err := eventlog.ParseKey(in); err == nil || !strings.Contains(err.Error(), "bad key") {
			t.Errorf("ParseKey(%q) err = %v", in, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "10B": 10, "4096": 4096, "1KiB": 1024, "512KiB": 512 << 10,
		"64MiB": 64 << 20, "1GiB": 1 << 30, "3TiB": 3 << 40, "16777215TiB": 16777215 << 40} {
		got, err := eventlog.ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "B", "KiB", "1KB", "1MB", "1kib", "1.5GiB", "-1", "+1", " 1", "1 MiB", "1e3", "16777216TiB", "99999999999999999999"} {
		if _, err := eventlog.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
	for n, want := range map[uint64]string{0: "0B", 1: "1B", 1023: "1023B", 1024: "1KiB", 1536: "1536B",
		64 << 20: "64MiB", 3 << 30: "3GiB", 5 << 40: "5TiB", 1<<50 + 1<<40: "1025TiB"} {
		if got := eventlog.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, in := range []string{"pause", "resume", "error", "panic", "off", "delay:10ms", "delay:1h2m"} {
		a, err := eventlog.ParseAction(in)
		if err != nil {
			t.Errorf("ParseAction(%q): %v", in, err)
			continue
		}
		if b, _ := eventlog.ParseAction(a.String()); b != a {
			t.Errorf("%q does not round-trip: %v", in, a)
		}
	}
	for _, in := range []string{"", "delay", "delay:", "delay:0s", "delay:-1ms", "delay:10", "Pause", "stop"} {
		if _, err := eventlog.ParseAction(in); err == nil {
			t.Errorf("ParseAction(%q) succeeded", in)
		}
	}
}

func TestLists(t *testing.T) {
	if len(eventlog.Counters) != 11 || eventlog.Counters[0] != "loads_requested" || eventlog.Counters[10] != "keys_loaded" {
		t.Errorf("Counters = %v", eventlog.Counters)
	}
	if len(eventlog.EvictReasons) != 12 || eventlog.EvictReasons[0] != eventlog.DefaultEvictReason {
		t.Errorf("EvictReasons = %v", eventlog.EvictReasons)
	}
	if len(eventlog.FailpointNames) != 3 {
		t.Errorf("FailpointNames = %v", eventlog.FailpointNames)
	}
}
