package token

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/charset"
	"github.com/jwtguard/jwtguard/internal/strictjson"
)

// The kinds of refusal Reason tells apart; every error Verify returns wraps
// one of them besides ErrInvalid or ErrExpired.
var (
	errMalformed = errors.New("token is malformed")
	errSignature = errors.New("token signature is invalid")
	errIssuer    = errors.New("token has invalid issuer")
	errAudience  = errors.New("token has invalid audience")
	errClaims    = errors.New("token has invalid claims")
	// errBadByte is a malformed token with a byte outside the compact
	// serialization's alphabet.
	errBadByte = fmt.Errorf("%w: a byte that is neither base64url nor '.'", errMalformed)
)

// knownAlgs are the JWS algorithm names golang-jwt registers: a token that
// names one of them but not the key's is "invalid", any other "unavailable",
// in golang-jwt's words, which the operator's log keeps.
var knownAlgs = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true, "RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true, "ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true, "none": true,
}

// Verifier verifies tokens with one pinned algorithm and key. It is safe for
// concurrent use.
//
// It is a path of its own for the compact serialization rather than
// golang-jwt's parser, which decodes the header into a map through
// encoding/json, the claims before the signature is checked, and makes a
// new HMAC for every token: that path was about five times the cost of a
// fully validating verifier (issue 13's measurements, BENCHMARKS.md). Here
// the token is read in one pass: its alphabet and its three segments; the
// JOSE header, decoded strictly (exact names, none repeated, crit and cty
// refused), and its alg compared with the key's before anything else in
// it is trusted; the signature, with a pooled HMAC and a constant-time
// comparison; and only then the claims, with the strict decoder. golang-jwt
// signs (Signer), and FuzzVerifyAgainstGolangJWT checks this path against
// its parser.
//
// Nothing but the signatureCheck knows the algorithm (signature.go): the
// alg comparison, the common headers and the claims are the same for any
// key, so that asymmetric keys add a check of their own and pay for their
// cryptography and the decoding, as HMAC does, and for nothing more.
type Verifier struct {
	keys     Resolver
	issuer   string
	audience string
	typ      string
	leeway   time.Duration
	now      func() time.Time
	cache    *Cache // nil: none
	// headers are header segments, as sent, that checkHeader accepted
	// without a problem in a token whose signature then verified, with
	// what they say: a token whose header segment is one of them skips
	// decoding it (see knownHeader).
	headers   atomic.Pointer[map[string]header]
	headersMu sync.Mutex
}

// A header is what the verifier takes from a JOSE header: alg and kid
// ("" when absent).
type header struct{ alg, kid string }

// maxKnownHeaders bounds Verifier.headers. Only headers of tokens whose
// signature verified are added, so only a key's holder can fill it; an
// issuer that writes a new header into every token (a nonce in it, say)
// fills it once and is then decoded every time, as without it.
const maxKnownHeaders = 64

// A Resolver finds the key a token's signature is checked with from what
// its header says: its kid ("" when it has none) and its alg, which is one
// Supported names. It returns an error wrapping ErrUnknownKey when it has
// no such key, and any other error when it cannot tell (a key set that
// could not be fetched). The key's own Alg is compared with the token's
// after it returns. It must be safe for concurrent use.
type Resolver interface {
	Resolve(ctx context.Context, kid, alg string) (*Key, error)
}

// ErrUnknownKey is a Resolver's answer for a kid (or a kid-less token) it
// has no key for: the token is invalid, for the reason ReasonUnknownKey (its
// signature cannot be checked: a key removed, not yet published, or never
// ours).
var ErrUnknownKey = errors.New("no key for the token's kid")

// Static is a Resolver of one key: a token with a kid other than the
// key's is refused, one without a kid, or with any kid when the key has
// none, is checked with it.
type Static struct{ Key *Key }

// Resolve implements Resolver.
func (s Static) Resolve(_ context.Context, kid, _ string) (*Key, error) {
	if kid != "" && s.Key.ID != "" && kid != s.Key.ID {
		return nil, ErrUnknownKey
	}
	return s.Key, nil
}

