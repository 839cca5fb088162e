package jwtguard

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by FromEnv.
const (
	EnvSecret    = "JWT_SECRET"
	EnvExpiresIn = "JWT_EXPIRES_IN"
	EnvIssuer    = "JWT_ISSUER"
	EnvAudience  = "JWT_AUDIENCE"
)

// FromEnv is New configured from the environment, as in the Node tutorials
// jwtguard users come from:
//
//   - JWT_SECRET (required): the HMAC secret, at least 32 bytes;
//   - JWT_EXPIRES_IN: the access-token lifetime, as seconds ("3600"), a
//     number with a unit as jsonwebtoken takes it ("10s", "15m", "1h",
//     "7d"), or a Go duration ("1h30m"); default 15 minutes;
//   - JWT_ISSUER and JWT_AUDIENCE: see WithIssuer and WithAudience.
//
// opts are applied after the environment, so they override it. An error
// from the environment names the variable at fault and never includes the
// secret.
func FromEnv(opts ...Option) (*Auth, error) {
	return FromLookupEnv(os.LookupEnv, opts...)
}

// FromLookupEnv is FromEnv reading the variables through lookup (with the
// signature of os.LookupEnv) instead of the process environment: for
// tests, configuration files, or a secret fetched from a vault.
func FromLookupEnv(lookup func(key string) (string, bool), opts ...Option) (*Auth, error) {
	getenv := func(key string) string { v, _ := lookup(key); return v }
	secret := getenv(EnvSecret)
	if secret == "" {
		return nil, fmt.Errorf("jwtguard: %s is not set", EnvSecret)
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("jwtguard: %s is %d bytes; it must be at least 32 bytes of random data (try: openssl rand -base64 48)", EnvSecret, len(secret))
	}
	var envOpts []Option
	if v, ok := lookup(EnvExpiresIn); ok {
		d, err := ParseLifetime(v)
		if err != nil {
			return nil, fmt.Errorf("jwtguard: %s: %w", EnvExpiresIn, err)
		}
		envOpts = append(envOpts, WithTokenLifetime(d))
	}
	if v := getenv(EnvIssuer); v != "" {
		envOpts = append(envOpts, WithIssuer(v))
	}
	if v := getenv(EnvAudience); v != "" {
		envOpts = append(envOpts, WithAudience(v))
	}
	// The secret's length was checked above, so an error from New is about
	// an option; it is returned as it is rather than blamed on JWT_SECRET.
	return New([]byte(secret), append(envOpts, opts...)...)
}

// ParseLifetime parses a token lifetime the way JWT_EXPIRES_IN is read: a
// whole number of seconds ("3600"); a whole number with one unit s, m, h or
// d ("10s", "15m", "1h", "7d"); or a Go duration ("1h30m", "90s"). The result
// must be positive.
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty lifetime")
	}
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(maxLifetime/time.Second) {
			return 0, fmt.Errorf("lifetime %q is too long", s)
		}
		d = time.Duration(n) * time.Second
	} else if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || n > int64(maxLifetime/(24*time.Hour)) {
			return 0, fmt.Errorf("lifetime %q is not seconds, 10s, 15m, 1h, 7d or a Go duration", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("lifetime %q is not seconds, 10s, 15m, 1h, 7d or a Go duration", s)
	}
	if d <= 0 || d > maxLifetime {
		return 0, fmt.Errorf("lifetime %q is not positive, or over 100 years", s)
	}
	return d, nil
}

// maxLifetime bounds lifetimes so that conversions cannot overflow.
const maxLifetime = 100 * 365 * 24 * time.Hour
