package jwks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwks"
)

// signer is an Auth that signs with k, for tokens of a test's making.
func signer(t testing.TB, k jwtguard.Key) *jwtguard.Auth {
	t.Helper()
	return verifier(t, k)
}

// TestAlgorithmConfusion: an HS256 token whose secret is the JWKS's RSA
// public key (PEM in both forms, DER, its JWK), with the key's kid or
// none, is refused; so is a token signed by the key itself under another
// algorithm than its JWK's.
func TestAlgorithmConfusion(t *testing.T) {
	priv := rsaKeys()[0]
	key := signingKey(t, "RS256", 0)
	is := newIssuer(t, nil, key).listen()
	a := verifier(t, newSet(t, is.url))
	wantStatus(t, a, is.token(), http.StatusOK, "the issuer's RS256 token")

	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkix := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&priv.PublicKey)})
	jwk, err := key.Public().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []struct {
		name  string
		bytes []byte
	}{{"PEM (PKIX)", pkix}, {"PEM (PKCS #1)", pkcs1}, {"DER", der}, {"JWK", jwk}, {"JWKS", mustJSON(t, is.keys)}} {
		hk, err := jwtguard.HMACKey("HS256", secret.bytes)
		if err != nil {
			t.Fatal(err)
		}
		for _, kid := range []string{key.ID(), ""} {
			tok := issue(t, signer(t, hk.WithID(kid)))
			wantStatus(t, a, tok, http.StatusUnauthorized, "HS256 with the public key's "+secret.name+" as secret, kid "+kid)
		}
	}

	ps, err := jwtguard.PrivateKey("PS256", priv)
	if err != nil {
		t.Fatal(err)
	}
	rs384, err := jwtguard.PrivateKey("RS384", priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []jwtguard.Key{ps, rs384} {
		wantStatus(t, a, issue(t, signer(t, k.WithID(key.ID()))), http.StatusUnauthorized, k.Algorithm()+" by the RS256 key, with its kid")
		wantStatus(t, a, issue(t, signer(t, k.WithID(""))), http.StatusUnauthorized, k.Algorithm()+" by the RS256 key, without kid")
	}
	wantStatus(t, a, withHeader(is.token(), `{"alg":"none","kid":"`+key.ID()+`"}`), http.StatusUnauthorized, "alg none")
}

func mustJSON(t testing.TB, v interface{ MarshalJSON() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSymmetricKeyNeverUsed: a JWKS that publishes an HMAC (oct) secret
// does not make it a key: tokens signed with it are refused, with its kid
// or without, and the log says why.
func TestSymmetricKeyNeverUsed(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	good := signingKey(t, "ES256", 0)
	doc := document(t,
		map[string]any{"kty": "oct", "kid": "shared", "alg": "HS256", "k": b64.EncodeToString(secret)},
		map[string]any{"kty": "oct", "kid": "shared-no-alg", "k": b64.EncodeToString(secret)},
		publicJWK(t, good))
	is := newIssuer(t, nil, good).listen()
	is.answer(serveDoc(doc))
	var l logs
	set := newSet(t, is.url, jwks.WithLogger(l.logger()))
	a := verifier(t, set)
	hk, _ := jwtguard.HMACKey("HS256", secret)
	for _, kid := range []string{"shared", "shared-no-alg", ""} {
		wantStatus(t, a, issue(t, signer(t, hk.WithID(kid))), http.StatusUnauthorized, "HS256 with the published secret, kid "+kid)
	}
	wantStatus(t, a, is.token(), http.StatusOK, "the ES256 key beside it")
	if len(set.Keys()) != 1 {
		t.Errorf("Keys() = %v, want the ES256 key alone", set.Keys())
	}
	if n := strings.Count(l.all(), "a symmetric (oct) key"); n != 2 {
		t.Errorf("log:\n%s", l.all())
	}
	if strings.Contains(l.all(), b64.EncodeToString(secret)) {
		t.Error("the log shows the secret")
	}
}

// TestPrivatePartRefused: a JWK whose private part the JWKS publishes
// (RSA with all its private members, RSA with d alone, which jwkset's
// own storage would read as a public key, EC with d) is not used at all:
// whoever read it can sign. The log never shows d.
func TestPrivatePartRefused(t *testing.T) {
	priv := rsaKeys()[1]
	ec, ecPriv := privateECJWK(t, "ec-d")
	good := signingKey(t, "ES256", 0)
	doc := document(t, privateRSAJWK(priv, "rsa-all", true), privateRSAJWK(priv, "rsa-d", false), ec, publicJWK(t, good))
	is := newIssuer(t, nil, good).listen()
	is.answer(serveDoc(doc))
	var l logs
	a := verifier(t, newSet(t, is.url, jwks.WithLogger(l.logger())))
	rk, _ := jwtguard.PrivateKey("RS256", priv)
	ek, _ := jwtguard.PrivateKey("ES256", ecPriv)
	for _, k := range []jwtguard.Key{rk.WithID("rsa-all"), rk.WithID("rsa-d"), ek.WithID("ec-d")} {
		wantStatus(t, a, issue(t, signer(t, k)), http.StatusUnauthorized, "a token of the leaked key "+k.ID())
	}
	wantStatus(t, a, is.token(), http.StatusOK, "the good key's token")
	if n := strings.Count(l.all(), "publishes its private part"); n != 3 {
		t.Errorf("log:\n%s", l.all())
	}
	if strings.Contains(l.all(), b64int(priv.D)) || strings.Contains(l.all(), ec["d"].(string)) {
		t.Error("the log shows d")
	}
}

// rawJWK is m as JSON, with extra members (`,"name":value`) after m's.
func rawJWK(t testing.TB, m map[string]any, extra string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:len(b)-1]) + extra + "}"
}