// NewVerifier returns a Verifier for cfg. cfg must have been validated.
func NewVerifier(cfg Config) *Verifier {
	v := &Verifier{
		keys:     cfg.Keys,
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		typ:      cfg.Type,
		leeway:   cfg.Leeway,
		now:      cfg.Now,
		cache:    cfg.Cache,
	}
	if v.keys == nil {
		v.keys = Static{NewHMACKey(cfg.Alg, "", cfg.Secret)}
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.headers.Store(&map[string]header{})
	return v
}

// headerBufs pools the buffers headers are decoded into: the decoded bytes
// escape through strictjson.Object's callback, so a local array would be
// moved to the heap on every token.
var headerBufs = sync.Pool{New: func() any { return new([maxHeaderSize]byte) }}

// maxHeaderSize bounds a decoded JOSE header; jwtguard's own are about 30
// bytes, and those of other issuers with kid and typ under 200.
const maxHeaderSize = 512

// b64 is the base64url decoding of the compact serialization: no padding,
// and, strictly, no stray bits in the last character, so that a token has
// one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Verify checks tok's signature, header and claims and returns its payload.
// The error wraps ErrExpired or ErrInvalid. With ErrExpired, and only then,
// the payload is returned too: its signature is good and it was decoded
// strictly, so that the caller can make the checks of its own that a fresh
// token must pass and report a token that fails them as invalid rather
// than merely expired. With ErrInvalid the payload is nil.
func (v *Verifier) Verify(ctx context.Context, tok string) (*Payload, error) {
	if cp, found, err := v.Cached(ctx, tok, v.now()); found {
		if cp == nil {
			return nil, err
		}
		// A copy, with lists of its own, that the caller may change.
		p := new(Payload)
		*p = *cp
		p.Audience = listInto(p.audBuf[:0], cp.Audience)
		p.Roles = listInto(p.rolesBuf[:0], cp.Roles)
		return p, err
	}
	p := new(Payload)
	switch err := v.VerifyInto(ctx, tok, p); {
	case err == nil, errors.Is(err, ErrExpired):
		return p, err
	default:
		return nil, err
	}
}

// VerifyInto is Verify decoding into p, which the caller allocates (with
// what it keeps beside the payload, in one allocation). p must be zero.
// Unless the error wraps ErrExpired, p is to be dropped when the error is
// not nil.
//
// A token with a byte outside the compact serialization's alphabet is
// refused as malformed, whatever else is wrong with it, and the refusal
// names the byte: a signed token has exactly one accepted spelling.
func (v *Verifier) VerifyInto(ctx context.Context, tok string, p *Payload) error {
	err := v.verify(ctx, tok, p)
	if err != nil && p.JSON == nil {
		// The alphabet is read only once the token is refused: every byte
		// outside it fails the token somewhere in verify (see there), so
		// an accepted token need not be read for it once more, which was
		// a twentieth of Verify's time (pprof of bench/verify); nor one
		// refused after its payload was decoded (an expired one), as
		// every segment has then been decoded.
		if !compactAlphabet.All(tok) {
			i := compactAlphabet.Index(tok)
			return fmt.Errorf("%w: %w: byte %d is neither base64url nor '.'", ErrInvalid, errBadByte, i)
		}
	}
	return err
}

// verify is VerifyInto but for the name of a byte outside the alphabet.
// Such a byte always fails the token: the strict base64url decoders of the
// header, signature and payload refuse every byte outside their alphabet
// but CR and LF, which they skip (so "<signature>\n" would verify as
// "<signature>") and which are refused here first; the known headers are
// compared as sent, and came through the strict decoder; and the segments
// are split at the dots.
func (v *Verifier) verify(ctx context.Context, tok string, p *Payload) error {
	if strings.IndexByte(tok, '\n') >= 0 || strings.IndexByte(tok, '\r') >= 0 {
		return errBadByte
	}
	first := strings.IndexByte(tok, '.')
	if first < 0 {
		return errSegments
	}
	second := strings.IndexByte(tok[first+1:], '.')
	if second < 0 {
		return errSegments
	}
	second += first + 1
	if strings.IndexByte(tok[second+1:], '.') >= 0 {
		return errSegments
	}
	var problem error
	h, known := v.knownHeader(tok[:first])
	if !known {
		var err error
		if h, problem, err = v.checkHeader(tok[:first]); err != nil {
			return err
		}
	}
	key, err := v.keys.Resolve(ctx, h.kid, h.alg)
	switch {
	case err == ErrUnknownKey:
		return fmt.Errorf("%w: %w (kid %q, alg %s)", ErrInvalid, ErrUnknownKey, h.kid, h.alg)
	case errors.Is(err, ErrUnknownKey):
		return fmt.Errorf("%w: %w (kid %q, alg %s; the key source says: %v)", ErrInvalid, ErrUnknownKey, h.kid, h.alg, err)
	case err != nil:
		return fmt.Errorf("%w: kid %q, alg %s: %w", ErrUnavailable, h.kid, h.alg, err)
	case key == nil:
		return fmt.Errorf("%w: kid %q, alg %s: the key source returned no key and no error", ErrUnavailable, h.kid, h.alg)
	case !SameAlg(h.alg, key.Alg):
		// The key named by kid is for another algorithm: an HS256 token
		// "signed" with an RSA key's public bytes stops here.
		return fmt.Errorf("%w: %w: signing method %s is invalid: the key of kid %q is for %s only", ErrInvalid, errSignature, h.alg, key.ID, key.Alg)
	}
	if err := key.check.check(tok[:second], tok[second+1:]); err != nil {
		return err
	}
	// The header's other refusals (crit, cty, typ) wait for the signature,
	// so that a forgery counts as one whatever its header says.
	if problem != nil {
		return problem
	}
	if !known {
		v.learnHeader(tok[:first], h)
	}
	segment := tok[first+1 : second]
	// The claims' own buffer, which holds no pointers, so that the
	// garbage collector never scans it; the string claims are views of it.
	raw := make([]byte, b64.DecodedLen(len(segment)))
	n, err := b64.Decode(raw, bytesOf(segment))
	if err != nil {
		return errPayloadBase64
	}
	raw = raw[:n]
	p.JSON, p.own = raw, true
	if err := p.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("%w: %w: could not JSON decode claim: %w", ErrInvalid, errMalformed, err)
	}
	if err := v.checkClaims(p, v.now()); err != nil {
		return err
	}
	if v.cache != nil {
		v.cache.add(v, tok, h, key, p)
	}
	return nil
}

