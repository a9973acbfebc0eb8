// Package examples holds event logs that teach the engine, one behaviour
// each: every log is green (all its expectations hold) and opens with a
// comment that says what it shows. `demo` with no arguments replays Default;
// `demo replay examples/NAME.jsonl` replays any of them, and `go test` runs
// them all.
package examples

import (
	"embed"
	"io/fs"
	"sort"
)

// FS holds the example logs, by file name.
//
//go:embed *.jsonl
var FS embed.FS

// Default is the example the bare `demo` replays: the seed incident.
const Default = "seed-incident.jsonl"

// Names lists the example files in FS, sorted.
func Names() []string {
	names, err := fs.Glob(FS, "*.jsonl")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	sort.Strings(names)
	return names
}
