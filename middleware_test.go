package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// vtMint signs claims with golang-jwt, for algorithms and keys that
// vtCraft does not cover.
func vtMint(t testing.TB, m jwt.SigningMethod, claims jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// vtMapClaims are valid claims for vtMint.
func vtMapClaims() jwt.MapClaims {
	return jwt.MapClaims{"sub": "user-1", "iat": vtNow.Unix(), "exp": vtNow.Add(5 * time.Minute).Unix()}
}

// vtRequestTokens returns every credential a request carries (Authorization
// values without the scheme, cookie values, query values): none of them may
// reach a response body or a log.
func vtRequestTokens(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Authorization") {
		if _, tok, ok := strings.Cut(v, " "); ok {
			v = strings.TrimSpace(tok)
		}
		out = append(out, v)
	}
	// Every cookie value as sent, also those net/http drops.
	for _, line := range r.Header.Values("Cookie") {
		for _, pair := range strings.Split(line, ";") {
			if _, v, ok := strings.Cut(pair, "="); ok {
				out = append(out, strings.Trim(strings.TrimSpace(v), `"`))
			}
		}
	}
	// Every value as sent, also those url.Query skips.
	for _, pair := range strings.FieldsFunc(r.URL.RawQuery, func(c rune) bool { return c == '&' || c == ';' }) {
		if _, v, ok := strings.Cut(pair, "="); ok {
			out = append(out, v)
		}
	}
	return out
}

// vtLogReasons decodes the JSON log lines in buf and returns their reason
// attributes.
func vtLogReasons(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var reasons []string
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("log is not JSON lines: %v\n%s", err, buf)
		}
		if rec["msg"] != "jwtguard: request refused" {
			t.Errorf("unexpected log message %q", rec["msg"])
		}
		r, _ := rec["reason"].(string)
		reasons = append(reasons, r)
	}
	return reasons
}

// vtVerifyCase is one request through auth.Verify.
// vtCheckRefusal checks a whole refusal: the response and the probe
// (vtCheckRefused), one ErrorHandler call with want's sentinel, and one
// logged reason, which it returns.
func vtCheckRefusal(t *testing.T, rec *httptest.ResponseRecorder, p *vtProbe, eh *vtRecorder, logs *bytes.Buffer, want vtOutcome, secrets ...string) string {
	t.Helper()
	vtCheckRefused(t, rec, p, want, secrets...)
	if len(eh.errs) != 1 {
		t.Fatalf("error handler called %d times, want once", len(eh.errs))
	}
	vtCheckSentinel(t, eh.errs[0], vtRefusals[want].sentinel)
	reasons := vtLogReasons(t, logs)
	if len(reasons) != 1 {
		t.Fatalf("logged reasons %q, want one", reasons)
	}
	return reasons[0]
}

type vtVerifyCase struct {
	name  string
	opts  []jwtguard.Option
	req   *http.Request
	want  vtOutcome
	log   string                                 // refusals: a part of the logged reason
	check func(t *testing.T, c *jwtguard.Claims) // acceptances: the claims next saw
}

// vtRunVerifyCases runs each case through a.Verify with a recording error
// handler and a debug logger, and checks answer, sentinel, log and next.
func vtRunVerifyCases(t *testing.T, cases []vtVerifyCase, optional bool) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			eh := &vtRecorder{}
			opts := append([]jwtguard.Option{vtLogged(&logs), jwtguard.WithErrorHandler(eh.handle)}, tc.opts...)
			a := vtAuth(t, opts...)
			eh.auth = a
			p := &vtProbe{}
			mw := a.Verify
			if optional {
				mw = a.VerifyOptional
			}
			rec := vtServe(mw(p), tc.req)
			secrets := vtRequestTokens(tc.req)
			for _, s := range secrets {
				if len(s) >= 16 && strings.Contains(logs.String(), s) {
					t.Errorf("log contains the token %.24q…:\n%s", s, logs.String())
				}
			}

			if tc.want == vtAccept {
				if !p.called || rec.Code != http.StatusOK {
					t.Fatalf("refused: status %d, body %q, log %s", rec.Code, rec.Body, logs.String())
				}
				if len(eh.errs) != 0 {
					t.Errorf("error handler called with %v", eh.errs)
				}
				if tc.check != nil {
					tc.check(t, p.claims)
				} else if !p.ok || p.claims.Subject != "user-1" {
					t.Errorf("FromContext = %+v, %v; want the subject user-1", p.claims, p.ok)
				}
				return
			}

			if tc.log == "" {
				t.Fatal("test case lacks the expected log reason")
			}
			if reason := vtCheckRefusal(t, rec, p, eh, &logs, tc.want, secrets...); !strings.Contains(reason, tc.log) {
				t.Errorf("logged reason %q, want one containing %q", reason, tc.log)
			}
		})
	}
}

