package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

// demo runs the command as main would, with files and stdin of the test's.
func demo(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes a log into the test's directory and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const green = `# a green log
{"op": "put", "key": "a", "ts": 5, "value": "apple"}
{"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "wait", "until": "idle"}
{"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
{"op": "get", "key": "a", "ts": 9, "expect": "apple", "source": "memory"}
`

func TestBareDemoTellsTheSeedIncident(t *testing.T) {
	code, out, errOut := demo(t, "")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"region 409114 (version 214) is asked to load twice", // the leading comment
		"deduplicated (already loading)",                     // the second request absorbed
		"409114 v214   pending -> loading",                   // one copy...
		"409114 v214   loading -> active",                    // ...the region active
		`"red" from memory`,                                  // reads served from memory
		"PASS  examples/seed-incident.jsonl",
		"loads_started 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the bare demo does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "+0.") {
		t.Errorf("the TIME column mixes elapsed times with the log's clock:\n%s", out)
	}
	if strings.Count(out, "-> loading") != 1 {
		t.Errorf("want exactly one load to start:\n%s", out)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"replay", "--help"}, {"help", "replay"}, {"bench", "--help"}} {
		code, out, _ := demo(t, "", args...)
		if code != exitOK || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
		if args[len(args)-1] != "bench" && args[0] != "bench" && !strings.Contains(out, "docs/event-log.md") {
			t.Errorf("%v does not point to the spec:\n%s", args, out)
		}
	}
	_, out, _ := demo(t, "", "replay", "--help")
	for _, kind := range []string{"config", "put", "delete", "batch", "load", "evict", "split", "merge", "get", "scan", "snapshot", "release", "gc", "failpoint", "wait", "expect", "check", "sleep"} {
		if !strings.Contains(out, "\n  "+kind+" ") {
			t.Errorf("replay --help does not list op %s", kind)
		}
	}
}

// TestMalformed: every malformed input exits 2, says FILE:LINE: what is
// wrong, and runs nothing, even when it is not the first file.
func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"invalid json", `{"op": "put",`, 1, "invalid JSON"},
		{"unknown op", green + `{"op": "teleport"}`, 7, `unknown op "teleport"`},
		{"missing field", `{"op": "put", "key": "a", "value": "v"}`, 1, `missing field "ts"`},
		{"mistyped field", `{"op": "put", "key": "a", "ts": "5", "value": "v"}`, 1, `must be a positive integer`},
		{"unknown field", `{"op": "get", "key": "a", "ts": 1, "expected": "v"}`, 1, `unknown field "expected"`},
		{"bad key", `{"op": "delete", "key": "0x7A748", "ts": 1}`, 1, "bad key"},
		{"bad size", `{"op": "config", "capacity": "64MB"}`, 1, `bad size "64MB"`},
		// Issue 11 point 12: a config the engine refuses is the log's
		// problem at its config line, before anything runs (it was exit 2
		// "opening the engine" with no line, after the header).
		{"evict above capacity", `{"op": "config", "capacity": "8MiB", "evict_threshold": "16MiB"}`, 1,
			"config: invalid options: evict threshold 16777216 is above capacity 8388608"},
		{"stop-load above capacity, set apart", "# c\n" + `{"op": "config", "capacity": "8MiB"}` + "\n" + `{"op": "config", "stop_load_threshold": "16MiB"}`, 3,
			"stop-load threshold 16777216 is above capacity 8388608"},
		{"bad duration", "# c\n" + `{"op": "sleep", "for": "10"}`, 2, "bad duration"},
		{"start not below end", `{"op": "load", "region": {"id": 1, "version": 1, "start": "m", "end": "a"}}`, 1, "region"},
		{"split not a partition", `{"op": "split", "region": {"id": 1, "version": 1, "start": "a", "end": "z"}, "into": [{"id": 1, "version": 2, "start": "a", "end": "f"}, {"id": 2, "version": 2, "start": "g", "end": "z"}]}`, 1, "not contiguous"},
		{"snapshot not held", `{"op": "get", "key": "a", "snapshot": "s"}`, 1, `snapshot "s" is not held`},
		{"snapshot released", `{"op": "snapshot", "name": "s", "region": {"id": 1, "version": 1, "start": "a"}, "ts": 1}
{"op": "release", "name": "s"}
{"op": "release", "name": "s"}`, 3, "released on line 2"},
		{"config after op", green + `{"op": "config", "loaders": 2}`, 7, "config: must come before every other op"},
		{"unknown state", `{"op": "expect", "region": 1, "state": "warm"}`, 1, `unknown region state "warm"`},
		{"unknown counter", `{"op": "expect", "counter": "loads", "value": 1}`, 1, `unknown counter "loads"`},
		{"unknown failpoint", `{"op": "failpoint", "name": "load/somewhere", "action": "pause"}`, 1, "unknown failpoint"},
		{"bad action", `{"op": "failpoint", "name": "load/before-copy", "action": "delay:-1s"}`, 1, "bad action"},
		{"bad reason", `{"op": "evict", "region": {"id": 1, "version": 1, "start": "a"}, "reason": "tired"}`, 1, `unknown reason "tired"`},
		{"bad wait", `{"op": "wait", "until": "done"}`, 1, `"until" must be "idle"`},
		{"bad at", `{"op": "check", "at": "yesterday"}`, 1, "bad time"},
		{"not utf-8", "# caf\xe9", 1, "not valid UTF-8"},
		{"scan expect unordered", `{"op": "scan", "start": "a", "end": "z", "ts": 1, "expect": [["b", "1"], ["a", "2"]]}`, 1, "not above the previous key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := writeFile(t, "good.jsonl", green)
			bad := writeFile(t, "bad.jsonl", tt.in)
			code, out, errOut := demo(t, "", "replay", good, bad)
			want := fmt.Sprintf("%s:%d: ", bad, tt.line)
			if code != exitUsage || !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q...%q", code, errOut, want, tt.msg)
			}
			if out != "" {
				t.Errorf("something ran before the input was checked:\n%s", out)
			}
			// The same through standard input.
			code, _, errOut = demo(t, tt.in, "replay", "--json", "-")
			if want := fmt.Sprintf("%s:%d: ", stdinName, tt.line); code != exitUsage || !strings.HasPrefix(errOut, want) {
				t.Errorf("stdin: exit %d, stderr %q; want exit 2 and %q", code, errOut, want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	good := writeFile(t, "good.jsonl", green)
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"teleport"}, `unknown command "teleport"`},
		{[]string{"replay"}, "no FILE given"},
		{[]string{"replay", "--nope", good}, "flag provided but not defined"},
		{[]string{"replay", filepath.Join(t.TempDir(), "missing.jsonl")}, "no such file"},
		{[]string{"replay", "--timeline", "x.png", good}, "want a .svg or .html file"},
		{[]string{"replay", "--speed", "-2", good}, "demo replay: --speed -2: want a number from 0.001 to 1000"},
		{[]string{"replay", t.TempDir()}, "no *.jsonl file in it"},
		{[]string{"replay", "--quiet", "--verbose", good}, "cannot be combined"},
		{[]string{"replay", "--log-level", "loud", good}, "--log-level"},
		{[]string{"replay", "--data", full, good}, "is not empty"},
		{[]string{"replay", "-", "-"}, "given twice"},
		{[]string{"bench", "extra"}, "unexpected argument"},
		{[]string{"bench", "--keys", "0"}, "want one positive count"},
		{[]string{"bench", "--keys", "10,20"}, "want one positive count"},
		{[]string{"bench", "--svg", "x.svg"}, "--svg needs --growth"},
		{[]string{"bench", "--growth", "--keys", "100,x"}, "not a positive count"},
		{[]string{"bench", "--growth", "--keys", "1000,100"}, "sizes must increase"},
		{[]string{"bench", "--growth", "--regions", "-1"}, "not a positive count"},
		{[]string{"bench", "--growth", "--region-keys", "0"}, "want a positive count"},
	} {
		code, out, errOut := demo(t, "", tt.args...)
		if code != exitUsage || !strings.Contains(errOut, tt.msg) || strings.Contains(out, "PASS") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.msg)
		}
	}
}

const failing = `{"op": "put", "key": "a", "ts": 5, "value": "apple"}
# a comment, so that lines and ops differ
{"op": "expect", "region": 1, "state": "active"}
{"op": "get", "key": "a", "ts": 9, "expect": "apple", "source": "disk"}
{"op": "get", "key": "a", "ts": 9, "expect": "pear"}
`

func TestFailingExpectationExits1WithItsLine(t *testing.T) {
	path := writeFile(t, "failing.jsonl", failing)
	code, out, _ := demo(t, "", "replay", path)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		path + ":3: expect region 1 is active: it is absent",
		path + `:5: get "a"@9 expect "pear": got "apple", want "pear"`,
		"FAIL  " + path + ": 4 ops, 3 expectations, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	// --quiet: only the failures and the summary.
	_, out, _ = demo(t, "", "replay", "--quiet", path)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[2], "FAIL") {
		t.Errorf("--quiet printed:\n%s", out)
	}
	// One failing log among green ones fails the run.
	good := writeFile(t, "good.jsonl", green)
	code, out, _ = demo(t, "", "replay", "--quiet", good, path, good)
	if code != exitFailed || !strings.Contains(out, "3 logs: 2 passed, 1 failed") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestJSONOutput(t *testing.T) {
	path := writeFile(t, "failing.jsonl", failing)
	good := writeFile(t, "good.jsonl", green)
	// Flags may come after the files.
	code, out, errOut := demo(t, "", "replay", path, good, "--json")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per log, got:\n%s", out)
	}
	for i, line := range lines {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i, err, line)
		}
		if len(obj) != 7 {
			t.Errorf("keys: %s", line)
		}
		for _, k := range []string{"file", "events", "expectations", "failed", "failures", "regions", "counters"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("no %q in %s", k, line)
			}
		}
	}
	var first struct {
		File                         string
		Events, Expectations, Failed int
		Failures                     []struct {
			File    string
			Line    int
			Message string
		}
		Regions  map[string]string
		Counters map[string]int64
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Events != 4 || first.Expectations != 3 || first.Failed != 2 || len(first.Failures) != 2 ||
		first.Failures[0].Line != 3 || first.Failures[1].Line != 5 || first.Failures[0].File != path || first.File != path {
		t.Errorf("first log: %+v", first)
	}
	if first.Regions["1"] != "absent" || len(first.Counters) != len(eventlog.Counters) || first.Counters["reads_disk"] != 2 {
		t.Errorf("first log: regions %v counters %v", first.Regions, first.Counters)
	}
	if !strings.Contains(lines[1], `"file":`+strconvQuote(good)) || !strings.Contains(lines[1], `"failed":0,"failures":[]`) {
		t.Errorf("second log: %s", lines[1])
	}
}

func TestStdinDataDirAndLogLevel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pebble")
	code, out, errOut := demo(t, green, "replay", "--data", dir, "--log-level", "debug", "--verbose", "-")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) == 0 {
		t.Errorf("--data %s: nothing written", dir)
	}
	if !strings.Contains(out, "Pebble in "+dir) || !strings.Contains(out, `"apple" from memory`) {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "region state changed") {
		t.Errorf("--log-level debug logged nothing:\n%s", errOut)
	}
	// Several logs with --data each get their own directory.
	multi := filepath.Join(t.TempDir(), "multi")
	good := writeFile(t, "good.jsonl", green)
	if code, out, _ := demo(t, "", "replay", "--quiet", "--data", multi, good, good); code != exitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if entries, _ := os.ReadDir(multi); len(entries) != 2 {
		t.Errorf("--data with two logs made %d directories, want 2", len(entries))
	}
}

func TestRealtime(t *testing.T) {
	log := `{"op": "put", "at": "2024-09-05T06:49:46.848Z", "key": "a", "ts": 5, "value": "v"}
{"op": "load", "at": "2024-09-05T06:49:46.858Z", "region": {"id": 1, "version": 1, "start": "a", "end": "b"}}
{"op": "wait", "until": "idle"}
`
	for _, args := range [][]string{{"--realtime"}, {"--speed", "10"}} {
		code, out, _ := demo(t, log, append(append([]string{"replay"}, args...), "-")...)
		if code != exitOK || !strings.Contains(out, "06:49:46.858     2  1 v1") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
}

func TestTimelineFiles(t *testing.T) {
	path := writeFile(t, "failing.jsonl", failing)
	good := writeFile(t, "good.jsonl", green)
	for _, ext := range []string{".svg", ".html"} {
		out := filepath.Join(t.TempDir(), "run"+ext)
		code, stdout, errOut := demo(t, "", "replay", "--timeline", out, good, path)
		if code != exitFailed {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
		}
		if !strings.Contains(stdout, "timeline: "+out) {
			t.Errorf("the output does not say where the timeline is:\n%s", stdout)
		}
		doc, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(doc))
		dec.Strict = true
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed XML: %v", out, err)
			}
		}
		for _, want := range []string{"region 1", good, path, "it is absent"} {
			if !bytes.Contains(doc, []byte(want)) {
				t.Errorf("%s does not mention %q", out, want)
			}
		}
	}
}

func TestNoProgressBarWhenNotATerminal(t *testing.T) {
	var out, errOut bytes.Buffer
	if p := newProgress(&out, &errOut, 10*progressMinOps, false); p != nil {
		t.Error("a progress bar on a buffer")
	}
	if p := newProgress(os.Stdout, os.Stderr, 10*progressMinOps, true); p != nil {
		t.Error("a progress bar with --json")
	}
}

func TestHumanCause(t *testing.T) {
	for in, want := range map[string]string{
		"loader_granted":                  "loader granted",
		"load_finished: load failed: x_y": "load finished: load failed: x_y",
		"evict (memory_limit_reached)":    "evict (memory_limit_reached)",
		"":                                "",
	} {
		if got := humanCause(in); got != want {
			t.Errorf("humanCause(%q) = %q, want %q", in, got, want)
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDirectoryReplaysItsLogs(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"b.jsonl": green, "a.jsonl": failing, "notes.txt": "not a log"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := demo(t, "", "replay", "--quiet", dir)
	if code != exitFailed || !strings.Contains(out, "2 logs: 1 passed, 1 failed") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	a, b := strings.Index(out, filepath.Join(dir, "a.jsonl")), strings.Index(out, "PASS  "+filepath.Join(dir, "b.jsonl"))
	if a < 0 || b < 0 || a > b {
		t.Errorf("want a.jsonl then b.jsonl:\n%s", out)
	}
}

func TestEmptyLogSaysNoOps(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n\n// and another\n"} {
		code, out, errOut := demo(t, text, "replay", "-")
		if code != exitOK || !strings.Contains(out, "PASS  <stdin>: no ops (the log is empty or only comments)") {
			t.Errorf("%q: exit %d\n%s\n%s", text, code, out, errOut)
		}
	}
}

func TestRealtimeWithoutAtSaysItHasNothingToPace(t *testing.T) {
	code, out, errOut := demo(t, green, "replay", "--realtime", "-")
	if code != exitOK || !strings.Contains(errOut, `<stdin>: no op has an "at" time, so --realtime has nothing to pace`) {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	_, _, errOut = demo(t, green, "replay", "-")
	if errOut != "" {
		t.Errorf("without --realtime: %s", errOut)
	}
}

// endless is an input that never ends: line after line of text.
type endless struct {
	line string
	off  int
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.line[e.off:])
		n += c
		e.off = (e.off + c) % len(e.line)
	}
	e.read += int64(n)
	return n, nil
}

func TestStandardInputHasASizeCap(t *testing.T) {
	if maxStdinBytes != 64<<20 {
		t.Fatalf("the cap is documented as 64 MiB (README, demo replay --help), it is %d", maxStdinBytes)
	}
	// The mechanism at a smaller cap: parsing 64 MiB takes a minute under -race.
	stdinLimit = 2 << 20
	defer func() { stdinLimit = maxStdinBytes }()
	in := &endless{line: `{"op": "check"}` + "\n"}
	var out, errOut bytes.Buffer
	code := run([]string{"replay", "-"}, in, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "<stdin>: more than 2MiB on standard input, the limit") || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if in.read > stdinLimit+1<<20 {
		t.Errorf("read %d bytes of standard input, want the cap and little more", in.read)
	}
}

// TestErrorsSayTheirPrefixOnce: an error the demo prints begins with the
// command ("demo workload: ...") or, for a problem in a file, FILE:LINE:
// and never repeats where it comes from: the library's "regioncache: " is
// left out after the demo's own prefix (before, "demo workload: regioncache:
// invalid workload settings: ...", "demo replay: --speed: regioncache:
// replay: speed must be ...", "demo serve: regioncache: config: FILE:LINE:
// ...", "FILE:1: config: regioncache: invalid options: ...").
func TestErrorsSayTheirPrefixOnce(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	unknown := write("unknown.toml", "loaders = 2\ncapcity = \"1GiB\"\n")
	above := write("above.toml", "capacity = \"8MiB\"\nevict_threshold = \"16MiB\"\n")
	refused := write("refused.jsonl", `{"op": "config", "capacity": "8MiB", "evict_threshold": "16MiB"}`+"\n")
	missing := filepath.Join(dir, "missing.toml")
	for _, c := range []struct {
		args []string
		want string // the whole of stderr
	}{
		{[]string{"workload", "--regions", "1"}, "demo workload: invalid workload settings: regions 1: want 2..65536\n"},
		{[]string{"workload", "--mix", "70/20"}, `demo workload: mix "70/20": want scan/get/write percentages, e.g. 70/25/5` + "\n"},
		{[]string{"replay", "--speed", "0", refused}, "demo replay: --speed 0: want a number from 0.001 to 1000 (times the recorded pace)\n"},
		{[]string{"replay", refused}, refused + ":1: config: invalid options: evict threshold 16777216 is above capacity 8388608\n"},
		{[]string{"serve", "--addr", "127.0.0.1:0", refused}, refused + ":1: config: invalid options: evict threshold 16777216 is above capacity 8388608\n"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--config", unknown}, unknown + `:2:1: unknown field "capcity"` + "\n"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--config", above}, above + ":2: evict_threshold: invalid options: evict threshold 16777216 is above capacity 8388608\n"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--config", missing}, missing + ": no such file or directory\n"},
	} {
		code, out, errOut := demo(t, "", c.args...)
		if code != exitUsage || out != "" || errOut != c.want {
			t.Errorf("demo %s: exit %d, stdout %q\nstderr %q\nwant   %q (exit 2)", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
}

// TestEveryCommandsFlagErrorsAreUsageErrors: for every command, an unknown
// flag, a flag without its value and (where the command has one) a numeric
// flag with a value that is not a number exit 2 with one line naming the
// command and the flag, and a pointer to its --help.
func TestEveryCommandsFlagErrorsAreUsageErrors(t *testing.T) {
	numeric := map[string]string{"replay": "--speed", "bench": "--region-keys", "workload": "--ops"}
	valued := map[string]string{"replay": "--timeline", "serve": "--addr", "bench": "--keys", "workload": "--mix"}
	for _, name := range commandNames() {
		cases := [][]string{{name, "--nope"}}
		if f, ok := valued[name]; ok {
			cases = append(cases, []string{name, f})
		}
		if f, ok := numeric[name]; ok {
			cases = append(cases, []string{name, f, "many"})
		}
		for _, args := range cases {
			code, out, errOut := demo(t, "", args...)
			flagName := strings.TrimLeft(args[1], "-")
			if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "demo "+name+": ") || !strings.Contains(errOut, flagName) ||
				!strings.HasSuffix(errOut, "Run 'demo "+name+" --help' for usage.\n") {
				t.Errorf("demo %s: exit %d, stdout %q, stderr %q; want exit 2, the command and the flag named, and a pointer to --help",
					strings.Join(args, " "), code, out, errOut)
			}
		}
	}
}

// A summary says "1 expectation", not "1 expectations".
func TestCountSaysOneInTheSingular(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 ops"}, {1, "1 op"}, {2, "2 ops"}} {
		if got := count(tc.n, "op"); got != tc.want {
			t.Errorf("count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
