package regioncache_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// durabilityChildDir, when set, makes TestAcknowledgedWritesSurviveSIGKILL
// the child: it writes batches into the engine at that directory and prints
// the number of each batch whose Write returned, until it is killed.
const durabilityChildDir = "REGIONCACHE_DURABILITY_CHILD_DIR"

// durabilityChildPerBatch, when set too, makes the child open its engine
// with DurabilityNoSync and ask for DurabilitySync on every batch
// (Batch.SetDurability), as a host that syncs only some writes does.
const durabilityChildPerBatch = "REGIONCACHE_DURABILITY_CHILD_PER_BATCH"

const durabilityKeysPerBatch = 4

func durabilityKey(batch, i int) []byte { return []byte(fmt.Sprintf("b%07d/%d", batch, i)) }

// TestAcknowledgedWritesSurviveSIGKILL: a host killed
// with SIGKILL must keep every write whose Write returned. The test re-runs
// its own binary as a child that writes batches (part of them into a cached
// region) and reports each acknowledged batch on stdout; the parent kills it
// with SIGKILL after a random number of acknowledgements, reopens the
// directory and checks that every acknowledged batch is there, whole.
// Before the fix writes were committed without a sync and the test lost
// acknowledged batches in most rounds. Odd rounds open the child's engine
// with DurabilityNoSync and set DurabilitySync on each batch: the
// per-batch setting keeps the same promise.
func TestAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	if dir := os.Getenv(durabilityChildDir); dir != "" {
		durabilityChild(dir, os.Getenv(durabilityChildPerBatch) != "")
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const rounds = 6
	for round := 0; round < rounds; round++ {
		dir := t.TempDir()
		killAfter := 1 + rng.IntN(400)
		acked := runAndKillDurabilityChild(t, dir, killAfter, round%2 == 1)
		e, err := regioncache.Open(regioncache.Options{Dir: dir})
		if err != nil {
			t.Fatalf("round %d: reopening after SIGKILL: %v", round, err)
		}
		missing := 0
		for b := 0; b < acked; b++ {
			for i := 0; i < durabilityKeysPerBatch; i++ {
				res, err := e.Get(durabilityKey(b, i), 10)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if !res.Found {
					missing++
				}
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d acknowledged batches (asked for %d), %d keys missing", round, acked, killAfter, missing)
		if missing > 0 {
			t.Fatalf("round %d: %d keys of %d acknowledged batches lost after SIGKILL", round, missing, acked)
		}
	}
}

// runAndKillDurabilityChild starts the child on dir, kills it with SIGKILL
// once it has acknowledged killAfter batches, and returns how many batches
// it acknowledged in all (it may have printed a few more before the kill).
func runAndKillDurabilityChild(t *testing.T, dir string, killAfter int, perBatch bool) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAcknowledgedWritesSurviveSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityChildDir+"="+dir)
	if perBatch {
		cmd.Env = append(cmd.Env, durabilityChildPerBatch+"=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked, killed := 0, false
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		n, err := strconv.Atoi(lines.Text())
		if err != nil {
			continue // the test framework's own lines
		}
		if n != acked {
			t.Fatalf("child acknowledged batch %d after %d", n, acked-1)
		}
		acked++
		if acked == killAfter && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child stopped by itself after %d batches", acked)
	}
	return acked
}

// durabilityChild writes batches until killed (or a bound is reached, so a
// child whose parent died ends on its own). Half of each batch's keys fall
// in a cached region, so the write goes through memory too.
func durabilityChild(dir string, perBatch bool) {
	opts := regioncache.Options{Dir: dir}
	if perBatch {
		opts.Durability = regioncache.DurabilityNoSync
	}
	e, err := regioncache.Open(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := e.Load(regioncache.Region{ID: 1, Version: 1, Start: []byte("b"), End: []byte("b0000200")}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	value := make([]byte, 100)
	for b := 0; b < 1_000_000; b++ {
		batch := new(regioncache.Batch)
		for i := 0; i < durabilityKeysPerBatch; i++ {
			batch.Put(durabilityKey(b, i), 10, value)
		}
		if perBatch {
			batch.SetDurability(regioncache.DurabilitySync)
		}
		if err := e.Write(batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// Acknowledged: tell the parent at once.
		fmt.Fprintln(w, b)
		_ = w.Flush()
	}
	os.Exit(3)
}

func TestDurabilitySettingsAreChecked(t *testing.T) {
	if err := (regioncache.Options{Durability: 7}).Validate(); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Fatalf("Options.Durability 7: %v, want ErrInvalidOptions", err)
	}
	for _, c := range []struct {
		in   string
		want regioncache.Durability
		ok   bool
	}{{"", regioncache.DurabilityDefault, true}, {"sync", regioncache.DurabilitySync, true}, {"nosync", regioncache.DurabilityNoSync, true}, {"fsync", 0, false}} {
		got, err := regioncache.ParseDurability(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDurability(%q) = %v, %v", c.in, got, err)
		}
	}
	e := testutil.Open(t, regioncache.Options{})
	if got := e.Options().Durability; got != regioncache.DurabilitySync {
		t.Fatalf("default durability %s, want sync", got)
	}
	bad := new(regioncache.Batch).Put([]byte("k"), 1, nil).SetDurability(9)
	if err := e.Write(bad); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Fatalf("batch durability 9: %v, want ErrInvalidOptions", err)
	}
	for _, d := range []regioncache.Durability{regioncache.DurabilitySync, regioncache.DurabilityNoSync, regioncache.DurabilityDefault} {
		if err := e.Write(new(regioncache.Batch).Put([]byte("k"), 2, []byte(d.String())).SetDurability(d)); err != nil {
			t.Fatalf("batch durability %s: %v", d, err)
		}
		if res, err := e.Get([]byte("k"), 2); err != nil || string(res.Value) != d.String() {
			t.Fatalf("after a %s write: %+v %v", d, res, err)
		}
	}
}