// TestVerify drives every refusal class and the accepted shapes through the
// real middleware.
func TestVerify(t *testing.T) {
	good := vtToken(map[string]any{"username": "alice", "roles": []string{"user"}})
	payload := vtPayload(nil)
	goodParts := strings.Split(good, ".")
	signingInput := goodParts[0] + "." + goodParts[1]

	// An HS256 token from the tutorials: {id, username, role}.
	legacy := vtCraft(vtHS256, vtPayload(map[string]any{"sub": nil, "id": 7, "username": "root", "role": "admin"}), vtSecret)

	// alg none in several spellings: unsigned, empty signature.
	none := func(alg string) string {
		return vtSeg(`{"alg":"`+alg+`","typ":"JWT"}`) + "." + vtSeg(payload) + "."
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	// A validly signed token over 4096 bytes.
	huge := vtToken(map[string]any{"pad": strings.Repeat("x", 4096)})

	// The signature's last character changed only in the two bits that
	// base64 does not use: a lax decoder reads the same MAC.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, good[len(good)-1])
	malleable := good[:len(good)-1] + string(alphabet[last^1])

	// Header and payload in the standard alphabet ('+', '/'), correctly
	// HMAC'd as sent.
	var stdTok string
	for pad := range 3 {
		p := vtPayload(map[string]any{"x": strings.Repeat("a", pad) + "???>>>~~~"})
		in := base64.RawStdEncoding.EncodeToString([]byte(vtHS256)) + "." + base64.RawStdEncoding.EncodeToString([]byte(p))
		if strings.ContainsAny(in, "+/") {
			stdTok = in + "." + vtMAC(sha256.New, vtSecret, in)
			break
		}
	}
	if stdTok == "" {
		t.Fatal("could not build a standard-alphabet token")
	}
	// A padded header segment, correctly HMAC'd as sent.
	paddedHeader := `{"alg":"HS256"}`
	if len(paddedHeader)%3 == 0 {
		paddedHeader = `{"alg":"HS256" }`
	}
	paddedIn := base64.URLEncoding.EncodeToString([]byte(paddedHeader)) + "." + vtSeg(payload)
	if !strings.Contains(paddedIn, "=") {
		t.Fatal("header encoding has no padding")
	}
	padded := paddedIn + "." + vtMAC(sha256.New, vtSecret, paddedIn)

	const aud, iss = "orders-api", "https://auth.example.com"
	withAud := []jwtguard.Option{jwtguard.WithAudience(aud)}
	withIss := []jwtguard.Option{jwtguard.WithIssuer(iss)}
	withCookie := []jwtguard.Option{jwtguard.WithCookie("jwt")}
	withQuery := []jwtguard.Option{jwtguard.WithQueryParameter("access_token")}
	withBoth := []jwtguard.Option{jwtguard.WithCookie("jwt"), jwtguard.WithQueryParameter("access_token")}
	cookie := func(r *http.Request, v string) *http.Request {
		r.AddCookie(&http.Cookie{Name: "jwt", Value: v})
		return r
	}
	at := func(exp time.Time) string { return vtToken(map[string]any{"exp": exp.Unix()}) }
	// rawCookie adds a Cookie header line as sent, which AddCookie would
	// sanitize.
	rawCookie := func(r *http.Request, line string) *http.Request {
		r.Header.Add("Cookie", line)
		return r
	}
	// manyCookies is past net/http's limit on cookies (3000), past which
	// it reads none.
	manyCookies := strings.Repeat("a=1; ", 3000) + "jwt=" + good

	cases := []vtVerifyCase{
		// Authorization header syntax.
		{name: "header/none", req: vtGet("/r"), want: vtNoToken, log: "no bearer token"},
		{name: "header/empty", req: vtGet("/r", ""), want: vtNoToken, log: "no bearer token"},
		{name: "header/Basic", req: vtGet("/r", "Basic dXNlcjpwYXNzd29yZA=="), want: vtNoToken, log: "no bearer token"},
		{name: "header/Bearerx scheme", req: vtGet("/r", "Bearerx "+good), want: vtNoToken, log: "no bearer token"},
		{name: "header/tab after scheme is malformed", req: vtGet("/r", "Bearer\t"+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/comma after scheme is malformed", req: vtGet("/r", "Bearer,"+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/no-break space after scheme is malformed", req: vtGet("/r", "Bearer\u00a0"+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/leading space is malformed", req: vtGet("/r", " Bearer "+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/Bearer-x scheme", req: vtGet("/r", "Bearer-x "+good), want: vtNoToken, log: "no bearer token"},
		{name: "header/Bearer without token", req: vtGet("/r", "Bearer"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/Bearer space without token", req: vtGet("/r", "Bearer "), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/two tokens", req: vtGet("/r", "Bearer a b"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/trailing space", req: vtGet("/r", "Bearer "+good+" "), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/two spaces accepted", req: vtGet("/r", "Bearer  "+good), want: vtAccept},
		{name: "header/lowercase scheme", req: vtGet("/r", "bearer "+good), want: vtAccept},
		{name: "header/uppercase scheme", req: vtGet("/r", "BEARER "+good), want: vtAccept},
		{name: "header/mixed-case scheme", req: vtGet("/r", "bEaReR "+good), want: vtAccept},
		{name: "header/two Authorization headers", req: vtGet("/r", "Bearer "+good, "Bearer "+good), want: vtBadRequest, log: "2 Authorization headers"},
		{name: "header/Bearer and Basic headers", req: vtGet("/r", "Basic dXNlcjpwYXNz", "Bearer "+good), want: vtBadRequest, log: "2 Authorization headers"},
		{name: "header/token over max size", req: vtGet("/r", "Bearer "+strings.Repeat("a", vtMaxTokenSize+1)), want: vtInvalid, log: "longer than"},
		{name: "header/well-signed token over max size", req: vtGet("/r", "Bearer "+huge), want: vtInvalid, log: "longer than"},
		{name: "header/token of exactly max size is parsed", opts: []jwtguard.Option{jwtguard.WithMaxTokenSize(len(good))}, req: vtGet("/r", "Bearer "+good), want: vtAccept},
		{name: "header/token one byte over WithMaxTokenSize", opts: []jwtguard.Option{jwtguard.WithMaxTokenSize(len(good) - 1)}, req: vtGet("/r", "Bearer "+good), want: vtInvalid, log: "longer than"},
		{name: "header/NUL after token", req: vtGet("/r", "Bearer "+good+"\x00"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/DEL inside token", req: vtGet("/r", "Bearer "+good[:20]+"\x7f"+good[20:]), want: vtBadRequest, log: "malformed Bearer credentials"},
		// base64 decoders skip CR and LF, so without the b64token check this
		// token would verify.
		{name: "header/newline after token", req: vtGet("/r", "Bearer "+good+"\n"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/CR inside signature", req: vtGet("/r", "Bearer "+good[:len(good)-5]+"\r"+good[len(good)-5:]), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/comma and second credential", req: vtGet("/r", "Bearer "+good+", Basic dXNlcjpwYXNz"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/comma inside token", req: vtGet("/r", "Bearer "+goodParts[0]+","+goodParts[1]), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "header/quoted token", req: vtGet("/r", `Bearer "`+good+`"`), want: vtBadRequest, log: "malformed Bearer credentials"},

		// Algorithms and signatures.
		{name: "alg/none", req: vtGet("/r", "Bearer "+none("none")), want: vtInvalid, log: "signing method none is invalid"},
		{name: "alg/None", req: vtGet("/r", "Bearer "+none("None")), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/NONE", req: vtGet("/r", "Bearer "+none("NONE")), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/nOnE", req: vtGet("/r", "Bearer "+none("nOnE")), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/none minted by golang-jwt", req: vtGet("/r", "Bearer "+vtMint(t, jwt.SigningMethodNone, vtMapClaims(), jwt.UnsafeAllowNoneSignatureType)), want: vtInvalid, log: "signing method none is invalid"},
		{name: "alg/none header over a valid HS256 signature", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"none"}`, payload, vtSecret)), want: vtInvalid, log: "signing method none is invalid"},
		{name: "alg/missing", req: vtGet("/r", "Bearer "+vtCraft(`{"typ":"JWT"}`, payload, vtSecret)), want: vtInvalid, log: "signing method (alg) is unspecified"},
		{name: "alg/lowercase hs256", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"hs256"}`, payload, vtSecret)), want: vtInvalid, log: "signing method (alg) is unavailable"},
		{name: "alg/array", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":["HS256"]}`, payload, vtSecret)), want: vtInvalid, log: "signing method (alg) is unspecified"},
		{name: "alg/HS384 with our secret", req: vtGet("/r", "Bearer "+vtMint(t, jwt.SigningMethodHS384, vtMapClaims(), vtSecret)), want: vtInvalid, log: "signing method HS384 is invalid"},
		{name: "alg/HS512 with our secret", req: vtGet("/r", "Bearer "+vtMint(t, jwt.SigningMethodHS512, vtMapClaims(), vtSecret)), want: vtInvalid, log: "signing method HS512 is invalid"},
		{name: "alg/RS256 header over our HMAC", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"RS256","typ":"JWT"}`, payload, vtSecret)), want: vtInvalid, log: "signing method RS256 is invalid"},
		{name: "alg/ES256 by an attacker key", req: vtGet("/r", "Bearer "+vtMint(t, jwt.SigningMethodES256, vtMapClaims(), ecKey)), want: vtInvalid, log: "signing method ES256 is invalid"},
		{name: "sig/stripped (two segments)", req: vtGet("/r", "Bearer "+signingInput), want: vtInvalid, log: "invalid number of segments"},
		{name: "sig/empty", req: vtGet("/r", "Bearer "+signingInput+"."), want: vtInvalid, log: "signature is invalid"},
		{name: "sig/another secret", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, payload, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "sig/empty secret", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, payload, nil)), want: vtInvalid, log: "signature is invalid"},
		{name: "sig/truncated to 30 bytes", req: vtGet("/r", "Bearer "+good[:len(good)-3]), want: vtInvalid, log: "signature is invalid"},
		{name: "sig/non-canonical trailing bits", req: vtGet("/r", "Bearer "+malleable), want: vtInvalid, log: "could not base64 decode signature"},
		{name: "sig/tampered payload, old signature", req: vtGet("/r", "Bearer "+goodParts[0]+"."+vtSeg(vtPayload(map[string]any{"roles": []string{"admin"}}))+"."+goodParts[2]), want: vtInvalid, log: "signature is invalid"},

		// Header parameters never choose the key.
		{name: "hdr/crit", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","crit":["exp"]}`, payload, vtSecret)), want: vtInvalid, log: "crit header"},
		{name: "hdr/crit empty list", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","crit":[]}`, payload, vtSecret)), want: vtInvalid, log: "crit header"},
		{name: "hdr/kid path traversal, our key: kid is ignored", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","kid":"../../etc/passwd"}`, payload, vtSecret)), want: vtAccept},
		{name: "hdr/kid path traversal, attacker key", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","kid":"../../etc/passwd"}`, payload, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "hdr/kid /dev/null, empty key", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","kid":"/dev/null"}`, payload, []byte{})), want: vtInvalid, log: "signature is invalid"},
		{name: "hdr/jku, attacker key", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","jku":"https://evil.example/jwks.json"}`, payload, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "hdr/x5u, attacker key", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","x5u":"https://evil.example/cert.pem"}`, payload, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "hdr/embedded jwk of the attacker key", req: vtGet("/r", "Bearer "+vtCraft(`{"alg":"HS256","jwk":{"kty":"oct","k":"`+vtSeg(string(vtAttackerSecret))+`"}}`, payload, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},

		// Registered claims.
		{name: "claim/exp missing", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": nil})), want: vtInvalid, log: "exp claim is required"},
		{name: "claim/exp as string", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": "1900000000"})), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/exp null", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":null}`, vtSecret)), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/exp out of range", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":1e300}`, vtSecret)), want: vtInvalid, log: "NumericDate outside the years 0000 to 9999"},
		{name: "claim/exp negative", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":-1}`, vtSecret)), want: vtExpired, log: "token is expired"},
		{name: "claim/nbf as string", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"nbf": "1700000000"})), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/iat as string", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"iat": "1700000000"})), want: vtInvalid, log: "NumericDate is not a JSON number"},
		{name: "claim/nbf in the future", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"nbf": vtNow.Add(time.Minute).Unix()})), want: vtInvalid, log: "token is not valid yet"},
		{name: "claim/nbf within leeway", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"nbf": vtNow.Add(vtLeeway - time.Second).Unix()})), want: vtAccept},
		{name: "claim/nbf future and exp past is invalid, not expired", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"nbf": vtNow.Add(time.Hour).Unix(), "exp": vtNow.Add(-time.Hour).Unix()})), want: vtInvalid, log: "token is not valid yet"},
		{name: "claim/exp one second past leeway", req: vtGet("/r", "Bearer "+at(vtNow.Add(-vtLeeway-time.Second))), want: vtExpired, log: "token is expired"},
		{name: "claim/exp exactly at leeway", req: vtGet("/r", "Bearer "+at(vtNow.Add(-vtLeeway))), want: vtExpired, log: "token is expired"},
		{name: "claim/exp within leeway", req: vtGet("/r", "Bearer "+at(vtNow.Add(-vtLeeway+time.Second))), want: vtAccept},
		{name: "claim/exp past with zero leeway", opts: []jwtguard.Option{jwtguard.WithLeeway(0)}, req: vtGet("/r", "Bearer "+at(vtNow.Add(-time.Second))), want: vtExpired, log: "token is expired"},
		{name: "claim/expired with bad signature is invalid, not expired", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, vtPayload(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()}), vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "claim/aud string equal", opts: withAud, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": aud})), want: vtAccept},
		{name: "claim/aud array containing ours", opts: withAud, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": []string{"billing", aud}})), want: vtAccept},
		{name: "claim/aud wrong", opts: withAud, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": "billing"})), want: vtInvalid, log: "token has invalid audience"},
		{name: "claim/aud array without ours", opts: withAud, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": []string{"billing", "orders-api2"}})), want: vtInvalid, log: "token has invalid audience"},
		{name: "claim/aud missing", opts: withAud, req: vtGet("/r", "Bearer "+good), want: vtInvalid, log: "aud claim is required"},
		{name: "claim/aud empty array", opts: withAud, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": []string{}})), want: vtInvalid, log: "aud claim is required"},
		{name: "claim/aud number", opts: withAud, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": 42})), want: vtInvalid, log: "aud is neither a string nor an array"},
		{name: "claim/aud present but no audience configured", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"aud": "billing"})), want: vtInvalid, log: "token names an audience and none is configured"},
		{name: "claim/no sub and no id", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": nil})), want: vtInvalid, log: "no subject"},
		{name: "claim/empty sub", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": ""})), want: vtInvalid, log: "no subject"},
		{name: "claim/iat in the future beyond leeway", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"iat": vtNow.Add(time.Minute).Unix()})), want: vtInvalid, log: "token used before issued"},
		{name: "claim/iat in the future within leeway", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"iat": vtNow.Add(5 * time.Second).Unix()})), want: vtAccept},
		{name: "claim/iss right", opts: withIss, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"iss": iss})), want: vtAccept},
		{name: "claim/iss wrong", opts: withIss, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"iss": "https://evil.example.com"})), want: vtInvalid, log: "token has invalid issuer"},
		{name: "claim/iss missing", opts: withIss, req: vtGet("/r", "Bearer "+good), want: vtInvalid, log: "iss claim is required"},
		{name: "claim/iss number", opts: withIss, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"iss": 1})), want: vtInvalid, log: `claim "iss": not a JSON string`},
		{name: "claim/sub number", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": 7})), want: vtInvalid, log: `claim "sub": not a JSON string`},
		{name: "claim/id float", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": nil, "id": 7.5})), want: vtInvalid, log: "id is neither a string nor an integer"},
		// The numeric id is taken only when every JSON parser reads the same
		// integer: JSON.parse and MapClaims read 2^53+1 as 2^53.
		{name: "claim/id 2^53-1", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":9007199254740991,"exp":1800000300}`, vtSecret)), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "9007199254740991" {
				t.Errorf("Subject = %q, want 9007199254740991", c.Subject)
			}
		}},
		{name: "claim/id 2^53+1", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":9007199254740993,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "beyond 2^53-1"},
		{name: "claim/id 2^53", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":9007199254740992,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "beyond 2^53-1"},
		{name: "claim/id -(2^53+1)", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":-9007199254740993,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "beyond 2^53-1"},
		{name: "claim/id beyond int64", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":123456789012345678901234567890,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "beyond 2^53-1"},
		{name: "claim/id -0", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":-0,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "id is -0"},
		{name: "claim/id 0", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":0,"exp":1800000300}`, vtSecret)), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "0" {
				t.Errorf("Subject = %q, want 0", c.Subject)
			}
		}},
		{name: "claim/id leading zero", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":07,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "could not JSON decode claim"},
		{name: "claim/id leading plus", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":+7,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "could not JSON decode claim"},
		{name: "claim/id exponent", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":7e0,"exp":1800000300}`, vtSecret)), want: vtInvalid, log: "id is neither a string nor an integer"},
		{name: "claim/id large as a string", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"id":"9007199254740993","exp":1800000300}`, vtSecret)), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "9007199254740993" {
				t.Errorf("Subject = %q, want 9007199254740993", c.Subject)
			}
		}},
		{name: "claim/tutorial token: id becomes the subject", req: vtGet("/r", "Bearer "+legacy), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "7" || c.Username != "root" || !slices.Contains(c.Roles, "admin") {
				t.Errorf("claims = %+v, want subject 7, username root, role admin", c)
			}
		}},

		// Malformed compact serializations.
		{name: "shape/4 segments", req: vtGet("/r", "Bearer "+good+".e30"), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/5 segments", req: vtGet("/r", "Bearer "+good+".e30.e30"), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/1 segment", req: vtGet("/r", "Bearer "+goodParts[1]), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/only dots", req: vtGet("/r", "Bearer .."), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/100000 dots", req: vtGet("/r", "Bearer "+strings.Repeat(".", 100000)), want: vtInvalid, log: "longer than"},
		{name: "shape/100000 dots under a raised bound", opts: []jwtguard.Option{jwtguard.WithMaxTokenSize(200000)}, req: vtGet("/r", "Bearer "+strings.Repeat(".", 100000)), want: vtInvalid, log: "invalid number of segments"},
		{name: "shape/padded signature", req: vtGet("/r", "Bearer "+good+"="), want: vtInvalid, log: "neither base64url nor '.'"},
		{name: "shape/padded header is not a b64token", req: vtGet("/r", "Bearer "+padded), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "shape/standard base64 alphabet", req: vtGet("/r", "Bearer "+stdTok), want: vtInvalid, log: "neither base64url nor '.'"},
		{name: "shape/header not JSON", req: vtGet("/r", "Bearer "+vtCraft("not json", payload, vtSecret)), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/header JSON array", req: vtGet("/r", "Bearer "+vtCraft(`["HS256"]`, payload, vtSecret)), want: vtInvalid, log: "could not JSON decode header"},
		{name: "shape/payload JSON array", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `[{"sub":"user-1","exp":1900000000}]`, vtSecret)), want: vtInvalid, log: "payload is not a JSON object"},
		{name: "shape/payload null", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `null`, vtSecret)), want: vtInvalid, log: "payload is not a JSON object"},
		{name: "shape/payload string", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `"sub"`, vtSecret)), want: vtInvalid, log: "payload is not a JSON object"},
		{name: "shape/payload not JSON", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":`, vtSecret)), want: vtInvalid, log: "could not JSON decode claim"},

		// Cookie.
		{name: "cookie/accepted", opts: withCookie, req: cookie(vtGet("/r"), good), want: vtAccept},
		{name: "cookie/header wins over garbage cookie", opts: withCookie, req: cookie(vtGet("/r", "Bearer "+good), "garbage.cookie.value"), want: vtAccept},
		{name: "cookie/bad header token is not rescued by a good cookie", opts: withCookie, req: cookie(vtGet("/r", "Bearer "+vtCraft(vtHS256, payload, vtAttackerSecret)), good), want: vtInvalid, log: "signature is invalid"},
		{name: "cookie/malformed header is not rescued by a good cookie", opts: withCookie, req: cookie(vtGet("/r", "Bearer a b"), good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "cookie/Basic header, good cookie", opts: withCookie, req: cookie(vtGet("/r", "Basic dXNlcjpwYXNz"), good), want: vtAccept},
		{name: "cookie/forged header with a tab is not passed over for a good cookie", opts: withCookie, req: cookie(vtGet("/r", "Bearer\t"+vtCraft(vtHS256, payload, vtAttackerSecret)), good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "cookie/forged header with a comma is not passed over for a good cookie", opts: withCookie, req: cookie(vtGet("/r", "Bearer,"+vtCraft(vtHS256, payload, vtAttackerSecret)), good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "cookie/forged header with a no-break space is not passed over for a good cookie", opts: withCookie, req: cookie(vtGet("/r", "Bearer\u00a0"+vtCraft(vtHS256, payload, vtAttackerSecret)), good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "cookie/empty value", opts: withCookie, req: cookie(vtGet("/r"), ""), want: vtNoToken, log: "no bearer token"},
		{name: "cookie/other name", opts: withCookie, req: func() *http.Request {
			r := vtGet("/r")
			r.AddCookie(&http.Cookie{Name: "session", Value: good})
			return r
		}(), want: vtNoToken, log: "no bearer token"},
		{name: "cookie/not read without WithCookie", req: cookie(vtGet("/r"), good), want: vtNoToken, log: "no bearer token"},
		{name: "cookie/garbage", opts: withCookie, req: cookie(vtGet("/r"), "garbage.cookie.value"), want: vtInvalid, log: "could not base64 decode header"},
		{name: "cookie/over max size", opts: withCookie, req: cookie(vtGet("/r"), huge), want: vtInvalid, log: "cookie: token longer than"},
		{name: "cookie/expired", opts: withCookie, req: cookie(vtGet("/r"), at(vtNow.Add(-time.Hour))), want: vtExpired, log: "token is expired"},
		{name: "cookie/quoted value", opts: withCookie, req: rawCookie(vtGet("/r"), `jwt="`+good+`"`), want: vtAccept},
		{name: "cookie/raw empty value", opts: withCookie, req: rawCookie(vtGet("/r"), "a=1; jwt=; b=2"), want: vtNoToken, log: "no bearer token"},
		{name: "cookie/raw empty value and a token", opts: withCookie, req: rawCookie(vtGet("/r"), "jwt=; jwt="+good), want: vtAccept},
		// net/http drops a cookie value it cannot read: not "no token".
		{name: "cookie/backslash after the token", opts: withCookie, req: rawCookie(vtGet("/r"), "jwt="+good+`\`), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/quote inside the value", opts: withCookie, req: rawCookie(vtGet("/r"), `jwt=`+good[:10]+`"`+good[10:]), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/non-ASCII byte", opts: withCookie, req: rawCookie(vtGet("/r"), "jwt="+good+"é"), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/DEL", opts: withCookie, req: rawCookie(vtGet("/r"), "jwt="+good+"\x7f"), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/unreadable one beside a good one", opts: withCookie, req: rawCookie(vtGet("/r"), "jwt="+good+"; jwt="+good+`\`), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/unreadable one in another line", opts: withCookie, req: rawCookie(cookie(vtGet("/r"), good), `jwt=x\`), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/past net/http's count limit", opts: withCookie, req: rawCookie(vtGet("/r"), manyCookies), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/Basic header and an unreadable cookie", opts: withCookie, req: rawCookie(vtGet("/r", "Basic dXNlcjpwYXNz"), "jwt="+good+`\`), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie/header wins over an unreadable cookie", opts: withCookie, req: rawCookie(vtGet("/r", "Bearer "+good), "jwt="+good+`\`), want: vtAccept},
		{name: "cookie/unreadable cookie of another name", opts: withCookie, req: rawCookie(vtGet("/r"), `session=a\; jwt=`+good), want: vtAccept},
		{name: "cookie/unreadable cookie not read without WithCookie", req: rawCookie(vtGet("/r"), "jwt="+good+`\`), want: vtNoToken, log: "no bearer token"},

		// Query parameter.
		{name: "query/ignored by default", req: vtGet("/r?access_token=" + good), want: vtNoToken, log: "no bearer token"},
		{name: "query/accepted when enabled", opts: withQuery, req: vtGet("/r?access_token=" + good), want: vtAccept},
		{name: "query/and header", opts: withQuery, req: vtGet("/r?access_token="+good, "Bearer "+good), want: vtBadRequest, log: "token in the query and in the header"},
		{name: "query/and cookie", opts: withBoth, req: cookie(vtGet("/r?access_token="+good), good), want: vtBadRequest, log: "token in the query and in the cookie"},
		{name: "query/repeated", opts: withQuery, req: vtGet("/r?access_token=" + good + "&access_token=" + good), want: vtBadRequest, log: "several tokens in the query"},
		// url.Query skips a pair with a bad %-escape or a ';', which would
		// hide the second credential.
		{name: "query/bad escape before the token and header", opts: withQuery, req: vtGet("/r?access_token=%zz"+good, "Bearer "+good), want: vtBadRequest, log: "malformed percent-encoding"},
		{name: "query/bad escape before the token", opts: withQuery, req: vtGet("/r?access_token=%zz" + good), want: vtBadRequest, log: "malformed percent-encoding"},
		{name: "query/semicolon after the token and header", opts: withQuery, req: vtGet("/r?access_token="+good+";x", "Bearer "+good), want: vtBadRequest, log: "token in the query and in the header"},
		{name: "query/semicolon after the token, cookie", opts: withBoth, req: cookie(vtGet("/r?access_token="+good+";x"), good), want: vtBadRequest, log: "token in the query and in the cookie"},
		{name: "query/semicolon after the token", opts: withQuery, req: vtGet("/r?access_token=" + good + ";x"), want: vtAccept},
		{name: "query/semicolon before the name and header", opts: withQuery, req: vtGet("/r?x;access_token="+good, "Bearer "+good), want: vtBadRequest, log: "token in the query and in the header"},
		{name: "query/two tokens, one with a bad escape", opts: withQuery, req: vtGet("/r?access_token=" + good + "&access_token=%zz" + good), want: vtBadRequest, log: "several tokens in the query"},
		{name: "query/two tokens, one name escaped", opts: withQuery, req: vtGet("/r?access_token=" + good + "&access%5Ftoken=" + good), want: vtBadRequest, log: "several tokens in the query"},
		{name: "query/bad escape in a parameter name", opts: withQuery, req: vtGet("/r?access_token%zz=" + good), want: vtBadRequest, log: "malformed percent-encoding"},
		{name: "query/bad escape in another parameter's value is ignored", opts: withQuery, req: vtGet("/r?q=100%&access_token=" + good), want: vtAccept},
		{name: "query/bad escape in a query without the parameter, header", opts: withQuery, req: vtGet("/r?q=100%", "Bearer "+good), want: vtAccept},
		{name: "query/escaped name", opts: withQuery, req: vtGet("/r?access%5Ftoken=" + good), want: vtAccept},
		{name: "query/no equals sign", opts: withQuery, req: vtGet("/r?access_token"), want: vtInvalid, log: "query parameter: malformed"},
		{name: "query/token over max size", opts: withQuery, req: vtGet("/r?access_token=" + huge), want: vtInvalid, log: "query parameter: token longer than"},
		{name: "query/empty value", opts: withQuery, req: vtGet("/r?access_token="), want: vtInvalid, log: "query parameter: malformed"},
		{name: "query/other parameter", opts: withQuery, req: vtGet("/r?token=" + good), want: vtNoToken, log: "no bearer token"},
		{name: "query/bad token", opts: withQuery, req: vtGet("/r?access_token=" + vtCraft(vtHS256, payload, vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "query/Basic header and query token", opts: withQuery, req: vtGet("/r?access_token="+good, "Basic dXNlcjpwYXNz"), want: vtAccept},
	}
	vtRunVerifyCases(t, cases, false)
}

// TestVerifyOptional: anonymous requests pass without claims; any token
// that is present is checked as by Verify.
func TestVerifyOptional(t *testing.T) {
	good := vtToken(nil)
	anonymous := func(t *testing.T, c *jwtguard.Claims) {
		if c != nil {
			t.Errorf("anonymous request has claims %+v", c)
		}
	}
	rawCookie := func(line string) *http.Request {
		r := vtGet("/r")
		r.Header.Add("Cookie", line)
		return r
	}
	cases := []vtVerifyCase{
		{name: "no token", req: vtGet("/r"), want: vtAccept, check: anonymous},
		{name: "Basic header", req: vtGet("/r", "Basic dXNlcjpwYXNz"), want: vtAccept, check: anonymous},
		{name: "good token", req: vtGet("/r", "Bearer "+good), want: vtAccept},
		{name: "bad signature", req: vtGet("/r", "Bearer "+vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)), want: vtInvalid, log: "signature is invalid"},
		{name: "expired", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()})), want: vtExpired, log: "token is expired"},
		{name: "malformed header", req: vtGet("/r", "Bearer"), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "tab after scheme is not anonymous", req: vtGet("/r", "Bearer\t"+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "comma after scheme is not anonymous", req: vtGet("/r", "Bearer,"+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "no-break space after scheme is not anonymous", req: vtGet("/r", "Bearer\u00a0"+good), want: vtBadRequest, log: "malformed Bearer credentials"},
		{name: "two headers", req: vtGet("/r", "Bearer "+good, "Bearer "+good), want: vtBadRequest, log: "2 Authorization headers"},
		{name: "empty cookie", opts: []jwtguard.Option{jwtguard.WithCookie("jwt")}, req: func() *http.Request {
			r := vtGet("/r")
			r.AddCookie(&http.Cookie{Name: "jwt", Value: ""})
			return r
		}(), want: vtAccept, check: anonymous},
		{name: "good cookie", opts: []jwtguard.Option{jwtguard.WithCookie("jwt")}, req: rawCookie("jwt=" + good), want: vtAccept},
		{name: "unreadable cookie is not anonymous", opts: []jwtguard.Option{jwtguard.WithCookie("jwt")}, req: rawCookie("jwt=" + good + `\`), want: vtBadRequest, log: "malformed cookie"},
		{name: "non-ASCII cookie is not anonymous", opts: []jwtguard.Option{jwtguard.WithCookie("jwt")}, req: rawCookie("jwt=é"), want: vtBadRequest, log: "malformed cookie"},
		{name: "cookie past net/http's count limit is not anonymous", opts: []jwtguard.Option{jwtguard.WithCookie("jwt")}, req: rawCookie(strings.Repeat("a=1; ", 3000) + "jwt=" + good), want: vtBadRequest, log: "malformed cookie"},
		{name: "unreadable cookie of another name is anonymous", opts: []jwtguard.Option{jwtguard.WithCookie("jwt")}, req: rawCookie(`session=a\`), want: vtAccept, check: anonymous},
	}
	vtRunVerifyCases(t, cases, true)
}

// TestVerifyDefaultErrorHandler: without WithErrorHandler, each refusal
// class gets the same fixed answer.
func TestVerifyDefaultErrorHandler(t *testing.T) {
	cases := []struct {
		name string
		req  *http.Request
		want vtOutcome
	}{
		{"no token", vtGet("/r"), vtNoToken},
		{"malformed", vtGet("/r", "Bearer a b"), vtBadRequest},
		{"invalid", vtGet("/r", "Bearer "+vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)), vtInvalid},
		{"expired", vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()})), vtExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &vtProbe{}
			rec := vtServe(vtAuth(t).Verify(p), tc.req)
			vtCheckRefused(t, rec, p, tc.want, vtRequestTokens(tc.req)...)
		})
	}
}

// TestVerifyRealm: the challenge names the configured realm.
func TestVerifyRealm(t *testing.T) {
	a := vtAuth(t, jwtguard.WithRealm("orders"))
	for _, tc := range []struct {
		name, auth, want string
	}{
		{"no token", "", `Bearer realm="orders"`},
		{"malformed", "Bearer a b", `Bearer realm="orders", error="invalid_request", error_description="the request is malformed"`},
		{"invalid", "Bearer a.b.c", `Bearer realm="orders", error="invalid_token", error_description="the access token is invalid"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vtGet("/r")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if got := vtServe(a.Verify(&vtProbe{}), r).Header().Get("WWW-Authenticate"); got != tc.want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVerifyClaimsOfIssuedToken: a token from Issue reaches next with every
// field filled in.
func TestVerifyClaimsOfIssuedToken(t *testing.T) {
	a := vtAuth(t, jwtguard.WithIssuer("https://auth.example.com"), jwtguard.WithAudience("orders-api"))
	resp, err := a.Issue(context.Background(), jwtguard.User{ID: "42", Username: "alice", Roles: []string{"admin", "user"}, PasswordHash: []byte("$2a$10$never-in-a-token")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(vtDecodePayload(t, resp.AccessToken)), "never-in-a-token") {
		t.Error("the password hash went into the token")
	}
	p := &vtProbe{}
	if rec := vtServe(a.Verify(p), vtGet("/r", "Bearer "+resp.AccessToken)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	c := p.claims
	switch {
	case c.Subject != "42", c.Username != "alice", !slices.Contains(c.Roles, "admin"), !slices.Contains(c.Roles, "user"), slices.Contains(c.Roles, "root"):
		t.Errorf("identity claims = %+v", c)
	case c.Issuer != "https://auth.example.com", len(c.Audience) != 1 || c.Audience[0] != "orders-api":
		t.Errorf("iss/aud = %q %q", c.Issuer, c.Audience)
	case !c.IssuedAt.Equal(vtNow), !c.ExpiresAt.Equal(vtNow.Add(vtLifetime)), !c.NotBefore.IsZero():
		t.Errorf("times iat %v nbf %v exp %v", c.IssuedAt, c.NotBefore, c.ExpiresAt)
	case len(c.TokenID) < 16:
		t.Errorf("jti %q is too short", c.TokenID)
	}
}

// vtDecodePayload returns the raw JSON payload of tok, unverified.
func vtDecodePayload(t *testing.T, tok string) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyLogsReasonNotToken: the operator sees why; nobody sees the token.
func TestVerifyLogsReasonNotToken(t *testing.T) {
	var logs bytes.Buffer
	a := vtAuth(t, vtLogged(&logs), jwtguard.WithQueryParameter("access_token"))
	expired := vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()})
	forged := vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)
	hs384 := vtMint(t, jwt.SigningMethodHS384, vtMapClaims(), vtSecret)
	for _, r := range []*http.Request{
		vtGet("/r", "Bearer "+expired),
		vtGet("/r", "Bearer "+forged),
		vtGet("/r", "Bearer "+hs384),
		vtGet("/r?access_token=" + forged),
	} {
		vtServe(a.Verify(&vtProbe{}), r)
	}
	out := logs.String()
	for _, tok := range []string{expired, forged, hs384} {
		for i, part := range strings.Split(tok, ".") {
			if i > 0 && strings.Contains(out, part) { // the header segment of HS256 tokens is common knowledge
				t.Errorf("log contains segment %d of a token", i)
			}
		}
	}
	for _, reason := range []string{"token is expired", "signature is invalid", "signing method HS384 is invalid"} {
		if !strings.Contains(out, reason) {
			t.Errorf("log lacks the reason %q:\n%s", reason, out)
		}
	}
	if strings.Contains(out, "access_token") {
		t.Errorf("log contains the query string:\n%s", out)
	}
}

// TestVerifyExpiresOnVirtualClock issues a token and lets virtual time run
// past lifetime plus leeway.
func TestVerifyExpiresOnVirtualClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eh := &vtRecorder{}
		a, err := jwtguard.New(testKey(t, vtSecret),
			jwtguard.WithTokenLifetime(time.Minute),
			jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
			jwtguard.WithErrorHandler(eh.handle))
		if err != nil {
			t.Fatal(err)
		}
		eh.auth = a
		tok, err := a.Issue(t.Context(), jwtguard.User{ID: "42"})
		if err != nil {
			t.Fatal(err)
		}
		if tok.ExpiresIn != 60 {
			t.Errorf("ExpiresIn = %d, want 60", tok.ExpiresIn)
		}
		try := func() (*vtProbe, *httptest.ResponseRecorder) {
			p := &vtProbe{}
			return p, vtServe(a.Verify(p), vtGet("/r", "Bearer "+tok.AccessToken))
		}
		if p, _ := try(); !p.called {
			t.Fatal("fresh token refused")
		}
		time.Sleep(time.Minute + vtLeeway - time.Second)
		if p, _ := try(); !p.called {
			t.Fatal("token refused within the leeway")
		}
		time.Sleep(time.Second)
		p, rec := try()
		vtCheckRefused(t, rec, p, vtExpired, tok.AccessToken)
		if len(eh.errs) != 1 || !errors.Is(eh.errs[0], jwtguard.ErrTokenExpired) {
			t.Errorf("errors = %v, want one ErrTokenExpired", eh.errs)
		}
	})
}

// TestVerifyExpiredOnlyWhenNothingElseFails: ErrTokenExpired, which tells a
// client to refresh, reaches the ErrorHandler only for a token whose one
// failed check is expiry; an expired token for another issuer or audience
// is ErrInvalidToken.
func TestVerifyExpiredOnlyWhenNothingElseFails(t *testing.T) {
	iss := []jwtguard.Option{jwtguard.WithIssuer("https://auth.example.com")}
	past := vtNow.Add(-time.Hour).Unix()
	cases := []vtVerifyCase{
		{name: "expired alone", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past})), want: vtExpired, log: "token is expired"},
		{name: "expired, right iss", opts: iss, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "iss": "https://auth.example.com"})), want: vtExpired, log: "token is expired"},
		{name: "expired, wrong iss", opts: iss, req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "iss": "https://evil.example.com"})), want: vtInvalid, log: "token has invalid issuer"},
		{name: "expired, aud when none is configured", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "aud": "billing"})), want: vtInvalid, log: "names an audience and none is configured"},
		{name: "expired, nbf in the future", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "nbf": vtNow.Add(time.Hour).Unix()})), want: vtInvalid, log: "token is not valid yet"},
		// The claim checks of claimsFromPayload run on expired tokens too.
		{name: "expired, no sub and no id", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "sub": nil})), want: vtInvalid, log: "no subject"},
		{name: "expired, empty sub", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "sub": ""})), want: vtInvalid, log: "no subject"},
		{name: "expired, no sub, id from the tutorials", req: vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": past, "sub": nil, "id": 7})), want: vtExpired, log: "token is expired"},
		{name: "expired, roles claim name twice", opts: []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")},
			req:  vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":`+fmt.Sprint(past)+`,"realm_access":{"roles":["user"],"roles":["admin"]}}`, vtSecret)),
			want: vtInvalid, log: `roles claim: member "roles" appears twice`},
		{name: "expired, roles claim of the wrong type", opts: []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")},
			req:  vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":`+fmt.Sprint(past)+`,"realm_access":{"roles":7}}`, vtSecret)),
			want: vtInvalid, log: "roles claim"},
		{name: "expired, good roles claim", opts: []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")},
			req:  vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":`+fmt.Sprint(past)+`,"realm_access":{"roles":["user"]}}`, vtSecret)),
			want: vtExpired, log: "token is expired"},
	}
	vtRunVerifyCases(t, cases, false)
}

