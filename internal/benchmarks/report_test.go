package benchmarks

import (
	"context"
	"flag"
	"os"
	"testing"
)

// reportMode runs Run at a real scale from `go test`, for use before (or
// without) `demo bench`:
//
//	go test ./benchmarks -run '^TestReport$' -timeout 2h -v -args -report=quick
//	go test ./benchmarks -run '^TestReport$' -timeout 2h -v -args -report=full -json=/tmp/bench.json
var (
	reportMode = flag.String("report", "", "run the bench at this scale (quick or full) and print the table")
	reportJSON = flag.String("json", "", "with -report: also write the JSON report to this file")
)

func TestReport(t *testing.T) {
	if *reportMode == "" {
		t.Skip("run with -args -report=quick|full")
	}
	rep, err := Run(context.Background(), Options{Quick: *reportMode == "quick", Progress: os.Stderr})
	if rep != nil {
		rep.WriteTable(os.Stdout)
		if *reportJSON != "" {
			f, ferr := os.Create(*reportJSON)
			if ferr != nil {
				t.Fatal(ferr)
			}
			defer f.Close()
			if werr := rep.WriteJSON(f); werr != nil {
				t.Fatal(werr)
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}
