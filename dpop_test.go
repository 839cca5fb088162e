package jwtguard_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtguard/jwtguard"
)

// A dpKey is a client's DPoP key: it makes proofs as a client library
// would, and each test changes what it needs of one.
type dpKey struct {
	alg    string
	method jwt.SigningMethod
	priv   crypto.Signer
	jwk    map[string]any // the public JWK
	jkt    string         // its RFC 7638 thumbprint, computed here
}

func dpB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// dpNewKey makes an ES256 key.
func dpNewKey(t testing.TB) *dpKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 32), make([]byte, 32)
	priv.X.FillBytes(x)
	priv.Y.FillBytes(y)
	k := &dpKey{alg: "ES256", method: jwt.SigningMethodES256, priv: priv,
		jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": dpB64(x), "y": dpB64(y)}}
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + dpB64(x) + `","y":"` + dpB64(y) + `"}`))
	k.jkt = dpB64(sum[:])
	return k
}

// dpNewEdKey makes an EdDSA key.
func dpNewEdKey(t testing.TB) *dpKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := &dpKey{alg: "EdDSA", method: jwt.SigningMethodEdDSA, priv: priv,
		jwk: map[string]any{"kty": "OKP", "crv": "Ed25519", "x": dpB64(pub)}}
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + dpB64(pub) + `"}`))
	k.jkt = dpB64(sum[:])
	return k
}

// dpProof is a proof's parts before it is signed.
type dpProof struct {
	header map[string]any
	claims map[string]any
	// signer signs it; nil: the key itself.
	signer *dpKey
	// rawHeader, when set, is the header's JSON as it is.
	rawHeader string
}

// proof returns a proof of k for method and uri, made at vtNow, with
// ath of accessToken (none when ""), changed by mod.
func (k *dpKey) proof(t testing.TB, method, uri, accessToken string, mod func(p *dpProof)) string {
	t.Helper()
	p := &dpProof{
		header: map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.jwk},
		claims: map[string]any{"jti": rand.Text(), "htm": method, "htu": uri, "iat": vtNow.Unix()},
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		p.claims["ath"] = dpB64(sum[:])
	}
	if mod != nil {
		mod(p)
	}
	hdr := p.rawHeader
	if hdr == "" {
		b, err := json.Marshal(p.header)
		if err != nil {
			t.Fatal(err)
		}
		hdr = string(b)
	}
	for name, v := range p.claims {
		if v == nil {
			delete(p.claims, name)
		}
	}
	claims, err := json.Marshal(p.claims)
	if err != nil {
		t.Fatal(err)
	}
	input := dpB64([]byte(hdr)) + "." + dpB64(claims)
	signer := k
	if p.signer != nil {
		signer = p.signer
	}
	sig, err := signer.method.Sign(input, signer.priv)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + dpB64(sig)
}

// dpBound is a token on vtSecret bound to jkt.
func dpBound(jkt string) string {
	return vtToken(map[string]any{"cnf": map[string]any{"jkt": jkt}})
}

const dpURI = "http://example.com/r"

// dpRequest is a GET of dpURI with tok under scheme and the proofs.
func dpRequest(scheme, tok string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, dpURI, nil)
	if tok != "" {
		r.Header.Set("Authorization", scheme+" "+tok)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// dpRefused checks that rec is a refusal with status, error code and a
// challenge of scheme, and that the reason was counted.
func dpRefused(t *testing.T, a *jwtguard.Auth, rec *httptest.ResponseRecorder, before jwtguard.Stats, status int, code, scheme, reason string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	var body struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &body)
	if body.Error != code {
		t.Errorf("error %q, want %q", body.Error, code)
	}
	ch := rec.Header().Values("WWW-Authenticate")
	if scheme == "" {
		if len(ch) != 0 {
			t.Errorf("WWW-Authenticate %q, want none", ch)
		}
	} else if len(ch) != 1 || !strings.HasPrefix(ch[0], scheme+" ") || !strings.Contains(ch[0], `error="`+code+`"`) {
		t.Errorf("WWW-Authenticate %q, want one %s challenge with error %q", ch, scheme, code)
	} else if scheme == "DPoP" && !strings.Contains(ch[0], `algs="ES256 `) {
		t.Errorf("WWW-Authenticate %q has no algs", ch)
	}
	if got, was := a.Stats().Refusals[reason], before.Refusals[reason]; got != was+1 {
		t.Errorf("Stats %s %d → %d, want one more", reason, was, got)
	}
}

