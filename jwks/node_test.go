package jwks_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwks"
)

// nodeDir holds serve.mjs and the jose it runs with, pinned by its lock
// file (testdata/node/package-lock.json).
const nodeDir = "testdata/node"

// TestJoseServesTheJWKS: jose, as an issuer, makes RS256, PS256, ES256 and
// EdDSA keys and serves their JWKS over HTTP; the jwks module fetches it,
// and jose's tokens verify through it with their issuer, audience and
// roles, while one signed by a key the JWKS does not hold is refused.
// It skips where node or npm is missing, but fails under CI (CI set).
func TestJoseServesTheJWKS(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the Node interop test must run in CI, but %s is not on PATH", tool)
			}
			t.Skipf("skipping: %s is not on PATH (install Node 20 or later to run it; CI does)", tool)
		}
	}
	installJose(t)
	const issuer, audience = "https://jose.example", "jwks-interop"
	algs := []string{"RS256", "PS256", "ES256", "EdDSA"}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "serve.mjs")
	cmd.Dir = nodeDir
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // serve.mjs stops serving when its stdin closes
		if err := cmd.Wait(); err != nil {
			t.Errorf("node serve.mjs: %v", err)
		}
	}()
	spec, _ := json.Marshal(map[string]any{"issuer": issuer, "audience": audience, "algs": algs})
	if _, err := fmt.Fprintf(stdin, "%s\n", spec); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("node serve.mjs printed no line: %v", err)
	}
	var served struct {
		URL        string            `json:"jwks_url"`
		Tokens     map[string]string `json:"tokens"`
		UnknownKid string            `json:"unknown_kid"`
	}
	if err := json.Unmarshal(line, &served); err != nil {
		t.Fatalf("node serve.mjs printed %s: %v", line, err)
	}

	quiet := slog.New(slog.DiscardHandler)
	keys, err := jwks.New(ctx, served.URL, jwks.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	if n := len(keys.Keys()); n != len(algs) {
		t.Fatalf("%d keys fetched from jose's JWKS, want %d", n, len(algs))
	}
	a, err := jwtguard.New(keys, jwtguard.WithIssuer(issuer), jwtguard.WithAudience(audience), jwtguard.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	authenticate := func(tok string) (*jwtguard.Claims, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return a.Authenticate(r)
	}
	for _, alg := range algs {
		c, err := authenticate(served.Tokens[alg])
		if err != nil || c.Subject != "jose-user" || c.Issuer != issuer || !slices.Equal(c.Roles, []string{"admin"}) {
			t.Errorf("%s token from jose: %+v, %v", alg, c, err)
		}
	}
	if _, err := authenticate(served.UnknownKid); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("a token of a key not in jose's JWKS: %v", err)
	}
}

// installJose runs `npm ci` in nodeDir unless its node_modules holds what
// the lock file pins (npm writes node_modules/.package-lock.json last).
func installJose(t *testing.T) {
	t.Helper()
	lock, err := os.Stat(filepath.Join(nodeDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if done, err := os.Stat(filepath.Join(nodeDir, "node_modules", ".package-lock.json")); err == nil && !done.ModTime().Before(lock.ModTime()) {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in jwks/%s: %v\n%s", nodeDir, err, out)
	}
}
