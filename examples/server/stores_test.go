package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard/internal/testserver"
)

// The secret is made on first use, mode 0600, and read back unchanged.
func TestDataDirSecretMadeOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	s1, made, err := dataDirSecret(dir)
	if err != nil || !made {
		t.Fatalf("first dataDirSecret = made %v, %v; want a new secret", made, err)
	}
	if len(s1) < 32 {
		t.Errorf("secret of %d bytes; want at least 32", len(s1))
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, secretFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %#o; want %#o", path, got, want)
		}
	}
	s2, made, err := dataDirSecret(dir)
	if err != nil || made || s2 != s1 {
		t.Errorf("second dataDirSecret = made %v, %v, same secret %v; want the first secret, not made", made, err, s2 == s1)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the data directory holds %d entries; want the secret file alone (no temporary file left)", len(entries))
	}
}

// Servers starting at once on one directory agree on one secret.
func TestDataDirSecretConcurrentStarts(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	secrets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, _, err := dataDirSecret(dir)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		})
	}
	wg.Wait()
	for i, s := range secrets {
		if s != secrets[0] {
			t.Fatalf("start %d got another secret than start 0", i)
		}
	}
}

// A secret file that others may read, that is a link or not a regular
// file, or that holds something else than a secret the server made is
// refused, and the error says what to do; the secret is never in it.
func TestDataDirSecretRefused(t *testing.T) {
	good := func(t *testing.T) (dir, secret string) {
		dir = t.TempDir()
		secret, _, err := dataDirSecret(dir)
		if err != nil {
			t.Fatal(err)
		}
		return dir, secret
	}
	cases := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  string
	}{
		{"readable by the group", func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, secretFile), 0o640) }, "chmod 600"},
		{"readable by all", func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, secretFile), 0o644) }, "chmod 600"},
		{"executable", func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, secretFile), 0o700) }, "chmod 600"},
		{"a link", func(t *testing.T, dir string) {
			path := filepath.Join(dir, secretFile)
			if err := os.Rename(path, path+".real"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"a directory", func(t *testing.T, dir string) {
			path := filepath.Join(dir, secretFile)
			os.Remove(path)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"short", func(t *testing.T, dir string) { write(t, filepath.Join(dir, secretFile), "c2hvcnQ\n") }, "does not hold a secret"},
		{"not base64url", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, secretFile), strings.Repeat("+", 64)+"\n")
		}, "does not hold a secret"},
		{"empty", func(t *testing.T, dir string) { write(t, filepath.Join(dir, secretFile), "") }, "does not hold a secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, secret := good(t)
			tc.spoil(t, dir)
			_, _, err := dataDirSecret(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("dataDirSecret = %v; want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error holds the secret: %v", err)
			}
			// And the server does not start on it.
			err = run(t.Context(), []string{"-addr", "127.0.0.1:0", "-data-dir", dir}, env(), new(lockedBuffer), new(lockedBuffer))
			if err == nil || !strings.Contains(err.Error(), "JWT_SECRET is not set") {
				t.Errorf("run = %v; want it to refuse the secret file", err)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The data directory: the flag, then JWTGUARD_DATA_DIR, then
// ./jwtguard-data, always made absolute.
func TestDataDirOf(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag string
		env  func(string) (string, bool)
		want string
	}{
		{"/srv/a", env("JWTGUARD_DATA_DIR", "/srv/b"), "/srv/a"},
		{"", env("JWTGUARD_DATA_DIR", "/srv/b"), "/srv/b"},
		{"", env("JWTGUARD_DATA_DIR", ""), filepath.Join(wd, defaultDataDir)},
		{"", env(), filepath.Join(wd, defaultDataDir)},
		{"rel", env(), filepath.Join(wd, "rel")},
	} {
		got, err := dataDirOf(tc.flag, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("dataDirOf(%q) = %q, %v; want %q", tc.flag, got, err, tc.want)
		}
	}
}

// With no configuration but a data directory, everything survives a
// restart: the secret (an access token issued before verifies after), a
// registered account, a session (its refresh token rotates after), a
// logout (the revoked session stays revoked), and the demo accounts are
// added once. The server prints where its data lives.
func TestRunPersistsAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base, printed, _, stop := startRunEnv(t, env(), "-addr", "127.0.0.1:0", "-data-dir", dir)
	wantData := "Data: SQLite database " + filepath.Join(dir, databaseFile) + " (users and sessions)"
	if !slices.Contains(printed, wantData) {
		t.Errorf("the server printed %q; want the line %q", printed, wantData)
	}
	const password = "correct horse battery staple"
	if r := do(t, "POST", base+"/api/auth/register", "", `{"username":"carol","password":"`+password+`"}`); r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	kept := loginPair(t, base, "carol", password)
	ended := loginPair(t, base, "alice")
	if r := do(t, "POST", base+"/api/auth/logout", ended.AccessToken, ""); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	stop()

	base, _, stderr, stop := startRunEnv(t, env(), "-addr", "127.0.0.1:0", "-data-dir", dir)
	defer stop()
	if r := do(t, "GET", base+"/api/user/profile", kept.AccessToken, ""); r.status != http.StatusOK {
		t.Errorf("an access token from before the restart: %d %s; want 200", r.status, r.body)
	}
	if r := do(t, "GET", base+"/api/user/profile", ended.AccessToken, ""); r.status != http.StatusUnauthorized {
		t.Errorf("an access token of a session logged out before the restart: %d; want 401", r.status)
	}
	r := do(t, "POST", base+"/api/auth/refresh", "", `{"refresh_token":"`+kept.RefreshToken+`"}`)
	if r.status != http.StatusOK {
		t.Errorf("a refresh token from before the restart: %d %s; want 200", r.status, r.body)
	}
	if r := do(t, "POST", base+"/api/auth/refresh", "", `{"refresh_token":"`+ended.RefreshToken+`"}`); r.status != http.StatusBadRequest {
		t.Errorf("the refresh token of a session logged out before the restart: %d; want 400", r.status)
	}
	loginPair(t, base, "carol", password)
	if log := stderr.String(); strings.Contains(log, "added a demo account") || !strings.Contains(log, "using the secret kept in the data directory") {
		t.Errorf("second start's log; want the kept secret used and no demo account added again:\n%s", log)
	}
	for _, name := range []string{databaseFile, secretFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %#o; want 0600", name, perm)
		}
	}
}

