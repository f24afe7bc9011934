package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
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
