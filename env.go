package jwtguard

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/internal/token"
)

// The environment variables FromEnv reads.
const (
	envSecret    = "JWT_SECRET"
	envExpiresIn = "JWT_EXPIRES_IN"
	envIssuer    = "JWT_ISSUER"
	envAudience  = "JWT_AUDIENCE"
	// envRefreshExpiresIn is a session's lifetime (WithSessionLifetime).
	envRefreshExpiresIn = "JWT_REFRESH_EXPIRES_IN"
	// envTrustedOrigins are cookie mode's trusted origins, comma-separated.
	envTrustedOrigins = "JWT_TRUSTED_ORIGINS"
	envDPoP           = "JWT_DPOP"
	envExternalURL    = "JWT_EXTERNAL_URL"
	// The asymmetric keys: a PEM private key that signs, PEM public keys
	// that also verify, and the algorithm of them all.
	envPrivateKeyFile = "JWT_PRIVATE_KEY_FILE"
	envPublicKeyFile  = "JWT_PUBLIC_KEY_FILE"
	envAlgorithm      = "JWT_ALGORITHM"
)

// maxKeyFileSize bounds a key file FromEnv reads: a PEM 8192-bit RSA
// private key is under 7 KiB, and a file of public keys for a rotation a
// few of them.
const maxKeyFileSize = 64 << 10

// FromEnv is [New] configured from the environment, as in the Node tutorials
// jwtguard users come from:
//
//   - JWT_SECRET: the HS256 secret, at least 32 bytes of random data, used
//     as the bytes of the string, as jsonwebtoken uses it (not
//     base64-decoded); HS384 and HS512 with JWT_ALGORITHM (48 and 64
//     bytes). Required unless a key file is set, and an error beside one;
//   - JWT_PRIVATE_KEY_FILE: instead of a secret, the path of a PEM private
//     key (RSA, ECDSA or Ed25519: see [ParseKeyPEM]) that signs and
//     verifies; its public key is published by [Auth.JWKSHandler]; a key
//     file that group or others may write, or that sits in a directory
//     they may write without the sticky bit, is refused; one they may
//     read, or that belongs to a user other than this process's and
//     root, is warned about (keep a private key readable by its owner
//     only: chmod 600);
//   - JWT_PUBLIC_KEY_FILE: the path of PEM public keys, one or more, that
//     also verify: the previous key during a rotation (see [KeySet]), or,
//     without JWT_PRIVATE_KEY_FILE, the issuer's keys of a service that
//     only verifies (whose handlers that issue tokens then panic);
//   - JWT_ALGORITHM: the algorithm of the secret or of the keys, default
//     HS256 for a secret and the one each key's kind implies for keys
//     (RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519); never
//     taken from a token;
//   - JWT_EXPIRES_IN: the access-token lifetime, default 15 minutes (set
//     but empty is an error): a whole number of seconds ("3600"; the
//     tutorials' code turns such a value into a number, which jsonwebtoken
//     reads as seconds, while jsonwebtoken reads the string "3600" itself
//     as milliseconds), any form of jsonwebtoken's expiresIn string ("15m",
//     "2 hours", "7 days", "1w", "1.5h", units in any letter case; a year
//     is 365.25 days), or a Go duration ("1h30m"); at least a second, at
//     most 100 years; a misspelled unit gets a suggestion ("2 hourz": did
//     you mean "2 hours"?);
//   - JWT_ISSUER and JWT_AUDIENCE: see WithIssuer and WithAudience;
//   - JWT_REFRESH_EXPIRES_IN: the lifetime of a session and so of its
//     refresh tokens, fixed at login, in the forms of JWT_EXPIRES_IN, at
//     least a minute; default 7 days; used with [WithSessions] (see
//     [WithSessionLifetime], which overrides it);
//   - JWT_TRUSTED_ORIGINS: origins, comma-separated, whose cross-origin
//     requests pass cookie mode's CSRF check (see [CookieMode]); set
//     without [WithCookieMode], it is an error;
//   - JWT_DPOP: "allowed" (the default), "required" or "off", the
//     [DPoPPolicy] Mode; JWT_EXTERNAL_URL: its ExternalURL, the scheme
//     and host clients reach the service at, which DPoP proofs name
//     ("https://api.example.com"), with the path prefix a proxy strips, if
//     any. Each fills its field where a [WithDPoP] among opts leaves it
//     zero.
//
// opts are applied after the environment, so they override it. An error
// from the environment names the variable at fault and never includes the
// secret.
func FromEnv(opts ...Option) (*Auth, error) {
	return FromLookupEnv(os.LookupEnv, opts...)
}

