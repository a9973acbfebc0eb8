package replay

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/regioncache/regioncache/eventlog"
)

// MarshalJSON renders the result in the shape the spec gives `--json`:
//
//	{"file": NAME, "events": N, "expectations": N, "failed": N, "failures": [...],
//	 "regions": {"ID": "state", ...}, "counters": {...}}
//
// Each failure is {"file", "line", "op" (the line's JSON object), "message"}.
// Regions are in increasing id order and counters in the spec's order.
func (r *Result) MarshalJSON() ([]byte, error) {
	type failure struct {
		File    string          `json:"file"`
		Line    int             `json:"line"`
		Op      json.RawMessage `json:"op,omitempty"`
		Message string          `json:"message"`
	}
	failures := make([]failure, len(r.Failures))
	for i, f := range r.Failures {
		failures[i] = failure{File: r.Name, Line: f.Line, Op: compact(f.OpText), Message: f.Message}
	}
	var regions orderedObject
	for _, id := range r.RegionIDs() {
		regions = append(regions, member{strconv.FormatUint(id, 10), r.Regions[id]})
	}
	var counters orderedObject
	for _, name := range eventlog.Counters {
		if v, ok := r.Counters[name]; ok {
			counters = append(counters, member{name, v})
		}
	}
	return json.Marshal(struct {
		File         string        `json:"file"`
		Events       int           `json:"events"`
		Expectations int           `json:"expectations"`
		Failed       int           `json:"failed"`
		Failures     []failure     `json:"failures"`
		Regions      orderedObject `json:"regions"`
		Counters     orderedObject `json:"counters"`
	}{r.Name, r.Events, r.Expectations, r.Failed, failures, regions, counters})
}

// compact returns an op line as compact JSON, or nil if it is not JSON
// (it always is: the parser checked it).
func compact(text string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return nil
	}
	return b.Bytes()
}

// orderedObject is a JSON object that keeps its members' order.
type orderedObject []member

type member struct {
	name  string
	value any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(m.name)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
