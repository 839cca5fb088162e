// Package jwks verifies tokens with the keys of a remote JSON Web Key Set
// (RFC 7517 §5): [New] returns a [jwtguard.KeySource] for [jwtguard.New],
// so that a resource server checks an issuer's tokens without a shared
// secret. Issuer and audience are checked as ever, by the Auth's
// [jwtguard.WithIssuer] and [jwtguard.WithAudience]:
//
//	keys, err := jwks.New(ctx, "https://login.example.com/.well-known/jwks.json")
//	…
//	defer keys.Close()
//	auth, err := jwtguard.New(keys,
//		jwtguard.WithIssuer("https://login.example.com"),
//		jwtguard.WithAudience("https://api.example.com"))
//	…
//	mux.Handle("GET /api/profile", auth.Verify(profile))
//
// # Fetching
//
// The document is fetched over https, redirects too, each fetch within 5
// seconds ([WithFetchTimeout]) and 1 MiB ([WithMaxSize]). Plain http is
// only for a literal loopback address (127.0.0.0/8, ::1: a test, a
// sidecar), never for the name localhost, which is resolved when
// fetching, through /etc/hosts, DNS and search domains that may lead off
// the machine: write http://127.0.0.1:8080/…, or use https. A redirect
// goes where New would let the URL go, at most 5 times, and once a fetch
// has been on https, never on over plain http, loopback or not. These
// rules hold with a client of one's own ([WithHTTPClient]).
//
// New makes the first fetch and fails when it fails, unless
// [WithStartWithoutKeys]. Then one goroutine refreshes the set, until
// [Set.Close] or the end of New's context: at the interval the issuer's
// Cache-Control max-age gives, bounded to between a minute and an hour
// (an hour without max-age; [WithRefreshInterval] sets a fixed one), with
// If-None-Match when the issuer sent an ETag; after a failure, again
// after 1, 2, 4 … seconds, at most a minute apart; and when a token names
// a kid the set lacks, at most once a minute ([WithUnknownKeyRefresh]).
// A fetch that fails (the endpoint down, slow, answering other than 200,
// or a document that is not a JWK Set, fails the strict reading below or
// gives no usable key) changes nothing: the last good set keeps
// verifying, and the reason is logged at Warn.
//
// # Reading the document
//
// The document is checked whole before its JWKs are read, and refused
// whole (a failed fetch, as above) unless it is one JSON object, in UTF-8
// without lone surrogate escapes and with nothing after it, whose keys
// member is an array of objects; in which no object, at any depth, has
// two members whose names are equal or differ only in letter case; and
// in which no member name differs only in letter case (Unicode simple
// case folding, as strings.EqualFold has it) from a registered one: keys
// in the document; in a JWK, a member of RFC 7517 §4, RFC 7518 §6 or RFC
// 8037 (kty, use, key_ops, alg, kid, x5u, x5c, x5t, x5t#S256, crv, x, y,
// d, n, e, p, q, dp, dq, qi, oth, k) or one registered or proposed since
// (ext, iat, nbf, exp, revoked, pub, priv); r, d or t in an entry of a
// JWK's oth. Other names, such as x-custom, are left alone. Go's
// encoding/json, which reads the JWKs, takes "D" for d and the last of
// two members of one name, so without this check a JWK with "D":"" after
// its published d would pass for a public key, and
// {"keys":[…],"keys":[…]} would give this package one set and a consumer
// that keeps the first member another.
//
// # Verifying
//
// Each fetch turns the document's JWKs into [jwtguard.Key] values once,
// and a token's key is then found by a map lookup, without a lock or an
// allocation: the set is safe for concurrent use, and a request never
// waits for a fetch. A token is checked with the key its kid names, and
// with that key's algorithm only (its JWK's alg, else [WithDefaultAlgorithm],
// else the one its kind implies: see there); a token without kid with the
// set's one key of the token's algorithm, as [jwtguard.KeySet] does, and
// is refused when the set has none or several. A token naming an unknown
// kid is refused at once (401) and asks for a refresh, which a later token
// benefits from. Before the first good fetch every token is answered 503
// ([ErrNotReady]): the token may well be good. Symmetric (oct) keys,
// keys whose private part the JWKS publishes, encryption keys and weak
// keys are never used (see [New]).
//
// # Why jwkset, and not keyfunc
//
// The JWKs are read by github.com/MicahParks/jwkset, the library under
// MicahParks/keyfunc v3; its types stay out of this package's API.
// keyfunc itself is not used: it is a jwt.Keyfunc for golang-jwt's
// parser, which jwtguard does not call; it returns a crypto key for each
// token, without the algorithm the key is for when the JWK has no alg,
// and jwtguard would then make a Key of it on every request (measured
// with keyfunc v3.9.2 on a JWKS of 3 RSA keys, Go 1.26, amd64: 175 ns for
// keyfunc's lookup under a read lock, 1.6 µs and 14 allocations with the
// Key made, against 11 to 17 ns without allocation for this package's,
// BenchmarkVerificationKey). Nor is jwkset's HTTP storage, which does
// not fit a resource server: it reads bodies without a size limit and
// accepts text after the document; it reads a JWK's private part and,
// for an RSA key with d but without its CRT members, drops d without a
// word, so that a leaked private key would be used as a public one; it
// skips JWKs of kinds it does not know without saying so; its refreshes
// tick at a fixed interval, ignoring Cache-Control and ETag, and after a
// failure wait a whole interval; and its refresh for an unknown kid runs
// on the request's goroutine, which waits for the rate limiter (up to a
// minute with keyfunc's defaults) and then for the fetch. The fetching,
// its schedule and the checks of each JWK are this package's.
package jwks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard"
)