func TestDPoPVerifyAccepts(t *testing.T) {
	a := vtAuth(t)
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	for name, proof := range map[string]string{
		"ES256":                      k.proof(t, "GET", dpURI, tok, nil),
		"query and fragment ignored": k.proof(t, "GET", dpURI+"?a=1#f", tok, nil),
		"normalised":                 k.proof(t, "GET", "HTTP://Example.COM:80/./x/../%72", tok, nil),
		"iat a minute old":           k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["iat"] = vtNow.Add(-time.Minute).Unix() }),
		"iat within the leeway":      k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["iat"] = vtNow.Add(vtLeeway).Unix() }),
		"other header members":       k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["kid"] = "x" }),
		"typ with application/":      k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["typ"] = "application/dpop+jwt" }),
	} {
		t.Run(name, func(t *testing.T) {
			probe := &vtProbe{}
			rec := vtServe(a.Verify(probe), dpRequest("DPoP", tok, proof))
			if rec.Code != 200 || !probe.called {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if probe.claims.KeyThumbprint != k.jkt {
				t.Errorf("KeyThumbprint %q, want %q", probe.claims.KeyThumbprint, k.jkt)
			}
		})
	}
	ed := dpNewEdKey(t)
	edTok := dpBound(ed.jkt)
	if rec := vtServe(a.Verify(&vtProbe{}), dpRequest("dpop", edTok, ed.proof(t, "GET", dpURI, edTok, nil))); rec.Code != 200 {
		t.Errorf("EdDSA proof, scheme in lower case: status %d", rec.Code)
	}
	// A bearer token goes on as before.
	if rec := vtServe(a.Verify(&vtProbe{}), dpRequest("Bearer", vtToken(nil))); rec.Code != 200 {
		t.Errorf("bearer token: status %d", rec.Code)
	}
}

