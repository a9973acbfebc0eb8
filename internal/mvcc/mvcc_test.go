package mvcc_test

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/regioncache/regioncache/internal/mvcc"
)

func seedRNG(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("MVCC_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MVCC_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with MVCC_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// randKey draws keys over a small alphabet rich in the bytes the escaping
// treats specially (0x00, 0x01, 0xFF), so prefixes and ties are common.
func randKey(rng *rand.Rand) []byte {
	alphabet := []byte{0x00, 0x01, 0x02, 'a', 0xFE, 0xFF}
	k := make([]byte, rng.IntN(6))
	for i := range k {
		k[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return k
}

func randTs(rng *rand.Rand) uint64 {
	switch rng.IntN(5) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64
	case 2:
		return math.MaxUint64 - rng.Uint64N(3)
	default:
		return rng.Uint64N(8)
	}
}

type kts struct {
	key []byte
	ts  uint64
}

// refCompare is the order the encoding must preserve: key ascending, then ts
// descending.
func refCompare(a, b kts) int {
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(b.ts, a.ts)
}

func TestEncodedOrderMatchesKeyAscTsDesc(t *testing.T) {
	rng := seedRNG(t)
	items := make([]kts, 600)
	for i := range items {
		items[i] = kts{randKey(rng), randTs(rng)}
	}
	// Fixed corner cases.
	items = append(items, kts{nil, 0}, kts{[]byte{}, math.MaxUint64}, kts{[]byte{0}, 0}, kts{[]byte{0, 0}, 5},
		kts{[]byte{0xFF}, 0}, kts{[]byte{0xFF, 0xFF}, math.MaxUint64}, kts{[]byte{0, 0xFF}, 1}, kts{[]byte{0, 1}, 1})
	enc := make([][]byte, len(items))
	for i, it := range items {
		enc[i] = mvcc.EncodeKey(it.key, it.ts)
	}
	for i := range items {
		for j := range items {
			want := refCompare(items[i], items[j])
			if got := bytes.Compare(enc[i], enc[j]); got != want {
				t.Fatalf("order of (%x@%d) vs (%x@%d): encoded %d, want %d\n%x\n%x",
					items[i].key, items[i].ts, items[j].key, items[j].ts, got, want, enc[i], enc[j])
			}
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	rng := seedRNG(t)
	for i := 0; i < 5000; i++ {
		key, ts := randKey(rng), randTs(rng)
		enc := mvcc.EncodeKey(key, ts)
		got, gotTs, err := mvcc.DecodeKey(nil, enc)
		if err != nil || !bytes.Equal(got, key) || gotTs != ts {
			t.Fatalf("round trip of %x@%d: %x@%d, %v", key, ts, got, gotTs, err)
		}
		// DecodeKey appends to dst.
		prefix := []byte("pre")
		got, _, err = mvcc.DecodeKey(prefix, enc)
		if err != nil || !bytes.Equal(got, append([]byte("pre"), key...)) {
			t.Fatalf("DecodeKey with dst: %x, %v", got, err)
		}
		// AppendKey appends to dst and agrees with EncodeKey.
		app := mvcc.AppendKey([]byte{9, 9}, key, ts)
		if !bytes.Equal(app[:2], []byte{9, 9}) || !bytes.Equal(app[2:], enc) {
			t.Fatalf("AppendKey(%x) = %x, want 0909 + %x", key, app, enc)
		}
	}
}

// TestKeyBounds checks the range helpers against the encoding: KeyBound(k)
// starts k's versions and VersionsUpperBound(k) ends them, with nothing of
// another key in between.
func TestKeyBounds(t *testing.T) {
	rng := seedRNG(t)
	keys := [][]byte{nil, {0}, {0, 0}, {0xFF}, {0, 0xFF}, []byte("a"), []byte("a\x00"), []byte("a\x01"), []byte("b")}
	for i := 0; i < 60; i++ {
		keys = append(keys, randKey(rng))
	}
	for _, k := range keys {
		lo, hi := mvcc.KeyBound(k), mvcc.VersionsUpperBound(k)
		for _, o := range keys {
			for _, ts := range []uint64{0, 1, 7, math.MaxUint64} {
				e := mvcc.EncodeKey(o, ts)
				inLo, inHi := bytes.Compare(e, lo) >= 0, bytes.Compare(e, hi) < 0
				c := bytes.Compare(o, k)
				switch {
				case c == 0 && !(inLo && inHi):
					t.Fatalf("version %x@%d outside [KeyBound, VersionsUpperBound) of its key", o, ts)
				case c < 0 && inLo:
					t.Fatalf("%x@%d of a smaller key is at or above KeyBound(%x)", o, ts, k)
				case c > 0 && inHi:
					t.Fatalf("%x@%d of a larger key is below VersionsUpperBound(%x)", o, ts, k)
				}
			}
			// KeyBound orders like the keys themselves (range bounds).
			if got := bytes.Compare(mvcc.KeyBound(o), lo); got != bytes.Compare(o, k) {
				t.Fatalf("KeyBound order of %x vs %x = %d", o, k, got)
			}
		}
	}
}

func TestDecodeKeyRejectsCorrupt(t *testing.T) {
	ts := []byte{0, 0, 0, 0, 0, 0, 0, 1}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		enc  []byte
	}{
		{"empty", nil},
		{"shorter than terminator and ts", []byte{0, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"ts only", cat([]byte{0, 0}, ts)[2:]},
		{"no terminator", cat([]byte("abc"), ts)},
		{"lone escape at end", cat([]byte("ab\x00"), ts)},
		{"bad escape", cat([]byte("a\x00\x05\x00\x01"), ts)},
		{"bytes after terminator", cat([]byte("a\x00\x01b"), ts)},
		{"double terminator", cat([]byte("a\x00\x01\x00\x01"), ts)},
		{"escape then nothing", cat([]byte("\x00\xFF"), ts)},
		{"terminator inside ts", []byte("a\x00\x01\x00\x00\x00\x00\x00\x00\x00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("DecodeKey panicked: %v", p)
				}
			}()
			key, gotTs, err := mvcc.DecodeKey(nil, tc.enc)
			if !errors.Is(err, mvcc.ErrCorrupt) {
				t.Fatalf("DecodeKey(%x) = %x@%d, %v; want ErrCorrupt", tc.enc, key, gotTs, err)
			}
			key, gotTs, err = mvcc.DecodeKeyNoCopy(nil, tc.enc)
			if !errors.Is(err, mvcc.ErrCorrupt) {
				t.Fatalf("DecodeKeyNoCopy(%x) = %x@%d, %v; want ErrCorrupt", tc.enc, key, gotTs, err)
			}
		})
	}
}

// TestDecodeKeyRandomBytes: DecodeKey never panics, and whatever it accepts
// is exactly what EncodeKey writes for the decoded pair (one encoding per
// key); DecodeKeyNoCopy accepts the same and decodes it the same.
func TestDecodeKeyRandomBytes(t *testing.T) {
	rng := seedRNG(t)
	alphabet := []byte{0x00, 0x01, 0xFF, 'a'}
	accepted := 0
	for i := 0; i < 20000; i++ {
		enc := make([]byte, rng.IntN(16))
		for j := range enc {
			enc[j] = alphabet[rng.IntN(len(alphabet))]
		}
		key, ts, err := mvcc.DecodeKey(nil, enc)
		nk, nts, nerr := mvcc.DecodeKeyNoCopy(nil, enc)
		if (err == nil) != (nerr == nil) || (err == nil && (!bytes.Equal(key, nk) || ts != nts)) {
			t.Fatalf("DecodeKeyNoCopy(%x) = %x@%d, %v; DecodeKey = %x@%d, %v", enc, nk, nts, nerr, key, ts, err)
		}
		if err != nil {
			if !errors.Is(err, mvcc.ErrCorrupt) {
				t.Fatalf("DecodeKey(%x) error %v does not match ErrCorrupt", enc, err)
			}
			continue
		}
		accepted++
		if re := mvcc.EncodeKey(key, ts); !bytes.Equal(re, enc) {
			t.Fatalf("DecodeKey(%x) = %x@%d, which encodes as %x", enc, key, ts, re)
		}
	}
	if accepted == 0 {
		t.Fatal("no random input decoded; the generator is too weak")
	}
}

func TestValueEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    mvcc.Version
	}{
		{"put", mvcc.Version{Value: []byte("hello")}},
		{"empty put", mvcc.Version{Value: []byte{}}},
		{"nil put", mvcc.Version{}},
		{"binary put", mvcc.Version{Value: []byte{0, 'D', 0xFF}}},
		{"put that looks like a marker", mvcc.Version{Value: []byte("D")}},
		{"delete", mvcc.Version{Tombstone: true}},
		{"delete ignores value", mvcc.Version{Tombstone: true, Value: []byte("x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := mvcc.EncodeValue(tc.v)
			val, tomb, err := mvcc.DecodeValue(enc)
			if err != nil {
				t.Fatal(err)
			}
			if tomb != tc.v.Tombstone {
				t.Fatalf("tombstone = %v", tomb)
			}
			if !tomb && !bytes.Equal(val, tc.v.Value) {
				t.Fatalf("value = %q, want %q", val, tc.v.Value)
			}
			if tomb && val != nil {
				t.Fatalf("delete marker decoded with value %q", val)
			}
		})
	}
	for _, bad := range [][]byte{nil, {}, {'X'}, {'p', 'a'}, {'D', 0}, {'D', 'D'}} {
		if v, tomb, err := mvcc.DecodeValue(bad); !errors.Is(err, mvcc.ErrCorrupt) {
			t.Errorf("DecodeValue(%x) = %q, %v, %v; want ErrCorrupt", bad, v, tomb, err)
		}
	}
}

func TestRegionValidate(t *testing.T) {
	for _, tc := range []struct {
		r  mvcc.Region
		ok bool
	}{
		{mvcc.Region{ID: 1, Version: 1}, true},
		{mvcc.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("b")}, true},
		{mvcc.Region{ID: 1, Version: 1, Start: []byte("a")}, true},
		{mvcc.Region{ID: 0, Version: 1}, false},
		{mvcc.Region{ID: 1, Version: 0}, false},
		{mvcc.Region{ID: 1, Version: 1, Start: []byte("b"), End: []byte("a")}, false},
		{mvcc.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("a")}, false},
	} {
		err := tc.r.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, mvcc.ErrInvalidRegion)) {
			t.Errorf("%s: Validate = %v, want ok=%v", tc.r, err, tc.ok)
		}
	}
}

