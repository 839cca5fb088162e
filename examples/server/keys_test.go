package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// TestGenerateKeyAndServeJWKS: -generate-key prints a private key that
// the server then signs with (JWT_PRIVATE_KEY_FILE), and publishes at
// /.well-known/jwks.json; a service holding only that JWKS verifies the
// server's tokens. Without key files, there is no JWKS route and no key
// file in the data directory is touched.
func TestGenerateKeyAndServeJWKS(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"EdDSA", "RS256", "ES256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			var priv, pub lockedBuffer
			if err := run(t.Context(), []string{"-generate-key", alg}, env(), &priv, &pub); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(priv.String(), "-----BEGIN PRIVATE KEY-----") || !strings.Contains(pub.String(), "-----BEGIN PUBLIC KEY-----") {
				t.Fatalf("stdout %q, stderr %q", priv.String(), pub.String())
			}
			if strings.Contains(pub.String(), "PRIVATE KEY") {
				t.Fatal("the private key went to stderr")
			}
			if (alg == "PS256") != strings.Contains(pub.String(), "JWT_ALGORITHM=PS256") {
				t.Errorf("JWT_ALGORITHM hint: %s", pub.String())
			}
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, []byte(priv.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			// -public-key prints the public key alone (a
			// JWT_PUBLIC_KEY_FILE), the one -generate-key printed.
			var public, none lockedBuffer
			if err := run(t.Context(), []string{"-public-key", path}, env(), &public, &none); err != nil {
				t.Fatal(err)
			}
			if k, err := jwtguard.ParseKeyPEM("", []byte(public.String())); err != nil || k.CanSign() || !strings.Contains(pub.String(), public.String()) {
				t.Fatalf("-public-key printed %q (%v)", public.String(), err)
			}
			vars := []string{"JWT_PRIVATE_KEY_FILE", path}
			if alg == "PS256" {
				vars = append(vars, "JWT_ALGORITHM", "PS256")
			}
			dataDir := t.TempDir()
			base, printed, stderr, stop := startRunEnv(t, env(vars...), "-addr", "127.0.0.1:0", "-data-dir", dataDir)
			defer stop()
			if !strings.Contains(strings.Join(printed, "\n"), "/.well-known/jwks.json") {
				t.Errorf("the JWKS address is not printed: %q", printed)
			}
			tok := login(t, base, "admin", "password123")
			r := do(t, "GET", base+"/.well-known/jwks.json", "", "")
			if r.status != http.StatusOK || r.header.Get("Cache-Control") == "" {
				t.Fatalf("JWKS: %d %v %s", r.status, r.header, r.body)
			}
			var doc struct{ Keys []json.RawMessage }
			if err := json.Unmarshal(r.body, &doc); err != nil || len(doc.Keys) != 1 {
				t.Fatalf("JWKS %s: %v", r.body, err)
			}
			if bytes.Contains(r.body, []byte(`"d"`)) {
				t.Fatalf("a private member in the JWKS: %s", r.body)
			}
			key, err := jwtguard.ParseJWK(doc.Keys[0], "")
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := jwtguard.New(key)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if c, err := verifier.Authenticate(req); err != nil || c.Username != "admin" {
				t.Errorf("the server's token through its JWKS: %v, %v", c, err)
			}
			if _, err := os.Stat(filepath.Join(dataDir, secretFile)); !os.IsNotExist(err) {
				t.Errorf("a secret file was made beside the key file: %v", err)
			}
			if strings.Contains(stderr.String(), "JWT_SECRET is not set") {
				t.Errorf("the log speaks of JWT_SECRET: %s", stderr.String())
			}
		})
	}
	t.Run("no key files", func(t *testing.T) {
		base, _, _, stop := startRunEnv(t, env(), "-addr", "127.0.0.1:0")
		defer stop()
		if r := do(t, "GET", base+"/.well-known/jwks.json", "", ""); r.status != http.StatusNotFound {
			t.Errorf("JWKS without key files: %d", r.status)
		}
	})
	for _, bad := range []string{"HS256", "none", "es256"} {
		var out, errOut lockedBuffer
		if err := run(t.Context(), []string{"-generate-key", bad}, env(), &out, &errOut); err == nil || out.String() != "" {
			t.Errorf("-generate-key %s: %v, printed %q", bad, err, out.String())
		}
	}
}
