// Package loadpipe copies a region's versions, as the disk iterator yields
// them encoded, into a memstore run builder on two goroutines.
//
// A load done on one goroutine pays for Pebble's iteration and, about as
// much again, for decoding each version and appending it to the run's arena
// and index. Copy splits the two: the calling goroutine iterates the disk
// and copies each encoded key and value into a batch, and a second
// goroutine, which Copy starts and always joins before it returns, decodes
// the batches and adds their versions to the builder. The batches go round
// a small fixed ring, reused (nothing is allocated per version, and filling
// a batch stores no pointer, so it costs no write barrier while a garbage
// collection runs), and the iteration runs at most the ring's length ahead
// of the build. With a second CPU a load then costs about one iteration.
//
// A small copy never starts the second goroutine: Copy decodes and adds on
// the calling goroutine for the first PipeAfter versions, and hands over to
// the pipeline only a copy that goes on past them; its batches start small
// and grow to their full size as it goes on.
//
// Either side's error, and a panic of the building goroutine, become
// Copy's; the other side stops at its next batch.
package loadpipe

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// Source calls yield with every encoded version of the range (a Pebble key
// and value, mvcc's encoding) in run order: key ascending, ts descending.
// The slices are valid only during the call. An error from yield stops the
// source, which returns it.
type Source func(yield func(key, value []byte) error) error

// Options tune a Copy.
type Options struct {
	// Check, if set, is called by the iterating goroutine every CheckEvery
	// versions (a cancel flag, a context); its error stops the copy and is
	// Copy's. After each check the goroutine yields its processor: a copy is
	// long and CPU-bound, and on a small machine readers of other regions
	// must not wait for one.
	Check func() error
	// CheckEvery is the versions between checks (0: DefaultCheckEvery).
	CheckEvery int
	// Serial builds on the calling goroutine, as it iterates: what Copy
	// does anyway when the process has one processor (GOMAXPROCS 1), where
	// a second goroutine could only add its hand-offs.
	Serial bool

	// afterBatch, set by tests, runs on the building goroutine after each
	// batch it built: a test stops the pipeline there, mid-copy, on a
	// channel.
	afterBatch func()
}

// DefaultCheckEvery is how many versions a copy reads at most between two
// looks at Options.Check.
const DefaultCheckEvery = 4096

// The ring: up to ringBatches batches of batchBytes of encoded versions
// each. A batch holds some 1,800 versions of the benchmarks' size (24-byte
// keys, 100-byte values), so the goroutines hand over once per ~300 µs of
// work. A batch is allocated only when the iterating side finds none free:
// where the building side keeps up (it does less work per version than the
// iteration) the ring stays two or three batches long, and where it falls
// behind for a while (another process took its CPU) the ring grows, up to
// 4 MiB, before the iteration waits for it.
const (
	ringBatches   = 16
	batchBytes    = 256 << 10
	batchVersions = 4096
	// The first batches are smaller (firstBatchBytes, doubling), so that a
	// copy just past PipeAfter versions does not allocate a full ring's
	// batch for a few more.
	firstBatchBytes = 16 << 10
)

// PipeAfter is how many versions a copy reads, decoding and adding them on
// the calling goroutine, before it starts the building goroutine: a copy
// of a small region costs no goroutine, channel or batch.
const PipeAfter = 512

// maxVersionBytes is the largest encoded version a batch takes (its
// offsets are uint32).
const maxVersionBytes = math.MaxUint32

// ErrVersionTooLarge: an encoded version that a batch cannot hold (4 GiB).
var ErrVersionTooLarge = errors.New("regioncache: loadpipe: encoded version too large")

// errStopped is what the building goroutine returns when the iterating one
// failed first, and errBuilder what the iterating one returns when the
// building one did: neither is Copy's error, which is the side's that
// failed.
var (
	errStopped = errors.New("regioncache: loadpipe: stopped")
	errBuilder = errors.New("regioncache: loadpipe: builder stopped")
)