// TestVerifyNumericDateRange: exp, nbf and iat must fall in the years 0000
// to 9999, which RFC 3339 (and time.Time's MarshalJSON) can write, so a
// handler that encodes the claims' times cannot fail on them.
func TestVerifyNumericDateRange(t *testing.T) {
	raw := func(payload string) *http.Request { return vtGet("/r", "Bearer "+vtCraft(vtHS256, payload, vtSecret)) }
	cases := []vtVerifyCase{
		{name: "exp at the end of 9999", req: raw(`{"sub":"user-1","exp":253402300799}`), want: vtAccept},
		{name: "exp in 10000", req: raw(`{"sub":"user-1","exp":253402300800}`), want: vtInvalid, log: "NumericDate outside the years 0000 to 9999"},
		{name: "exp far out", req: raw(`{"sub":"user-1","exp":1e15}`), want: vtInvalid, log: "NumericDate outside"},
		{name: "iat before year 0", req: raw(`{"sub":"user-1","exp":1800000300,"iat":-62167219201}`), want: vtInvalid, log: "NumericDate outside"},
		{name: "nbf before year 0", req: raw(`{"sub":"user-1","exp":1800000300,"nbf":-1e12}`), want: vtInvalid, log: "NumericDate outside"},
		{name: "nbf at year 0", req: raw(`{"sub":"user-1","exp":1800000300,"nbf":-62167219200}`), want: vtAccept},
	}
	vtRunVerifyCases(t, cases, false)
}