// TestDPoPAttacks is the attack table of issue 17: each proof or token is
// refused, with its error code, challenge and counted reason.
func TestDPoPAttacks(t *testing.T) {
	k, other := dpNewKey(t), dpNewKey(t)
	tok := dpBound(k.jkt)
	hmacKey := &dpKey{alg: "HS256", method: jwt.SigningMethodHS256, jwk: map[string]any{"kty": "oct", "k": dpB64([]byte("a-proof-secret-0123456789abcdef!"))}}
	hmacProof := func() string {
		b, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": hmacKey.jwk})
		c, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": "GET", "htu": dpURI, "iat": vtNow.Unix()})
		input := dpB64(b) + "." + dpB64(c)
		sig, _ := jwt.SigningMethodHS256.Sign(input, []byte("a-proof-secret-0123456789abcdef!"))
		return input + "." + dpB64(sig)
	}
	privJWK := func(p *dpProof) {
		d := make([]byte, 32)
		k.priv.(*ecdsa.PrivateKey).D.FillBytes(d)
		jwk := map[string]any{"d": dpB64(d)}
		for n, v := range k.jwk {
			jwk[n] = v
		}
		p.header["jwk"] = jwk
	}
	replayed := k.proof(t, "GET", dpURI, tok, nil)
	const (
		proof   = "invalid_dpop_proof"
		invalid = "invalid_token"
	)
	cases := []struct {
		name, scheme, token string
		proofs              []string
		code, reason        string
		challenge           string
	}{
		{"wrong method", "DPoP", tok, []string{k.proof(t, "POST", dpURI, tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"wrong URI: path", "DPoP", tok, []string{k.proof(t, "GET", "http://example.com/s", tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"wrong URI: host", "DPoP", tok, []string{k.proof(t, "GET", "http://evil.example/r", tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"wrong URI: scheme", "DPoP", tok, []string{k.proof(t, "GET", "https://example.com/r", tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"wrong URI: port", "DPoP", tok, []string{k.proof(t, "GET", "http://example.com:8080/r", tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"URI with userinfo", "DPoP", tok, []string{k.proof(t, "GET", "http://u@example.com/r", tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"URI with an encoded slash", "DPoP", tok, []string{k.proof(t, "GET", "http://example.com/%2Fr", tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"stale iat", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["iat"] = vtNow.Add(-time.Minute - vtLeeway - time.Second).Unix() })}, proof, "dpop_invalid_proof", "DPoP"},
		{"future iat", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["iat"] = vtNow.Add(vtLeeway + time.Second).Unix() })}, proof, "dpop_invalid_proof", "DPoP"},
		{"replayed jti", "DPoP", tok, []string{replayed}, proof, "dpop_replayed", "DPoP"},
		{"wrong ath", "DPoP", tok, []string{k.proof(t, "GET", dpURI, vtToken(nil), nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"no ath", "DPoP", tok, []string{k.proof(t, "GET", dpURI, "", nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"proof signed by another key", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.signer = other })}, proof, "dpop_invalid_proof", "DPoP"},
		{"proof of another key: cnf mismatch", "DPoP", tok, []string{other.proof(t, "GET", dpURI, tok, nil)}, proof, "dpop_key_mismatch", "DPoP"},
		{"private key in the header", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, privJWK)}, proof, "dpop_invalid_proof", "DPoP"},
		{"HMAC proof", "DPoP", tok, []string{hmacProof()}, proof, "dpop_invalid_proof", "DPoP"},
		{"alg none", "DPoP", tok, []string{func() string {
			p := k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["alg"] = "none" })
			return p[:strings.LastIndexByte(p, '.')+1]
		}()}, proof, "dpop_invalid_proof", "DPoP"},
		{"alg of another key kind", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["alg"] = "RS256"; p.signer = k })}, proof, "dpop_invalid_proof", "DPoP"},
		{"typ JWT", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["typ"] = "JWT" })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no typ", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { delete(p.header, "typ") })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no jwk", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { delete(p.header, "jwk") })}, proof, "dpop_invalid_proof", "DPoP"},
		{"typ twice", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) {
			jwk, _ := json.Marshal(k.jwk)
			p.rawHeader = `{"typ":"dpop+jwt","alg":"ES256","typ":"dpop+jwt","jwk":` + string(jwk) + `}`
		})}, proof, "dpop_invalid_proof", "DPoP"},
		{"JWK in another letter case", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["JWK"] = other.jwk })}, proof, "dpop_invalid_proof", "DPoP"},
		{"crit", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["crit"] = []string{"x"} })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no jti", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["jti"] = nil })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no htm", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["htm"] = nil })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no htu", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["htu"] = nil })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no iat", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["iat"] = nil })}, proof, "dpop_invalid_proof", "DPoP"},
		{"iat as a string", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["iat"] = "1800000000" })}, proof, "dpop_invalid_proof", "DPoP"},
		{"HTM in another letter case", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["HTM"] = "POST" })}, proof, "dpop_invalid_proof", "DPoP"},
		{"method in lower case", "DPoP", tok, []string{k.proof(t, "get", dpURI, tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"oversized jti", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["jti"] = strings.Repeat("j", 257) })}, proof, "dpop_invalid_proof", "DPoP"},
		{"no proof", "DPoP", tok, nil, proof, "dpop_invalid_proof", "DPoP"},
		{"two proofs", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, nil), k.proof(t, "GET", dpURI, tok, nil)}, proof, "dpop_invalid_proof", "DPoP"},
		{"proof not a JWS", "DPoP", tok, []string{"a.b"}, proof, "dpop_invalid_proof", "DPoP"},
		{"proof over 8 KiB", "DPoP", tok, []string{k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.claims["pad"] = strings.Repeat("p", 8<<10) })}, proof, "dpop_invalid_proof", "DPoP"},
		{"bound token with the Bearer scheme", "Bearer", tok, []string{k.proof(t, "GET", dpURI, tok, nil)}, invalid, "dpop_binding", "Bearer"},
		{"unbound token with the DPoP scheme", "DPoP", vtToken(nil), []string{k.proof(t, "GET", dpURI, vtToken(nil), nil)}, invalid, "dpop_binding", "DPoP"},
		{"cnf of another method", "DPoP", vtToken(map[string]any{"cnf": map[string]any{"x5t#S256": "abc"}}), []string{k.proof(t, "GET", dpURI, tok, nil)}, invalid, "dpop_binding", "DPoP"},
		{"cnf with jkt in another letter case", "DPoP", vtToken(map[string]any{"cnf": map[string]any{"JKT": k.jkt}}), []string{k.proof(t, "GET", dpURI, tok, nil)}, invalid, "dpop_binding", "DPoP"},
		{"cnf null", "DPoP", vtToken(map[string]any{"cnf": json.RawMessage("null")}), []string{k.proof(t, "GET", dpURI, tok, nil)}, invalid, "malformed_token", "DPoP"},
		{"bad token signature under DPoP", "DPoP", tok[:len(tok)-2] + "AA", []string{k.proof(t, "GET", dpURI, tok, nil)}, invalid, "bad_signature", "DPoP"},
	}
	a := vtAuth(t)
	// The replayed proof is accepted once first.
	if rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, replayed)); rec.Code != 200 {
		t.Fatalf("the first use of a proof: status %d, body %s", rec.Code, rec.Body)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Stats()
			probe := &vtProbe{}
			rec := vtServe(a.Verify(probe), dpRequest(tc.scheme, tc.token, tc.proofs...))
			if probe.called {
				t.Fatal("next was called")
			}
			dpRefused(t, a, rec, before, 401, tc.code, tc.challenge, tc.reason)
		})
	}
}

