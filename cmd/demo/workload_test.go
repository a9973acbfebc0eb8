package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWorkloadUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"workload", "--help"}, exitOK, "Usage: demo workload"},
		{[]string{"help", "workload"}, exitOK, "Usage: demo workload"},
		{[]string{"workload", "--mix", "70/20"}, exitUsage, "scan/get/write"},
		{[]string{"workload", "--plot", "run.png"}, exitUsage, ".svg or .html"},
		{[]string{"workload", "--regions", "1"}, exitUsage, "invalid workload settings"},
		{[]string{"workload", "extra"}, exitUsage, "unexpected argument"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, nil, &out, &errOut)
		if code != c.code || !strings.Contains(out.String()+errOut.String(), c.want) {
			t.Errorf("demo %s: exit %d, output %q; want exit %d and %q", strings.Join(c.args, " "), code, out.String()+errOut.String(), c.code, c.want)
		}
	}
}

// A tiny run through the command: JSON on stdout and a picture. Whether its
// figures meet their targets depends on the machine; only the report's
// shape is checked.
func TestWorkloadJSONAndPlot(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "run.html")
	var out, errOut bytes.Buffer
	code := run([]string{"workload", "--json", "--plot", plot, "--regions", "4", "--keys", "10", "--versions", "5",
		"--ops", "2000", "--readers", "2", "--interval", "50ms", "--dir", t.TempDir()}, nil, &out, &errOut)
	if code != exitOK && code != exitFailed {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep struct {
		Figures []struct {
			Name string
			Met  bool
		}
		AnswersDiffered int
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out.String())
	}
	if len(rep.Figures) != 10 || rep.AnswersDiffered != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if !fileContains(t, plot, "<svg") {
		t.Fatal("no picture written")
	}
}

func fileContains(t *testing.T, path, s string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

// TestNumericFlagsOutOfRangeAreUsageErrors: a count, percentage or interval
// of zero or less, or beyond what a run can hold, is a usage error naming the
// flag, never a silent fall back to the default (before, --ops 0 ran the
// full million-op workload), and a flag that does not apply is refused.
func TestNumericFlagsOutOfRangeAreUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"workload", "--ops", "0"}, "demo workload: --ops 0: want a positive count of operations (leave --ops out for its default)"},
		{[]string{"workload", "--ops", "-5"}, "demo workload: --ops -5: want a positive count"},
		{[]string{"workload", "--regions", "0"}, "--regions 0: want a positive count of regions"},
		{[]string{"workload", "--keys", "0"}, "--keys 0: want a positive count of keys"},
		{[]string{"workload", "--versions", "-1"}, "--versions -1: want a positive count of versions"},
		{[]string{"workload", "--chunk", "0"}, "--chunk 0: want a positive count"},
		{[]string{"workload", "--readers", "0"}, "--readers 0: want a positive count of readers"},
		{[]string{"workload", "--evict-percent", "0"}, "--evict-percent 0: want a positive percentage"},
		{[]string{"workload", "--stop-load-percent", "-1"}, "--stop-load-percent -1: want a positive percentage"},
		{[]string{"workload", "--interval", "0s"}, "--interval 0s: want a positive duration"},
		{[]string{"workload", "--interval", "1us"}, "interval 1µs: want at least 1ms"},
		{[]string{"workload", "--versions", "100000"}, "versions on disk: want at most 134217728"},
		{[]string{"workload", "--readers", "5000"}, "readers 5000: want 1..1024"},
		{[]string{"workload", "--ops", "99999999999"}, "at most 4294967296"},
		{[]string{"workload", "--chunk", "2000000"}, "chunk 2000000: want 1..1048576 ops"},
		{[]string{"workload", "--deletes", "1"}, "delete share 1: want [0, 1)"},
		{[]string{"workload", "--deletes", "NaN"}, "delete share NaN"},
		{[]string{"workload", "--skew", "-1"}, "skew -1: want 0 (uniform) to 10"},
		{[]string{"workload", "--skew", "+Inf"}, "skew +Inf"},
		{[]string{"workload", "--evict-percent", "101"}, "thresholds 101%/95%"},
		{[]string{"workload", "--seed", "-1"}, `invalid value "-1" for flag -seed`},
		{[]string{"bench", "--keys", "999999999999"}, "want one positive count of versions, at most 134217728"},
		{[]string{"bench", "--growth", "--keys", "1000,999999999999"}, "999999999999 is more than 134217728"},
		{[]string{"bench", "--growth", "--regions", "100000000"}, "100000000 is more than 2097152"},
		{[]string{"bench", "--growth", "--regions", "1000000", "--region-keys", "1000"}, "is more than 134217728 versions"},
		{[]string{"bench", "--growth", "--region-keys", "-1"}, "--region-keys -1: want a positive count"},
		{[]string{"bench", "--region-keys", "5"}, "demo bench: --region-keys needs --growth"},
		{[]string{"bench", "--regions", "5"}, "demo bench: --regions needs --growth"},
		{[]string{"bench", "--growth", "--quick"}, "do not apply to --growth"},
		{[]string{"replay", "--speed", "-1", "x.jsonl"}, "--speed -1: want a number from 0.001 to 1000"},
	} {
		code, out, errOut := demo(t, "", c.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "regioncache: ") {
			t.Errorf("demo %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
}