// BenchmarkVerify measures one accepted request through Verify: an HS256
// token from Issue in the Authorization header.
func BenchmarkVerify(b *testing.B) {
	a, err := jwtguard.New(testKey(b, vtSecret), jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithIssuer("https://auth.example.com"), jwtguard.WithAudience("orders-api"))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := a.Issue(context.Background(), jwtguard.User{ID: "8f14e45f-ceea-467f-a0e6-0a1d0c8b4b6a", Username: "alice@example.com", Roles: []string{"admin", "user"}})
	if err != nil {
		b.Fatal(err)
	}
	var ok bool
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = jwtguard.FromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/api/user/profile", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		ok = false
		h.ServeHTTP(rec, req)
		if !ok {
			b.Fatal("refused")
		}
	}
}

// Two cookies of the configured name (one tossed in by a sibling subdomain)
// are refused, not one of them picked.
func TestVerifyRefusesSeveralTokenCookies(t *testing.T) {
	a := vtAuth(t, jwtguard.WithCookie("jwt"))
	p := &vtProbe{}
	req := vtGet("/r")
	req.AddCookie(&http.Cookie{Name: "jwt", Value: vtToken(nil)})
	req.AddCookie(&http.Cookie{Name: "jwt", Value: vtToken(map[string]any{"sub": "attacker"})})
	rec := vtServe(a.Verify(p), req)
	if rec.Code != http.StatusBadRequest || p.called {
		t.Errorf("two cookies: status %d, next called %v; want 400, not called", rec.Code, p.called)
	}
}

