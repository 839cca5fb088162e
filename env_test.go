package jwtguard_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

func TestParseLifetime(t *testing.T) {
	const day = 24 * time.Hour
	good := []struct {
		in   string
		want time.Duration
	}{
		{"3600", time.Hour},
		{"1", time.Second},
		{" 900 ", 15 * time.Minute},
		{"10s", 10 * time.Second},
		{"15m", 15 * time.Minute},
		{"1h", time.Hour},
		{"7d", 7 * day},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{".5h", 30 * time.Minute},
		{"1.5d", 36 * time.Hour},
		// Every unit of the ms package that jsonwebtoken's expiresIn uses.
		{"2000ms", 2 * time.Second},
		{"1500 msecs", 1500 * time.Millisecond},
		{"3000 milliseconds", 3 * time.Second},
		{"1000 msec", time.Second},
		{"1 millisecond", 0}, // parsed, then refused below as under a second
		{"30 secs", 30 * time.Second},
		{"1 sec", time.Second},
		{"45 seconds", 45 * time.Second},
		{"1 second", time.Second},
		{"30 mins", 30 * time.Minute},
		{"1 min", time.Minute},
		{"5 minutes", 5 * time.Minute},
		{"1 minute", time.Minute},
		{"2 hours", 2 * time.Hour},
		{"1 hour", time.Hour},
		{"3 hrs", 3 * time.Hour},
		{"1 hr", time.Hour},
		{"1 h", time.Hour},
		{"7 days", 7 * day},
		{"1 day", day},
		{"1w", 7 * day},
		{"2 weeks", 14 * day},
		{"1 week", 7 * day},
		{"1y", 36525 * day / 100},
		{"1 year", 36525 * day / 100},
		{"2 yrs", 2 * 36525 * day / 100},
		{"1 yr", 36525 * day / 100},
		{"2 HOURS", 2 * time.Hour},
		{"1H", time.Hour},
		{"7 Days", 7 * day},
		{"10  s", 10 * time.Second},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := jwtguard.ParseLifetime(tc.in)
			if tc.want == 0 {
				if err == nil {
					t.Errorf("ParseLifetime(%q) = %v; want an error (under a second)", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseLifetime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	bad := []struct{ in, errWants string }{
		{"", "empty"},
		{"abc", `"15m"`},
		{"0", "between a second and 100 years"},
		{"0s", "between a second and 100 years"},
		{"500ms", "between a second and 100 years"},
		{"-5", "not a lifetime"},
		{"-1h", "between a second and 100 years"},
		{"d", "not a lifetime"},
		{"1.", "not a lifetime"},
		{"1e3", "not a lifetime"},
		{"1.5", `did you mean "1.5s"`},
		{"2 hourz", `did you mean "2 hours"`},
		{"10x", `did you mean "10`},
		{"30 minuts", `did you mean "30 minutes"`},
		{"7 dyas", `did you mean "7 days"`},
		{"99999999999999", "over 100 years"},
		{"999999999d", "over 100 years"},
		{"101y", "over 100 years"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			got, err := jwtguard.ParseLifetime(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.errWants) {
				t.Errorf("ParseLifetime(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.errWants)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	const secret = "env-secret-0123456789abcdef-0123456789"
	t.Run("defaults", func(t *testing.T) {
		t.Setenv("JWT_SECRET", secret)
		a, err := jwtguard.FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := a.Issue(context.Background(), jwtguard.User{ID: "1"})
		if err != nil || tr.ExpiresIn != 900 {
			t.Errorf("expires_in = %d, %v; want 900 (15 minutes)", tr.ExpiresIn, err)
		}
	})
	t.Run("all variables", func(t *testing.T) {
		t.Setenv("JWT_SECRET", secret)
		t.Setenv("JWT_EXPIRES_IN", "1h")
		t.Setenv("JWT_ISSUER", "https://issuer.example")
		t.Setenv("JWT_AUDIENCE", "my-api")
		a, err := jwtguard.FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := a.Issue(context.Background(), jwtguard.User{ID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		p := ltPayload(t, tr.AccessToken)
		if tr.ExpiresIn != 3600 || p["iss"] != "https://issuer.example" || p["aud"] != "my-api" {
			t.Errorf("expires_in %d, claims %v", tr.ExpiresIn, p)
		}
		// The same secret verifies: FromEnv used JWT_SECRET, not something else.
		b, err := jwtguard.New(testKey(t, []byte(secret)), jwtguard.WithIssuer("https://issuer.example"), jwtguard.WithAudience("my-api"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ltVerify(b, tr.AccessToken); !ok {
			t.Error("a token from FromEnv does not verify with New(JWT_SECRET)")
		}
	})
	t.Run("options override the environment", func(t *testing.T) {
		t.Setenv("JWT_SECRET", secret)
		t.Setenv("JWT_EXPIRES_IN", "1h")
		a, err := jwtguard.FromEnv(jwtguard.WithTokenLifetime(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if tr, _ := a.Issue(context.Background(), jwtguard.User{ID: "1"}); tr.ExpiresIn != 60 {
			t.Errorf("expires_in = %d, want 60", tr.ExpiresIn)
		}
	})
	bad := []struct {
		name, secret, expiresIn, wantVar string
	}{
		{"secret unset", "", "", "JWT_SECRET"},
		{"secret short", "too-short-secret", "", "JWT_SECRET"},
		{"secret 31 bytes", strings.Repeat("s", 31), "", "JWT_SECRET"},
		{"expires_in junk", secret, "soon", "JWT_EXPIRES_IN"},
		{"expires_in negative", secret, "-60", "JWT_EXPIRES_IN"},
		{"expires_in empty", secret, "", "JWT_EXPIRES_IN"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JWT_SECRET", tc.secret)
			if tc.wantVar == "JWT_EXPIRES_IN" {
				t.Setenv("JWT_EXPIRES_IN", tc.expiresIn)
			}
			a, err := jwtguard.FromEnv()
			if err == nil {
				t.Fatalf("FromEnv() = %v, want an error", a)
			}
			if !strings.Contains(err.Error(), tc.wantVar) {
				t.Errorf("error %q does not name %s", err, tc.wantVar)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func TestHMACKey(t *testing.T) {
	k := func(n int) []byte { return []byte(strings.Repeat("k", n)) }
	for _, tc := range []struct {
		name, alg string
		secret    []byte
		ok        bool
	}{
		{"HS256 with 32 bytes", "HS256", k(32), true},
		{"HS384 with 48 bytes", "HS384", k(48), true},
		{"HS512 with 64 bytes", "HS512", k(64), true},
		{"nil secret", "HS256", nil, false},
		{"31-byte secret", "HS256", k(31), false},
		{"HS384 with a 32-byte secret", "HS384", k(32), false},
		{"HS512 with a 48-byte secret", "HS512", k(48), false},
		{"alg none", "none", k(32), false},
		{"alg empty", "", k(32), false},
		{"alg RS256", "RS256", k(32), false},
		{"alg lower case", "hs256", k(32), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := jwtguard.HMACKey(tc.alg, tc.secret)
			if (err == nil) != tc.ok {
				t.Fatalf("HMACKey = %v; want ok %v", err, tc.ok)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "jwtguard: ") || len(tc.secret) > 0 && strings.Contains(err.Error(), string(tc.secret)) {
					t.Errorf("error %q lacks the package prefix or shows the secret", err)
				}
				return
			}
			if _, err := jwtguard.New(key); err != nil {
				t.Errorf("New(%s key): %v", tc.alg, err)
			}
		})
	}
	if _, err := jwtguard.New(jwtguard.Key{}); err == nil || !strings.Contains(err.Error(), "HMACKey") {
		t.Errorf("New(zero Key) = %v; want an error pointing to HMACKey", err)
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	key := testKey(t, []byte(strings.Repeat("k", 32)))
	tests := []struct {
		name string
		opts []jwtguard.Option
	}{
		{"zero lifetime", []jwtguard.Option{jwtguard.WithTokenLifetime(0)}},
		{"half-second lifetime", []jwtguard.Option{jwtguard.WithTokenLifetime(500 * time.Millisecond)}},
		{"250-year lifetime", []jwtguard.Option{jwtguard.WithTokenLifetime(250 * 365 * 24 * time.Hour)}},
		{"negative leeway", []jwtguard.Option{jwtguard.WithLeeway(-time.Second)}},
		{"huge leeway", []jwtguard.Option{jwtguard.WithLeeway(time.Hour)}},
		{"nil clock", []jwtguard.Option{jwtguard.WithClock(nil)}},
		{"tiny token bound", []jwtguard.Option{jwtguard.WithMaxTokenSize(10)}},
		{"empty realm", []jwtguard.Option{jwtguard.WithRealm("")}},
		{"realm with a quote", []jwtguard.Option{jwtguard.WithRealm(`a"b`)}},
		{"realm with a newline", []jwtguard.Option{jwtguard.WithRealm("a\nb")}},
		{"empty roles claim path", []jwtguard.Option{jwtguard.WithRolesClaim()}},
		{"roles claim path with an empty name", []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "")}},
		{"cookie name with a space", []jwtguard.Option{jwtguard.WithCookie("my token")}},
		{"cookie and query share a name", []jwtguard.Option{jwtguard.WithCookie("t"), jwtguard.WithQueryParameter("t")}},
		{"query parameter with a percent", []jwtguard.Option{jwtguard.WithQueryParameter("access%5Ftoken")}},
		{"query parameter with a plus", []jwtguard.Option{jwtguard.WithQueryParameter("access+token")}},
		{"query parameter with an ampersand", []jwtguard.Option{jwtguard.WithQueryParameter("a&b")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := jwtguard.New(key, tc.opts...)
			if err == nil || a != nil {
				t.Fatalf("New = %v, %v; want an error", a, err)
			}
			if !strings.HasPrefix(err.Error(), "jwtguard: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// HMACKey copies the secret: changing the caller's slice afterwards changes
// nothing.
func TestHMACKeyCopiesTheSecret(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	a, err := jwtguard.New(testKey(t, secret))
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := a.Issue(context.Background(), jwtguard.User{ID: "1"})
	for i := range secret {
		secret[i] = 'x'
	}
	if _, ok := ltVerify(a, tr.AccessToken); !ok {
		t.Error("token no longer verifies after the caller changed its secret slice")
	}
}

func TestFromLookupEnv(t *testing.T) {
	env := map[string]string{"JWT_SECRET": strings.Repeat("v", 40), "JWT_EXPIRES_IN": "2m"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	t.Setenv("JWT_SECRET", "") // the process environment is not read
	a, err := jwtguard.FromLookupEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if tr, _ := a.Issue(context.Background(), jwtguard.User{ID: "1"}); tr.ExpiresIn != 120 {
		t.Errorf("expires_in = %d, want 120", tr.ExpiresIn)
	}
	// An error caused by an option is not blamed on the environment.
	_, err = jwtguard.FromLookupEnv(lookup, jwtguard.WithLeeway(-time.Second))
	if err == nil || strings.Contains(err.Error(), "JWT_") {
		t.Errorf("error %v, want one about the leeway that names no variable", err)
	}
}

// TestKeyAlgorithmIsPinned: an Auth verifies the tokens of its key's
// algorithm and refuses those of another HMAC algorithm over the same
// secret.
func TestKeyAlgorithmIsPinned(t *testing.T) {
	secret := []byte(strings.Repeat("s", 64))
	algs := []string{"HS256", "HS384", "HS512"}
	auths := map[string]*jwtguard.Auth{}
	tokens := map[string]string{}
	for _, alg := range algs {
		key, err := jwtguard.HMACKey(alg, secret)
		if err != nil {
			t.Fatal(err)
		}
		a, err := jwtguard.New(key, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := a.Issue(context.Background(), jwtguard.User{ID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		auths[alg], tokens[alg] = a, tr.AccessToken
	}
	for _, verifier := range algs {
		for _, signer := range algs {
			t.Run(signer+" token, "+verifier+" key", func(t *testing.T) {
				r := httptest.NewRequest("GET", "/r", nil)
				r.Header.Set("Authorization", "Bearer "+tokens[signer])
				_, err := auths[verifier].Authenticate(r)
				if ok := err == nil; ok != (signer == verifier) {
					t.Errorf("Authenticate: %v", err)
				}
			})
		}
	}
}

// TestFromEnvKeyFiles: JWT_PRIVATE_KEY_FILE signs, JWT_PUBLIC_KEY_FILE's
// keys also verify (the previous key of a rotation), JWT_ALGORITHM picks
// the algorithm; a public key alone only verifies; and every contradiction
// is an error naming the variable.
func TestFromEnvKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	prevPub, prevPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	der := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pubDER := func(k any) []byte {
		b, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	private := write("private.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: der(edPriv)})
	public := write("public.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: pubDER(prevPub)}, &pem.Block{Type: "PUBLIC KEY", Bytes: pubDER(edPriv.Public())})
	rsaFile := write("rsa.pem", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaPriv)})
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	a, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PRIVATE_KEY_FILE": private, "JWT_PUBLIC_KEY_FILE": public}))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := a.Issue(context.Background(), jwtguard.User{ID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if h := kyHeader(t, tr.AccessToken); h["alg"] != "EdDSA" || h["kid"] == nil {
		t.Errorf("header %v", h)
	}
	// A token of the previous key verifies.
	prevKey, _ := jwtguard.PrivateKey("", prevPriv)
	prevAuth, _ := jwtguard.New(prevKey)
	prevTok, _ := prevAuth.Issue(context.Background(), jwtguard.User{ID: "1"})
	for name, tok := range map[string]string{"current": tr.AccessToken, "previous": prevTok.AccessToken} {
		if _, err := kyAuthenticate(a, tok); err != nil {
			t.Errorf("%s key's token: %v", name, err)
		}
	}
	// The JWKS has both keys, once each (the signing key's public key,
	// listed again in the public file, is not a second key).
	rec := httptest.NewRecorder()
	a.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if n := strings.Count(rec.Body.String(), `"kid"`); n != 2 {
		t.Errorf("%d keys in the JWKS: %s", n, rec.Body)
	}
	// A service that only verifies.
	verifier, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PUBLIC_KEY_FILE": public}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kyAuthenticate(verifier, tr.AccessToken); err != nil {
		t.Errorf("verify-only: %v", err)
	}
	if _, err := verifier.Issue(context.Background(), jwtguard.User{ID: "1"}); err == nil {
		t.Error("a verify-only Auth issued a token")
	}
	// JWT_ALGORITHM: PS256 for an RSA key.
	ps, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PRIVATE_KEY_FILE": rsaFile, "JWT_ALGORITHM": "PS256"}))
	if err != nil {
		t.Fatal(err)
	}
	psTok, _ := ps.Issue(context.Background(), jwtguard.User{ID: "1"})
	if kyHeader(t, psTok.AccessToken)["alg"] != "PS256" {
		t.Errorf("JWT_ALGORITHM=PS256: %v", kyHeader(t, psTok.AccessToken))
	}
	// HS512 from JWT_SECRET.
	hs, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_SECRET": strings.Repeat("s", 64), "JWT_ALGORITHM": "HS512"}))
	if err != nil {
		t.Fatal(err)
	}
	hsTok, _ := hs.Issue(context.Background(), jwtguard.User{ID: "1"})
	if kyHeader(t, hsTok.AccessToken)["alg"] != "HS512" {
		t.Errorf("JWT_ALGORITHM=HS512: %v", kyHeader(t, hsTok.AccessToken))
	}
	// A private key others may read is said, in a warning, not refused
	// (a Kubernetes Secret volume's default is 0644); the owner-only one
	// above was not warned about.
	for _, tc := range []struct {
		mode fs.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o640, true}, {0o644, true}} {
		readable := write("readable.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: der(edPriv)})
		os.Chmod(readable, tc.mode)
		var logged strings.Builder
		if _, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PRIVATE_KEY_FILE": readable}), jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))); err != nil {
			t.Errorf("mode %#o: %v", tc.mode, err)
		}
		if warned := strings.Contains(logged.String(), "level=WARN") && strings.Contains(logged.String(), "others may read the private key; chmod 600"); warned != tc.warn {
			t.Errorf("mode %#o: warned %v, want %v: %s", tc.mode, warned, tc.warn, logged.String())
		}
		os.Remove(readable)
	}
	// A directory others may write without the sticky bit lets them
	// replace the file: refused; with the sticky bit (/tmp, a Kubernetes
	// Secret volume), read. A file of another user (not root) is warned
	// about (that user may change it).
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{{0o700, true}, {0o755, true}, {0o777, false}, {0o775, false}, {0o777 | fs.ModeSticky, true}} {
		sub := filepath.Join(t.TempDir(), "keys")
		os.Mkdir(sub, 0o700)
		path := filepath.Join(sub, "key.pem")
		os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der(edPriv)}), 0o600)
		os.Chmod(sub, tc.mode)
		_, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PRIVATE_KEY_FILE": path}), jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
		if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), "others may replace the file") {
			t.Errorf("directory mode %v: %v, want accepted %v", tc.mode, err, tc.ok)
		}
	}
	if os.Geteuid() == 0 {
		foreign := write("foreign.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: der(edPriv)})
		os.Chown(foreign, 65534, 65534)
		var logged strings.Builder
		if _, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PRIVATE_KEY_FILE": foreign}), jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))); err != nil {
			t.Error(err)
		}
		if !strings.Contains(logged.String(), "belongs to user 65534") {
			t.Errorf("no warning of a file of another user: %s", logged.String())
		}
	}
	writable := write("writable.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: der(edPriv)})
	os.Chmod(writable, 0o662)
	notPEM := write("not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	big := write("big.pem")
	os.WriteFile(big, []byte(strings.Repeat("x", 70<<10)), 0o600)
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"secret and key file":      {map[string]string{"JWT_SECRET": strings.Repeat("s", 40), "JWT_PRIVATE_KEY_FILE": private}, "both set"},
		"nothing":                  {map[string]string{}, "JWT_SECRET"},
		"missing file":             {map[string]string{"JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "nope")}, "JWT_PRIVATE_KEY_FILE"},
		"public key as private":    {map[string]string{"JWT_PRIVATE_KEY_FILE": public}, "JWT_PRIVATE_KEY_FILE"},
		"private key as public":    {map[string]string{"JWT_PUBLIC_KEY_FILE": private}, "JWT_PUBLIC_KEY_FILE"},
		"algorithm of other kind":  {map[string]string{"JWT_PRIVATE_KEY_FILE": private, "JWT_ALGORITHM": "RS256"}, "JWT_PRIVATE_KEY_FILE"},
		"unknown algorithm":        {map[string]string{"JWT_PRIVATE_KEY_FILE": private, "JWT_ALGORITHM": "none"}, "JWT_ALGORITHM"},
		"HMAC algorithm for keys":  {map[string]string{"JWT_PRIVATE_KEY_FILE": private, "JWT_ALGORITHM": "HS256"}, "JWT_PRIVATE_KEY_FILE"},
		"RSA algorithm for secret": {map[string]string{"JWT_SECRET": strings.Repeat("s", 40), "JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM"},
		"HS512 secret too short":   {map[string]string{"JWT_SECRET": strings.Repeat("s", 40), "JWT_ALGORITHM": "HS512"}, "JWT_SECRET"},
		"not PEM":                  {map[string]string{"JWT_PUBLIC_KEY_FILE": notPEM}, "JWT_PUBLIC_KEY_FILE"},
		"file too large":           {map[string]string{"JWT_PRIVATE_KEY_FILE": big}, "KiB"},
	} {
		_, err := jwtguard.FromLookupEnv(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "sssssssss") {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
		if err != nil && strings.Count(err.Error(), "jwtguard: ") != 1 {
			t.Errorf("%s: the error says jwtguard more than once: %v", name, err)
		}
	}
}
