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
