package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// demoProcess runs the demo as its own process, as a terminal would: stdout
// and stderr apart, the real exit status. It also returns the process's
// peak resident memory in bytes.
func demoProcess(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string, maxRSS int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asDemo+"=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("demo %v: %v", args, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return code, out.String(), errOut.String(), maxRSS
}

func TestHelpGoesToStdoutOnce(t *testing.T) {
	cases := [][]string{{"--help"}, {"-h"}, {"help"}, {"replay", "-h"}}
	for _, name := range commandNames() {
		cases = append(cases, []string{name, "--help"}, []string{"help", name})
	}
	for _, args := range cases {
		code, out, errOut, _ := demoProcess(t, "", args...)
		if code != exitOK || strings.Count(out, "Usage") != 1 || errOut != "" {
			t.Errorf("demo %s: exit %d, %d usages on stdout, stderr %q; want exit 0, the usage once on stdout, nothing on stderr",
				strings.Join(args, " "), code, strings.Count(out, "Usage"), errOut)
		}
	}
}

func TestUsageErrorsSayWhatIsWrongOnStderr(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"help", "nope"}, `no help on "nope"`},
		{[]string{"help", "replay", "extra"}, `no help on "replay extra"`},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"replay", "--nope", "x.jsonl"}, "demo replay: flag provided but not defined: -nope\nRun 'demo replay --help' for usage."},
		{[]string{"bench", "--nope"}, "Run 'demo bench --help' for usage."},
		{[]string{"serve", "a.jsonl", "b.jsonl"}, "one LOG at most, got 2 (a.jsonl, b.jsonl)"},
		{[]string{"serve", "--config", "c.toml", "a.jsonl"}, "--config and LOG cannot be combined"},
		{[]string{"replay", "--speed", "NaN", "x.jsonl"}, "demo replay: --speed NaN: want a number from 0.001 to 1000"},
		{[]string{"replay", "--speed", "1e-300", "x.jsonl"}, "--speed 1e-300: want"},
		{[]string{"replay", "--speed", "0", "x.jsonl"}, "--speed 0: want"},
		{[]string{"replay", "--speed", "+Inf", "x.jsonl"}, "--speed +Inf: want"},
	} {
		code, out, errOut, _ := demoProcess(t, "", tt.args...)
		if code != exitUsage || !strings.Contains(errOut, tt.msg) || out != "" || strings.Contains(errOut, "Usage") {
			t.Errorf("demo %s: exit %d, stdout %q, stderr %q; want exit 2 and only %q on stderr",
				strings.Join(tt.args, " "), code, out, errOut, tt.msg)
		}
		// One convention: the demo's own errors begin with the command
		// (an event log's with FILE:LINE), and say that prefix once: the
		// library's regioncache: is left out after it.
		if want := "demo"; !strings.HasPrefix(errOut, want) {
			t.Errorf("demo %s: stderr %q does not begin with %q", strings.Join(tt.args, " "), errOut, want)
		}
	}
}

// TestRunawayInputIsRefusedWithBoundedMemory: /dev/zero is one line that
// never ends (before: the demo read it into memory until 6.4 GB).
func TestRunawayInputIsRefusedWithBoundedMemory(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	code, out, errOut, rss := demoProcess(t, "", "replay", "/dev/zero")
	if code != exitUsage || !strings.HasPrefix(errOut, "/dev/zero:1: line is longer than 1048576 bytes (1 MiB)") || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if rss > 100<<20 && !raceEnabled {
		t.Errorf("peak RSS %d MB reading /dev/zero, want a bounded amount (under 100 MB)", rss>>20)
	}
}

// TestBigLogReplaysWithBoundedMemory: a log is checked in one pass and run
// from a second, so memory does not grow with the file (before: a 57 MB log
// took 950 MB). The bound: the engine's own memory (measured
// here on an empty log) plus 4x the file size.
func TestBigLogReplaysWithBoundedMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory is not the demo's")
	}
	path := filepath.Join(t.TempDir(), "big.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	pad := strings.Repeat("p", 400)
	for i := 0; i < 40_000; i++ {
		if i%10 == 0 {
			fmt.Fprintf(w, `{"op": "put", "key": "k%08d", "ts": %d, "value": "v%s"}`+"\n", i, i+1, pad[:200])
		} else {
			fmt.Fprintf(w, `{"op": "get", "key": "missing/%s%08d", "ts": %d, "expect": null}`+"\n", pad, i, i+1)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	f.Close()

	code, out, errOut, base := demoProcess(t, "", "replay", "--quiet", writeFile(t, "empty.jsonl", "# nothing\n"))
	if code != exitOK {
		t.Fatalf("empty log: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, args := range [][]string{{"replay", "--quiet", path}, {"replay", "--quiet", "-"}} {
		stdin := ""
		if args[2] == "-" {
			b, _ := os.ReadFile(path)
			stdin = string(b)
		}
		code, out, errOut, rss := demoProcess(t, stdin, args...)
		if code != exitOK || !strings.Contains(out, "40000 ops") {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		if limit := base + 4*size; rss > limit {
			t.Errorf("%v: peak RSS %d MB for a %d MB log, want at most %d MB (engine alone %d MB + 4x the file)",
				args, rss>>20, size>>20, limit>>20, base>>20)
		}
		t.Logf("%v: peak RSS %d MB for a %d MB log; the engine alone %d MB", args, rss>>20, size>>20, base>>20)
	}
}
