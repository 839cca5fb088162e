package jwtguard_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// TestAPISurface keeps the root package small and documented: at most 60
// exported names as go/doc lists them (top-level names plus methods), each
// with a doc comment that starts with its name, and an Example for the
// calls a newcomer starts from.
func TestAPISurface(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p := doc.New(pkgs["jwtguard"], "github.com/jwtguard/jwtguard", 0)
	names := 0
	check := func(name, text string) {
		names++
		if !strings.HasPrefix(text, name+" ") && !strings.HasPrefix(text, "A "+name+" ") && !strings.HasPrefix(text, "An "+name+" ") {
			t.Errorf("%s: doc comment %q does not start with its name", name, firstWords(text))
		}
	}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, s := range v.Decl.Specs {
				vs := s.(*ast.ValueSpec)
				for _, n := range vs.Names {
					if !n.IsExported() {
						continue
					}
					names++
					// A value in a group is documented by its own comment
					// or the group's.
					if vs.Doc.Text() == "" && v.Doc == "" {
						t.Errorf("%s: no doc comment", n.Name)
					}
				}
			}
		}
	}
	values(p.Consts)
	values(p.Vars)
	for _, f := range p.Funcs {
		check(f.Name, f.Doc)
	}
	for _, typ := range p.Types {
		check(typ.Name, typ.Doc)
		values(typ.Consts)
		values(typ.Vars)
		for _, f := range typ.Funcs {
			check(f.Name, f.Doc)
		}
		for _, m := range typ.Methods {
			check(m.Name, m.Doc)
		}
	}
	if names > 60 {
		t.Errorf("%d exported names, want at most 60", names)
	}

	tests, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string]bool{}
	for _, pkg := range tests {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fn.Name.Name, "Example") {
					examples[fn.Name.Name] = true
				}
			}
		}
	}
	for _, want := range []string{"Example", "ExampleNew", "ExampleFromEnv", "ExampleAuth_Verify", "ExampleAuth_VerifyOptional",
		"ExampleAuth_Authorize", "ExampleAuth_LoginHandler", "ExampleAuth_Issue", "ExampleFromContext", "ExampleAuth_Authenticate", "ExampleAuth_Stats"} {
		if !examples[want] {
			t.Errorf("no %s", want)
		}
	}
}

func firstWords(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
