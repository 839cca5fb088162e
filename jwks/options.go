package jwks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults and bounds of the options.
const (
	// defaultUnknownKeyRefresh is the least time between a fetch and one
	// asked for by a token with an unknown kid (WithUnknownKeyRefresh).
	defaultUnknownKeyRefresh = time.Minute
	// defaultFetchTimeout bounds one fetch (WithFetchTimeout).
	defaultFetchTimeout = 5 * time.Second
	// defaultMaxSize bounds the document (WithMaxSize): about a thousand
	// RSA keys; an issuer's JWKS is a few kilobytes.
	defaultMaxSize = 1 << 20
	// minFreshness and maxFreshness bound the refresh interval read from
	// Cache-Control; maxFreshness is also the interval of a response
	// without max-age.
	minFreshness = time.Minute
	maxFreshness = time.Hour
	// maxBackoff bounds the wait before retrying a failed fetch.
	maxBackoff = time.Minute
)

// An Option configures [New]. Each one is checked by New, which returns
// the first bad one's error.
type Option func(*config)

type config struct {
	interval          time.Duration // 0: from the response's Cache-Control
	unknownKeyRefresh time.Duration
	fetchTimeout      time.Duration
	maxSize           int64
	client            *http.Client // nil: http.DefaultTransport
	defaultAlg        string
	logger            *slog.Logger
	startWithoutKeys  bool
	err               error

	// onFetch, when set (by the package's tests), is called after each
	// fetch with its error.
	onFetch func(error)
}

func defaultConfig() config {
	return config{
		unknownKeyRefresh: defaultUnknownKeyRefresh,
		fetchTimeout:      defaultFetchTimeout,
		maxSize:           defaultMaxSize,
	}
}

// fail records the first bad option.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("jwks: "+format, args...)
	}
}

// WithRefreshInterval makes the set refresh every d, between a second and
// a day, whatever the responses' Cache-Control says. By default the
// interval is the response's max-age (less its Age), bounded to between a
// minute and an hour, and an hour when the response has no max-age
// (no-cache and no-store count as max-age=0). The interval bounds how long
// a key the issuer has removed keeps verifying tokens here.
func WithRefreshInterval(d time.Duration) Option {
	return func(c *config) {
		if d < time.Second || d > 24*time.Hour {
			c.fail("the refresh interval %v is not between a second and a day", d)
			return
		}
		c.interval = d
	}
}

// WithUnknownKeyRefresh sets the least time, between a second and a day,
// from one fetch to a fetch that a token naming a kid the set lacks asks
// for; default a minute. Such a token is refused at once (it does not
// wait for the fetch), and the fetch is made when this much time has
// passed since the last one: however many tokens with unknown kids
// arrive, they cost the issuer at most one request per d, and a key the
// issuer has just published verifies tokens here within d of the first
// token that names it. (keyfunc and jwkset wait 5 minutes, and block the
// request meanwhile.)
func WithUnknownKeyRefresh(d time.Duration) Option {
	return func(c *config) {
		if d < time.Second || d > 24*time.Hour {
			c.fail("the unknown-kid refresh interval %v is not between a second and a day", d)
			return
		}
		c.unknownKeyRefresh = d
	}
}

// WithFetchTimeout bounds each fetch of the document, from the request to
// the last byte read, to d, over zero and at most five minutes; default 5
// seconds. A fetch that takes longer fails (and the last good set stays).
// Requests never wait for a fetch, except New for the first one.
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 || d > 5*time.Minute {
			c.fail("the fetch timeout %v is not over zero and at most five minutes", d)
			return
		}
		c.fetchTimeout = d
	}
}

// WithMaxSize bounds the document to n bytes, between 1 KiB and 64 MiB;
// default 1 MiB. A larger one (by its Content-Length or as read, after
// any decompression) fails the fetch without being read further.
func WithMaxSize(n int64) Option {
	return func(c *config) {
		if n < 1<<10 || n > 64<<20 {
			c.fail("the maximum document size %d is not between 1 KiB and 64 MiB", n)
			return
		}
		c.maxSize = n
	}
}

// WithHTTPClient fetches with client (its Transport, proxy and TLS
// settings, cookie jar and Timeout) instead of one on
// http.DefaultTransport. The URL rules hold all the same: New checks the
// URL before any fetch, and the set uses a copy of client whose
// CheckRedirect first refuses a redirect to a URL New would refuse (not
// https, and not a literal loopback address), from https to plain http,
// or after 5 redirects, then calls client's own. Where a connection goes
// is the Transport's business, and is trusted as given: a Proxy, a
// DialContext or a RoundTripper of client's may send a request for
// http://127.0.0.1 elsewhere, in the clear.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) {
		if client == nil {
			c.fail("WithHTTPClient: the client is nil")
			return
		}
		c.client = client
	}
}

// asymmetricAlgs are the algorithms of the keys a JWKS can give.
var asymmetricAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true, "Ed25519": true,
}

// WithDefaultAlgorithm sets the algorithm of the set's JWKs that have no
// alg member (which is optional, RFC 7517 §4.4): RS256/384/512,
// PS256/384/512, ES256/384/512, EdDSA or Ed25519. A JWK without alg whose
// kind does not fit it (an EC key for PS256) is skipped. The algorithm of
// a key always comes from the JWK or from here, never from a token.
//
// Without this option, a JWK without alg gets the algorithm its kind
// implies, as [jwtguard.ParseJWK] has it: ES256, ES384 or ES512 by curve,
// EdDSA for Ed25519, and RS256 for RSA (an RSA key whose issuer signs
// PS256 tokens then needs this option, or an alg in its JWK: the tokens
// are refused, never checked with another algorithm).
func WithDefaultAlgorithm(alg string) Option {
	return func(c *config) {
		if !asymmetricAlgs[alg] {
			c.fail("WithDefaultAlgorithm: %q is not RS256/384/512, PS256/384/512, ES256/384/512, EdDSA or Ed25519 (a JWKS never gives an HMAC key)", alg)
			return
		}
		c.defaultAlg = alg
	}
}

// WithLogger logs to l: at Warn a failed fetch, with its reason (a
// document the strict reading refuses among them, with the member name
// and the JWK at fault), never the document (except New's first, whose
// error New returns, unless
// [WithStartWithoutKeys]), and the JWKs of a new document that are
// skipped, with why; at Info a new key set (the kids it holds) and the end
// of the refreshes when New's context ends; at Debug a fetch that found
// the document unchanged. Default slog.Default() as it is when New is
// called.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithStartWithoutKeys makes New return a set even when the first fetch
// fails (the issuer is not up yet, say): the set then has no keys, every
// token is answered 503 (VerificationKey returns [ErrNotReady]) and the
// fetch is retried after 1, 2, 4 … seconds, at most a minute apart, until
// one succeeds. Without it, New returns the first fetch's error, so that a
// service that cannot reach its issuer fails at start.
func WithStartWithoutKeys() Option {
	return func(c *config) { c.startWithoutKeys = true }
}

// errClosed is the cause of the end of the refreshes that Close asks for.
var errClosed = errors.New("jwks: closed")
