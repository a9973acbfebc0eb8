package tests

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regioncache/regioncache/internal/testutil/leaktest"
	"github.com/regioncache/regioncache/tests/internal/model"
)

var flagSoak = flag.Duration("soak", 0, "run TestSoak for this long (e.g. -soak=10m); skipped when 0")

// TestSoak runs random programs with fresh seeds (each with its own number
// of ops, 100 to 700) until -soak is over, and every 25 programs a round of
// the concurrent linearizability test, then reports what it covered. Each
// failure is shrunk and kept in a file, as in TestRandomLogs; the soak goes
// on after one, and fails at the end. Run it without -race for coverage,
// with -race for the detector:
//
//	go test ./tests -run Soak -soak=10m -timeout=15m -count=1 -v
//
// (-timeout: go test stops a test binary after 10 minutes by default, and
// the soak finishes the program it is running when its time is up; under a
// shorter -timeout the soak ends a minute before it.)
//
// (Without -v, go test prints nothing for a passing test: the summary is
// also written to $TMPDIR/regioncache-soak-summary.txt.)
func TestSoak(t *testing.T) {
	if *flagSoak <= 0 {
		t.Skip("soak: give -soak=DURATION")
	}
	leaktest.Check(t)
	start := time.Now()
	deadline := start.Add(*flagSoak)
	// go test's own -timeout (10m by default) would kill a soak of that
	// length at its very end, summary unwritten: stop a minute before it.
	if d, ok := t.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
		deadline = d.Add(-time.Minute)
		t.Logf("soak shortened to %s to end before go test's -timeout; give -timeout longer than -soak", deadline.Sub(start).Round(time.Second))
	}
	base := uint64(time.Now().UnixNano())
	if *flagSeedBase != 1 {
		base = *flagSeedBase
	}
	t.Logf("soak for %s from seed %d (each seed N runs again with -seed=N -steps=100+N%%601)", *flagSoak, base)
	var logs, lines, expects, concurrent int
	var calls int64
	var failed []string
	shrunk := map[string]int{}
	for seed := base; time.Now().Before(deadline); seed++ {
		opts := model.Options{Steps: soakSteps(seed)}
		// A signature shrunk twice already is most likely the same bug
		// again: keep the log, spend the time on new seeds.
		out := checkSeedShrink(t.Context(), seed, opts, t.Logf, func(sig string) bool { shrunk[sig]++; return shrunk[sig] <= 2 })
		logs++
		lines += out.lines
		expects += out.expects
		if len(out.failures) > 0 {
			msg := fmt.Sprintf("seed %d (%s): line %d: %s; shrunk log %s",
				seed, rerun(seed, opts), out.failures[0].Line, out.failures[0].Message, out.shrunk)
			failed = append(failed, msg)
			t.Errorf("%s\n%s", msg, readOr(out.shrunk))
		}
		if logs%25 == 0 && time.Now().Before(deadline) {
			concurrent++
			cseed := seed * 7919
			t.Run(fmt.Sprintf("concurrent-%d", cseed), func(t *testing.T) {
				capacity := int64(0)
				if concurrent%2 == 0 {
					capacity = 40 << 10
				}
				calls += runConcurrent(t, cseed, capacity)
			})
		}
	}
	elapsed := time.Since(start).Round(time.Second)
	summary := fmt.Sprintf("soak %s: %d random logs (%d event-log ops, %d expectations), %d concurrent rounds (%d engine calls), %d failure(s)",
		elapsed, logs, lines, expects, concurrent, calls, len(failed))
	t.Log(summary)
	for _, f := range failed {
		t.Log("  " + f)
	}
	// go test shows a passing test's log only with -v; keep the summary
	// where it can be found either way.
	path := filepath.Join(os.TempDir(), "regioncache-soak-summary.txt")
	text := summary + "\n" + strings.Join(failed, "\n")
	if err := os.WriteFile(path, []byte(text+"\n"), 0o644); err == nil {
		t.Logf("summary written to %s", path)
	}
}

func soakSteps(seed uint64) int { return 100 + int(seed%601) }