// TestStrictDocument: a document that encoding/json, matching member
// names without regard to case and keeping the last of two, would read
// other than another JWKS consumer does is refused as a whole, with the
// reason: at New, and on a refresh, where the last good set stays (the
// failure logged at Warn, as for any garbage). Each document here, read
// leniently, would let a token of the forger's key verify: a published
// private d hidden by a later "D":"", a second keys array, a use of enc
// turned to sig by "USE".
func TestStrictDocument(t *testing.T) {
	good := signingKey(t, "ES256", 0)
	goodJWK := rawJWK(t, publicJWK(t, good), "")
	leaked, leakedPriv := privateECJWK(t, "leaked")
	leakedKey, err := jwtguard.PrivateKey("ES256", leakedPriv)
	if err != nil {
		t.Fatal(err)
	}
	forger := signingKey(t, "ES256", 0)
	encJWK := publicJWK(t, forger)
	encJWK["use"] = "enc"
	for _, tc := range []struct {
		name, doc, want string
		forger          jwtguard.Key
	}{
		{"d hidden by D", `{"keys":[` + goodJWK + `,` + rawJWK(t, leaked, `,"D":""`) + `]}`, `keys[1] has members "d" and "D"`, leakedKey.WithID("leaked")},
		{"keys twice", `{"keys":[` + goodJWK + `],"keys":[` + rawJWK(t, publicJWK(t, forger), "") + `]}`, `the document has two members named "keys"`, forger},
		{"use enc, USE sig", `{"keys":[` + goodJWK + `,` + rawJWK(t, encJWK, `,"USE":"sig"`) + `]}`, `keys[1] has members "use" and "USE"`, forger},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := newIssuer(t, nil, good)
				is.answer(serveDoc([]byte(tc.doc)))
				s, err := jwks.New(context.Background(), is.url, is.inMemory(), jwks.WithLogger(quiet))
				if err == nil {
					s.Close()
				}
				if err == nil || !strings.Contains(err.Error(), "refused as a whole: "+tc.want) {
					t.Errorf("New: %v, want the document refused: %s", err, tc.want)
				}

				is.answer(nil)
				f := newFetches()
				var l logs
				set := newSet(t, is.url, is.inMemory(), f.hook(), jwks.WithLogger(l.logger()), jwks.WithUnknownKeyRefresh(jwks.MinUnknownKeyRefresh))
				if err := f.next(t); err != nil {
					t.Fatalf("the first fetch: %v", err)
				}
				a := verifier(t, set)
				is.answer(serveDoc([]byte(tc.doc)))
				forged := issue(t, signer(t, tc.forger))
				wantStatus(t, a, forged, http.StatusUnauthorized, "the forger's token, asking for a refresh")
				if err := f.next(t); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("the refresh: %v, want the document refused: %s", err, tc.want)
				}
				synctest.Wait() // the refresh logs its failure after the hook
				wantStatus(t, a, forged, http.StatusUnauthorized, "the forger's token after the refresh")
				wantStatus(t, a, is.token(), http.StatusOK, "the issuer's token, by the last good set")
				if got := l.all(); !strings.Contains(got, "WARN jwks: fetching the JWKS failed; the last good key set stays") || !strings.Contains(got, tc.want) {
					t.Errorf("log:\n%s", got)
				}
				if strings.Contains(l.all(), leaked["d"].(string)) {
					t.Error("the log shows d")
				}
			})
		})
	}
}