// TestDPoPCookie: a bound token from a cookie needs its proof too.
func TestDPoPCookie(t *testing.T) {
	a := vtAuth(t, jwtguard.WithCookie("token"))
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	r := dpRequest("", "")
	r.AddCookie(&http.Cookie{Name: "token", Value: tok})
	before := a.Stats()
	dpRefused(t, a, vtServe(a.Verify(&vtProbe{}), r), before, 401, "invalid_dpop_proof", "DPoP", "dpop_invalid_proof")
	r = dpRequest("", "", k.proof(t, "GET", dpURI, tok, nil))
	r.AddCookie(&http.Cookie{Name: "token", Value: tok})
	if rec := vtServe(a.Verify(&vtProbe{}), r); rec.Code != 200 {
		t.Errorf("cookie with its proof: status %d", rec.Code)
	}
}

func TestDPoPModes(t *testing.T) {
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	t.Run("required", func(t *testing.T) {
		a := vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{Mode: jwtguard.DPoPRequired}))
		before := a.Stats()
		dpRefused(t, a, vtServe(a.Verify(&vtProbe{}), dpRequest("Bearer", vtToken(nil))), before, 401, "invalid_token", "DPoP", "dpop_binding")
		rec := vtServe(a.Verify(&vtProbe{}), dpRequest("", ""))
		if ch := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(ch, `DPoP realm="api", algs="`) {
			t.Errorf("no token: challenge %q, want DPoP's", ch)
		}
		if rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil))); rec.Code != 200 {
			t.Errorf("DPoP: status %d", rec.Code)
		}
	})
	t.Run("allowed: no token", func(t *testing.T) {
		a := vtAuth(t)
		rec := vtServe(a.Verify(&vtProbe{}), dpRequest("", ""))
		if ch := rec.Header().Get("WWW-Authenticate"); ch != `Bearer realm="api"` {
			t.Errorf("challenge %q", ch)
		}
	})
	t.Run("off", func(t *testing.T) {
		a := vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{Mode: jwtguard.DPoPOff}))
		before := a.Stats()
		rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil)))
		if rec.Code != 401 || a.Stats().Refusals["no_token"] != before.Refusals["no_token"]+1 {
			t.Errorf("DPoP scheme with DPoP off: status %d, want 401 no_token", rec.Code)
		}
		before = a.Stats()
		dpRefused(t, a, vtServe(a.Verify(&vtProbe{}), dpRequest("Bearer", tok, k.proof(t, "GET", dpURI, tok, nil))), before, 401, "invalid_token", "Bearer", "dpop_binding")
	})
	t.Run("algorithms", func(t *testing.T) {
		a := vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{Algorithms: []string{"EdDSA"}}))
		before := a.Stats()
		rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil)))
		if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `algs="EdDSA"`) || rec.Code != 401 {
			t.Errorf("ES256 proof where only EdDSA is taken: status %d, challenge %q", rec.Code, ch)
		}
		if a.Stats().Refusals["dpop_invalid_proof"] != before.Refusals["dpop_invalid_proof"]+1 {
			t.Error("not counted as dpop_invalid_proof")
		}
	})
	for name, p := range map[string]jwtguard.DPoPPolicy{
		"mode":             {Mode: 7},
		"HMAC algorithm":   {Algorithms: []string{"HS256"}},
		"none":             {Algorithms: []string{"none"}},
		"empty algorithms": {Algorithms: []string{}},
		"max age":          {MaxAge: time.Hour},
		"short secret":     {NonceSecret: []byte("short")},
		"nonce lifetime":   {NonceLifetime: time.Second},
		"external URL":     {ExternalURL: "ftp://example.com"},
		"external query":   {ExternalURL: "https://example.com/?a"},
	} {
		if _, err := jwtguard.New(testKey(t, vtSecret), jwtguard.WithDPoP(p)); err == nil {
			t.Errorf("%s: New accepted %+v", name, p)
		}
	}
}

