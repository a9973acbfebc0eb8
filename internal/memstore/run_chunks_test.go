package memstore

import (
	"fmt"
	"testing"
)

// Items share chunks whatever their size below a quarter of the largest
// chunk: a run of 1,000 versions of 70-byte keys and 200-byte values was
// 2,000 chunks (one heap object per key and per value) when every item
// over a quarter of the first chunk got a chunk of its own and so no chunk
// was ever shared. A small run still takes about what its data needs.
func TestItemsShareArenaChunks(t *testing.T) {
	for _, tc := range []struct {
		keyLen, valueLen, versions, maxChunks int
	}{
		{24, 100, 1000, 12},
		{70, 200, 1000, 14},
		{100, 4000, 1000, 24},
		{20, 300 << 10, 8, 16}, // over a quarter of the largest chunk: a chunk each
		{10, 1000, 2, 4},       // a small run: its large values in chunks of their size
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.keyLen, tc.valueLen), func(t *testing.T) {
			b := NewRunBuilder(0, nil)
			key, value := make([]byte, tc.keyLen), make([]byte, tc.valueLen)
			for i := range tc.versions {
				copy(key, fmt.Sprintf("k%08d", i))
				value[0] = byte(i)
				if _, err := b.Add(key, 1, value, false); err != nil {
					t.Fatal(err)
				}
			}
			r, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if len(r.arena) > tc.maxChunks {
				t.Errorf("%d versions in %d arena chunks, want at most %d", tc.versions, len(r.arena), tc.maxChunks)
			}
			data := int64(tc.versions * (tc.keyLen + tc.valueLen))
			if tc.versions <= 2 && r.Bytes()-RunOverhead > data+2*arenaFirst+int64(tc.versions)*64 {
				t.Errorf("a run of %d versions holds %d bytes for %d bytes of data", tc.versions, r.Bytes(), data)
			}
			if r.Bytes() > 2*data+64<<10 {
				t.Errorf("run holds %d bytes for %d bytes of data", r.Bytes(), data)
			}
			s := NewStore()
			s.SetBase(r, nil, nil) // takes over the builder's reference
			for i := range tc.versions {
				copy(key, fmt.Sprintf("k%08d", i))
				got, ok := s.Get(key, 1)
				if !ok || len(got) != tc.valueLen || got[0] != byte(i) {
					t.Fatalf("version %d reads back as %v, %d bytes", i, ok, len(got))
				}
			}
		})
	}
}
