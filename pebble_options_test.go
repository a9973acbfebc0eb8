package regioncache_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestPebbleOptionsTakeEffect: the host's Pebble template reaches Pebble:
// its small memtable flushes (the template's EventListener hears it) and
// reads of the flushed tables go through the host's block cache. The
// template itself is left as it was.
func TestPebbleOptionsTakeEffect(t *testing.T) {
	cache := pebble.NewCache(8 << 20)
	defer cache.Unref()
	flushed := make(chan struct{}, 1)
	template := &pebble.Options{
		Cache:                 cache,
		MemTableSize:          256 << 10,
		MaxOpenFiles:          64,
		L0CompactionThreshold: 2,
		L0StopWritesThreshold: 64,
		EventListener: &pebble.EventListener{FlushEnd: func(info pebble.FlushInfo) {
			if info.Err == nil {
				select {
				case flushed <- struct{}{}:
				default:
				}
			}
		}},
	}
	before := *template
	e := testutil.Open(t, regioncache.Options{Pebble: template})
	if template.FS != nil || template.Logger != nil || template.MemTableSize != before.MemTableSize {
		t.Fatalf("Open changed the template: %+v", template)
	}

	value := []byte(strings.Repeat("v", 1000))
	const keys = 2000 // 2 MB of values: several 256 KiB memtables
	for i := 0; i < keys; i += 100 {
		b := new(regioncache.Batch)
		for j := i; j < i+100; j++ {
			b.Put(fmt.Appendf(nil, "k%05d", j), 10, value)
		}
		if err := e.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-flushed:
	case <-testutil.Context(t).Done():
		t.Fatal("no flush: the template's MemTableSize or EventListener did not reach Pebble")
	}
	missesBefore := cache.Metrics().Misses
	res, err := e.Scan(nil, nil, 20, 0)
	if err != nil || len(res.Pairs) != keys {
		t.Fatalf("scan: %d pairs, %v", len(res.Pairs), err)
	}
	if m := cache.Metrics(); m.Misses == missesBefore || m.Count == 0 {
		t.Fatalf("the host's block cache was not used: %+v", m)
	}
}

// TestPebbleOptionsTheEngineOwnsAreRefused: a template setting what the
// engine decides is refused at Open, naming the field.
func TestPebbleOptionsTheEngineOwnsAreRefused(t *testing.T) {
	for _, c := range []struct {
		field string
		opts  pebble.Options
	}{
		{"FS", pebble.Options{FS: vfs.NewMem()}},
		{"Logger", pebble.Options{Logger: pebble.DefaultLogger}},
		{"Comparer", pebble.Options{Comparer: &pebble.Comparer{Name: "reverse"}}},
		{"ReadOnly", pebble.Options{ReadOnly: true}},
		{"DisableWAL", pebble.Options{DisableWAL: true}},
		{"L0StopWritesThreshold", pebble.Options{L0CompactionThreshold: 8, L0StopWritesThreshold: 4}},
	} {
		t.Run(c.field, func(t *testing.T) {
			opts := regioncache.Options{Pebble: &c.opts}
			e, err := regioncache.Open(opts)
			if err == nil {
				e.Close()
			}
			if !errors.Is(err, regioncache.ErrInvalidOptions) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("Open: %v, want ErrInvalidOptions naming %s", err, c.field)
			}
			if verr := opts.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Fatalf("Validate says %v, Open %v", verr, err)
			}
		})
	}
	// Pebble's default comparer is what the engine uses anyway.
	testutil.Open(t, regioncache.Options{Pebble: &pebble.Options{Comparer: pebble.DefaultComparer}})
}