// Cached answers for tok from the cache, when it holds tok: found is
// false when it does not, or when the entry's key is no longer the one its
// kid resolves to, and tok is then to be verified with VerifyInto (which
// adds it). Otherwise err is what VerifyInto would return, the time claims
// checked as of now (the Verifier's clock, read by the caller, which
// reads it once for a request), and p is tok's payload, with err nil or
// wrapping ErrExpired as from Verify. p is the cache's: shared, and not to
// be changed.
func (v *Verifier) Cached(ctx context.Context, tok string, now time.Time) (p *Payload, found bool, err error) {
	if v.cache == nil {
		return nil, false, nil
	}
	e, slot := v.cache.get(v, tok)
	if e == nil {
		return nil, false, nil
	}
	key, err := v.keys.Resolve(ctx, e.kid, e.alg)
	if err != nil || key != e.key && !key.Same(e.key) {
		// Removed, or replaced under its kid: the entry is dead. A source
		// that cannot answer now may later; the fresh verification
		// reports it. A key that is the same but for its pointer (a
		// source that makes its Key anew, a JWKS fetched again) is the
		// key the signature was checked with.
		if err == nil || errors.Is(err, ErrUnknownKey) {
			v.cache.drop(slot, e)
		}
		v.cache.count(slot, false)
		return nil, false, nil
	}
	v.cache.count(slot, true)
	if err := v.checkClaims(&e.payload, now); err != nil {
		v.cache.drop(slot, e)
		if !errors.Is(err, ErrExpired) {
			return nil, true, err
		}
		return &e.payload, true, err
	}
	return &e.payload, true, nil
}

