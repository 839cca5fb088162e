package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testKeys are one key of each kind, made once: RSA generation is slow.
var testKeys = func() map[string]crypto.Signer {
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]crypto.Signer{
		"RS256": r, "RS384": r, "RS512": r, "PS256": r, "PS384": r, "PS512": r,
		"ES256": p256, "ES384": p384, "ES512": p521, "EdDSA": ed, "Ed25519": ed,
	}
}()

func asymmetricVerifier(t testing.TB, k *Key) *Verifier {
	t.Helper()
	cfg := testConfig()
	cfg.Keys = Static{k}
	return NewVerifier(cfg)
}

// TestAsymmetricRoundTrip: every asymmetric algorithm signs and verifies;
// a token with any byte of its signature changed, or a signature of
// another length, is refused as a bad signature; the public half alone
// verifies and cannot sign.
func TestAsymmetricRoundTrip(t *testing.T) {
	for alg, priv := range testKeys {
		t.Run(alg, func(t *testing.T) {
			k, err := NewPrivateKey(alg, "k1", priv)
			if err != nil {
				t.Fatal(err)
			}
			v := asymmetricVerifier(t, k.PublicOnly())
			tok, err := Sign(k, "", &Payload{Subject: "alice", ExpiresAt: Time{testNow.Add(time.Minute)}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(mustHeader(t, tok), `"alg":"`+alg+`"`) || !strings.Contains(mustHeader(t, tok), `"kid":"k1"`) {
				t.Errorf("header %s", mustHeader(t, tok))
			}
			for range 2 { // decoded, then known
				p, err := v.Verify(bg, tok)
				if err != nil || p.Subject != "alice" {
					t.Fatalf("Verify = %v, %v", p, err)
				}
			}
			dot := strings.LastIndexByte(tok, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(tok[dot+1:])
			for i := range sig {
				bad := bytes.Clone(sig)
				bad[i] ^= 0x01
				if _, err := v.Verify(bg, tok[:dot+1]+base64.RawURLEncoding.EncodeToString(bad)); Reason(err) != ReasonSignature {
					t.Fatalf("byte %d of the signature flipped: %v", i, err)
				}
			}
			for _, bad := range [][]byte{sig[:len(sig)-1], append(bytes.Clone(sig), 0), nil} {
				if _, err := v.Verify(bg, tok[:dot+1]+base64.RawURLEncoding.EncodeToString(bad)); Reason(err) != ReasonSignature {
					t.Fatalf("a signature of %d bytes: %v", len(bad), err)
				}
			}
			if _, err := Sign(k.PublicOnly(), "", &Payload{}); err == nil {
				t.Error("a public key signed")
			}
		})
	}
}

func mustHeader(t testing.TB, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestEdDSANames: a key made for EdDSA verifies tokens that name it
// Ed25519 (RFC 9864) and the other way round; the key signs under its own
// name.
func TestEdDSANames(t *testing.T) {
	priv := testKeys["EdDSA"].(ed25519.PrivateKey)
	exp := itoa(testNow.Add(time.Minute).Unix())
	for _, keyAlg := range []string{"EdDSA", "Ed25519"} {
		k, err := NewPrivateKey(keyAlg, "", priv)
		if err != nil {
			t.Fatal(err)
		}
		v := asymmetricVerifier(t, k)
		for _, tokAlg := range []string{"EdDSA", "Ed25519"} {
			in := seg(`{"alg":"`+tokAlg+`"}`) + "." + seg(`{"exp":`+exp+`}`)
			tok := in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
			if _, err := v.Verify(bg, tok); err != nil {
				t.Errorf("key %s, token %s: %v", keyAlg, tokAlg, err)
			}
		}
		tok, _ := Sign(k, "", &Payload{ExpiresAt: Time{testNow.Add(time.Minute)}})
		if !strings.Contains(mustHeader(t, tok), `"alg":"`+keyAlg+`"`) {
			t.Errorf("key %s signed %s", keyAlg, mustHeader(t, tok))
		}
	}
}

// TestPSSSaltLength: PS256 takes only a salt as long as the hash (RFC 7518
// §3.5); a signature with another salt length is refused.
func TestPSSSaltLength(t *testing.T) {
	priv := testKeys["PS256"].(*rsa.PrivateKey)
	k, _ := NewPrivateKey("PS256", "", priv)
	v := asymmetricVerifier(t, k)
	in := seg(`{"alg":"PS256"}`) + "." + seg(`{"exp":`+itoa(testNow.Add(time.Minute).Unix())+`}`)
	sum := crypto.SHA256.New()
	sum.Write([]byte(in))
	for _, salt := range []int{32, 0, 20, rsa.PSSSaltLengthAuto} {
		sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, sum.Sum(nil), &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(bg, in+"."+base64.RawURLEncoding.EncodeToString(sig))
		if (err == nil) != (salt == 32) {
			t.Errorf("salt length %d: %v", salt, err)
		}
	}
}

// TestECDSASignatureEncoding: r‖s is rewritten as the DER encoding/asn1
// writes, for halves with leading zeros, a high bit, all zeros and all
// ones.
func TestECDSASignatureEncoding(t *testing.T) {
	for _, half := range []int{32, 48, 66} {
		var cases [][2][]byte
		zeros, ones := make([]byte, half), bytes.Repeat([]byte{0xff}, half)
		lead := make([]byte, half)
		lead[half-1] = 1
		cases = append(cases, [2][]byte{zeros, ones}, [2][]byte{ones, zeros}, [2][]byte{lead, ones})
		for range 200 {
			r, s := make([]byte, half), make([]byte, half)
			rand.Read(r)
			rand.Read(s)
			r[0] &= byte(1<<(s[0]%9) - 1)
			cases = append(cases, [2][]byte{r, s})
		}
		for _, c := range cases {
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(c[0]), new(big.Int).SetBytes(c[1])})
			if err != nil {
				t.Fatal(err)
			}
			var buf [141]byte
			if got := appendECDSASignature(buf[:0], c[0], c[1]); !bytes.Equal(got, want) {
				t.Fatalf("r %x s %x: %x, want %x", c[0], c[1], got, want)
			}
		}
	}
}

// TestECDSAOutOfRange: r or s zero, or the order n itself, is refused.
func TestECDSAOutOfRange(t *testing.T) {
	priv := testKeys["ES256"].(*ecdsa.PrivateKey)
	k, _ := NewPrivateKey("ES256", "", priv)
	v := asymmetricVerifier(t, k)
	in := seg(`{"alg":"ES256"}`) + "." + seg(`{"exp":`+itoa(testNow.Add(time.Minute).Unix())+`}`)
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	one := make([]byte, 32)
	one[31] = 1
	for _, rs := range [][2][]byte{{make([]byte, 32), one}, {one, make([]byte, 32)}, {n, one}, {one, n}} {
		sig := append(bytes.Clone(rs[0]), rs[1]...)
		if _, err := v.Verify(bg, in+"."+base64.RawURLEncoding.EncodeToString(sig)); Reason(err) != ReasonSignature {
			t.Errorf("r %x s %x: %v", rs[0], rs[1], err)
		}
	}
}

// TestWeakKeys: keys too small, on the wrong curve, of the wrong kind for
// the algorithm, or for no algorithm are refused when made.
func TestWeakKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256 := testKeys["ES256"].Public()
	r := testKeys["RS256"].Public()
	ed := testKeys["EdDSA"].Public()
	for _, tc := range []struct {
		alg  string
		pub  crypto.PublicKey
		want string
	}{
		{"RS256", &small.PublicKey, "1024 bits"},
		{"PS256", &small.PublicKey, "1024 bits"},
		{"RS256", &rsa.PublicKey{N: r.(*rsa.PublicKey).N, E: 1}, "exponent"},
		{"RS256", &rsa.PublicKey{N: r.(*rsa.PublicKey).N, E: 65536}, "exponent"},
		{"ES384", p256, "P-384"},
		{"ES512", p256, "P-521"},
		{"ES256", r, "not an algorithm for an RSA key"},
		{"HS256", r, "not an algorithm for an RSA key"},
		{"RS256", p256, "not an algorithm for an ECDSA key"},
		{"EdDSA", p256, "not an algorithm for an ECDSA key"},
		{"RS256", ed, "not an algorithm for an Ed25519 key"},
		{"none", ed, "not one jwtguard supports"},
		{"rs256", r, "not one jwtguard supports"},
		{"EdDSA", ed25519.PublicKey(make([]byte, 31)), "31 bytes"},
		{"ES256", &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, "ECDSA key"},
		{"EdDSA", nil, "no key"},
		{"EdDSA", []byte("secret"), "[]uint8"},
	} {
		if _, err := NewPublicKey(tc.alg, "", tc.pub); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %T: %v, want an error about %q", tc.alg, tc.pub, err, tc.want)
		}
	}
	good := testKeys["RS256"].(*rsa.PrivateKey)
	bad := *good
	bad.Primes = []*big.Int{new(big.Int).Add(good.Primes[0], big.NewInt(2)), good.Primes[1]}
	if _, err := NewPrivateKey("RS256", "", &bad); err == nil {
		t.Error("an RSA private key whose primes are not its modulus's was accepted")
	}
}