// TestRangeHelpers checks Contains, Overlaps and ContainsRange against a
// brute-force model over every key of a small universe.
func TestRangeHelpers(t *testing.T) {
	universe := [][]byte{{}, []byte("a"), []byte("a\x00"), []byte("b"), []byte("c"), []byte("d"), []byte("d\xff")}
	ends := append([][]byte{nil}, universe[1:]...)
	var ranges []mvcc.Region
	for _, s := range universe {
		for _, e := range ends {
			r := mvcc.Region{ID: 1, Version: 1, Start: s, End: e}
			if r.Validate() == nil {
				ranges = append(ranges, r)
			}
		}
	}
	probe := append(slices.Clone(universe), []byte("zz"), []byte("\xff\xff"))
	contains := func(r mvcc.Region, k []byte) bool {
		return bytes.Compare(k, r.Start) >= 0 && (len(r.End) == 0 || bytes.Compare(k, r.End) < 0)
	}
	for _, a := range ranges {
		for _, k := range probe {
			if a.Contains(k) != contains(a, k) {
				t.Fatalf("%s.Contains(%x) = %v", a, k, a.Contains(k))
			}
		}
		for _, b := range ranges {
			// Two ranges over a dense enough universe overlap iff max(start) < min(end).
			lo := a.Start
			if bytes.Compare(b.Start, lo) > 0 {
				lo = b.Start
			}
			want := (len(a.End) == 0 || bytes.Compare(lo, a.End) < 0) && (len(b.End) == 0 || bytes.Compare(lo, b.End) < 0)
			if got := a.Overlaps(b); got != want {
				t.Fatalf("%s.Overlaps(%s) = %v, want %v", a, b, got, want)
			}
			if got := mvcc.RangesOverlap(a.Start, a.End, b.Start, b.End); got != want {
				t.Fatalf("RangesOverlap(%s, %s) = %v", a, b, got)
			}
			wantIn := bytes.Compare(b.Start, a.Start) >= 0 &&
				(len(a.End) == 0 || (len(b.End) > 0 && bytes.Compare(b.End, a.End) <= 0))
			if got := a.ContainsRange(b.Start, b.End); got != wantIn {
				t.Fatalf("%s.ContainsRange(%s) = %v, want %v", a, b, got, wantIn)
			}
		}
	}
}