// listInto returns list copied into buf's storage (growing it when it is
// too short), nil for nil.
func listInto[L ~[]string](buf []string, list L) L {
	if list == nil {
		return nil
	}
	return append(L(buf), list...)
}

// compactAlphabet is the bytes of a compact serialization: base64url
// characters and the dot.
var compactAlphabet = charset.Of(func(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
})

// The refusals whose text is fixed, made once: a flood of junk tokens
// should cost no more than real traffic, and these are its usual answers.
var (
	errSegments        = invalid(errMalformed, "token contains an invalid number of segments")
	errHeaderBase64    = invalid(errMalformed, "could not base64 decode header")
	errPayloadBase64   = invalid(errMalformed, "could not base64 decode claim")
	errSignatureBase64 = invalid(errMalformed, "could not base64 decode signature")
	errNoAlg           = invalid(errSignature, "token is unverifiable: signing method (alg) is unspecified")
	errBadSignature    = invalid(errSignature, "signature is invalid")
	errCrit            = invalid(errClaims, "crit header parameter present; no extension is understood")
	errCty             = invalid(errClaims, "cty header parameter present; nested or non-claims content is not accepted")
	errKid             = invalid(errMalformed, "kid header parameter is not a string")
	// ErrUntrustedIssuer refuses a token whose iss names no issuer the
	// service trusts, before any key is tried.
	ErrUntrustedIssuer = invalid(errIssuer, "token's iss is neither this service's issuer nor one of those it trusts")
	errExpiredOnly     = fmt.Errorf("%w: %w: token is expired", ErrExpired, errClaims)
)

// FixedRefusals are the refusals Verify makes once and returns as they
// are, for a caller that wraps them once too.
func FixedRefusals() []error {
	return []error{errSegments, errHeaderBase64, errPayloadBase64, errSignatureBase64, errNoAlg, errBadSignature, errCrit, errCty, errKid, ErrUntrustedIssuer, errExpiredOnly}
}

// fixedReason returns the reason of a refusal made once (above), found
// without walking its wrapping, or "".
func fixedReason(err error) string {
	switch err {
	case errSegments, errHeaderBase64, errPayloadBase64, errSignatureBase64, errKid:
		return ReasonMalformed
	case errNoAlg, errBadSignature:
		return ReasonSignature
	case errCrit, errCty:
		return ReasonClaims
	case ErrUntrustedIssuer:
		return ReasonIssuer
	case errExpiredOnly:
		return ReasonExpired
	}
	return ""
}

func invalid(kind error, detail string) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalid, kind, detail)
}

// maxHeaderMembers bounds the JOSE header, whose repeated names are found
// by comparing hashes of the names seen.
const maxHeaderMembers = 16

