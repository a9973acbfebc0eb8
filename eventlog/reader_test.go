package eventlog

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// zeros is /dev/zero: one line that never ends.
type zeros struct{ read int64 }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.read += int64(len(p))
	return len(p), nil
}

func TestLineLimit(t *testing.T) {
	put := `{"op": "put", "key": "a", "ts": 1, "value": "`
	atLimit := put + strings.Repeat("v", MaxLineBytes-len(put)-2) + `"}`
	for _, tt := range []struct {
		name string
		in   io.Reader
		line int // 0: accepted
	}{
		{"a line at the limit", strings.NewReader("# c\n" + atLimit + "\n"), 0},
		{"at the limit, CRLF", strings.NewReader(atLimit + "\r\n"), 0},
		{"at the limit, no final newline", strings.NewReader(atLimit), 0},
		{"one byte over", strings.NewReader("# c\n\n" + atLimit + " \n"), 3},
		{"one byte over, no final newline", strings.NewReader(atLimit + " "), 1},
		{"/dev/zero", &zeros{}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log, err := ParseNamed("f.jsonl", tt.in)
			if tt.line == 0 {
				if err != nil || len(log.Ops) != 1 || len(log.Ops[0].Text) != len(atLimit) {
					t.Fatalf("refused a line at the limit: %v", err)
				}
				return
			}
			var perr *ParseError
			if !errors.As(err, &perr) || perr.Line != tt.line || !strings.Contains(perr.Msg, "longer than 1048576 bytes (1 MiB)") {
				t.Fatalf("got %v, want f.jsonl:%d: line is longer than ...", err, tt.line)
			}
		})
	}
}

func TestLinesAcrossReadBoundaries(t *testing.T) {
	// Lines longer than the reader's buffer, and a byte order mark.
	long := `{"op": "put", "key": "k", "ts": 1, "value": "` + strings.Repeat("x", 200_000) + `"}`
	log, err := ParseNamed("f", strings.NewReader("\uFEFF# c\n"+long+"\n\n"+long+"\r\n"+`{"op": "check"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Ops) != 3 || log.Ops[1].Line != 4 || log.Ops[1].Text != long || log.Ops[2].Line != 5 || log.Comments[0].Text != "c" {
		t.Fatalf("ops %d, comments %v", len(log.Ops), log.Comments)
	}
}