// TestDPoPRequestURI: htu is compared with the URI clients use: the
// external URL's origin and prefix, a trusted proxy's, and the path as
// received, not as http.StripPrefix leaves it.
func TestDPoPRequestURI(t *testing.T) {
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	serve := func(a *jwtguard.Auth, h http.Handler, r *http.Request, htu string) int {
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", k.proof(t, r.Method, htu, tok, nil))
		return vtServe(h, r).Code
	}
	t.Run("StripPrefix", func(t *testing.T) {
		a := vtAuth(t)
		h := http.StripPrefix("/api", a.Verify(&vtProbe{}))
		if c := serve(a, h, httptest.NewRequest("GET", "/api/items", nil), "http://example.com/api/items"); c != 200 {
			t.Errorf("the path as received: %d", c)
		}
		if c := serve(a, h, httptest.NewRequest("GET", "/api/items", nil), "http://example.com/items"); c != 401 {
			t.Errorf("the path as stripped: %d", c)
		}
	})
	t.Run("ExternalURL", func(t *testing.T) {
		a := vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ExternalURL: "https://API.example.com:443/v1/"}))
		h := a.Verify(&vtProbe{})
		r := func() *http.Request { return httptest.NewRequest("GET", "http://10.0.0.7:8080/items", nil) }
		if c := serve(a, h, r(), "https://api.example.com/v1/items"); c != 200 {
			t.Errorf("external URL: %d", c)
		}
		if c := serve(a, h, r(), "http://10.0.0.7:8080/items"); c != 401 {
			t.Errorf("the internal address: %d", c)
		}
		fwd := r()
		fwd.Header.Set("X-Forwarded-Host", "evil.example")
		if c := serve(a, h, fwd, "https://evil.example/v1/items"); c != 401 {
			t.Errorf("a forwarded host beside an external URL: %d", c)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		a := vtAuth(t, jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{TrustedProxies: []string{"10.0.0.0/8"}}))
		h := a.Verify(&vtProbe{})
		r := func(remote string) *http.Request {
			r := httptest.NewRequest("GET", "http://internal:8080/items", nil)
			r.RemoteAddr = remote
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("X-Forwarded-Host", "api.example.com")
			return r
		}
		if c := serve(a, h, r("10.1.2.3:5555"), "https://api.example.com/items"); c != 200 {
			t.Errorf("from a trusted proxy: %d", c)
		}
		if c := serve(a, h, r("192.0.2.1:5555"), "https://api.example.com/items"); c != 401 {
			t.Errorf("the same headers from a client: %d", c)
		}
		if c := serve(a, h, r("192.0.2.1:5555"), "http://internal:8080/items"); c != 200 {
			t.Errorf("a client, its own request's URI: %d", c)
		}
		two := r("10.1.2.3:5555")
		two.Header.Add("X-Forwarded-Host", "evil.example")
		if c := serve(a, h, two, "https://api.example.com/items"); c != 401 {
			t.Errorf("two X-Forwarded-Host fields: %d", c)
		}
	})
}