// TestSkippedJWKs: JWKs that are not signature keys jwtguard verifies
// with are skipped, one by one, while the others verify; kids that
// several JWKs share are refused for all of them.
func TestSkippedJWKs(t *testing.T) {
	good := signingKey(t, "ES256", 0)
	dupA, dupB := signingKey(t, "ES256", 0), signingKey(t, "ES256", 0)
	enc := signingKey(t, "RS256", 1)
	encJWK := publicJWK(t, enc)
	encJWK["use"], encJWK["alg"] = "enc", "RSA-OAEP"
	opsJWK := publicJWK(t, signingKey(t, "EdDSA", 0))
	opsJWK["key_ops"] = []string{"encrypt"}
	hsOnRSA := publicJWK(t, signingKey(t, "RS256", 2))
	hsOnRSA["alg"] = "HS256"
	wrongCurve := publicJWK(t, signingKey(t, "ES384", 0))
	wrongCurve["alg"] = "ES256"
	badKid := publicJWK(t, signingKey(t, "ES256", 0))
	badKid["kid"] = "a \"quoted\"\nkid"
	x25519 := map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x", "x": b64.EncodeToString(make([]byte, 32))}
	unknown := map[string]any{"kty": "EC", "crv": "secp256k1", "kid": "k1", "x": "AA", "y": "AA"}
	notBase64 := map[string]any{"kty": "RSA", "kid": "nb", "n": "!!!", "e": "AQAB"}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakJWK := map[string]any{"kty": "RSA", "kid": "weak", "alg": "RS256", "n": b64int(weak.N), "e": "AQAB"}
	dA, dB := publicJWK(t, dupA), publicJWK(t, dupB)
	dA["kid"], dB["kid"] = "dup", "dup"
	doc := document(t, encJWK, opsJWK, hsOnRSA, wrongCurve, badKid, x25519, unknown, notBase64, dA, dB, weakJWK, publicJWK(t, good))

	is := newIssuer(t, nil, good).listen()
	is.answer(serveDoc(doc))
	var l logs
	set := newSet(t, is.url, jwks.WithLogger(l.logger()))
	a := verifier(t, set)
	wantStatus(t, a, is.token(), http.StatusOK, "the good key's token")
	wantStatus(t, a, issue(t, signer(t, dupA.WithID("dup"))), http.StatusUnauthorized, "a token of a shared kid")
	wantStatus(t, a, issue(t, signer(t, dupB.WithID("dup"))), http.StatusUnauthorized, "a token of the other key of the shared kid")
	if keys := set.Keys(); len(keys) != 1 || keys[0].ID() != good.ID() {
		t.Errorf("Keys() = %v, want the good key alone", keys)
	}
	log := l.all()
	for _, want := range []string{
		`JWK 0 (kid "` + enc.ID() + `"): its use is "enc", not sig`,
		"JWK 1 (kid \"" + opsJWK["kid"].(string) + `"): its key_ops do not include verify`,
		"JWK 2 (kid \"" + hsOnRSA["kid"].(string) + `"): jwtguard: HS256 key: HS256 is not an algorithm for an RSA key`,
		"JWK 3 (kid \"" + wrongCurve["kid"].(string) + `"): jwtguard: ES256 key: ES256 needs a key on P-256`,
		`JWK 4 (kid "a \"quoted\"\nkid"): jwtguard: KeySet: kid`,
		`JWK 5 (kid "x"): kty OKP, crv "X25519": not a kind of key`,
		`JWK 6 (kid "k1"): it does not parse`,
		`JWK 7 (kid "nb"): it does not parse`,
		`JWK 8 (kid "dup"): 2 JWKs have kid "dup": none is used`,
		`JWK 9 (kid "dup")`,
		`JWK 10 (kid "weak"): jwtguard: RS256 key:`,
		"skipped=11",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// TestKidless: a token without kid is checked with the set's one key of
// its algorithm, and refused when the set has several or none; a JWK
// without kid gets its thumbprint as kid.
func TestKidless(t *testing.T) {
	rs1, rs2, es := signingKey(t, "RS256", 0), signingKey(t, "RS256", 1), signingKey(t, "ES256", 0)
	noKid := publicJWK(t, es)
	delete(noKid, "kid")
	for _, tc := range []struct {
		name string
		jwks []map[string]any
		key  jwtguard.Key // signs the kid-less token
		want int
	}{
		{"one RS256 key", []map[string]any{publicJWK(t, rs1)}, rs1, http.StatusOK},
		{"one key of the token's algorithm among others", []map[string]any{publicJWK(t, rs1), publicJWK(t, es)}, es, http.StatusOK},
		{"two RS256 keys", []map[string]any{publicJWK(t, rs1), publicJWK(t, rs2)}, rs1, http.StatusUnauthorized},
		{"no key of the token's algorithm", []map[string]any{publicJWK(t, es)}, rs1, http.StatusUnauthorized},
		{"a JWK without kid", []map[string]any{noKid}, es, http.StatusOK},
	} {
		inDoc := tc.want == http.StatusOK || tc.name == "two RS256 keys"
		t.Run(tc.name, func(t *testing.T) {
			is := newIssuer(t, nil, tc.key).listen()
			is.answer(serveDoc(document(t, tc.jwks...)))
			a := verifier(t, newSet(t, is.url))
			wantStatus(t, a, issue(t, signer(t, tc.key.WithID(""))), tc.want, "a token without kid")
			if inDoc {
				wantStatus(t, a, is.token(), http.StatusOK, "the token with the key's kid (its thumbprint)")
			}
		})
	}
	hk, _ := jwtguard.HMACKey("HS256", []byte("0123456789abcdef0123456789abcdef"))
	is := newIssuer(t, nil, rs1).listen()
	a := verifier(t, newSet(t, is.url))
	wantStatus(t, a, issue(t, signer(t, hk)), http.StatusUnauthorized, "an HS256 token without kid")
}

// TestDefaultAlgorithm: a JWK without alg has the algorithm of
// WithDefaultAlgorithm, else the one its kind implies (RS256 for RSA);
// the JWK's own alg wins over the option; a JWK the option does not fit
// is skipped.
func TestDefaultAlgorithm(t *testing.T) {
	rs := signingKey(t, "RS256", 0)
	ps, _ := jwtguard.PrivateKey("PS256", rsaKeys()[0])
	noAlg := publicJWK(t, rs)
	delete(noAlg, "alg")
	ecNoAlg := publicJWK(t, signingKey(t, "ES256", 0))
	delete(ecNoAlg, "alg")
	is := newIssuer(t, nil, rs).listen()
	for _, tc := range []struct {
		name     string
		jwk      map[string]any
		opts     []jwks.Option
		rs, ps   int
		newFails bool
	}{
		{"no alg: RS256", noAlg, nil, http.StatusOK, http.StatusUnauthorized, false},
		{"no alg, WithDefaultAlgorithm(PS256)", noAlg, []jwks.Option{jwks.WithDefaultAlgorithm("PS256")}, http.StatusUnauthorized, http.StatusOK, false},
		{"alg RS256, WithDefaultAlgorithm(PS256)", publicJWK(t, rs), []jwks.Option{jwks.WithDefaultAlgorithm("PS256")}, http.StatusOK, http.StatusUnauthorized, false},
		{"an EC key without alg, WithDefaultAlgorithm(PS256)", ecNoAlg, []jwks.Option{jwks.WithDefaultAlgorithm("PS256")}, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is.answer(serveDoc(document(t, tc.jwk)))
			set, err := jwks.New(context.Background(), is.url, append(tc.opts, jwks.WithLogger(quiet))...)
			if tc.newFails {
				if err == nil {
					set.Close()
					t.Fatal("New succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			a := verifier(t, set)
			wantStatus(t, a, issue(t, signer(t, rs)), tc.rs, "an RS256 token")
			wantStatus(t, a, issue(t, signer(t, ps.WithID(rs.ID()))), tc.ps, "a PS256 token")
		})
	}
}

// TestURLs: New refuses URLs that are not https, except for literal
// loopback addresses (not localhost), before fetching anything; a
// password in the URL is never in its errors.
func TestURLs(t *testing.T) {
	for _, u := range []string{
		"http://login.example.com/.well-known/jwks.json",
		"http://10.0.0.1/jwks",
		"http://localhost.example.com/jwks",
		"http://127.0.0.1.nip.io/jwks",
		"ftp://127.0.0.1/jwks",
		"file:///etc/jwks.json",
		"/.well-known/jwks.json",
		"https://",
		"https:opaque",
		"://",
		"http://user:hunter2@login.example.com/jwks",
	} {
		_, err := jwks.New(context.Background(), u, jwks.WithLogger(quiet))
		if err == nil {
			t.Errorf("New(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q): %v shows the password", u, err)
		}
	}
	// localhost over plain http: refused by the rule before any fetch,
	// though it names this machine here and a JWKS is served there, and
	// whatever client is given.
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	for _, u := range []string{
		strings.Replace(is.url, "127.0.0.1", "localhost", 1),
		strings.Replace(is.url, "127.0.0.1", "LocalHost", 1),
		strings.Replace(is.url, "127.0.0.1", "localhost.", 1),
	} {
		for _, opts := range [][]jwks.Option{nil, {is.inMemory()}} {
			s, err := jwks.New(context.Background(), u, append(opts, jwks.WithLogger(quiet))...)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "not https") || !strings.Contains(err.Error(), "literal loopback address") {
				t.Errorf("New(%q): %v, want it refused as not https", u, err)
			}
		}
	}
	if n := is.hits.Load(); n != 0 {
		t.Errorf("%d fetches through localhost", n)
	}
	// A loopback https URL that nothing listens on: refused by the
	// network, not by the rule, and the password is not shown.
	_, err := jwks.New(context.Background(), "https://user:hunter2@127.0.0.1:1/jwks", jwks.WithLogger(quiet))
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "not https") {
		t.Errorf("New on a closed port: %v", err)
	}
}

// TestRedirects: a redirect is followed to an https URL or a plain-http
// one on a literal loopback address, and refused to plain http elsewhere,
// to localhost, or after 5.
func TestRedirects(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	target := is.url
	is.answer(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("to") {
		case "jwks":
			http.Redirect(w, r, target+"?to=", http.StatusFound)
		case "plain":
			http.Redirect(w, r, "http://login.example.com/jwks", http.StatusFound)
		case "localhost":
			http.Redirect(w, r, strings.Replace(target, "127.0.0.1", "localhost", 1)+"?to=", http.StatusFound)
		case "loop":
			http.Redirect(w, r, target+"?to=loop", http.StatusFound)
		default:
			is.jwks.ServeHTTP(w, r)
		}
	})
	if _, err := jwks.New(context.Background(), target+"?to=plain", jwks.WithLogger(quiet)); err == nil || !strings.Contains(err.Error(), "redirect refused") {
		t.Errorf("a redirect to plain http: %v", err)
	}
	if s, err := jwks.New(context.Background(), target+"?to=localhost", jwks.WithLogger(quiet)); err == nil || !strings.Contains(err.Error(), "redirect refused") || !strings.Contains(err.Error(), "localhost") {
		if err == nil {
			s.Close()
		}
		t.Errorf("a redirect to plain http on localhost: %v", err)
	}
	if _, err := jwks.New(context.Background(), target+"?to=loop", jwks.WithLogger(quiet)); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("a redirect loop: %v", err)
	}
	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if _, err := jwks.New(context.Background(), target+"?to=jwks", jwks.WithLogger(quiet), jwks.WithHTTPClient(own)); err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("a redirect the client's own CheckRedirect stops: %v", err)
	}
	set := newSet(t, target+"?to=jwks")
	wantStatus(t, verifier(t, set), is.token(), http.StatusOK, "the token, through a redirect")
}