// ErrNotReady is the error [Set.VerificationKey] returns before the set's
// first good fetch (with [WithStartWithoutKeys]). It does not wrap
// [jwtguard.ErrUnknownKey], so the token is answered 503 rather than 401.
var ErrNotReady = errors.New("jwks: the key set has not been fetched yet")

// Set is the keys of a remote JWKS, kept fresh in the background: a
// [jwtguard.KeySource]. Make one with [New]; stop its refreshes with
// [Set.Close]. It is safe for concurrent use.
type Set struct {
	url    string // as given to New
	logURL string // without a password
	cfg    config
	client *http.Client
	log    *slog.Logger

	keys atomic.Pointer[jwtguard.KeySet] // nil before the first good fetch
	wake chan struct{}                   // a token named an unknown kid
	stop context.CancelCauseFunc
	done chan struct{} // closed when the refreshes have stopped

	// Owned by the goroutine that fetches: New's, then run's.
	lastFetch time.Time // when the last fetch started
	failures  int       // fetches failed in a row
	etag      string    // of the last good document
	docSum    [32]byte  // SHA-256 of the last good document
}

// New returns the keys of the JWKS at url, fetched once before New
// returns. url must be https, or http with a literal loopback address as
// its host (127.0.0.0/8, ::1; not localhost: see the package doc); a
// password in it is never logged. Redirects are held to the same rule,
// and after https to https.
// When the first fetch fails New returns its error, unless
// [WithStartWithoutKeys] is given, or an option is bad.
//
// ctx bounds the first fetch (with the fetch timeout) and the life of the
// refreshes: they stop when ctx is done or [Set.Close] is called, and the
// set then keeps verifying with the keys it has. So ctx should live as
// long as the service; a deadline for the first fetch alone is
// [WithFetchTimeout]'s job.
//
// Of each document, the JWKs used are the public signature keys that
// jwtguard verifies with: RSA of 2048 to 8192 bits, EC on P-256, P-384 or
// P-521, Ed25519. Skipped, and logged at Warn with the reason (once per
// new document): a symmetric (oct) key, which would let whoever reads the
// JWKS forge tokens; a JWK with any private member (d, p, q, dp, dq, qi,
// oth, k), whose key is compromised, so that its public part is not used
// either; use other than sig, key_ops without verify; a JWK that does not
// parse, of another kind or curve, of an algorithm jwtguard does not
// verify (RSA-OAEP, HS256 on an RSA key), weak or of the wrong curve for
// its alg; a kid that is not printable ASCII of at most 128 bytes; and
// every JWK of a kid that several share. A JWK without kid gets its RFC
// 7638 thumbprint as kid. A document whose JWKs are all skipped is a
// failed fetch, and so is one the strict reading refuses (repeated member
// names, a registered name in other letter case: see the package doc),
// whatever JWKs it holds.
func New(ctx context.Context, url string, opts ...Option) (*Set, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	u, err := checkURL(url)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	s := &Set{
		url:    url,
		logURL: u.Redacted(),
		cfg:    cfg,
		client: httpClient(cfg.client),
		log:    cfg.logger,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	next, err := s.refresh(ctx, !cfg.startWithoutKeys)
	if err != nil && (!cfg.startWithoutKeys || ctx.Err() != nil) {
		return nil, fmt.Errorf("jwks: the first fetch of %s: %w", s.logURL, err)
	}
	ctx, s.stop = context.WithCancelCause(ctx)
	go s.run(ctx, next)
	return s, nil
}

// VerificationKey implements [jwtguard.KeySource]: the key kid names, or
// for a token without kid ("") the set's one key of alg. A token the set
// has no key for gets an error wrapping [jwtguard.ErrUnknownKey] at once
// (401) and asks for a refresh, made in the background when
// [WithUnknownKeyRefresh] allows; before the first good fetch the error
// is [ErrNotReady] (503). It never waits, locks or allocates for a key it
// finds.
func (s *Set) VerificationKey(ctx context.Context, kid, alg string) (jwtguard.Key, error) {
	ks := s.keys.Load()
	if ks == nil {
		return jwtguard.Key{}, ErrNotReady
	}
	k, err := ks.VerificationKey(ctx, kid, alg)
	if err != nil {
		select {
		case s.wake <- struct{}{}:
		default: // a refresh is asked for already
		}
		return jwtguard.Key{}, err
	}
	return k, nil
}

// Keys returns the keys of the last good fetch, in the document's order:
// nil before the first, and never empty after it (a document without a
// usable key is a failed fetch). A readiness check can test len(Keys()).
func (s *Set) Keys() []jwtguard.Key {
	if ks := s.keys.Load(); ks != nil {
		return ks.Keys()
	}
	return nil
}

// Close stops the refreshes and waits for a fetch in progress to end (it
// is cancelled). The set keeps verifying with the keys it has. Close may
// be called more than once, from any goroutine.
func (s *Set) Close() {
	s.stop(errClosed)
	<-s.done
}

// run refreshes the set until ctx is done: the first time after next.
func (s *Set) run(ctx context.Context, next time.Duration) {
	defer close(s.done)
	timer := time.NewTimer(next)
	defer timer.Stop()
	due := time.Now().Add(next)
	for {
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); cause != errClosed {
				s.log.Info("jwks: refreshes stopped: the context given to New is done; the set keeps its keys", slog.String("url", s.logURL), slog.String("cause", cause.Error()))
			}
			return
		case <-s.wake:
			// A token named an unknown kid: refresh as soon as the rate
			// allows, unless a refresh is due sooner anyway.
			at := s.lastFetch.Add(s.cfg.unknownKeyRefresh)
			if now := time.Now(); at.Before(now) {
				at = now
			}
			if at.Before(due) {
				due = at
				timer.Reset(time.Until(at))
			}
		case <-timer.C:
			next, _ = s.refresh(ctx, false)
			// Tokens that asked for a refresh during this one have it.
			select {
			case <-s.wake:
			default:
			}
			due = time.Now().Add(next)
			timer.Reset(next)
		}
	}
}