// TestWriteError: the package-level writer answers from the error alone.
// An error an Auth refused carries its status and challenge (with the
// Auth's realm); a bare sentinel gets its status and, for token refusals, a
// challenge without a realm; login refusals get none.
func TestWriteError(t *testing.T) {
	var got error
	a := vtAuth(t, jwtguard.WithRealm("orders"), jwtguard.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		jwtguard.WriteError(w, r, err)
	}))
	expired := vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()})
	vtServe(a.Verify(&vtProbe{}), vtGet("/r", "Bearer "+expired))
	var carrier interface {
		StatusCode() int
		Challenge() string
	}
	if !errors.As(got, &carrier) {
		t.Fatalf("the ErrorHandler's error %v has no StatusCode and Challenge", got)
	}
	if carrier.StatusCode() != 401 || carrier.Challenge() != `Bearer realm="orders", error="invalid_token", error_description="the access token expired"` {
		t.Errorf("StatusCode, Challenge = %d, %q", carrier.StatusCode(), carrier.Challenge())
	}

	cases := []struct {
		name      string
		err       error
		status    int
		challenge string
		reason    string
	}{
		{"refused by an Auth", got, 401, `Bearer realm="orders", error="invalid_token", error_description="the access token expired"`, "token_expired"},
		{"bare ErrNoToken", jwtguard.ErrNoToken, 401, `Bearer`, "no_token"},
		{"bare ErrInvalidToken", jwtguard.ErrInvalidToken, 401, `Bearer error="invalid_token", error_description="the access token is invalid"`, "token_invalid"},
		{"wrapped ErrForbidden", fmt.Errorf("tenant mismatch: %w", jwtguard.ErrForbidden), 403, `Bearer error="insufficient_scope", error_description="the access token does not grant access to this resource"`, "insufficient_scope"},
		{"login refusal", jwtguard.ErrInvalidCredentials, 401, "", "invalid_credentials"},
		{"ErrInvalidRequest has no challenge without an Auth", jwtguard.ErrInvalidRequest, 400, "", "malformed_request"},
		{"no sentinel", errors.New("boom"), 500, "", "server_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			jwtguard.WriteError(rec, vtGet("/r"), tc.err)
			if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.challenge {
				t.Errorf("status %d, challenge %q; want %d, %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tc.status, tc.challenge)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["reason"] != tc.reason {
				t.Errorf("body %q: reason %q, want %q (%v)", rec.Body, body["reason"], tc.reason, err)
			}
			if strings.Contains(rec.Body.String(), "boom") || strings.Contains(rec.Body.String(), "tenant") {
				t.Errorf("body %q carries the error's text", rec.Body)
			}
		})
	}
}