// TestDPoPNonce: with RequireNonce, a proof without a nonce of ours is
// answered use_dpop_nonce with a fresh DPoP-Nonce, which the client
// retries with; a nonce lives its period and the next.
func TestDPoPNonce(t *testing.T) {
	clock := &rtClock{now: vtNow}
	secret := []byte("a-nonce-secret-shared-by-replicas!")
	policy := jwtguard.DPoPPolicy{RequireNonce: true, NonceSecret: secret}
	a := vtAuth(t, jwtguard.WithClock(clock.Now), jwtguard.WithDPoP(policy))
	replica := vtAuth(t, jwtguard.WithClock(clock.Now), jwtguard.WithDPoP(policy))
	k := dpNewKey(t)
	tok := vtToken(map[string]any{"cnf": map[string]any{"jkt": k.jkt}, "exp": vtNow.Add(time.Hour).Unix()})
	at := func(now time.Time, nonce string) func(p *dpProof) {
		return func(p *dpProof) {
			p.claims["iat"] = now.Unix()
			if nonce != "" {
				p.claims["nonce"] = nonce
			}
		}
	}
	before := a.Stats()
	rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil)))
	dpRefused(t, a, rec, before, 401, "use_dpop_nonce", "DPoP", "dpop_nonce_required")
	nonce := rec.Header().Get("DPoP-Nonce")
	if len(nonce) != 32 {
		t.Fatalf("DPoP-Nonce %q", nonce)
	}
	rec = vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, at(clock.Now(), nonce))))
	if rec.Code != 200 || rec.Header().Get("DPoP-Nonce") == "" {
		t.Fatalf("with the nonce: status %d, DPoP-Nonce %q", rec.Code, rec.Header().Get("DPoP-Nonce"))
	}
	if rec := vtServe(replica.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, at(clock.Now(), nonce)))); rec.Code != 200 {
		t.Errorf("another replica with the same secret: status %d", rec.Code)
	}
	forged := nonce[:31] + "A"
	if nonce[31] == 'A' {
		forged = nonce[:31] + "B"
	}
	before = a.Stats()
	dpRefused(t, a, vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, at(clock.Now(), forged)))), before, 401, "use_dpop_nonce", "DPoP", "dpop_nonce_required")
	clock.Add(5 * time.Minute)
	if rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, at(clock.Now(), nonce)))); rec.Code != 200 {
		t.Errorf("the nonce in the next period: status %d", rec.Code)
	}
	clock.Add(5 * time.Minute)
	before = a.Stats()
	dpRefused(t, a, vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, at(clock.Now(), nonce)))), before, 401, "use_dpop_nonce", "DPoP", "dpop_nonce_required")
}

// fullCache is a ReplayCache that is full.
type fullCache struct{}

func (fullCache) AddProof(_ context.Context, _ jwtguard.ProofID, _, _ time.Time) error {
	return jwtguard.ErrReplayCacheFull
}

// failingCache is a ReplayCache that fails.
type failingCache struct{}

func (failingCache) AddProof(_ context.Context, _ jwtguard.ProofID, _, _ time.Time) error {
	return errors.New("replay cache down")
}

func TestDPoPReplayCacheAnswers(t *testing.T) {
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	a := vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ReplayCache: fullCache{}}))
	before := a.Stats()
	rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil)))
	dpRefused(t, a, rec, before, 401, "use_dpop_nonce", "DPoP", "dpop_nonce_required")
	if rec.Header().Get("DPoP-Nonce") == "" {
		t.Error("a full cache's challenge has no DPoP-Nonce")
	}
	a = vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ReplayCache: failingCache{}}))
	before = a.Stats()
	rec = vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil)))
	if rec.Code != 503 || a.Stats().Refusals["overloaded"] != before.Refusals["overloaded"]+1 {
		t.Errorf("a failing cache: status %d, want 503 overloaded", rec.Code)
	}
}