// TestRedirectDowngrade: a fetch that has been on https never goes on
// over plain http, even to a loopback address New would take: not from an
// https URL, nor back after a plain-http URL redirected to https. Redirects
// from https to https are followed. The rule holds with the client given
// to WithHTTPClient (here the one that trusts the test server's
// certificate).
func TestRedirectDowngrade(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	var plainServed atomic.Int64
	var tlsURL string
	is.answer(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("to") == "tls" {
			http.Redirect(w, r, tlsURL+"?to=plain", http.StatusFound)
			return
		}
		plainServed.Add(1)
		is.jwks.ServeHTTP(w, r)
	})
	plain := is.url
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("to") {
		case "plain":
			http.Redirect(w, r, plain, http.StatusFound)
		case "tls":
			http.Redirect(w, r, tlsURL+"?to=", http.StatusFound)
		default:
			is.jwks.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(tlsSrv.Close)
	tlsURL = tlsSrv.URL + "/.well-known/jwks.json"
	client := jwks.WithHTTPClient(tlsSrv.Client())

	for _, tc := range []struct{ name, url string }{
		{"https to plain http on 127.0.0.1", tlsURL + "?to=plain"},
		{"plain http to https and back", plain + "?to=tls"},
	} {
		s, err := jwks.New(context.Background(), tc.url, client, jwks.WithLogger(quiet))
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "redirect refused: from https") {
			t.Errorf("%s: %v, want the redirect refused", tc.name, err)
		}
	}
	if n := plainServed.Load(); n != 0 {
		t.Errorf("the JWKS was served over plain http %d times after https", n)
	}
	set := newSet(t, tlsURL+"?to=tls", client)
	wantStatus(t, verifier(t, set), is.token(), http.StatusOK, "the token, through an https to https redirect")
}

