package tests

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

// tikvHeader is how a ported test's log opens: "TiKV FILE, TEST." naming the
// TiKV source file and the test function it translates.
var tikvHeader = regexp.MustCompile(`^TiKV [\w/.]+\.rs,\s*(test_\w+)`)

// TestTiKVSuite replays the logs translated from TiKV's in-memory-engine
// tests (testdata/tikv, one file per TiKV test; testdata/tikv/README.md lists
// them with what differs and the tests that could not be expressed). Each
// must say which test it ports, assert something, and hold.
func TestTiKVSuite(t *testing.T) {
	files, err := filepath.Glob("testdata/tikv/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("want at least 25 ported TiKV tests in testdata/tikv, found %d", len(files))
	}
	readme, err := os.ReadFile("testdata/tikv/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".jsonl"), func(t *testing.T) {
			t.Parallel()
			log, err := eventlog.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lead := strings.ReplaceAll(log.LeadingComment(), "\n", " ")
			m := tikvHeader.FindStringSubmatch(lead)
			if len(log.Comments) == 0 || log.Comments[0].Line != 1 || m == nil {
				t.Fatalf("%s does not open with a comment naming the TiKV file and test it ports", name)
			}
			if !strings.Contains(string(readme), "`"+name+"`") {
				t.Errorf("testdata/tikv/README.md does not list %s", name)
			}
			res, err := replay.Run(context.Background(), log, replay.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Expectations == 0 {
				t.Errorf("%s expects nothing", name)
			}
			for _, fl := range res.Failures {
				t.Errorf("%s:%d: %s", name, fl.Line, fl.Message)
			}
		})
	}
}