// FuzzDPoPProof: a DPoP header of any bytes, beside a bound token, is
// refused unless it is the proof made for the request (its header and
// claims as made; the signature may differ only by the malleability of
// ECDSA), and is never answered otherwise than 200, 401 or 503.
func FuzzDPoPProof(f *testing.F) {
	k := dpNewKey(f)
	tok := dpBound(k.jkt)
	good := k.proof(f, "GET", dpURI, tok, nil)
	dotted := k.proof(f, "GET", dpURI+"/../r", tok, nil) // normalised to dpURI
	f.Add(good)
	f.Add(dotted)
	f.Add(k.proof(f, "POST", dpURI, tok, nil))
	f.Add(strings.Replace(good, ".", "..", 1))
	made := func(proof, p string) bool { return strings.HasPrefix(proof, p[:strings.LastIndexByte(p, '.')+1]) }
	f.Fuzz(func(t *testing.T, proof string) {
		a := vtAuth(t)
		r := dpRequest("DPoP", tok)
		r.Header["Dpop"] = []string{proof}
		rec := vtServe(a.Verify(&vtProbe{}), r)
		switch rec.Code {
		case 200:
			if !made(proof, good) && !made(proof, dotted) {
				t.Fatalf("a proof other than the one made was accepted: %q", proof)
			}
		case 401:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// acceptAll is a ReplayCache that records nothing, so that a benchmark
// can present one proof again and again: it measures the proof's checks,
// not a cache.
type acceptAll struct{}

func (acceptAll) AddProof(context.Context, jwtguard.ProofID, time.Time, time.Time) error { return nil }

// BenchmarkVerifyDPoP is Verify of an HS256 token with the Bearer
// scheme, and of the same token bound to an ES256 or EdDSA key with its
// proof: what a proof adds to a request (BENCHMARKS.md, "DPoP").
func BenchmarkVerifyDPoP(b *testing.B) {
	a := vtAuth(b, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ReplayCache: acceptAll{}}))
	h := a.Verify(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	run := func(b *testing.B, r *http.Request) {
		b.ReportAllocs()
		w := httptest.NewRecorder()
		for b.Loop() {
			clear(w.Header())
			w.Code = 0
			h.ServeHTTP(w, r)
			if w.Code != 0 && w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("bearer", func(b *testing.B) { run(b, dpRequest("Bearer", vtToken(nil))) })
	for _, k := range []*dpKey{dpNewKey(b), dpNewEdKey(b)} {
		tok := dpBound(k.jkt)
		b.Run(k.alg, func(b *testing.B) { run(b, dpRequest("DPoP", tok, k.proof(b, "GET", dpURI, tok, nil))) })
	}
}

// TestDPoPFromEnv: JWT_DPOP (any letter case) and JWT_EXTERNAL_URL fill
// the policy where WithDPoP leaves its fields zero; a bad value is an
// error naming the variable.
func TestDPoPFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{"JWT_SECRET": string(vtSecret)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	a, err := jwtguard.FromLookupEnv(env("JWT_DPOP", "Required", "JWT_EXTERNAL_URL", "https://api.example.com"),
		jwtguard.WithClock(vtClock), jwtguard.WithDPoP(jwtguard.DPoPPolicy{RequireNonce: true, NonceSecret: []byte("a-nonce-secret-shared-by-replicas!")}))
	if err != nil {
		t.Fatal(err)
	}
	rec := vtServe(a.Verify(&vtProbe{}), dpRequest("Bearer", vtToken(nil)))
	if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "DPoP ") {
		t.Errorf("JWT_DPOP=Required beside WithDPoP: a bearer token got %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	r := httptest.NewRequest("GET", "http://10.0.0.1:8080/r", nil)
	r.Header.Set("Authorization", "DPoP "+tok)
	r.Header.Set("DPoP", k.proof(t, "GET", "https://api.example.com/r", tok, nil))
	rec = vtServe(a.Verify(&vtProbe{}), r)
	nonce := rec.Header().Get("DPoP-Nonce")
	if rec.Code != 401 || nonce == "" {
		t.Errorf("JWT_EXTERNAL_URL's htu, no nonce: %d; want use_dpop_nonce", rec.Code)
	}
	r.Header.Set("DPoP", k.proof(t, "GET", "https://api.example.com/r", tok, func(p *dpProof) { p.claims["nonce"] = nonce }))
	if rec := vtServe(a.Verify(&vtProbe{}), r); rec.Code != 200 {
		t.Errorf("JWT_EXTERNAL_URL's htu with the nonce: %d", rec.Code)
	}
	for _, bad := range [][]string{{"JWT_DPOP", "sometimes"}, {"JWT_EXTERNAL_URL", ""}, {"JWT_EXTERNAL_URL", "api.example.com"}} {
		if _, err := jwtguard.FromLookupEnv(env(bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) && !strings.Contains(err.Error(), "ExternalURL") {
			t.Errorf("%s=%q: %v", bad[0], bad[1], err)
		}
	}
}

// TestDPoPForbidden: a bound token's request that Authorize refuses is
// told so with a DPoP challenge; a bearer one's with a Bearer challenge.
func TestDPoPForbidden(t *testing.T) {
	a := vtAuth(t)
	h := a.Verify(a.Authorize("admin")(&vtProbe{}))
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	before := a.Stats()
	dpRefused(t, a, vtServe(h, dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil))), before, 403, "insufficient_scope", "DPoP", "insufficient_scope")
	before = a.Stats()
	dpRefused(t, a, vtServe(h, dpRequest("Bearer", vtToken(nil))), before, 403, "insufficient_scope", "Bearer", "insufficient_scope")
}

// dpNewRSAKey makes an RSA key of bits for alg (RS256 or PS256).
func dpNewRSAKey(t testing.TB, bits int, method jwt.SigningMethod) *dpKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	n, e := dpB64(priv.N.Bytes()), dpB64(big.NewInt(int64(priv.E)).Bytes())
	k := &dpKey{alg: method.Alg(), method: method, priv: priv, jwk: map[string]any{"kty": "RSA", "n": n, "e": e}}
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	k.jkt = dpB64(sum[:])
	return k
}

// TestDPoPProofRSAKeys: an RSA proof key is 2048 to 4096 bits with the
// exponent 65537, refused otherwise before any costly check: an 8192-bit
// junk modulus sent unasked to the login handler cost 180 ms of CPU
// (attacker review).
func TestDPoPProofRSAKeys(t *testing.T) {
	a := vtAuth(t)
	k := dpNewRSAKey(t, 2048, jwt.SigningMethodPS256)
	tok := dpBound(k.jkt)
	if rec := vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, k.proof(t, "GET", dpURI, tok, nil))); rec.Code != 200 {
		t.Fatalf("a PS256 proof of a 2048-bit key: %d", rec.Code)
	}
	junk := make([]byte, 1024) // 8192 bits, odd
	rand.Read(junk)
	junk[0] |= 0x80
	junk[1023] |= 1
	for name, jwk := range map[string]map[string]any{
		"8192 bits":    {"kty": "RSA", "n": dpB64(junk), "e": "AQAB"},
		"exponent 3":   {"kty": "RSA", "n": k.jwk["n"], "e": "Aw"},
		"EC members":   {"kty": "RSA", "n": k.jwk["n"], "e": "AQAB", "crv": "P-256"},
		"use enc":      {"kty": "RSA", "n": k.jwk["n"], "e": "AQAB", "use": "enc"},
		"even":         {"kty": "RSA", "n": dpB64(append(junk[:255:255], 2)), "e": "AQAB"},
		"leading zero": {"kty": "RSA", "n": dpB64(append([]byte{0}, junk[:256]...)), "e": "AQAB"},
	} {
		t.Run(name, func(t *testing.T) {
			before := a.Stats()
			proof := k.proof(t, "GET", dpURI, tok, func(p *dpProof) { p.header["jwk"] = jwk })
			dpRefused(t, a, vtServe(a.Verify(&vtProbe{}), dpRequest("DPoP", tok, proof)), before, 401, "invalid_dpop_proof", "DPoP", "dpop_invalid_proof")
		})
	}
}

// TestDPoPHostAgainstTLS: without ExternalURL, a TLS request's Host must
// name the server its handshake named, so that a proof made for another
// server is not taken by sending its name as the Host (attacker review).
func TestDPoPHostAgainstTLS(t *testing.T) {
	a := vtAuth(t)
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	for host, want := range map[string]int{"evil.example": 401, "example.com": 200, "EXAMPLE.com:443": 200} {
		r := dpRequest("DPoP", tok, k.proof(t, "GET", "https://"+host+"/r", tok, nil))
		r.Host = host
		r.TLS = &tls.ConnectionState{ServerName: "example.com"}
		if rec := vtServe(a.Verify(&vtProbe{}), r); rec.Code != want {
			t.Errorf("Host %q, SNI example.com: %d, want %d", host, rec.Code, want)
		}
	}
}

// TestDPoPPrefixClimb: behind ExternalURL's path prefix, a request path
// that climbs ("/..", "/%2e%2e") cannot leave the prefix and take a proof
// made for another service on the host (attacker review).
func TestDPoPPrefixClimb(t *testing.T) {
	a := vtAuth(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ExternalURL: "https://example.com/api"}))
	k := dpNewKey(t)
	tok := dpBound(k.jkt)
	for target, htu := range map[string]string{
		"/../admin": "https://example.com/admin", "/%2e%2e/admin": "https://example.com/admin", "/x/../../admin": "https://example.com/admin",
		"/x/../items": "https://example.com/api/x/../items",
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RequestURI = target
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", k.proof(t, "GET", htu, tok, nil))
		want := 401
		if target == "/x/../items" {
			want = 200 // dot segments within the prefix are normalised alike
		}
		if rec := vtServe(a.Verify(&vtProbe{}), r); rec.Code != want {
			t.Errorf("request target %q, proof for %s: %d, want %d", target, htu, rec.Code, want)
		}
	}
}