// TestOptions: New refuses a bad option before fetching.
func TestOptions(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	for _, o := range []jwks.Option{
		jwks.WithRefreshInterval(0), jwks.WithRefreshInterval(25 * 60 * 60 * 1e9),
		jwks.WithUnknownKeyRefresh(-1), jwks.WithUnknownKeyRefresh(1e6),
		jwks.WithFetchTimeout(0), jwks.WithFetchTimeout(6 * 60 * 1e9),
		jwks.WithMaxSize(100), jwks.WithMaxSize(65 << 20),
		jwks.WithHTTPClient(nil),
		jwks.WithDefaultAlgorithm("HS256"), jwks.WithDefaultAlgorithm("none"), jwks.WithDefaultAlgorithm(""), jwks.WithDefaultAlgorithm("rs256"),
	} {
		if s, err := jwks.New(context.Background(), is.url, o); err == nil {
			s.Close()
			t.Errorf("New accepted a bad option")
		} else if !strings.HasPrefix(err.Error(), "jwks: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
	if n := is.hits.Load(); n != 0 {
		t.Errorf("%d fetches for bad options", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := jwks.New(ctx, is.url, jwks.WithStartWithoutKeys()); err == nil || !strings.Contains(err.Error(), "canceled") {
		if s != nil {
			s.Close()
		}
		t.Errorf("New with a cancelled context: %v, want an error even WithStartWithoutKeys", err)
	}
	s, err := jwks.New(context.Background(), is.url, nil, jwks.WithLogger(nil))
	if err != nil {
		t.Fatalf("nil options: %v", err)
	}
	s.Close()
}

// TestVerificationKeyAllocs: finding a known key allocates nothing.
func TestVerificationKeyAllocs(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0), signingKey(t, "EdDSA", 0)).listen()
	set := newSet(t, is.url)
	kid := set.Keys()[1].ID()
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := set.VerificationKey(ctx, kid, "EdDSA"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("VerificationKey: %v allocations", n)
	}
}

// BenchmarkVerificationKey is the lookup on every request's path.
func BenchmarkVerificationKey(b *testing.B) {
	is := newIssuer(b, nil, signingKey(b, "RS256", 0), signingKey(b, "RS256", 1), signingKey(b, "RS256", 2)).listen()
	set := newSet(b, is.url)
	kid := set.Keys()[2].ID()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.VerificationKey(ctx, kid, "RS256"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSkippedLogBounded: the log of skipped JWKs stays short whatever
// the size of their members, and never shows their key material.
func TestSkippedLogBounded(t *testing.T) {
	long := strings.Repeat("A", 20<<10)
	good := signingKey(t, "ES256", 0)
	var jwkList []map[string]any
	for _, member := range []string{"kid", "alg", "crv", "use", "kty"} {
		m := publicJWK(t, signingKey(t, "ES256", 0))
		m[member] = long
		jwkList = append(jwkList, m)
	}
	for range 30 {
		jwkList = append(jwkList, map[string]any{"kty": "oct", "k": long})
	}
	is := newIssuer(t, nil, good).listen()
	is.answer(serveDoc(document(t, append(jwkList, publicJWK(t, good))...)))
	var l logs
	newSet(t, is.url, jwks.WithLogger(l.logger()))
	if got := l.all(); len(got) > 10<<10 || strings.Contains(got, strings.Repeat("A", 400)) {
		t.Errorf("the log is %d bytes:\n%.3000s", len(got), got)
	}
	if !strings.Contains(l.all(), "skipped=35") {
		t.Errorf("log:\n%.3000s", l.all())
	}
}