// -demo-accounts=false adds none; JWT_SECRET, when set, is used and no
// secret file is made.
func TestRunWithoutDemoAccountsOrSecretFile(t *testing.T) {
	dir := t.TempDir()
	base, printed, _, stop := startRunEnv(t, env("JWT_SECRET", testSecret), "-addr", "127.0.0.1:0", "-data-dir", dir, "-demo-accounts=false")
	defer stop()
	if r := do(t, "POST", base+"/api/auth/login", "", `{"username":"admin","password":"`+demoPassword+`"}`); r.status != http.StatusUnauthorized {
		t.Errorf("demo login with -demo-accounts=false: %d; want 401", r.status)
	}
	if strings.Contains(strings.Join(printed, "\n"), "Demo accounts") {
		t.Errorf("printed %q; want no demo accounts", printed)
	}
	if _, err := os.Stat(filepath.Join(dir, secretFile)); !os.IsNotExist(err) {
		t.Errorf("a secret file with JWT_SECRET set: %v", err)
	}
}

// A store that cannot be opened stops the server with an error that names
// its variable and never shows the URL's password; so does a variable that
// is set but empty, or a Redis that may forget revocations.
func TestRunStoreErrorsNameTheVariable(t *testing.T) {
	closed := "127.0.0.1:1" // nothing listens on port 1
	cases := []struct {
		name, variable, value string
		want                  string
	}{
		{"PostgreSQL unreachable", "DATABASE_URL", "postgres://app:hunter2-secret@" + closed + "/app?connect_timeout=2", "DATABASE_URL"},
		{"PostgreSQL URL unreadable", "DATABASE_URL", "postgres://app:hunter2-secret@%zz/app", "DATABASE_URL"},
		{"PostgreSQL empty", "DATABASE_URL", "", "DATABASE_URL is set but empty"},
		{"Redis unreachable", "REDIS_URL", "redis://app:hunter2-secret@" + closed + "/0", "REDIS_URL"},
		{"Redis URL unreadable", "REDIS_URL", "redis://app:hunter2-secret@%zz/0", "REDIS_URL"},
		{"Redis empty", "REDIS_URL", "", "REDIS_URL is set but empty"},
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		volatile := testserver.StartRedis(t, "--appendonly", "no")
		cases = append(cases, struct{ name, variable, value, want string }{"Redis without AOF", "REDIS_URL", volatile.URL, "appendonly"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr lockedBuffer
			err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir()},
				env("JWT_SECRET", testSecret, tc.variable, tc.value), new(lockedBuffer), &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v; want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2-secret") || strings.Contains(stderr.String(), "hunter2-secret") {
				t.Errorf("the password is in the error or the log: %v\n%s", err, stderr.String())
			}
		})
	}
}

// A fleet half-shared is warned about at start: PostgreSQL without Redis
// leaves the throttles per process, Redis without PostgreSQL the users.
func TestRunWarnsOfUnsharedStores(t *testing.T) {
	for _, tc := range []struct {
		variable string
		url      func(testing.TB) string
		want     string
	}{
		{"DATABASE_URL", testserver.Postgres, "DATABASE_URL without REDIS_URL"},
		{"REDIS_URL", testserver.Redis, "REDIS_URL without DATABASE_URL"},
	} {
		t.Run(tc.variable, func(t *testing.T) {
			_, printed, stderr, stop := startRunEnv(t, env("JWT_SECRET", testSecret, tc.variable, tc.url(t)), "-addr", "127.0.0.1:0")
			stop()
			if log := stderr.String(); !strings.Contains(log, tc.want) || !strings.Contains(log, "level=WARN") {
				t.Errorf("%s alone: the log lacks the warning %q:\n%s", tc.variable, tc.want, log)
			}
			if !strings.Contains(strings.Join(printed, "\n"), tc.variable) {
				t.Errorf("%s alone: the start-up lines %q do not say where the data lives", tc.variable, printed)
			}
		})
	}
}