// refresh fetches once and returns when to fetch next, and the fetch's
// error, which it logs unless quiet (New returns it instead).
func (s *Set) refresh(ctx context.Context, quiet bool) (time.Duration, error) {
	s.lastFetch = time.Now()
	fresh, ok, err := s.fetch(ctx)
	if errors.Is(err, errNotModified) {
		s.log.Debug("jwks: the key set is unchanged", slog.String("url", s.logURL))
		err = nil
	}
	if s.cfg.onFetch != nil {
		s.cfg.onFetch(err)
	}
	if err != nil {
		s.failures++
		retry := min(time.Second<<min(s.failures-1, 6), maxBackoff)
		if s.cfg.interval > 0 {
			retry = min(retry, s.cfg.interval)
		}
		if quiet {
			return retry, err
		}
		kept := "the last good key set stays"
		if s.keys.Load() == nil {
			kept = "no keys yet: tokens are answered 503"
		}
		s.log.Warn("jwks: fetching the JWKS failed; "+kept, slog.String("url", s.logURL), slog.String("error", err.Error()), slog.Int("failures", s.failures), slog.Duration("retry_in", retry))
		return retry, err
	}
	s.failures = 0
	switch {
	case s.cfg.interval > 0:
		return s.cfg.interval, nil
	case !ok:
		return maxFreshness, nil
	}
	return min(max(fresh, minFreshness), maxFreshness), nil
}

// maxLoggedKids bounds the kids and skipped JWKs a log line lists.
const maxLoggedKids = 20

// logKeys logs a new key set at Info.
func (s *Set) logKeys(ks *jwtguard.KeySet) {
	keys := ks.Keys()
	kids := make([]string, 0, min(len(keys), maxLoggedKids))
	for _, k := range keys[:min(len(keys), maxLoggedKids)] {
		kids = append(kids, clip(k.ID())+" "+k.Algorithm())
	}
	s.log.Info("jwks: new key set", slog.String("url", s.logURL), slog.Int("keys", len(keys)), slog.Any("kids", kids))
}

// logSkipped logs the JWKs of a new document that are not used, at Warn.
func (s *Set) logSkipped(skip []skipped) {
	if len(skip) == 0 {
		return
	}
	reasons := make([]string, 0, min(len(skip), maxLoggedKids))
	for _, sk := range skip[:min(len(skip), maxLoggedKids)] {
		kid := "no kid"
		if sk.kid != "" {
			kid = fmt.Sprintf("kid %q", clip(sk.kid))
		}
		reasons = append(reasons, fmt.Sprintf("JWK %d (%s): %s", sk.index, kid, clipText(sk.reason.Error(), maxLoggedReason)))
	}
	s.log.Warn("jwks: JWKs of the JWKS skipped", slog.String("url", s.logURL), slog.Int("skipped", len(skip)), slog.Any("reasons", reasons))
}

// maxLoggedReason bounds the reason a JWK is skipped for in a log line:
// it may quote the JWK's members (an alg, a curve), which the document's
// size alone bounds.
const maxLoggedReason = 300

// clip shortens a kid for a log line.
func clip(kid string) string { return clipText(kid, 64) }

// clipText is s cut to n bytes, marked when cut.
func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