// FromLookupEnv is [FromEnv] reading the variables through lookup (with the
// signature of os.LookupEnv) instead of the process environment: for
// tests, configuration files, or a secret fetched from a vault.
func FromLookupEnv(lookup func(key string) (string, bool), opts ...Option) (*Auth, error) {
	getenv := func(key string) string { v, _ := lookup(key); return v }
	keys, warnings, err := envKeys(getenv)
	if err != nil {
		return nil, err
	}
	var envOpts []Option
	if v, ok := lookup(envExpiresIn); ok {
		d, err := parseLifetime(v)
		if err != nil {
			return nil, fmt.Errorf("jwtguard: %s: %w", envExpiresIn, err)
		}
		envOpts = append(envOpts, WithTokenLifetime(d))
	}
	if v, ok := lookup(envRefreshExpiresIn); ok {
		d, err := parseLifetime(v)
		if err == nil && d < time.Minute {
			err = errors.New("a session lasts at least a minute")
		}
		if err != nil {
			return nil, fmt.Errorf("jwtguard: %s: %w", envRefreshExpiresIn, err)
		}
		envOpts = append(envOpts, func(c *config) { c.sessionLifetime = d })
	}
	if v := getenv(envIssuer); v != "" {
		envOpts = append(envOpts, WithIssuer(v))
	}
	if v := getenv(envAudience); v != "" {
		envOpts = append(envOpts, WithAudience(v))
	}
	if v := getenv(envTrustedOrigins); v != "" {
		var origins []string
		check := http.NewCrossOriginProtection()
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				if err := check.AddTrustedOrigin(o); err != nil {
					return nil, fmt.Errorf("jwtguard: %s: %q is not an origin (scheme://host[:port]): %w", envTrustedOrigins, o, err)
				}
				origins = append(origins, o)
			}
		}
		envOpts = append(envOpts, func(c *config) { c.trustedOrigins = origins })
	}
	if v, ok := lookup(envDPoP); ok {
		modes := map[string]DPoPMode{"allowed": DPoPAllowed, "required": DPoPRequired, "off": DPoPOff}
		m, known := modes[strings.ToLower(strings.TrimSpace(v))]
		if !known {
			return nil, fmt.Errorf("jwtguard: %s: %q is not allowed, required or off", envDPoP, v)
		}
		envOpts = append(envOpts, func(c *config) { c.envDPoP.Mode = m })
	}
	if v, ok := lookup(envExternalURL); ok {
		if v == "" {
			return nil, fmt.Errorf("jwtguard: %s is set but empty", envExternalURL)
		}
		envOpts = append(envOpts, func(c *config) { c.envDPoP.ExternalURL = v })
	}
	// The keys were made above, so an error from New is about an option;
	// it is returned as it is rather than blamed on JWT_SECRET.
	a, err := New(keys, append(envOpts, opts...)...)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		a.log.Warn(w)
	}
	return a, nil
}

