package regioncache

import (
	"errors"
	"testing"
)

// A batch over the size Pebble accepts is refused before anything is
// written (Pebble panics on a batch of 4 GiB). The limit is lowered here so
// that the test does not need gigabytes.
func TestBatchOverTheLimitIsRefused(t *testing.T) {
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	defer func(old int64) { batchLimit = old }(batchLimit)
	batchLimit = 1 << 10
	b := new(Batch)
	for i := 0; i < 20; i++ {
		b.Put([]byte{'k', byte(i)}, 10, make([]byte, 100))
	}
	if err := e.Write(b); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("Write of a batch over the limit = %v, want ErrBatchTooLarge", err)
	}
	if g, err := e.Get([]byte{'k', 0}, 10); err != nil || g.Found {
		t.Fatalf("a refused batch was written: %+v, %v", g, err)
	}
	if MaxBatchBytes >= 4<<30 {
		t.Fatalf("MaxBatchBytes %d is not below Pebble's 4 GiB", MaxBatchBytes)
	}
}
