package regioncache_test

// Issue 11 point 12: every error a caller can receive carries the
// regioncache: prefix and names what it is about.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/config"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/regioncache/regioncache/replay"
)

const lockChildDir = "REGIONCACHE_TEST_LOCK_CHILD_DIR"

// TestDirectoryLockedByAnotherProcess opens an engine on a directory and
// starts a second process (this test binary again) that opens the same
// directory: its error must match ErrLocked, name the directory, and say
// that another process holds it. Before the fix it said "held by another
// engine (another process, or one not closed in this one)"; before
// 312af8d, only "resource temporarily unavailable".
func TestDirectoryLockedByAnotherProcess(t *testing.T) {
	if dir := os.Getenv(lockChildDir); dir != "" {
		_, err := regioncache.Open(regioncache.Options{Dir: dir})
		fmt.Printf("locked=%v\nerror=%v\n", errors.Is(err, regioncache.ErrLocked), err)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	testutil.Open(t, regioncache.Options{Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDirectoryLockedByAnotherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockChildDir+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var locked, msg string
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "locked="); ok {
			locked = v
		}
		if v, ok := strings.CutPrefix(sc.Text(), "error="); ok {
			msg = v
		}
	}
	if locked != "true" {
		t.Fatalf("the second process's Open: %q, want an error matching ErrLocked", msg)
	}
	for _, want := range []string{"regioncache: ", dir + " is locked by another process", filepath.Join(dir, "LOCK")} {
		if !strings.Contains(msg, want) {
			t.Errorf("the second process's error %q does not say %q", msg, want)
		}
	}
}

// TestInvalidRegionIsNamedByEveryCall gives a region of version 0 to every
// call that takes a region: each error matches ErrInvalidRegion, begins
// with the prefix and names the region (id, version and range).
func TestInvalidRegionIsNamedByEveryCall(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	bad := regioncache.Region{ID: 7, Version: 0, Start: []byte("a"), End: []byte("b")}
	const named = `region 7 v0 ["a", "b")`
	left := regioncache.Region{ID: 1, Version: 2, Start: []byte("a"), End: []byte("b")}
	right := regioncache.Region{ID: 2, Version: 2, Start: []byte("b"), End: []byte("c")}
	for _, c := range []struct {
		call string
		err  error
	}{
		{"Load", func() error { _, err := e.Load(bad); return err }()},
		{"Evict", func() error { _, err := e.Evict(bad, regioncache.EvictManual); return err }()},
		{"Snapshot", func() error { _, err := e.Snapshot(bad, 10); return err }()},
		{"Split source", e.Split(bad, []regioncache.Region{left, right})},
		{"Split part", e.Split(regioncache.Region{ID: 7, Version: 1, Start: []byte("a"), End: []byte("c")},
			[]regioncache.Region{{ID: 7, Version: 0, Start: []byte("a"), End: []byte("b")}, right})},
		{"Merge into", e.Merge([]regioncache.Region{left, right}, bad)},
		{"Merge source", e.Merge([]regioncache.Region{bad, right}, regioncache.Region{ID: 2, Version: 3, Start: []byte("a"), End: []byte("c")})},
		{"DeclareRegions", e.DeclareRegions([]regioncache.Region{bad})},
	} {
		if c.err == nil {
			t.Errorf("%s of %s: no error", c.call, named)
			continue
		}
		if !errors.Is(c.err, regioncache.ErrInvalidRegion) || !strings.HasPrefix(c.err.Error(), "regioncache: ") ||
			!strings.Contains(c.err.Error(), named) || !strings.Contains(c.err.Error(), "version must be positive") {
			t.Errorf("%s: %q; want ErrInvalidRegion with the prefix, naming %s and why", c.call, c.err, named)
		}
	}
}

// TestErrorsCarryThePrefix drives every public call that can refuse its
// input, in every package a host or the CLI uses, and checks each error
// begins with "regioncache: " and says what it is about.
func TestErrorsCarryThePrefix(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	m, err := e.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	closed := testutil.Open(t, regioncache.Options{})
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	snap, err := e.Snapshot(r, 10)
	if err != nil {
		t.Fatal(err)
	}
	snap.Release()
	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "opts.toml")
	if err := os.WriteFile(cfg, []byte("capacity = \"8MiB\"\nevict_threshold = \"16MiB\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, configErr := config.Load(cfg)
	_, parseErr := eventlog.Parse(strings.NewReader(`{"op":"put","key":"a","value":"v"}`))
	log, err := eventlog.Parse(strings.NewReader(`{"op":"config","capacity":"8MiB","evict_threshold":"16MiB"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, replayErr := replay.Run(context.Background(), log, replay.Options{})
	for _, c := range []struct {
		call  string
		err   error
		about string // a fact the error must state
	}{
		{"Open, loaders", func() error { _, err := regioncache.Open(regioncache.Options{Loaders: 100_000_000}); return err }(), "loaders 100000000 is out of range"},
		{"Open, capacity", func() error { _, err := regioncache.Open(regioncache.Options{Capacity: -1}); return err }(), "-1"},
		{"Open, evict above capacity", func() error {
			_, err := regioncache.Open(regioncache.Options{Capacity: 8 << 20, EvictThreshold: 16 << 20})
			return err
		}(), "evict threshold 16777216 is above capacity 8388608"},
		{"Open, NaN threshold", func() error {
			_, err := regioncache.Open(regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, AmplificationThreshold: math.NaN()}})
			return err
		}(), "NaN"},
		{"Write(nil)", e.Write(nil), "nil"},
		{"Put ts 0", e.Put([]byte("k"), 0, nil), "key"},
		{"Get ts 0", func() error { _, err := e.Get([]byte("k"), 0); return err }(), "timestamp"},
		{"Scan ts 0", func() error { _, err := e.Scan(nil, nil, 0, 0); return err }(), "timestamp"},
		{"Split, one part", e.Split(r, []regioncache.Region{{ID: 1, Version: 2, Start: []byte("a"), End: []byte("m")}}), "at least two parts"},
		{"Merge, one source", e.Merge([]regioncache.Region{r}, regioncache.Region{ID: 1, Version: 2, Start: []byte("a"), End: []byte("m")}), "at least two sources"},
		{"Evict, unknown reason", func() error { _, err := e.Evict(r, regioncache.EvictReason("tired")); return err }(), "tired"},
		{"Metrics.Counter", func() error { _, err := m.Counter("loads"); return err }(), `"loads"`},
		{"ParseDurability", func() error { _, err := regioncache.ParseDurability("maybe"); return err }(), "maybe"},
		{"after Close", closed.Put([]byte("k"), 1, nil), "closed"},
		{"WaitIdle after Close", closed.WaitIdle(context.Background()), "closed"},
		{"released snapshot", func() error { _, err := snap.Get([]byte("b"), 10); return err }(), "released"},
		{"config.Load", configErr, cfg + ":2: evict_threshold"},
		{"eventlog.Parse", parseErr, `-:1: put: missing field "ts"`},
		{"eventlog.ParseSize", func() error { _, err := eventlog.ParseSize("64MB"); return err }(), `"64MB"`},
		{"eventlog.ParseKey", func() error { _, err := eventlog.ParseKey("0x1"); return err }(), `"0x1"`},
		{"eventlog.ParseAction", func() error { _, err := eventlog.ParseAction("later"); return err }(), `"later"`},
		{"replay.CheckSpeed", replay.CheckSpeed(math.NaN()), "NaN"},
		{"replay.CheckConfig", replay.CheckConfig(log.Config), "evict threshold 16777216 is above capacity 8388608"},
		{"replay.Run", replayErr, "evict threshold 16777216 is above capacity 8388608"},
	} {
		switch {
		case c.err == nil:
			t.Errorf("%s: no error", c.call)
		case !strings.HasPrefix(c.err.Error(), "regioncache: "):
			t.Errorf("%s: %q lacks the regioncache: prefix", c.call, c.err)
		case !strings.Contains(c.err.Error(), c.about):
			t.Errorf("%s: %q does not say %q", c.call, c.err, c.about)
		}
	}
}
