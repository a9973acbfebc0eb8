package tests

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/eventlog"
)

// repoRoot is the repository's top directory, seen from this package.
const repoRoot = ".."

// TestEventLogSpecIsShipped: the format is a public contract, so the
// repository carries its text, and that text is of the version the parser
// reads.
func TestEventLogSpecIsShipped(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "docs", "event-log.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatal("docs/event-log.md is empty")
	}
	if want := "# Event log format, version " + eventlog.SpecVersion; sc.Text() != want {
		t.Errorf("docs/event-log.md starts with %q, want %q", sc.Text(), want)
	}
}

// TestNoPathOutsideTheRepository: a file of the repository that names a
// path outside it sends readers to something they do not have. The
// patterns are built from pieces so that this file does not match itself.
func TestNoPathOutsideTheRepository(t *testing.T) {
	outside := []string{"../" + "shared", "shared" + "/spec/", "shared" + "/notes/", "/" + "work/"}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != repoRoot && (strings.HasPrefix(name, ".") && name != ".ci") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == ".git" || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			return nil // binary
		}
		for _, p := range outside {
			if i := bytes.Index(data, []byte(p)); i >= 0 {
				line := bytes.Count(data[:i], []byte("\n")) + 1
				t.Errorf("%s:%d names a path outside the repository (%q)", path, line, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