// envKeys makes FromEnv's keys: the HMAC key of JWT_SECRET, or a KeySet of
// the key files; and warnings for the operator.
func envKeys(getenv func(string) string) (_ KeySource, warnings []string, _ error) {
	secret, private, public, alg := getenv(envSecret), getenv(envPrivateKeyFile), getenv(envPublicKeyFile), getenv(envAlgorithm)
	switch {
	case secret != "" && (private != "" || public != ""):
		return nil, nil, fmt.Errorf("jwtguard: %s and a key file (%s, %s) are both set; set one", envSecret, envPrivateKeyFile, envPublicKeyFile)
	case secret == "" && private == "" && public == "":
		return nil, nil, fmt.Errorf("jwtguard: %s is not set (or empty); set it to 32 or more bytes of random data (try: openssl rand -base64 48), or set %s to a PEM private key", envSecret, envPrivateKeyFile)
	case secret != "":
		alg = cmpOr(alg, "HS256")
		if _, ok := token.Algorithms[alg]; !ok {
			return nil, nil, fmt.Errorf("jwtguard: %s is %q, which is not an HMAC algorithm (HS256, HS384, HS512) for %s", envAlgorithm, alg, envSecret)
		}
		key, err := HMACKey(alg, []byte(secret))
		if err != nil {
			n := token.Algorithms[alg]
			return nil, nil, fmt.Errorf("jwtguard: %s is %d bytes; %s needs at least %d bytes of random data (try: openssl rand -base64 %d)", envSecret, len(secret), alg, n, n+n/2)
		}
		return key, nil, nil
	case alg != "" && !token.Supported(alg):
		return nil, nil, fmt.Errorf("jwtguard: %s: %w", envAlgorithm, nested(unsupportedAlg(alg)))
	}
	var keys []Key
	if private != "" {
		data, fi, err := readKeyFile(envPrivateKeyFile, private)
		if err != nil {
			return nil, nil, err
		}
		if mode := fi.Mode().Perm(); mode&0o044 != 0 && runtime.GOOS != "windows" {
			// Refusing it would refuse a Kubernetes Secret volume's
			// default mode (0644); most such files are read in a
			// container of one user. Said, not refused.
			warnings = append(warnings, fmt.Sprintf("jwtguard: %s (%s) has mode %#o: others may read the private key; chmod 600 it (a Kubernetes Secret volume: defaultMode 0400)", envPrivateKeyFile, private, mode))
		}
		warnings = append(warnings, ownerWarning(envPrivateKeyFile, private, fi)...)
		k, err := ParseKeyPEM(alg, data)
		if err == nil && !k.CanSign() {
			err = errors.New("it holds a public key; the private key signs (put public keys in " + envPublicKeyFile + ")")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("jwtguard: %s (%s): %w", envPrivateKeyFile, private, nested(err))
		}
		keys = append(keys, k)
	}
	if public != "" {
		data, fi, err := readKeyFile(envPublicKeyFile, public)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, ownerWarning(envPublicKeyFile, public, fi)...)
		more, err := parsePEMKeys(alg, data)
		if err != nil {
			return nil, nil, fmt.Errorf("jwtguard: %s (%s): %w", envPublicKeyFile, public, nested(err))
		}
		for _, k := range more {
			if k.CanSign() {
				return nil, nil, fmt.Errorf("jwtguard: %s (%s) holds a private key; it is for public keys (the private key goes in %s)", envPublicKeyFile, public, envPrivateKeyFile)
			}
			// The signing key's own public key, listed too, is the same key.
			if len(keys) > 0 && k.ID() == keys[0].ID() {
				continue
			}
			keys = append(keys, k)
		}
	}
	set, err := NewKeySet(keys...)
	if err != nil {
		return nil, nil, fmt.Errorf("jwtguard: %s and %s: %w", envPrivateKeyFile, envPublicKeyFile, nested(err))
	}
	return set, warnings, nil
}

// ownerWarning warns of a key file that belongs to another user than this
// process's and root's: that user may change it. Said, not refused: a
// deployment may give the file to a user of its own and the service
// read access through its group.
func ownerWarning(name, path string, fi fs.FileInfo) []string {
	if uid, foreign := foreignOwner(fi); foreign {
		return []string{fmt.Sprintf("jwtguard: %s (%s) belongs to user %d, neither this process's nor root: that user may change the key", name, path, uid)}
	}
	return nil
}