// checkHeader decodes the JOSE header strictly and checks it: alg is one
// the verifier supports, kid (when present) is a string, no name is
// repeated (RFC 7515 §4: a parser must refuse or take the last; we refuse),
// crit is absent (§4.1.11: we understand no extension, so a token that
// requires one must be refused), cty is absent (a nested JWT or other
// content, RFC 7519 §5.2: the payload must be the claims themselves), and
// typ, when a type is configured, is it. The key is chosen by kid and alg
// only: jku, jwk, x5u and x5c are never used to find one; other parameters
// are validated and skipped.
//
// err refuses the header at once (it cannot be read, or names an alg that
// is not supported); problem is a refusal of a readable header, to be
// returned once the signature is found good.
func (v *Verifier) checkHeader(segment string) (h header, problem, err error) {
	if b64.DecodedLen(len(segment)) > maxHeaderSize {
		return h, nil, invalid(errMalformed, fmt.Sprintf("could not JSON decode header: header longer than %d bytes", maxHeaderSize))
	}
	buf := headerBufs.Get().(*[maxHeaderSize]byte)
	defer headerBufs.Put(buf)
	n, err := b64.Decode(buf[:], bytesOf(segment))
	if err != nil {
		return h, nil, errHeaderBase64
	}
	var (
		seen   [maxHeaderMembers]uint64
		count  int
		alg    []byte
		kid    []byte
		typ    []byte
		hasTyp bool
	)
	err = strictjson.Object(buf[:n], func(name, value []byte) error {
		if count == maxHeaderMembers {
			return fmt.Errorf("more than %d header parameters", maxHeaderMembers)
		}
		sum := fnv64a(name)
		for _, s := range seen[:count] {
			if s == sum {
				return fmt.Errorf("header parameter %q appears twice", name)
			}
		}
		seen[count] = sum
		count++
		switch string(name) {
		case "alg":
			// Read at once, so that an alg refused counts as a signature
			// refusal even when the header breaks further on.
			var err error
			if h.alg, err = algOf(value); err != nil {
				return err
			}
			alg = value
		case "kid":
			kid = value
		case "typ":
			typ, hasTyp = value, true
		case "crit":
			if problem == nil {
				problem = errCrit
			}
		case "cty":
			if problem == nil {
				problem = errCty
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errSignature):
		return h, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	case err != nil:
		return h, nil, fmt.Errorf("%w: %w: could not JSON decode header: %w", ErrInvalid, errMalformed, err)
	case alg == nil:
		return h, nil, errNoAlg
	}
	if kid != nil {
		if h.kid, err = strictjson.String(kid); err != nil {
			return h, nil, errKid
		}
	}
	if problem != nil {
		return h, problem, nil
	}
	if v.typ != "" {
		var s string
		switch {
		case hasTyp && len(typ) >= 2 && typ[0] == '"' && typ[len(typ)-1] == '"' && bytes.IndexByte(typ, '\\') < 0:
			// A plain JSON string (strictjson validated it): compared in
			// place, without copying it out.
			s = stringOf(typ[1 : len(typ)-1])
		case hasTyp:
			if s, err = strictjson.String(typ); err != nil {
				return h, fmt.Errorf("%w: %w: typ header: %w", ErrInvalid, errClaims, err), nil
			}
		}
		if !SameType(s, v.typ) {
			s = strings.Clone(s) // it outlives the pooled buffer in the error
			return h, fmt.Errorf("%w: %w: typ header %q is not the required %q", ErrInvalid, errClaims, s, v.typ), nil
		}
	}
	return h, nil, nil
}

// knownHeader returns what segment says when it is one of v.headers.
//
// Nearly every token a service sees has one of a few headers, and decoding
// and walking it was a tenth of Verify's time (pprof of bench/verify,
// BENCHMARKS.md). Comparing the segment as sent is exact: base64url
// without padding, read strictly, spells each byte string one way only, so
// a segment equal to a checked one decodes to the same header, which is
// accepted as it was when it was checked. The key is still resolved for
// every token, so a key removed from a set stops verifying at once.
func (v *Verifier) knownHeader(segment string) (header, bool) {
	h, ok := (*v.headers.Load())[segment]
	return h, ok
}

// learnHeader adds segment, checked without a problem in a token whose
// signature verified, to v.headers while there is room.
func (v *Verifier) learnHeader(segment string, h header) {
	if len(*v.headers.Load()) >= maxKnownHeaders {
		return
	}
	v.headersMu.Lock()
	defer v.headersMu.Unlock()
	old := *v.headers.Load()
	if _, ok := old[segment]; ok || len(old) >= maxKnownHeaders {
		return
	}
	m := make(map[string]header, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[strings.Clone(segment)] = header{alg: h.alg, kid: strings.Clone(h.kid)}
	v.headers.Store(&m)
}

// algOf reads a header's alg value: one Supported names, returned as the
// constant string, or the refusal golang-jwt would word for it, which the
// operator's log keeps: a known algorithm jwtguard does not verify with
// (none) is invalid, any other unavailable, a non-string unspecified.
func algOf(value []byte) (string, error) {
	if len(value) >= 2 && value[0] == '"' {
		if alg, ok := supportedAlgs[string(value[1:len(value)-1])]; ok {
			return alg, nil
		}
	}
	s, err := strictjson.String(value)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: token is unverifiable: signing method (alg) is unspecified", errSignature)
	case supportedAlgs[s] != "":
		// Spelled with escapes: accepted, as every JSON parser reads it so.
		return supportedAlgs[s], nil
	case knownAlgs[s]:
		return "", fmt.Errorf("%w: signing method %s is invalid", errSignature, s)
	}
	return "", fmt.Errorf("%w: token is unverifiable: signing method (alg) is unavailable", errSignature)
}

// supportedAlgs maps each algorithm a key can be made for to itself, so
// that a header's alg is looked up without allocating and kept as a
// constant.
var supportedAlgs = func() map[string]string {
	m := map[string]string{}
	for alg := range knownAlgs {
		if Supported(alg) {
			m[alg] = alg
		}
	}
	m["Ed25519"] = "Ed25519"
	return m
}()

// checkClaims checks the time claims (exp required; exp, nbf and iat with
// the leeway, iat not in the future), iss and aud, as golang-jwt's validator
// does, and reports ErrExpired only when expiry is the one check that
// failed, so that a client is told to refresh only a token that is good but
// for its age.
func (v *Verifier) checkClaims(p *Payload, now time.Time) error {
	var failed []string
	expired := false
	// Presence comes from the claims found, not from zero times (an exp of
	// 0001-01-01T00:00:00Z is present and long past). A fraction of a
	// second counts against the token, as golang-jwt's whole seconds do:
	// exp rounded down, nbf and iat up.
	// The leeway is applied to now, once each way, rather than to each
	// claim: exp + leeway <= now is exp <= now - leeway.
	switch {
	case p.seen&seenExp == 0:
		failed = append(failed, "exp claim is required")
	case !now.Add(-v.leeway).Before(floorSecond(p.ExpiresAt.Time)):
		expired = true
	}
	if p.seen&(seenNbf|seenIat) != 0 {
		late := now.Add(v.leeway)
		if p.seen&seenNbf != 0 && late.Before(ceilSecond(p.NotBefore.Time)) {
			failed = append(failed, "token is not valid yet")
		}
		if p.seen&seenIat != 0 && late.Before(ceilSecond(p.IssuedAt.Time)) {
			failed = append(failed, "token used before issued")
		}
	}
	kind := errClaims
	if v.issuer != "" {
		switch {
		case p.Issuer == "":
			failed, kind = append(failed, "iss claim is required"), errIssuer
		case p.Issuer != v.issuer:
			failed, kind = append(failed, "token has invalid issuer"), errIssuer
		}
	}
	switch {
	case v.audience != "" && len(p.Audience) == 0:
		failed, kind = append(failed, "aud claim is required"), errAudience
	case v.audience != "" && !contains(p.Audience, v.audience):
		failed, kind = append(failed, "token has invalid audience"), errAudience
	case v.audience == "" && len(p.Audience) > 0:
		// RFC 7519 §4.1.3: a recipient that does not identify itself with
		// a value of a present aud claim must reject the token. A token
		// minted for another service that shares the secret stops here.
		failed, kind = append(failed, "token names an audience and none is configured"), errAudience
	}
	switch {
	case len(failed) == 0 && !expired:
		return nil
	case len(failed) == 0:
		return errExpiredOnly
	}
	if expired {
		failed = append(failed, "token is expired")
	}
	return fmt.Errorf("%w: %w: %s", ErrInvalid, kind, strings.Join(failed, ", "))
}

// The bits of Payload.seen for the time claims (Payload.set).
const (
	seenExp = 1 << 3
	seenNbf = 1 << 4
	seenIat = 1 << 5
)

// floorSecond rounds t down to a whole second; the claims nearly always are
// whole seconds, and are then returned as they are, which is cheaper than
// Truncate.
func floorSecond(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t
	}
	return t.Truncate(time.Second)
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t
	}
	return t.Truncate(time.Second).Add(time.Second)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fnv64a is the 64-bit FNV-1a hash of b, written out so that hashing a
// header name allocates nothing (hash/fnv's hasher escapes to the heap).
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