// batch is encoded versions back to back in buf[:size]; ends[:2*n] holds,
// per version, the end of its key and the end of its value in buf. Both
// are allocated at full length and filled through the counts, so filling a
// batch writes no slice header.
type batch struct {
	buf  []byte
	ends []uint32
	size int
	n    int
}

// fits says whether a version of kv bytes can be appended.
func (b *batch) fits(kv int) bool { return b.size+kv <= len(b.buf) && 2*b.n < len(b.ends) }

func (b *batch) put(k, v []byte) {
	copy(b.buf[b.size:], k)
	ke := b.size + len(k)
	copy(b.buf[ke:], v)
	b.size = ke + len(v)
	b.ends[2*b.n], b.ends[2*b.n+1] = uint32(ke), uint32(b.size)
	b.n++
}

// Copy reads every version of src and adds it to b, in order; it returns
// how many versions it read. The caller then Finishes (or, on error,
// Aborts) b.
func Copy(src Source, b *memstore.RunBuilder, o Options) (int, error) {
	every := o.CheckEvery
	if every <= 0 {
		every = DefaultCheckEvery
	}
	c := &copier{b: b, check: o.Check, every: every, afterBatch: o.afterBatch,
		serial: o.Serial || runtime.GOMAXPROCS(0) < 2}
	return c.run(src)
}

// copier is one Copy: serial until its first check point, then, unless
// serial, a pipe of two goroutines and the ring between them.
type copier struct {
	b      *memstore.RunBuilder
	check  func() error
	every  int
	serial bool
	n      int // versions read
	since  int // versions since the last check
	// size is the buffer size of the next batch allocated, doubling from
	// firstBatchBytes up to batchBytes.
	size int
	kbuf []byte

	piped   bool
	cur     *batch // the batch being filled
	batches int    // in the ring so far
	// free holds the batches the iterating side may fill, full the ones
	// the building side is to build. Each has room for every batch, so a
	// send never blocks.
	free, full chan *batch
	// stopped is closed when the building goroutine returns; err and
	// panicked are then its outcome.
	stopped  chan struct{}
	err      error
	panicked any
	// quit tells the building side that the iterating side failed: it
	// drops what is left instead of building it.
	quit       atomic.Bool
	afterBatch func()
}

func (c *copier) run(src Source) (n int, err error) {
	defer func() {
		if c.piped && !c.joined() {
			c.join(true) // the source panicked: stop the builder before unwinding
		}
	}()
	err = src(c.yield)
	if !c.piped {
		return c.n, err
	}
	if err == nil && c.cur.n > 0 {
		c.full <- c.cur
	}
	c.cur = nil
	c.join(err != nil)
	if c.panicked != nil {
		panic(fmt.Sprintf("regioncache: loadpipe: the building goroutine panicked: %v", c.panicked))
	}
	switch {
	case errors.Is(err, errBuilder):
		return c.n, c.err
	case err != nil && c.err != nil && !errors.Is(c.err, errStopped):
		return c.n, errors.Join(err, c.err) // both failed, each on its own
	case err != nil:
		return c.n, err // the iterating side's own error; the builder only stopped
	}
	return c.n, c.err
}

// yield takes one version from the source.
func (c *copier) yield(k, v []byte) error {
	c.n++
	if c.piped {
		if err := c.push(k, v); err != nil {
			return err
		}
	} else {
		var err error
		if c.kbuf, err = add(c.b, c.kbuf, k, v); err != nil {
			return err
		}
		if c.n == PipeAfter && !c.serial {
			c.startPipe() // a copy longer than a small region's
		}
	}
	if c.since++; c.since < c.every {
		return nil
	}
	c.since = 0
	if c.piped {
		select {
		case <-c.stopped:
			return errBuilder
		default:
		}
	}
	if c.check != nil {
		if err := c.check(); err != nil {
			return err
		}
	}
	runtime.Gosched()
	return nil
}

