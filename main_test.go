package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// libraryPackages parses every package but the command line's (commands/
// and the main packages), without their tests.
func libraryPackages(t *testing.T) map[string][]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "commands" || path == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if f.Name.Name != "main" {
			pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// Only the command line names flags: a package's errors say what went
// wrong in its own words, and commands adds which flag changes it.
func TestOnlyCommandsNameFlags(t *testing.T) {
	flag := regexp.MustCompile(`(^|[\s(])--[a-z]`)
	for dir, files := range libraryPackages(t) {
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				if s, err := strconv.Unquote(lit.Value); err == nil && flag.MatchString(s) {
					t.Errorf("%s: a string names a flag: %q", dir, s)
				}
				return true
			})
		}
	}
}

// Every package's doc comment says what it owns (and, in docs/ARCHITECTURE.md,
// what it must not know).
func TestEveryPackageSaysWhatItOwns(t *testing.T) {
	for dir, files := range libraryPackages(t) {
		documented := false
		for _, f := range files {
			documented = documented || (f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" "))
		}
		if !documented {
			t.Errorf("package %s has no doc comment starting \"Package %s\"", dir, files[0].Name.Name)
		}
	}
}

// A library's tests test the library: none drives the command line (its
// end-to-end tests live in commands/, which sits above everything).
func TestLibraryTestsDoNotDriveTheCommandLine(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") || !strings.Contains(path, "/") || strings.HasPrefix(path, "commands/") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"github.com/vcsync/vcsync/commands"` {
				t.Errorf("%s imports the command line", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// docs/ARCHITECTURE.md's package map names every package.
func TestArchitectureMapsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	for dir := range libraryPackages(t) {
		if !strings.Contains(string(doc), "`"+filepath.ToSlash(dir)+"`") {
			t.Errorf("docs/ARCHITECTURE.md does not map package %s", dir)
		}
	}
}

// The simulated chain's clock moves only through ethtest.AdjustTime: the
// backend's own AdjustTime refuses while its pool catches up with a block
// just mined, and a test that drops that error runs on a clock that stood
// still, which fails one CI run in many on a loaded machine.
func TestSimulatedClockMovesOnlyThroughEthtest(t *testing.T) {
	direct := regexp.MustCompile(`[Bb]ackend\.AdjustTime\(`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || path == filepath.Join("internal", "ethtest", "ethtest.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err == nil && direct.Match(src) {
			t.Errorf("%s moves the simulated chain's clock itself: call ethtest.AdjustTime", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
