package replay

import (
	"context"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

// TestPanicIsAFailure: whatever panics during an op (here: an engine that
// is not there) becomes the op's failure instead of taking the replay down.
func TestPanicIsAFailure(t *testing.T) {
	log, err := eventlog.Parse(strings.NewReader(`{"op": "put", "key": "a", "ts": 1, "value": "v"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{src: &sliceSource{ops: log.Ops}, rec: &recorder{notify: make(chan struct{}, 1)}}
	out := r.exec(context.Background(), log.Ops[0])
	if !strings.HasPrefix(out.fail, "panic: ") {
		t.Fatalf("outcome %+v, want a panic failure", out)
	}
}
