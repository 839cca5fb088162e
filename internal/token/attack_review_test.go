package token

// Attack review of issue 13's rewrite of the verification path (branch
// attack-review): the claims of verify.go tried with concrete inputs. These
// hold; they are kept as regression tests.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"
)

func arSign(newHash func() hash.Hash, header, payload string, secret []byte) string {
	in := seg(header) + "." + seg(payload)
	m := hmac.New(newHash, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestAttackEveryByteEverywhere: claim 2 (the alphabet is read only once a
// token is refused, since every byte outside base64url and '.' fails it
// somewhere). Every such byte, inserted before or replacing the byte at
// every position of good tokens (each common header, a decoded one), for
// HS256, HS384 and HS512, typed and untyped verifiers, and for a token
// that is good but expired (the path that runs to the claims), is refused
// as malformed and named.
func TestAttackEveryByteEverywhere(t *testing.T) {
	algs := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}
	exp := itoa(testNow.Add(time.Minute).Unix())
	old := itoa(testNow.Add(-time.Hour).Unix())
	for alg, newHash := range algs {
		for _, typ := range []string{"", "at+jwt"} {
			cfg := testConfig()
			cfg.Alg, cfg.Type = alg, typ
			cfg.Secret = []byte(strings.Repeat("k", Algorithms[alg]))
			v := NewVerifier(cfg)
			headers := []string{`{"alg":"` + alg + `","kid":"k1","typ":"at+jwt"}`}
			for _, h := range warm(t, v, cfg) {
				text, _ := base64.RawURLEncoding.DecodeString(h)
				headers = append(headers, string(text))
			}
			for _, header := range headers {
				for _, payload := range []string{`{"sub":"alice","exp":` + exp + `}`, `{"sub":"alice","exp":` + old + `}`} {
					good := arSign(newHash, header, payload, cfg.Secret)
					if _, err := v.Verify(bg, good); err != nil && Reason(err) != ReasonExpired {
						t.Fatalf("%s %q %s: the good token: %v", alg, typ, header, err)
					}
					for c := range 256 {
						if compactAlphabet[c] == 0 {
							continue
						}
						b := string([]byte{byte(c)})
						for i := 0; i <= len(good); i++ {
							toks := []string{good[:i] + b + good[i:]}
							if i < len(good) {
								toks = append(toks, good[:i]+b+good[i+1:])
							}
							for _, tok := range toks {
								_, err := v.Verify(bg, tok)
								if Reason(err) != ReasonMalformed || !strings.Contains(fmt.Sprint(err), "is neither base64url nor '.'") {
									t.Fatalf("%s %q %s: byte %#x at %d: %v, want it named as malformed", alg, typ, header, c, i, err)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestAttackCommonHeaderNeighbours: claim 1 (a header segment equal to a
// common one is the header checkHeader accepted). Every segment one
// character away from a common one (each position, each base64url
// character), one character longer or shorter, or the common header with
// padding, gets exactly the answer the full check gives it, and a segment
// the shortcut takes is one checkHeader accepts.
func TestAttackCommonHeaderNeighbours(t *testing.T) {
	const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	exp := itoa(testNow.Add(time.Minute).Unix())
	for _, typ := range []string{"", "at+jwt", "JWT"} {
		cfg := testConfig()
		cfg.Type = typ
		v := NewVerifier(cfg)
		full := NewVerifier(cfg)
		for _, h := range warm(t, v, cfg) {
			var variants []string
			for i := 0; i < len(h); i++ {
				for _, c := range b64chars {
					variants = append(variants, h[:i]+string(c)+h[i+1:])
				}
				variants = append(variants, h[:i]+h[i+1:])
			}
			for _, c := range b64chars {
				variants = append(variants, h+string(c), string(c)+h)
			}
			variants = append(variants, h+"=", h+"==", strings.ToUpper(h), strings.ToLower(h))
			for _, hv := range variants {
				in := hv + "." + seg(`{"sub":"alice","exp":`+exp+`}`)
				m := hmac.New(sha256.New, cfg.Secret)
				m.Write([]byte(in))
				tok := in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
				_, got := v.Verify(bg, tok)
				full.forget() // every header decoded and checked
				_, want := full.Verify(bg, tok)
				if fmt.Sprint(got) != fmt.Sprint(want) || Reason(got) != Reason(want) {
					t.Fatalf("typ %q, header %q: %v; the full check: %v", typ, hv, got, want)
				}
				if _, ok := v.knownHeader(hv); ok {
					if _, problem, err := v.checkHeader(hv); problem != nil || err != nil {
						t.Fatalf("typ %q: the shortcut takes %q, which checkHeader refuses: %v %v", typ, hv, problem, err)
					}
				}
			}
		}
	}
}

// TestAttackLeewayOnNowAsOnClaims: claim 8 (the leeway applied to now once;
// whole seconds not truncated) gives what applying it to each claim gave,
// at and around every boundary, with fractions, negative and extreme dates.
func TestAttackLeewayOnNowAsOnClaims(t *testing.T) {
	old := func(now time.Time, leeway time.Duration, p *Payload) (expired, early, future bool) {
		ceil := func(t time.Time) time.Time {
			if r := t.Truncate(time.Second); !r.Equal(t) {
				return r.Add(time.Second)
			}
			return t
		}
		expired = !now.Before(p.ExpiresAt.Truncate(time.Second).Add(leeway))
		early = now.Before(ceil(p.NotBefore.Time).Add(-leeway))
		future = now.Before(ceil(p.IssuedAt.Time).Add(-leeway))
		return
	}
	bases := []time.Time{time.Unix(1_800_000_000, 0), time.Unix(0, 0), time.Unix(-1, 0), time.Unix(minSeconds, 0), time.Unix(maxSeconds, 0)}
	offsets := []time.Duration{-2 * time.Second, -time.Second - 1, -time.Second, -time.Second + 1, -1, 0, 1, time.Second - 1, time.Second, time.Second + 1, 500 * time.Millisecond}
	for _, base := range bases {
		for _, leeway := range []time.Duration{0, time.Second, 10 * time.Second, 5 * time.Minute} {
			for _, nowOff := range offsets {
				now := base.Add(nowOff)
				v := NewVerifier(Config{Alg: "HS256", Secret: testSecret, Leeway: leeway, Now: func() time.Time { return now }})
				for _, o := range offsets {
					for _, sign := range []time.Duration{-1, 1} {
						at := base.Add(sign*leeway + o)
						p := &Payload{ExpiresAt: Time{at}, NotBefore: Time{at}, IssuedAt: Time{at}, seen: seenExp | seenNbf | seenIat}
						expired, early, future := old(now, leeway, p)
						err := v.checkClaims(p, v.now())
						text := fmt.Sprint(err)
						if strings.Contains(text, "expired") != expired || strings.Contains(text, "not valid yet") != early || strings.Contains(text, "before issued") != future {
							t.Fatalf("now %v leeway %v claims at %v: %v; before the rewrite: expired %v, nbf %v, iat %v", now, leeway, at, err, expired, early, future)
						}
					}
				}
			}
		}
	}
}