func TestRegionCloneAndFormat(t *testing.T) {
	r := mvcc.Region{ID: 3, Version: 2, Start: []byte("a"), End: []byte("z")}
	c := r.Clone()
	c.Start[0], c.End[0] = 'x', 'y'
	if string(r.Start) != "a" || string(r.End) != "z" {
		t.Fatal("Clone shares memory with the original")
	}
	if z := (mvcc.Region{ID: 1, Version: 1}).Clone(); z.Start == nil {
		t.Error("Clone of an empty start is nil")
	}
	if !r.SameIncarnation(mvcc.Region{ID: 3, Version: 2}) || r.SameIncarnation(mvcc.Region{ID: 3, Version: 3}) {
		t.Error("SameIncarnation")
	}
	for in, want := range map[string]string{"abc": `"abc"`, "\x00\xff": "0x00ff", "0xab": "0x30786162", "": `""`} {
		if got := mvcc.FormatKey([]byte(in)); got != want {
			t.Errorf("FormatKey(%q) = %s, want %s", in, got, want)
		}
	}
	if got := mvcc.FormatEnd(nil); got != "+inf" {
		t.Errorf("FormatEnd(nil) = %s", got)
	}
	if got := r.String(); got != `region 3 v2 ["a", "z")` {
		t.Errorf("String() = %s", got)
	}
}