// TestAuthenticate: the exported check refuses as Verify does, and its
// error answers as Verify answers.
func TestAuthenticate(t *testing.T) {
	a := vtAuth(t)
	for _, tc := range []struct {
		name string
		req  *http.Request
		want vtOutcome
	}{
		{"good", vtGet("/r", "Bearer "+vtToken(nil)), vtAccept},
		{"no token", vtGet("/r"), vtNoToken},
		{"malformed", vtGet("/r", "Bearer a b"), vtBadRequest},
		{"bad signature", vtGet("/r", "Bearer "+vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)), vtInvalid},
		{"expired", vtGet("/r", "Bearer "+vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()})), vtExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Authenticate(tc.req)
			if tc.want == vtAccept {
				if err != nil || c == nil || c.Subject != "user-1" {
					t.Fatalf("Authenticate = %+v, %v", c, err)
				}
				return
			}
			if c != nil {
				t.Errorf("claims %+v with a refusal", c)
			}
			vtCheckSentinel(t, err, vtRefusals[tc.want].sentinel)
			rec := httptest.NewRecorder()
			jwtguard.WriteError(rec, tc.req, err)
			vtCheckRefused(t, rec, nil, tc.want)
		})
	}
}

// TestVerifyContextIsTheRequests: the context Verify hands on carries the
// claims and is otherwise the request's: its values, its deadline, and its
// cancellation, which a handler's own child context sees, without a
// goroutine per child (the context package finds the parent's
// cancellation through Value).
func TestVerifyContextIsTheRequests(t *testing.T) {
	type otherKey struct{}
	a := vtAuth(t)
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), otherKey{}, "kept"), deadline)
	defer cancel()
	var (
		ctx      context.Context
		children []context.Context
		before   int
		after    int
	)
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx = r.Context()
		before = runtime.NumGoroutine()
		for range 100 {
			child, stop := context.WithCancel(ctx)
			defer stop()
			children = append(children, child)
		}
		after = runtime.NumGoroutine()
	}))
	if rec := vtServe(h, vtGet("/r", "Bearer "+vtToken(nil)).WithContext(parent)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if c, ok := jwtguard.FromContext(ctx); !ok || c.Subject == "" {
		t.Errorf("FromContext = %v, %v", c, ok)
	}
	if v := ctx.Value(otherKey{}); v != "kept" {
		t.Errorf("the request's value: %v", v)
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline = %v, %v; want %v", d, ok, deadline)
	}
	if after > before+10 {
		t.Errorf("100 child contexts started %d goroutines", after-before)
	}
	if !strings.Contains(fmt.Sprint(ctx), "WithValue") {
		t.Errorf("String = %q", fmt.Sprint(ctx))
	}
	cancel()
	for _, child := range children {
		<-child.Done() // would hang if cancellation did not reach it
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err = %v after the request's context was cancelled", ctx.Err())
	}
}