// readKeyFile reads the key file path of the variable name, bounded, and
// returns what Stat says of it too.
func readKeyFile(name, path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("jwtguard: %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("jwtguard: %s: %w", name, err)
	}
	mode := fi.Mode().Perm()
	// A key file others may write, or replace in its directory, would let
	// them put their own key in: refused (outside Windows, whose mode bits
	// say nothing of it). A directory with the sticky bit (/tmp, a
	// Kubernetes Secret volume) lets only a file's owner replace it.
	if runtime.GOOS != "windows" {
		if mode&0o022 != 0 {
			return nil, nil, fmt.Errorf("jwtguard: %s (%s) has mode %#o: others may change it; chmod go-w it", name, path, mode)
		}
		dir := filepath.Dir(path)
		if di, err := os.Stat(dir); err == nil && di.Mode().Perm()&0o022 != 0 && di.Mode()&fs.ModeSticky == 0 {
			return nil, nil, fmt.Errorf("jwtguard: %s (%s): its directory %s has mode %#o: others may replace the file; chmod go-w %s", name, path, dir, di.Mode().Perm(), dir)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("jwtguard: %s: %w", name, err)
	case len(data) > maxKeyFileSize:
		return nil, nil, fmt.Errorf("jwtguard: %s (%s) is over %d KiB; it should hold PEM keys", name, path, maxKeyFileSize>>10)
	}
	return data, fi, nil
}

// parseLifetime parses JWT_EXPIRES_IN as FromEnv documents it. White space
// around the value is ignored. A number without a unit that is not whole
// ("1.5") is refused: ms would read it as milliseconds.
func parseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty lifetime; unset the variable for the default of 15 minutes")
	}
	d, err := lifetimeValue(s)
	if err != nil {
		return 0, err
	}
	if d < time.Second || d > maxLifetime {
		return 0, fmt.Errorf("lifetime %q is not between a second and 100 years", s)
	}
	return d, nil
}

func lifetimeValue(s string) (time.Duration, error) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > int64(maxLifetime/time.Second) {
			return 0, fmt.Errorf("lifetime %q is over 100 years", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	num, unit := splitLifetime(s)
	if num != "" && unit != "" {
		if per, ok := lifetimeUnits[strings.ToLower(unit)]; ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f*float64(per) > float64(maxLifetime) {
				return 0, fmt.Errorf("lifetime %q is over 100 years", s)
			}
			return time.Duration(f * float64(per)), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if num != "" && unit == "" {
		return 0, fmt.Errorf("lifetime %q has no unit and is not a whole number of seconds; did you mean \"%ss\"?", s, num)
	}
	if num != "" && isLetters(unit) {
		return 0, fmt.Errorf("lifetime %q: unknown unit %q; did you mean \"%s %s\"?", s, unit, num, nearestUnit(unit))
	}
	return 0, fmt.Errorf("lifetime %q is not a lifetime; write seconds (\"3600\"), a number and a unit (\"15m\", \"2 hours\", \"7 days\", \"1.5h\") or a Go duration (\"1h30m\")", s)
}

// lifetimeUnits are the unit names of the ms package, lower case.
var lifetimeUnits = func() map[string]time.Duration {
	m := make(map[string]time.Duration)
	for per, names := range map[time.Duration][]string{
		time.Millisecond:             {"milliseconds", "millisecond", "msecs", "msec", "ms"},
		time.Second:                  {"seconds", "second", "secs", "sec", "s"},
		time.Minute:                  {"minutes", "minute", "mins", "min", "m"},
		time.Hour:                    {"hours", "hour", "hrs", "hr", "h"},
		24 * time.Hour:               {"days", "day", "d"},
		7 * 24 * time.Hour:           {"weeks", "week", "w"},
		36525 * 24 * time.Hour / 100: {"years", "year", "yrs", "yr", "y"},
	} {
		for _, n := range names {
			m[n] = per
		}
	}
	return m
}()

// splitLifetime splits s into the number ms accepts (digits with at most one
// '.', not at the end) and the unit after any spaces; num is "" when s does
// not start with such a number.
func splitLifetime(s string) (num, unit string) {
	i, dot := 0, false
	for i < len(s) && ('0' <= s[i] && s[i] <= '9' || s[i] == '.' && !dot) {
		dot = dot || s[i] == '.'
		i++
	}
	num = s[:i]
	if num == "" || num == "." || num[len(num)-1] == '.' {
		return "", ""
	}
	return num, strings.TrimLeft(s[i:], " ")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// nearestUnit returns the unit name closest to u in edit distance, the
// longer name on a tie.
func nearestUnit(u string) string {
	u = strings.ToLower(u)
	best, bestDist := "", 1<<30
	for name := range lifetimeUnits {
		d := editDistance(u, name)
		if d < bestDist || d == bestDist && (len(name) > len(best) || len(name) == len(best) && name < best) {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short ASCII words.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// maxLifetime bounds lifetimes so that conversions cannot overflow.
const maxLifetime = 100 * 365 * 24 * time.Hour
