package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

const (
	jwksIssuer   = "https://issuer.interop.test"
	jwksAudience = "interop-api"
)

// joseResult is one token's answer from jwks.mjs's verify mode.
type joseResult struct {
	Header  map[string]any `json:"header"`
	Payload map[string]any `json:"payload"`
	Error   *struct{ Name, Code, Message string }
}

// TestJwtguardTokensThroughJWKSInJose: jose's createRemoteJWKSet and
// jwtVerify accept jwtguard's RS256, PS256, ES256 and EdDSA tokens through
// the JWKS jwtguard serves (JWKSHandler, fetched over HTTP by jose), and
// refuse one whose key was removed from the set, one for another audience,
// and one signed by a key the JWKS does not hold under its kid.
func TestJwtguardTokensThroughJWKSInJose(t *testing.T) {
	requireNode(t)
	algs := []string{"RS256", "PS256", "ES256", "EdDSA"}
	var keys []jwtguard.Key
	for _, alg := range algs {
		k, err := jwtguard.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	set, err := jwtguard.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := jwtguard.New(set, jwtguard.WithIssuer(jwksIssuer), jwtguard.WithAudience(jwksAudience), jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(issuer.JWKSHandler())
	defer srv.Close()
	type tok struct{ Name, Token string }
	var toks []tok
	for _, k := range keys {
		if err := set.Activate(k.ID()); err != nil {
			t.Fatal(err)
		}
		tr, err := issuer.Issue(context.Background(), jwtguard.User{ID: "7", Username: "alice", Roles: []string{"admin"}})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok{k.Algorithm(), tr.AccessToken})
	}
	// A key the JWKS will not hold: its token names a removed kid.
	gone, _ := jwtguard.GenerateKey("ES256")
	set.Add(gone)
	set.Activate(gone.ID())
	tr, _ := issuer.Issue(context.Background(), jwtguard.User{ID: "7"})
	toks = append(toks, tok{"removed key", tr.AccessToken})
	set.Activate(keys[0].ID())
	set.Remove(gone.ID())
	// Another audience.
	other, _ := jwtguard.New(keys[3], jwtguard.WithIssuer(jwksIssuer), jwtguard.WithAudience("another-api"))
	tr, _ = other.Issue(context.Background(), jwtguard.User{ID: "7"})
	toks = append(toks, tok{"other audience", tr.AccessToken})
	// A forgery: an attacker's Ed25519 key under our EdDSA key's kid.
	attacker, _ := jwtguard.GenerateKey("EdDSA")
	forger, _ := jwtguard.New(attacker.WithID(keys[3].ID()), jwtguard.WithIssuer(jwksIssuer), jwtguard.WithAudience(jwksAudience))
	tr, _ = forger.Issue(context.Background(), jwtguard.User{ID: "7"})
	toks = append(toks, tok{"forged under our kid", tr.AccessToken})

	var in struct {
		Mode     string `json:"mode"`
		URL      string `json:"jwks_url"`
		Issuer   string `json:"issuer"`
		Audience string `json:"audience"`
		Tokens   []struct {
			Name  string `json:"name"`
			Token string `json:"token"`
		} `json:"tokens"`
	}
	in.Mode, in.URL, in.Issuer, in.Audience = "verify", srv.URL+"/.well-known/jwks.json", jwksIssuer, jwksAudience
	for _, x := range toks {
		in.Tokens = append(in.Tokens, struct {
			Name  string `json:"name"`
			Token string `json:"token"`
		}{x.Name, x.Token})
	}
	var out map[string]joseResult
	runNode(t, "jwks.mjs", in, &out)
	for _, alg := range algs {
		r := out[alg]
		if r.Error != nil || r.Payload["sub"] != "7" || r.Header["alg"] != alg {
			t.Errorf("%s: jose says %+v", alg, r)
		}
	}
	for _, name := range []string{"removed key", "other audience", "forged under our kid"} {
		if out[name].Error == nil {
			t.Errorf("%s: jose accepted it: %+v", name, out[name])
		}
	}
}

// TestJoseTokensThroughJWKS: tokens jose signs with RS256, PS256, ES256
// and EdDSA keys of its own verify in jwtguard through the public JWKs jose
// exports (each read by ParseJWK into a KeySet, as the jwks module reads a
// fetched document), with issuer, audience and roles; a token tampered
// after signing, or checked against another audience, is refused. The
// jwks module's TestJoseServesTheJWKS fetches such a JWKS from jose itself,
// served over HTTP.
func TestJoseTokensThroughJWKS(t *testing.T) {
	requireNode(t)
	in := map[string]any{"mode": "mint", "issuer": jwksIssuer, "audience": jwksAudience, "algs": []string{"RS256", "PS256", "ES256", "EdDSA"}}
	var out struct {
		JWKS struct {
			Keys []json.RawMessage `json:"keys"`
		} `json:"jwks"`
		Tokens map[string]string `json:"tokens"`
	}
	runNode(t, "jwks.mjs", in, &out)
	var keys []jwtguard.Key
	for _, raw := range out.JWKS.Keys {
		k, err := jwtguard.ParseJWK(raw, "")
		if err != nil {
			t.Fatalf("jose's JWK %s: %v", raw, err)
		}
		if k.CanSign() {
			t.Fatalf("jose's public JWK read as a signing key: %s", raw)
		}
		keys = append(keys, k)
	}
	set, err := jwtguard.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(audience, tok string) (*jwtguard.Claims, error) {
		a, err := jwtguard.New(set, jwtguard.WithIssuer(jwksIssuer), jwtguard.WithAudience(audience), jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return a.Authenticate(r)
	}
	if len(out.Tokens) != 4 {
		t.Fatalf("jose minted %d tokens", len(out.Tokens))
	}
	for alg, tok := range out.Tokens {
		c, err := verify(jwksAudience, tok)
		if err != nil || c.Subject != "jose-user" || !slices.Equal(c.Roles, []string{"admin"}) {
			t.Errorf("%s from jose: %v, %v", alg, c, err)
			continue
		}
		if _, err := verify("another-api", tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
			t.Errorf("%s from jose, another audience: %v", alg, err)
		}
		dot := strings.IndexByte(tok, '.')
		tampered := tok[:dot+1] + strings.Replace(tok[dot+1:], tok[dot+5:dot+6], flip(tok[dot+5:dot+6]), 1)
		if _, err := verify(jwksAudience, tampered); !errors.Is(err, jwtguard.ErrInvalidToken) && !errors.Is(err, jwtguard.ErrInvalidRequest) {
			t.Errorf("%s from jose, tampered payload: %v", alg, err)
		}
	}
}

// flip returns another base64url character than c.
func flip(c string) string {
	if c == "A" {
		return "B"
	}
	return "A"
}
