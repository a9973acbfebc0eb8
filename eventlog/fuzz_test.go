package eventlog_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

// FuzzParse checks that Parse never panics, reports errors at a real line,
// and that a parsed log depends only on its op lines: re-parsing just the
// ops' Text gives the same payloads.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/valid/*.jsonl")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"# only a comment\n",
		`{"op":"put","key":"0x7A7480","ts":1,"value":"v"}`,
		`{"op":"split","region":{"id":1,"version":5,"start":"a","end":"z"},"into":[{"id":1,"version":6,"start":"a","end":"m"},{"id":2,"version":6,"start":"m","end":"z"}]}`,
		`{"op":"snapshot","name":"s","region":{"id":1,"version":1,"start":""},"ts":1}` + "\n" + `{"op":"get","key":"a","snapshot":"s"}` + "\n" + `{"op":"release","name":"s"}`,
		`{"op":"scan","start":"a","end":"","ts":1,"limit":2,"expect":[["b","1"],["c","\ud83d\ude00"]]}`,
		`{"op":"put","key":"a","ts":1,"value":"v"}` + "\n" + `{"op":"config","loaders":1}`,
		"{\"op\":\"check\"}\r\n\r\n\ufeff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := eventlog.Parse(bytes.NewReader(data))
		if err != nil {
			var pe *eventlog.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Line < 1 || pe.Line > countLines(data) {
				t.Fatalf("error at line %d of %d: %v", pe.Line, countLines(data), err)
			}
			if pe.File != "-" || pe.Msg == "" {
				t.Fatalf("error %+v", pe)
			}
			return
		}
		var texts []string
		prev := 0
		for _, op := range log.Ops {
			if op.Line <= prev || op.Line > countLines(data) {
				t.Fatalf("op line %d after %d", op.Line, prev)
			}
			prev = op.Line
			if op.Payload == nil || op.Kind().String() == "" || op.String() == "" {
				t.Fatalf("line %d: empty op %#v", op.Line, op)
			}
			texts = append(texts, op.Text)
		}
		again, err := eventlog.Parse(strings.NewReader(strings.Join(texts, "\n")))
		if err != nil {
			t.Fatalf("re-parsing the op lines: %v", err)
		}
		if len(again.Ops) != len(log.Ops) {
			t.Fatalf("re-parse has %d ops, want %d", len(again.Ops), len(log.Ops))
		}
		for i := range log.Ops {
			a, b := log.Ops[i], again.Ops[i]
			if !reflect.DeepEqual(a.Payload, b.Payload) || a.HasAt != b.HasAt || !a.At.Equal(b.At) {
				t.Fatalf("op %d differs on re-parse:\n%#v\n%#v", i, a.Payload, b.Payload)
			}
		}
		if again.Config != log.Config {
			t.Fatalf("config %+v, re-parsed %+v", log.Config, again.Config)
		}
	})
}

func countLines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}
