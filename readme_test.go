package jwtguard_test

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestREADMECompiles builds every ```go block of README.md as the main.go
// of a module of its own that requires this checkout of jwtguard, so that
// the quick start works when pasted. Each block must be a whole file. The
// build is offline: the dependencies are those this module already has.
func TestREADMECompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go command")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for i, src := range blocks {
		t.Run(fmt.Sprintf("block %d", i+1), func(t *testing.T) {
			if !strings.HasPrefix(src, "package ") {
				t.Fatalf("block %d is not a whole Go file (it must start with a package clause):\n%s", i+1, src)
			}
			dir := t.TempDir()
			gomod := "module readme\n\ngo 1.25\n\nrequire github.com/jwtguard/jwtguard v0.0.0\n\nreplace github.com/jwtguard/jwtguard => " + root + "\n"
			blockSum := sum
			// The stores are modules of their own (Go 1.26): a block that
			// imports one requires it from this checkout.
			// So is jwks, the remote key sets, which is found here as
			// a "store" at ../jwks.
			var stores []string
			for _, store := range []string{"postgres", "redis", "sqlite", "../jwks"} {
				if strings.Contains(src, `"`+path.Join("github.com/jwtguard/jwtguard/stores", store)+`"`) {
					stores = append(stores, store)
				}
			}
			if len(stores) > 0 {
				if strings.HasPrefix(runtime.Version(), "go1.25") {
					t.Skipf("the stores need Go 1.26; this is %s", runtime.Version())
				}
				gomod = "module readme\n\ngo 1.26\n\nrequire github.com/jwtguard/jwtguard v0.0.0\n\nreplace github.com/jwtguard/jwtguard => " + root + "\n"
				blockSum = append([]byte{}, sum...)
				for _, store := range stores {
					storeSum, err := os.ReadFile(filepath.Join("stores", store, "go.sum"))
					if err != nil {
						t.Fatal(err)
					}
					blockSum = append(blockSum, storeSum...)
					mod := path.Join("github.com/jwtguard/jwtguard/stores", store)
					gomod += "\nrequire " + mod + " v0.0.0\n\nreplace " + mod + " => " + filepath.Join(root, "stores", store) + "\n"
				}
			}
			for name, body := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": blockSum, "main.go": []byte(src)} {
				if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.CommandContext(t.Context(), "go", "vet", ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go vet of README block %d: %v\n%s\n%s", i+1, err, out, src)
			}
		})
	}
}

// goBlocks returns the contents of the ```go fenced blocks of markdown.
func goBlocks(markdown string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(markdown, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}