// TestVerifyClaimsOutliveTheRequest: the payload a token is decoded into is
// reused for the next request, and what a handler keeps of the claims (the
// roles and audience lists with the rest) stays as it was.
func TestVerifyClaimsOutliveTheRequest(t *testing.T) {
	a := vtAuth(t, jwtguard.WithAudience("orders-api"))
	var kept []*jwtguard.Claims
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		kept = append(kept, c)
	}))
	type want struct {
		sub   string
		roles []string
		aud   []string
	}
	var wants []want
	for i := range 20 {
		sub := fmt.Sprintf("user-%d", i)
		roles := []string{fmt.Sprintf("r%d", i), "user", "x", "y", "z"}[:1+i%5]
		aud := []string{"orders-api", fmt.Sprintf("aud-%d", i), "a", "b"}[:1+i%4]
		extra := map[string]any{"sub": sub, "roles": roles, "aud": aud}
		if i%3 == 0 {
			extra["role"] = "tutorial-" + sub // the tutorials' {role} style, added to roles
			roles = append(slices.Clip(roles), "tutorial-"+sub)
		}
		if rec := vtServe(h, vtGet("/r", "Bearer "+vtToken(extra))); rec.Code != http.StatusOK {
			t.Fatalf("token %d: status %d", i, rec.Code)
		}
		wants = append(wants, want{sub, roles, aud})
	}
	for i, c := range kept {
		w := wants[i]
		if c.Subject != w.sub || !slices.Equal(c.Roles, w.roles) || !slices.Equal(c.Audience, w.aud) {
			t.Errorf("claims %d after later requests: sub %q roles %q aud %q; want %q %q %q", i, c.Subject, c.Roles, c.Audience, w.sub, w.roles, w.aud)
		}
		// A handler's append to the lists must not write into storage
		// another list shares.
		_ = append(c.Roles, "appended")
		_ = append(c.Audience, "appended")
	}
	for i, c := range kept {
		if w := wants[i]; !slices.Equal(c.Roles, w.roles) || !slices.Equal(c.Audience, w.aud) {
			t.Errorf("claims %d after appends: roles %q aud %q", i, c.Roles, c.Audience)
		}
	}
}