// push appends a version to the batch being filled, handing it over first
// when the version does not fit.
func (c *copier) push(k, v []byte) error {
	kv := len(k) + len(v)
	if !c.cur.fits(kv) {
		if c.cur.n > 0 {
			c.full <- c.cur
			if err := c.nextBatch(); err != nil {
				return err
			}
		}
		if kv > len(c.cur.buf) {
			if uint64(kv) > maxVersionBytes {
				return fmt.Errorf("%w: %d key and %d value bytes", ErrVersionTooLarge, len(k), len(v))
			}
			c.cur.buf = make([]byte, kv) // one large version; the batch keeps the room
		}
	}
	c.cur.put(k, v)
	return nil
}

// nextBatch makes c.cur a free batch: one the building side gave back, a
// new one while the ring is short of ringBatches, else the first given back.
func (c *copier) nextBatch() error {
	select {
	case c.cur = <-c.free:
	default:
		if c.batches < ringBatches {
			c.batches++
			c.cur = &batch{}
			break
		}
		select {
		case c.cur = <-c.free:
		case <-c.stopped:
			return errBuilder
		}
	}
	c.grow()
	return nil
}

// grow gives the batch being filled the current batch size: a new batch,
// or one allocated smaller while the copy was young, gets new buffers.
func (c *copier) grow() {
	if len(c.cur.buf) >= c.size {
		return
	}
	c.cur.buf = make([]byte, c.size)
	c.cur.ends = make([]uint32, 2*max(batchVersions*c.size/batchBytes, 64))
	c.size = min(2*c.size, batchBytes)
}

func (c *copier) startPipe() {
	c.piped = true
	c.free = make(chan *batch, ringBatches)
	c.full = make(chan *batch, ringBatches)
	c.stopped = make(chan struct{})
	c.batches = 1
	c.cur = &batch{}
	c.size = firstBatchBytes
	c.grow()
	go c.build()
}

func (c *copier) joined() bool { return c.full == nil }

// join ends the pipe: the building goroutine builds what was handed over
// (or, failed, drops it) and returns.
func (c *copier) join(failed bool) {
	if failed {
		c.quit.Store(true)
	}
	close(c.full)
	<-c.stopped
	c.full = nil
}

// build is the building goroutine: it decodes and adds each batch the
// iterating side hands over, and returns it to the ring.
func (c *copier) build() {
	defer close(c.stopped)
	defer func() {
		if r := recover(); r != nil {
			c.panicked = r
			c.err = fmt.Errorf("regioncache: loadpipe: the building goroutine panicked: %v", r)
		}
	}()
	var kbuf []byte
	since := 0
	for bt := range c.full {
		if c.quit.Load() {
			c.err = errStopped
			return
		}
		start := uint32(0)
		var err error
		for i := 0; i < 2*bt.n; i += 2 {
			ke, ve := bt.ends[i], bt.ends[i+1]
			if kbuf, err = add(c.b, kbuf, bt.buf[start:ke], bt.buf[ke:ve]); err != nil {
				c.err = err
				return
			}
			start = ve
		}
		if since += bt.n; since >= c.every {
			since = 0
			runtime.Gosched() // as the iterating side does at its checks
		}
		if c.afterBatch != nil {
			c.afterBatch()
		}
		bt.size, bt.n = 0, 0
		c.free <- bt
	}
}

// add decodes one encoded version and adds it to b; kbuf is where a key
// with escaped bytes is decoded (returned for reuse). A key without them,
// the common case, is read where it is, not copied.
func add(b *memstore.RunBuilder, kbuf, k, v []byte) ([]byte, error) {
	key, ts, err := mvcc.DecodeKeyNoCopy(kbuf[:0], k)
	if err != nil {
		return kbuf, err
	}
	if len(key) > 0 && &key[0] != &k[0] {
		kbuf = key // decoded into kbuf: keep its capacity
	}
	val, tomb, err := mvcc.DecodeValue(v)
	if err != nil {
		return kbuf, err
	}
	_, err = b.Add(key, ts, val, tomb)
	return kbuf, err
}
