package tests

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

// TestTiKVRegressions replays, in our own words, the TiKV In-Memory Engine
// bugs that crashed it (testdata/regressions/tikv-*.jsonl): each must run to
// the end with every expectation held.
func TestTiKVRegressions(t *testing.T) {
	files, err := filepath.Glob("testdata/regressions/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no regression logs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			log, err := eventlog.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			inv := &invariants{}
			res, err := replay.Run(ctx, log, inv.options())
			if err != nil {
				t.Fatal(err)
			}
			inv.addTo(res)
			for _, fl := range res.Failures {
				t.Errorf("%s:%d: %s", f, fl.Line, fl.Message)
			}
		})
	}
}
