package mvcc_test

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"testing"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// FuzzKeyEncoding checks, for any two (key, ts) pairs and any raw bytes:
// encoding round-trips, encoded order is (key asc, ts desc), and DecodeKey
// never panics and accepts only canonical encodings, the same ones with the
// same result as DecodeKeyNoCopy.
func FuzzKeyEncoding(f *testing.F) {
	f.Add([]byte("a"), uint64(5), []byte("a"), uint64(6), []byte{})
	f.Add([]byte{}, uint64(0), []byte{0}, uint64(math.MaxUint64), []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0xFF}, uint64(1), []byte{0}, uint64(1), []byte{0, 0xFF, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte("a\x00"), uint64(7), []byte("a\x01"), uint64(7), []byte("a\x00\x05\x00\x01xxxxxxxx"))
	f.Add([]byte{0xFF, 0xFF}, uint64(math.MaxUint64), []byte{0xFF}, uint64(0), []byte{0, 0xFF, 0})
	f.Fuzz(func(t *testing.T, k1 []byte, ts1 uint64, k2 []byte, ts2 uint64, raw []byte) {
		e1, e2 := mvcc.EncodeKey(k1, ts1), mvcc.EncodeKey(k2, ts2)
		for _, c := range []struct {
			k   []byte
			ts  uint64
			enc []byte
		}{{k1, ts1, e1}, {k2, ts2, e2}} {
			k, ts, err := mvcc.DecodeKey(nil, c.enc)
			if err != nil || !bytes.Equal(k, c.k) || ts != c.ts {
				t.Fatalf("round trip of %x@%d: %x@%d, %v", c.k, c.ts, k, ts, err)
			}
			lo, hi := mvcc.KeyBound(c.k), mvcc.VersionsUpperBound(c.k)
			if bytes.Compare(c.enc, lo) < 0 || bytes.Compare(c.enc, hi) >= 0 {
				t.Fatalf("%x@%d outside its key's bounds", c.k, c.ts)
			}
		}
		want := bytes.Compare(k1, k2)
		if want == 0 {
			want = cmp.Compare(ts2, ts1)
		}
		if got := bytes.Compare(e1, e2); got != want {
			t.Fatalf("order of %x@%d vs %x@%d: encoded %d, want %d", k1, ts1, k2, ts2, got, want)
		}
		if c := bytes.Compare(k1, k2); c != 0 && bytes.Compare(mvcc.KeyBound(k1), mvcc.KeyBound(k2)) != c {
			t.Fatalf("KeyBound order of %x vs %x differs from key order", k1, k2)
		}

		key, ts, err := mvcc.DecodeKey([]byte("dst"), raw)
		nk, nts, nerr := mvcc.DecodeKeyNoCopy([]byte("dst"), raw)
		if (err == nil) != (nerr == nil) || (err == nil && (!bytes.Equal(bytes.TrimPrefix(key, []byte("dst")), bytes.TrimPrefix(nk, []byte("dst"))) || ts != nts)) {
			t.Fatalf("DecodeKeyNoCopy(%x) = %x@%d, %v; DecodeKey = %x@%d, %v", raw, nk, nts, nerr, key, ts, err)
		}
		if err != nil {
			if !errors.Is(err, mvcc.ErrCorrupt) {
				t.Fatalf("DecodeKey(%x): error %v is not ErrCorrupt", raw, err)
			}
			return
		}
		if !bytes.HasPrefix(key, []byte("dst")) {
			t.Fatalf("DecodeKey did not append to dst: %x", key)
		}
		if re := mvcc.EncodeKey(key[3:], ts); !bytes.Equal(re, raw) {
			t.Fatalf("DecodeKey(%x) accepted a non-canonical encoding (re-encodes as %x)", raw, re)
		}
	})
}

// FuzzValueEncoding checks that values round-trip and that DecodeValue never
// panics and accepts only what EncodeValue writes.
func FuzzValueEncoding(f *testing.F) {
	f.Add([]byte("v"), false, []byte("Pv"))
	f.Add([]byte{}, true, []byte("D"))
	f.Add([]byte("D"), false, []byte("Dx"))
	f.Add([]byte{0}, false, []byte{})
	f.Fuzz(func(t *testing.T, value []byte, tomb bool, raw []byte) {
		enc := mvcc.EncodeValue(mvcc.Version{Value: value, Tombstone: tomb})
		v, gotTomb, err := mvcc.DecodeValue(enc)
		if err != nil || gotTomb != tomb || (!tomb && !bytes.Equal(v, value)) {
			t.Fatalf("round trip of %q tomb=%v: %q %v %v", value, tomb, v, gotTomb, err)
		}
		v, gotTomb, err = mvcc.DecodeValue(raw)
		if err != nil {
			if !errors.Is(err, mvcc.ErrCorrupt) {
				t.Fatalf("DecodeValue(%x): error %v is not ErrCorrupt", raw, err)
			}
			return
		}
		if re := mvcc.EncodeValue(mvcc.Version{Value: v, Tombstone: gotTomb}); !bytes.Equal(re, raw) {
			t.Fatalf("DecodeValue(%x) accepted a non-canonical encoding (re-encodes as %x)", raw, re)
		}
	})
}
