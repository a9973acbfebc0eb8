package examples_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/examples"
	"github.com/regioncache/regioncache/replay"
)

// TestExamplesAreGreen replays every example: each must hold every
// expectation it makes, and explain itself in a comment at its top.
func TestExamplesAreGreen(t *testing.T) {
	names := examples.Names()
	if !slices.Contains(names, examples.Default) {
		t.Fatalf("the default example %s is not among %v", examples.Default, names)
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".jsonl"), func(t *testing.T) {
			t.Parallel()
			f, err := examples.FS.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			log, err := eventlog.ParseNamed(name, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(log.Comments) == 0 || log.Comments[0].Line != 1 || len(log.LeadingComment()) < 80 {
				t.Errorf("%s does not open with a comment that explains it", name)
			}
			res, err := replay.Run(context.Background(), log, replay.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Failures {
				t.Errorf("%s:%d: %s", name, f.Line, f.Message)
			}
			if res.Expectations == 0 {
				t.Errorf("%s expects nothing", name)
			}
		})
	}
}
