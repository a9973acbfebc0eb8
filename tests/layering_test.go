package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// module is the module path; packages below are named relative to it ("."
// is the root package).
const module = "github.com/regioncache/regioncache"

// listedPackage is the part of `go list -json` the layering rules read.
type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	// TestGoFiles and XTestGoFiles are the package's test files.
	TestGoFiles, XTestGoFiles []string
	Imports                   []string // direct imports of the non-test files
	Deps                      []string // every package the non-test files need, transitively
}

// listPackages runs `go list -json` over the module's packages.
func listPackages(t *testing.T) map[string]listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := make(map[string]listedPackage)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[relative(p.ImportPath)] = p
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no package")
	}
	return pkgs
}

// relative names a package of the module by its directory ("." for the
// root); other packages keep their import path.
func relative(path string) string {
	if path == module {
		return "."
	}
	if rest, ok := strings.CutPrefix(path, module+"/"); ok {
		return rest
	}
	return path
}

func isInternal(rel string) bool {
	return rel == "internal" || strings.HasPrefix(rel, "internal/") || strings.Contains(rel, "/internal/") || strings.HasSuffix(rel, "/internal")
}

// isStandard reports whether an import path is of the standard library
// (no dot in its first element), without asking go list about it.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestLayering checks the package layering that ARCHITECTURE.md describes,
// so that it holds by test rather than by care:
//
//   - the region state machine (internal/lifecycle) is pure: it needs the
//     standard library and its vocabularies (the MVCC types of internal/mvcc,
//     the counter names of internal/counters), which need only the standard
//     library;
//   - the data path (internal/dataplane, internal/memstore) never reaches
//     the actor layer: no actor package of the module, no protoactor;
//   - the only importable (non-internal) packages are the public API, the
//     actor layer the design card keeps at the top level, the tests and the
//     examples.
func TestLayering(t *testing.T) {
	pkgs := listPackages(t)

	t.Run("lifecycle is pure", func(t *testing.T) {
		// The vocabularies the state machine speaks: the MVCC types and the
		// counter names. Each needs only the standard library.
		vocabularies := []string{"internal/mvcc", "internal/counters"}
		for _, name := range append([]string{"internal/lifecycle"}, vocabularies...) {
			p, ok := pkgs[name]
			if !ok {
				t.Fatalf("%s not found", name)
			}
			for _, dep := range p.Deps {
				switch {
				case isStandard(dep):
				case name == "internal/lifecycle" && slices.Contains(vocabularies, relative(dep)):
				case name == "internal/lifecycle":
					t.Errorf("internal/lifecycle depends on %s: it may use only the standard library and %s", dep, strings.Join(vocabularies, ", "))
				default:
					t.Errorf("%s depends on %s: a vocabulary of the state machine may use only the standard library", name, dep)
				}
			}
		}
	})

	t.Run("data path does not reach the actors", func(t *testing.T) {
		actorLayer := []string{"actors", "regionactor", "loaderactor", "messages"}
		for _, name := range []string{"internal/dataplane", "internal/memstore"} {
			p, ok := pkgs[name]
			if !ok {
				t.Fatalf("%s not found", name)
			}
			protoactor := false
			for _, dep := range p.Deps {
				if strings.HasPrefix(dep, "github.com/asynkron/protoactor-go") {
					protoactor = true
				}
				if slices.Contains(actorLayer, relative(dep)) {
					t.Errorf("%s depends on %s: the data path must not reach the actor layer", name, dep)
				}
			}
			if protoactor {
				t.Errorf("%s depends on protoactor: the data path must not reach the actor layer", name)
			}
		}
	})

	t.Run("importable packages", func(t *testing.T) {
		allowed := map[string]string{
			".":           "the public API",
			"config":      "options from files",
			"debughttp":   "the debug HTTP handlers",
			"eventlog":    "the event-log format, read by tools outside the repository",
			"replay":      "running event logs",
			"actors":      "the actor layer (design card: stays at the top level)",
			"messages":    "the actor layer's messages (design card)",
			"regionactor": "the region actor (design card)",
			"loaderactor": "the loaders (design card)",
			"cmd/demo":    "the demo command (design card)",
			"tests":       "the end-to-end tests (design card)",
			"examples":    "embedding examples",
		}
		for rel := range pkgs {
			if isInternal(rel) || strings.HasPrefix(rel, "examples/") {
				continue
			}
			if _, ok := allowed[rel]; !ok {
				t.Errorf("package %s is importable by users: move it under internal/ or add it, with its reason, to this test and to ARCHITECTURE.md", rel)
			}
		}
	})
}

// packageMapRow matches a row of ARCHITECTURE.md's package table; its first
// cell names one or more packages in backquotes.
var packageMapRow = regexp.MustCompile("^\\|\\s*(`[^|]+`)\\s*\\|")

// TestArchitecturePackageMap checks that ARCHITECTURE.md's package map
// ("## Packages") names exactly the packages of `go list ./...`, each once.
func TestArchitecturePackageMap(t *testing.T) {
	pkgs := listPackages(t)
	f, err := os.Open(filepath.Join(repoRoot, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mapped := make(map[string]int)
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Packages"
			continue
		}
		m := packageMapRow.FindStringSubmatch(line)
		if !in || m == nil {
			continue
		}
		for _, name := range strings.Split(m[1], ",") {
			name = strings.Trim(strings.TrimSpace(name), "`")
			if name == "regioncache" {
				name = "."
			}
			mapped[name]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(mapped) == 0 {
		t.Fatal(`ARCHITECTURE.md has no "## Packages" table`)
	}
	for rel := range pkgs {
		if mapped[rel] == 0 {
			t.Errorf("package %s is missing from ARCHITECTURE.md's package map", rel)
		}
	}
	for name, n := range mapped {
		if _, ok := pkgs[name]; !ok {
			t.Errorf("ARCHITECTURE.md's package map names %s, which go list does not know", name)
		}
		if n > 1 {
			t.Errorf("ARCHITECTURE.md's package map names %s %d times", name, n)
		}
	}
}

// TestEveryTestPackageChecksLeaks: goleak runs in every test package,
// through the one helper (leaktest.Main, or MainAfter for a package whose
// tests share a fixture) that knows which goroutines may outlive a test.
func TestEveryTestPackageChecksLeaks(t *testing.T) {
	for rel, p := range listPackages(t) {
		files := append(slices.Clone(p.TestGoFiles), p.XTestGoFiles...)
		if len(files) == 0 {
			continue
		}
		found := false
		for _, f := range files {
			src, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(src, []byte("func TestMain(")) &&
				(bytes.Contains(src, []byte("leaktest.Main(m)")) || bytes.Contains(src, []byte("leaktest.MainAfter(m,"))) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("package %s has tests but no TestMain calling leaktest.Main(m) (or MainAfter)", rel)
		}
	}
}
