package reference_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/internal/testutil/leaktest"
	"github.com/regioncache/regioncache/internal/testutil/reference"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// farFuture is a read timestamp above every write.
const farFuture = uint64(1) << 62

func TestStoreSemantics(t *testing.T) {
	s := reference.NewStore()
	k := []byte("k")
	s.Apply(k, 10, []byte("a"), false)
	s.Apply(k, 20, nil, true)
	snap := s.Now()
	s.Apply(k, 15, []byte("late"), false) // below the delete marker: hidden at 20+
	s.Apply(k, 30, []byte("b"), false)
	s.Apply(k, 30, []byte("b2"), false) // same ts again: the later write wins
	for _, c := range []struct {
		v     reference.View
		ts    uint64
		want  string
		found bool
	}{
		{s.Now(), 5, "", false},
		{s.Now(), 10, "a", true},
		{s.Now(), 16, "late", true},
		{s.Now(), 25, "", false},
		{s.Now(), 30, "b2", true},
		{s.Now(), farFuture, "b2", true},
		{snap, 16, "a", true}, // the snapshot predates the write at 15
		{snap, farFuture, "", false},
	} {
		v, ok := c.v.Get(k, c.ts)
		if ok != c.found || string(v) != c.want {
			t.Errorf("get at %d: %q %v, want %q %v", c.ts, v, ok, c.want, c.found)
		}
	}
	s.Apply([]byte("a"), 1, []byte("1"), false)
	s.Apply([]byte("c"), 1, []byte("3"), false)
	s.Apply([]byte{}, 1, []byte("empty"), false)
	got := s.Scan([]byte{}, nil, 100, 0)
	var keys []string
	for _, kv := range got {
		keys = append(keys, string(kv.Key)+"="+string(kv.Value))
	}
	if want := "=empty a=1 c=3 k=b2"; strings.Join(keys, " ") != want {
		t.Errorf("scan: %q, want %q", strings.Join(keys, " "), want)
	}
	if got := s.Scan([]byte("a"), []byte("k"), 100, 1); len(got) != 1 || string(got[0].Key) != "a" {
		t.Errorf("scan with limit: %v", got)
	}
	if got := s.Scan([]byte("k"), nil, 25, 0); len(got) != 0 {
		t.Errorf("scan hides deleted keys: %v", got)
	}
}

func TestKeysVersionsTimestamps(t *testing.T) {
	s := reference.NewStore()
	s.Apply([]byte("b"), 10, []byte("1"), false)
	s.Apply([]byte("b"), 10, []byte("2"), false) // the same version again: replaced on disk
	s.Apply([]byte("b"), 20, nil, true)
	s.Apply([]byte("a"), 5, []byte("x"), false)
	s.Apply([]byte("d"), 30, []byte("y"), false)
	if got := s.Keys(); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("Keys = %q", got)
	}
	for _, c := range []struct {
		start, end string
		want       int64
	}{
		{"", "", 4},
		{"b", "c", 2},
		{"a", "b", 1},
		{"c", "", 1},
		{"e", "", 0},
	} {
		if got := s.DistinctVersions([]byte(c.start), []byte(c.end)); got != c.want {
			t.Errorf("DistinctVersions(%q, %q) = %d, want %d", c.start, c.end, got, c.want)
		}
	}
	if got := s.Timestamps(); !slices.Equal(got, []uint64{5, 10, 20, 30}) {
		t.Errorf("Timestamps = %v", got)
	}
}
