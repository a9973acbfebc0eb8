package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestErrorSentinelsCarryThePrefix reads every
// package-level exported error variable of the repository (Err... =
// errors.New or fmt.Errorf), internal packages included, since their
// sentinels reach callers wrapped or as they are, and checks that its text
// begins with "regioncache: ". TestErrorsCarryThePrefix (root package)
// drives the calls that return the rest.
func TestErrorSentinelsCarryThePrefix(t *testing.T) {
	fset := token.NewFileSet()
	seen := 0
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != repoRoot {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Err") || !name.IsExported() || i >= len(vs.Values) {
						continue
					}
					text, ok := errorText(vs.Values[i])
					if !ok {
						continue // an alias of another sentinel, checked where it is made
					}
					seen++
					if !strings.HasPrefix(text, "regioncache: ") {
						t.Errorf("%s: %s = %q lacks the regioncache: prefix", fset.Position(name.Pos()), name.Name, text)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 20 {
		t.Fatalf("found %d error sentinels; the walk missed the repository", seen)
	}
}

// errorText is the message of errors.New("...") or fmt.Errorf("...", ...).
func errorText(e ast.Expr) (string, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok || !(pkg.Name == "errors" && sel.Sel.Name == "New" || pkg.Name == "fmt" && sel.Sel.Name == "Errorf") {
		return "", false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