// TestAsymmetricAllocations: the Ed25519 check allocates nothing; the
// others allocate only inside crypto/rsa and crypto/ecdsa.
func TestAsymmetricAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	k, _ := NewPrivateKey("EdDSA", "", testKeys["EdDSA"])
	tok, _ := Sign(k, "", &Payload{ExpiresAt: Time{testNow.Add(time.Minute)}})
	dot := strings.LastIndexByte(tok, '.')
	if n := testing.AllocsPerRun(50, func() {
		if err := k.check.check(tok[:dot], tok[dot+1:]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Ed25519 check: %v allocations, want 0", n)
	}
}

// TestForgeableKeysRefused: Ed25519 public keys of small order (the
// identity, the all-zero encoding of order 4, the point of order 2, and a
// non-canonical spelling of the identity), under which signatures verify
// without a private key, and RSA moduli anyone can factor (prime, even,
// with a small factor) are refused; real keys are not.
func TestForgeableKeysRefused(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	order2 := make([]byte, 32)
	// y = −1 = p − 1 = 2²⁵⁵ − 20: little endian ec ff … ff 7f.
	order2[0] = 0xec
	for i := 1; i < 31; i++ {
		order2[i] = 0xff
	}
	order2[31] = 0x7f
	nonCanonicalIdentity := make([]byte, 32)
	// y = p + 1 = 2²⁵⁵ − 18: ee ff … ff 7f.
	nonCanonicalIdentity[0] = 0xee
	for i := 1; i < 31; i++ {
		nonCanonicalIdentity[i] = 0xff
	}
	nonCanonicalIdentity[31] = 0x7f
	for name, pub := range map[string][]byte{"identity": identity, "all zero": make([]byte, 32), "order 2": order2, "identity, non-canonical": nonCanonicalIdentity} {
		if _, err := NewPublicKey("EdDSA", "", ed25519.PublicKey(pub)); err == nil || !strings.Contains(err.Error(), "small order") {
			t.Errorf("%s: %v", name, err)
		}
	}
	for range 50 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := NewPublicKey("EdDSA", "", pub); err != nil {
			t.Fatalf("a real Ed25519 key: %v", err)
		}
	}
	prime, _ := rand.Prime(rand.Reader, 2048)
	r := testKeys["RS256"].(*rsa.PrivateKey)
	for name, n := range map[string]*big.Int{
		"prime":       prime,
		"even":        new(big.Int).Lsh(r.N, 1),
		"factor 3":    new(big.Int).Mul(r.N, big.NewInt(3)),
		"factor 4093": new(big.Int).Mul(r.N, big.NewInt(4093)),
	} {
		if _, err := NewPublicKey("RS256", "", &rsa.PublicKey{N: n, E: 65537}); err == nil || !strings.Contains(err.Error(), "modulus") {
			t.Errorf("%s modulus: %v", name, err)
		}
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	mixed := append(bytes.Clone(priv[:32]), other...)
	if _, err := NewPrivateKey("EdDSA", "", ed25519.PrivateKey(mixed)); err == nil {
		t.Error("an Ed25519 private key whose public half is another key's was accepted")
	}
}

// TestKeySame: a key is the same as its copies and its public half, and
// not as another key, another algorithm's key of the same material, or
// another secret.
func TestKeySame(t *testing.T) {
	rsaKey, _ := NewPrivateKey("RS256", "a", testKeys["RS256"])
	pss, _ := NewPrivateKey("PS256", "a", testKeys["RS256"])
	ed, _ := NewPrivateKey("EdDSA", "", testKeys["EdDSA"])
	otherEd := edKey(t, "")
	h1, h2 := NewHMACKey("HS256", "", testSecret), NewHMACKey("HS256", "", []byte("another-secret-0123456789abcdefgh"))
	for _, tc := range []struct {
		a, b *Key
		same bool
	}{
		{rsaKey, rsaKey.WithID("b"), true},
		{rsaKey, rsaKey.PublicOnly(), true},
		{rsaKey, pss, false},
		{ed, ed.PublicOnly(), true},
		{ed, otherEd, false},
		{h1, NewHMACKey("HS256", "x", testSecret), true},
		{h1, h2, false},
		{h1, ed, false},
		{ed, nil, false},
	} {
		if got := tc.a.Same(tc.b); got != tc.same {
			t.Errorf("%s %v Same %v: %v, want %v", tc.a.Alg, tc.a.ID, tc.b, got, tc.same)
		}
	}
}
