package mvcc_test

import (
	"fmt"
	"testing"

	"github.com/regioncache/regioncache/internal/mvcc"
)

func TestGCFilter(t *testing.T) {
	type v struct {
		key  string
		ts   uint64
		tomb bool
	}
	cases := []struct {
		name      string
		safePoint uint64
		in        []v
		want      []v
	}{
		{"zero safe point keeps all", 0,
			[]v{{"a", 5, false}, {"a", 3, true}, {"a", 1, false}},
			[]v{{"a", 5, false}, {"a", 3, true}, {"a", 1, false}}},
		{"newest at or below kept, older dropped", 4,
			[]v{{"a", 9, false}, {"a", 4, false}, {"a", 2, false}, {"b", 3, false}, {"b", 1, false}},
			[]v{{"a", 9, false}, {"a", 4, false}, {"b", 3, false}}},
		{"a delete marker at or below goes with what it hides", 5,
			[]v{{"a", 8, false}, {"a", 5, true}, {"a", 2, false}, {"b", 6, true}, {"b", 1, false}},
			[]v{{"a", 8, false}, {"b", 6, true}, {"b", 1, false}}},
		{"keys that are prefixes of each other are distinct", 3,
			[]v{{"a", 2, false}, {"a", 1, false}, {"ab", 2, false}, {"ab", 1, false}},
			[]v{{"a", 2, false}, {"ab", 2, false}}},
		{"only versions above", 1,
			[]v{{"a", 3, false}, {"a", 2, true}},
			[]v{{"a", 3, false}, {"a", 2, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mvcc.GCFilter{SafePoint: c.safePoint}
			var got []v
			buf := make([]byte, 0, 8)
			for _, x := range c.in {
				buf = append(buf[:0], x.key...) // the caller reuses its buffer
				if f.Keep(buf, x.ts, x.tomb) {
					got = append(got, x)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("kept %v, want %v", got, c.want)
			}
		})
	}
}
