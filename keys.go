package jwtguard

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/jwtguard/jwtguard/internal/strictjson"
	"github.com/jwtguard/jwtguard/internal/token"
)

// Key is a key that tokens are signed and verified with, together with its
// kid and the one algorithm it is for: a token is only ever checked with
// the algorithm of the key its kid names, so a token that names another
// algorithm (none, HS256 against an RSA key, another hash) is refused, and
// RSA/HMAC confusion cannot happen by construction.
//
// Make one with [HMACKey] (a shared secret), [GenerateKey], [PrivateKey] or
// [PublicKey] (from the crypto packages' keys), [ParseKeyPEM] or
// [ParseJWK]. Weak keys are refused when they are made: RSA under 2048
// bits (or over 8192, which would make each verification cost
// milliseconds), an HMAC secret shorter than its hash, an ECDSA key on a
// curve other than its algorithm's. A key with its private part (or an
// HMAC secret) signs and verifies; a public key only verifies.
//
// A Key is a [KeySource] of itself; [KeySet] holds several, for rotation.
// The zero Key is not a key, and [New] refuses it. A Key is immutable and
// safe to share.
type Key struct {
	k *token.Key
}

// ErrUnknownKey is the error a [KeySource] returns, wrapped or as it is,
// when it has no key for a token's kid (or, for a token without kid, no
// one key it would be checked with): the token is refused as invalid.
var ErrUnknownKey = errors.New("jwtguard: no key for the token")

// A KeySource gives the keys tokens are verified with: a [Key], a [KeySet],
// or a remote JWKS (the jwtguard/jwks module). [New] takes one.
//
// VerificationKey returns the key for a token whose header has kid (""
// when it has none) and alg, which is always one of the algorithms Key
// supports. It returns an error wrapping [ErrUnknownKey] when it has no
// such key; any other error means it cannot tell now (a remote key set
// never fetched), and the request is answered 503 rather than 401. The
// returned key's own algorithm is then compared with alg, so a source
// cannot be tricked into confusion by a token. ctx is the request's.
// VerificationKey must be safe for concurrent use, and fast: it is called
// for every token.
type KeySource interface {
	VerificationKey(ctx context.Context, kid, alg string) (Key, error)
}

// VerificationKey implements [KeySource]: k itself, unless both the token
// and k have a kid and they differ.
func (k Key) VerificationKey(_ context.Context, kid, _ string) (Key, error) {
	if k.k == nil {
		return Key{}, ErrUnknownKey
	}
	if kid != "" && k.k.ID != "" && kid != k.k.ID {
		return Key{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	return k, nil
}

// HMACKey returns a key for HMAC with SHA-2: alg is "HS256", "HS384" or
// "HS512", written exactly so. secret must be random and at least as long
// as the hash (RFC 7518 §3.2): 32, 48 or 64 bytes; a shorter one, or another
// algorithm, is an error that never includes the secret. [HMACKey] copies
// secret, so later changes to the caller's slice change nothing. A service
// that shares the secret can both verify and issue tokens; an HMAC key is
// never published in a JWKS. It has no kid unless given one with
// [Key.WithID].
func HMACKey(alg string, secret []byte) (Key, error) {
	n, ok := token.Algorithms[alg]
	if !ok {
		return Key{}, fmt.Errorf("jwtguard: algorithm %q is not an HMAC algorithm; use HS256, HS384 or HS512", alg)
	}
	if len(secret) < n {
		return Key{}, fmt.Errorf("jwtguard: the secret is %d bytes; %s needs at least %d bytes of random data (try: openssl rand -base64 %d)", len(secret), alg, n, n+n/2)
	}
	return Key{token.NewHMACKey(alg, "", secret)}, nil
}

// GenerateKey returns a new random key for alg: a secret of the hash's
// length for HS256/384/512, a 2048-bit RSA key for RS* and PS* (3072 for
// RS384, RS512, PS384 and PS512), a key on the algorithm's curve for ES*,
// an Ed25519 key for EdDSA and Ed25519. Its kid is as [PrivateKey] gives
// it (none for HMAC).
func GenerateKey(alg string) (Key, error) {
	if n, ok := token.Algorithms[alg]; ok {
		secret := make([]byte, n)
		rand.Read(secret)
		return HMACKey(alg, secret)
	}
	var priv crypto.Signer
	var err error
	switch {
	case strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS"):
		bits := 2048
		if !strings.HasSuffix(alg, "256") {
			bits = 3072
		}
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	case alg == "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case alg == "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case alg == "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case alg == "EdDSA" || alg == "Ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return Key{}, fmt.Errorf("jwtguard: generating a %s key: %w", alg, err)
	}
	if priv == nil {
		return Key{}, unsupportedAlg(alg)
	}
	return PrivateKey(alg, priv)
}

// PrivateKey returns a key that signs and verifies with alg: priv is an
// *rsa.PrivateKey (RS256/384/512, PS256/384/512), an *ecdsa.PrivateKey on
// the algorithm's curve (ES256 on P-256, ES384 on P-384, ES512 on P-521)
// or an ed25519.PrivateKey (EdDSA, or its RFC 9864 name Ed25519; a key for
// either verifies tokens that name the other). An empty alg is the one its
// kind implies: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519.
// Its kid is the RFC 7638 thumbprint of its public JWK (SHA-256,
// base64url); [Key.WithID] sets another.
func PrivateKey(alg string, priv crypto.Signer) (Key, error) {
	if priv == nil {
		return Key{}, errors.New("jwtguard: PrivateKey: no key")
	}
	alg = defaultAlg(alg, priv.Public())
	if !token.Supported(alg) {
		return Key{}, unsupportedAlg(alg)
	}
	k, err := token.NewPrivateKey(alg, "", priv)
	if err != nil {
		return Key{}, fmt.Errorf("jwtguard: %s key: %w", alg, err)
	}
	return withThumbprint(k), nil
}

// PublicKey returns a key that only verifies, for alg: pub is an
// *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey, as for
// [PrivateKey], which also gives its kid and the meaning of an empty alg.
func PublicKey(alg string, pub crypto.PublicKey) (Key, error) {
	alg = defaultAlg(alg, pub)
	if !token.Supported(alg) {
		return Key{}, unsupportedAlg(alg)
	}
	k, err := token.NewPublicKey(alg, "", pub)
	if err != nil {
		return Key{}, fmt.Errorf("jwtguard: %s key: %w", alg, err)
	}
	return withThumbprint(k), nil
}

// defaultAlg is alg, or when alg is empty the algorithm pub's kind implies.
func defaultAlg(alg string, pub crypto.PublicKey) string {
	if alg != "" {
		return alg
	}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return "RS256"
	case *ecdsa.PublicKey:
		if p.Curve != nil {
			switch p.Curve.Params().Name {
			case "P-256":
				return "ES256"
			case "P-384":
				return "ES384"
			case "P-521":
				return "ES512"
			}
		}
		return "ES256" // refused below for its curve
	case ed25519.PublicKey:
		return "EdDSA"
	}
	return ""
}

func unsupportedAlg(alg string) error {
	return fmt.Errorf("jwtguard: algorithm %q is not one jwtguard supports (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, Ed25519)", alg)
}

// ParseKeyPEM returns the key in data, PEM-encoded: a private key
// ("PRIVATE KEY", PKCS #8; "RSA PRIVATE KEY", PKCS #1; "EC PRIVATE KEY",
// SEC 1), which signs and verifies, or a public key ("PUBLIC KEY", PKIX;
// "RSA PUBLIC KEY", PKCS #1), which only verifies. alg, and the kid, are
// as [PrivateKey] has them. An error never includes the key's bytes.
//
// The data is read strictly, so that it cannot mean one thing here and
// another to a laxer reader: it is PEM blocks and white space, nothing
// else. A block is the line "-----BEGIN TYPE-----", lines of base64 (the
// standard alphabet, padded, in canonical form) and the line
// "-----END TYPE-----" of the same TYPE, each with nothing before it on
// its line. A line ends in LF or CRLF (the last one may end in neither),
// after any spaces and tabs. Blank lines, or lines of spaces and tabs,
// may come before, between and after the blocks, but not inside one.
// Anything else is an error: text outside the blocks (such as the
// explanatory text openssl writes with -text, or the "Bag Attributes" of
// a PKCS #12 export: remove it, or write the key alone with openssl
// pkey), a byte order mark, PEM headers (an encrypted key), a BEGIN or
// END line with more on it, an END line of another TYPE, a block without
// its END line, and a key's DER with bytes after it.
//
// An "EC PARAMETERS" block (as openssl ecparam -genkey writes before the
// key) holds no key: it must name P-256, P-384 or P-521 by its OBJECT
// IDENTIFIER (explicit parameters are an error), and the block right
// after it must hold an EC key on that curve. Any other block, or a
// second key, is an error, so the data holds one key.
func ParseKeyPEM(alg string, data []byte) (Key, error) {
	keys, err := parsePEMKeys(alg, data)
	if err != nil {
		return Key{}, err
	}
	if len(keys) != 1 {
		return Key{}, fmt.Errorf("jwtguard: the PEM data holds %d keys, not one", len(keys))
	}
	return keys[0], nil
}

// parsePEMKeys returns every key in data, as ParseKeyPEM reads one.
func parsePEMKeys(alg string, data []byte) ([]Key, error) {
	blocks, err := readPEM(data)
	if err != nil {
		return nil, err
	}
	var (
		keys []Key
		// params is the number of an EC PARAMETERS block not yet followed
		// by its key (0 for none), and curve the curve it names.
		params int
		curve  string
	)
	for i, b := range blocks {
		n := i + 1
		if b.typ == "EC PARAMETERS" {
			if params != 0 {
				return nil, fmt.Errorf("jwtguard: PEM block %d (EC PARAMETERS) is followed by another EC PARAMETERS block, not by the EC key it is for", params)
			}
			c, err := ecParamsCurve(b.der)
			if err != nil {
				return nil, fmt.Errorf("jwtguard: PEM block %d (EC PARAMETERS): %w", n, nested(err))
			}
			params, curve = n, c
			continue
		}
		k, err := pemKey(alg, b)
		if err != nil {
			return nil, fmt.Errorf("jwtguard: PEM block %d (%s): %w", n, pemTypeName(b.typ), nested(err))
		}
		if params != 0 {
			pub, ok := k.k.Public.(*ecdsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("jwtguard: PEM block %d (EC PARAMETERS) names %s, but the key after it (PEM block %d, %s) is not an EC key", params, curve, n, b.typ)
			}
			if got := pub.Curve.Params().Name; got != curve {
				return nil, fmt.Errorf("jwtguard: PEM block %d (EC PARAMETERS) names %s, but the key after it (PEM block %d, %s) is on %s", params, curve, n, b.typ, got)
			}
			params = 0
		}
		keys = append(keys, k)
	}
	if params != 0 {
		return nil, fmt.Errorf("jwtguard: PEM block %d (EC PARAMETERS) is not followed by the EC key it is for", params)
	}
	if len(keys) == 0 {
		return nil, errors.New("jwtguard: the PEM data holds no key")
	}
	return keys, nil
}

// pemKey reads the key of one block (never EC PARAMETERS).
func pemKey(alg string, b pemBlock) (Key, error) {
	var parse func([]byte) (any, error)
	switch b.typ {
	case "PRIVATE KEY":
		parse = x509.ParsePKCS8PrivateKey
	case "RSA PRIVATE KEY":
		parse = func(der []byte) (any, error) { return x509.ParsePKCS1PrivateKey(der) }
	case "EC PRIVATE KEY":
		parse = func(der []byte) (any, error) { return x509.ParseECPrivateKey(der) }
	case "PUBLIC KEY":
		parse = x509.ParsePKIXPublicKey
	case "RSA PUBLIC KEY":
		parse = func(der []byte) (any, error) { return x509.ParsePKCS1PublicKey(der) }
	default:
		return Key{}, errors.New("not a key block (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY)")
	}
	// crypto/x509 ignores bytes after a PKCS #8 or SEC 1 key; they are
	// refused here, for every kind, so that nothing rides along unread.
	rest, err := asn1.Unmarshal(b.der, &asn1.RawValue{})
	if err != nil {
		return Key{}, errors.New("the block's data is not DER")
	}
	if len(rest) != 0 {
		return Key{}, fmt.Errorf("the block's data has %d bytes after the key's DER", len(rest))
	}
	key, err := parse(b.der)
	if err != nil {
		return Key{}, err
	}
	if err := checkEmbeddedPublic(b.typ, b.der, key); err != nil {
		return Key{}, err
	}
	if s, ok := key.(crypto.Signer); ok && strings.Contains(b.typ, "PRIVATE") {
		return PrivateKey(alg, s)
	}
	return PublicKey(alg, key)
}

// oneAsymmetricKey is PKCS #8 (RFC 5958 §2) with its optional public key,
// which crypto/x509 does not read.
type oneAsymmetricKey struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
	Attributes asn1.RawValue  `asn1:"optional,tag:0"`
	PublicKey  asn1.BitString `asn1:"optional,tag:1"`
}

// sec1Key is SEC 1's ECPrivateKey (RFC 5915 §3) with its optional public
// key, which crypto/x509 does not read.
type sec1Key struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// checkEmbeddedPublic refuses a private key whose DER carries a public key
// that is not the private key's own. crypto/x509 computes the public key
// from the private one and ignores the embedded one; OpenSSL takes the
// embedded one (openssl pkey -pubout prints it), so a key file made to
// carry another public key would be one key here and another to the
// verifiers given what openssl extracted.
func checkEmbeddedPublic(typ string, der []byte, key any) error {
	var embedded []byte
	switch typ {
	case "EC PRIVATE KEY":
		var k sec1Key
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			return fmt.Errorf("the EC key's DER: %w", err)
		}
		embedded = k.PublicKey.RightAlign()
	case "PRIVATE KEY":
		var k oneAsymmetricKey
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			return fmt.Errorf("the PKCS #8 key's DER: %w", err)
		}
		embedded = k.PublicKey.RightAlign()
		if _, ok := key.(*ecdsa.PrivateKey); ok {
			var inner sec1Key
			if _, err := asn1.Unmarshal(k.PrivateKey, &inner); err != nil {
				return fmt.Errorf("the PKCS #8 key's EC key: %w", err)
			}
			if err := samePublic(inner.PublicKey.RightAlign(), key); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	return samePublic(embedded, key)
}

// samePublic checks an embedded public key (none: nil) against priv's own.
func samePublic(embedded []byte, priv any) error {
	if embedded == nil {
		return nil
	}
	var own []byte
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		e, err := p.PublicKey.ECDH()
		if err != nil {
			return err
		}
		own = e.Bytes() // uncompressed, as OpenSSL writes it
	case ed25519.PrivateKey:
		own = p.Public().(ed25519.PublicKey)
	case *rsa.PrivateKey:
		own = x509.MarshalPKCS1PublicKey(&p.PublicKey)
	}
	if !bytes.Equal(embedded, own) {
		return errors.New("the public key written inside the private key is not the private key's own (OpenSSL would extract that one); make the file again from the private key alone (openssl pkey -in FILE -out NEW)")
	}
	return nil
}

// The named curves an EC PARAMETERS block may hold (RFC 5480 §2.1.1.1).
var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// ecParamsCurve returns the name of the curve an EC PARAMETERS block's
// DER names: P-256, P-384 or P-521, by OBJECT IDENTIFIER only.
func ecParamsCurve(der []byte) (string, error) {
	switch {
	case bytes.HasPrefix(der, []byte{0x30}): // SEQUENCE: SpecifiedECDomain
		return "", errors.New("the parameters are explicit, not a named curve; leave the block out, or write it by name (openssl ecparam -name prime256v1, secp384r1 or secp521r1)")
	case bytes.HasPrefix(der, []byte{0x05}): // NULL: implicitlyCA
		return "", errors.New("the parameters are implicit (NULL) and name no curve")
	}
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(der, &oid)
	if err != nil {
		return "", errors.New("the block is not a DER OBJECT IDENTIFIER naming a curve")
	}
	if len(rest) != 0 {
		return "", fmt.Errorf("the block has %d bytes after the curve's OBJECT IDENTIFIER", len(rest))
	}
	switch {
	case oid.Equal(oidP256):
		return "P-256", nil
	case oid.Equal(oidP384):
		return "P-384", nil
	case oid.Equal(oidP521):
		return "P-521", nil
	}
	return "", fmt.Errorf("the curve %s is not P-256 (1.2.840.10045.3.1.7), P-384 (1.3.132.0.34) or P-521 (1.3.132.0.35)", oid)
}

// A pemBlock is one block of PEM data: its TYPE and the bytes its base64
// encodes.
type pemBlock struct {
	typ string
	der []byte
}

const (
	pemBegin  = "-----BEGIN "
	pemEnd    = "-----END "
	pemDashes = "-----"
)

// readPEM splits data into its blocks, as strictly as ParseKeyPEM
// documents. encoding/pem is not used: its Decode skips whatever comes
// before a block, including a block it cannot read (one whose BEGIN or
// END line has more on it, or whose END names another type), and takes
// spaces and blank lines inside the base64.
func readPEM(data []byte) ([]pemBlock, error) {
	var (
		blocks []pemBlock
		in     bool   // inside a block, after its BEGIN line
		typ    string // the block's TYPE, when in
		name   string // its TYPE as errors show it
		body   []byte // its base64 so far
		begun  int    // its BEGIN line's number
		n      int    // the line's number
	)
	for raw := range bytes.Lines(data) {
		n++
		line := pemLine(raw)
		if !in {
			if len(line) == 0 {
				continue
			}
			t, ok := pemBeginType(line)
			if !ok {
				return nil, pemTextError(line, n, blocks)
			}
			in, typ, name, body, begun = true, t, pemTypeName(t), nil, n
			continue
		}
		switch {
		case bytes.HasPrefix(line, []byte(pemEnd)):
			if string(line) != pemEnd+typ+pemDashes {
				return nil, fmt.Errorf("jwtguard: PEM block %d (%s): line %d is not its END line (it names another type, or has more on it)", len(blocks)+1, name, n)
			}
			der, err := base64.StdEncoding.Strict().DecodeString(string(body))
			switch {
			case len(body) == 0:
				return nil, fmt.Errorf("jwtguard: PEM block %d (%s) is empty", len(blocks)+1, name)
			case err != nil:
				return nil, fmt.Errorf("jwtguard: PEM block %d (%s): its base64 is not valid (cut short, padded before its end, or not in its canonical form)", len(blocks)+1, name)
			}
			blocks = append(blocks, pemBlock{typ: typ, der: der})
			in = false
		case bytes.HasPrefix(line, []byte(pemBegin)):
			return nil, fmt.Errorf("jwtguard: PEM block %d (%s), begun on line %d, has no END line before line %d begins another", len(blocks)+1, name, begun, n)
		case len(body) == 0 && bytes.IndexByte(line, ':') >= 0:
			return nil, fmt.Errorf("jwtguard: PEM block %d (%s): PEM headers (an encrypted key?) are not read; decrypt the key first", len(blocks)+1, name)
		case len(line) == 0:
			return nil, fmt.Errorf("jwtguard: PEM block %d (%s): line %d, inside the block, is blank", len(blocks)+1, name, n)
		case !isBase64(line):
			return nil, fmt.Errorf("jwtguard: PEM block %d (%s): line %d, inside the block, is not base64", len(blocks)+1, name, n)
		default:
			body = append(body, line...)
		}
	}
	if in {
		return nil, fmt.Errorf("jwtguard: PEM block %d (%s), begun on line %d, has no END line", len(blocks)+1, name, begun)
	}
	return blocks, nil
}

// pemLine is raw, a line of PEM data, without its LF or CRLF and the
// spaces and tabs before it.
func pemLine(raw []byte) []byte {
	line := bytes.TrimSuffix(raw, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return bytes.TrimRight(line, " \t")
}

// pemBeginType returns the TYPE of a BEGIN line: a label as RFC 7468 §3
// has it, printable ASCII words joined by single spaces or hyphens.
func pemBeginType(line []byte) (string, bool) {
	s, ok := bytes.CutPrefix(line, []byte(pemBegin))
	if !ok {
		return "", false
	}
	if s, ok = bytes.CutSuffix(s, []byte(pemDashes)); !ok || len(s) == 0 {
		return "", false
	}
	for i, c := range s {
		switch {
		case c == ' ' || c == '-':
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' || s[i-1] == '-' {
				return "", false
			}
		case c < 0x21 || c > 0x7e:
			return "", false
		}
	}
	return string(s), true
}

// pemTypeName is a block's TYPE as errors show it: as it is when it is of
// capitals, digits and spaces, as every TYPE in use is, and else only its
// length, so that a key's base64 on its BEGIN line is never shown.
func pemTypeName(typ string) string {
	if len(typ) <= 40 {
		ok := true
		for i := 0; i < len(typ); i++ {
			if c := typ[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ') {
				ok = false
			}
		}
		if ok {
			return typ
		}
	}
	return fmt.Sprintf("a type of %d characters", len(typ))
}

// isBase64 reports whether line holds only characters of standard base64
// and its padding.
func isBase64(line []byte) bool {
	for _, c := range line {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// pemTextError is the error for line n, which is text outside the blocks
// (after those read), with advice for the text most often found there.
func pemTextError(line []byte, n int, blocks []pemBlock) error {
	where := "before the first PEM block"
	if len(blocks) > 0 {
		where = fmt.Sprintf("after PEM block %d (%s)", len(blocks), pemTypeName(blocks[len(blocks)-1].typ))
	}
	const alone = "; openssl pkey -in FILE writes the key alone (add -pubin for a public key)"
	var advice string
	trimmed := bytes.TrimLeft(line, " \t")
	switch {
	case bytes.HasPrefix(line, []byte("\xef\xbb\xbf")):
		advice = "it starts with a byte order mark: save the file without one"
	case bytes.HasPrefix(line, []byte("Bag Attributes")) || bytes.HasPrefix(line, []byte("Key Attributes")):
		advice = "it is the Bag Attributes of a PKCS #12 export: remove them" + alone
	case bytes.Contains(line, []byte("Private-Key:")) || bytes.Contains(line, []byte("Public-Key:")) || bytes.HasPrefix(line, []byte("Certificate:")):
		advice = "it is openssl's explanatory text (-text): remove it" + alone
	case bytes.HasPrefix(line, []byte(pemBegin)) && bytes.Contains(line, []byte(pemEnd)):
		advice = "it is a block on one line (were its line breaks lost?)"
	case bytes.HasPrefix(line, []byte(pemBegin)):
		advice = "a BEGIN line must be -----BEGIN TYPE----- alone"
	case bytes.HasPrefix(line, []byte(pemEnd)):
		advice = "it is an END line without its BEGIN line"
	case bytes.HasPrefix(trimmed, []byte(pemBegin)) || bytes.HasPrefix(trimmed, []byte(pemEnd)):
		advice = "a BEGIN or END line must start its line"
	default:
		advice = "remove every line that is not in a block (from its BEGIN line to its END line)" + alone
	}
	return fmt.Errorf("jwtguard: the PEM data has text on line %d, %s: only PEM blocks, and white space around them, are read; %s", n, where, advice)
}

// withThumbprint gives k its RFC 7638 thumbprint as kid.
func withThumbprint(k *token.Key) Key {
	j, _ := publicJWK(k)
	sum := sha256.Sum256(j.thumbprintInput())
	return Key{k.WithID(base64.RawURLEncoding.EncodeToString(sum[:]))}
}

// ID returns k's kid: "" for none.
func (k Key) ID() string {
	if k.k == nil {
		return ""
	}
	return k.k.ID
}

// Algorithm returns the algorithm k is for ("" for the zero Key).
func (k Key) Algorithm() string {
	if k.k == nil {
		return ""
	}
	return k.k.Alg
}

// CanSign reports whether k signs: it has its private part, or is an HMAC
// secret.
func (k Key) CanSign() bool { return k.k != nil && k.k.CanSign() }

// WithID returns k with kid id, which tokens it signs carry in their
// header and a [KeySet] finds it by. A kid is printable ASCII without '"'
// or '\', at most 128 bytes; [New] and [NewKeySet] refuse another.
func (k Key) WithID(id string) Key {
	if k.k == nil {
		return k
	}
	return Key{k.k.WithID(id)}
}

// Public returns k without its private part: a key that only verifies,
// with the same kid and algorithm. An HMAC key has no public part: Public
// returns the zero Key.
func (k Key) Public() Key {
	if k.k == nil {
		return k
	}
	p := k.k.PublicOnly()
	if p == nil {
		return Key{}
	}
	return Key{p}
}

// MarshalPEM returns k as PEM, for a file [ParseKeyPEM] (and
// JWT_PRIVATE_KEY_FILE or JWT_PUBLIC_KEY_FILE of [FromEnv]) reads back: its
// private key as PKCS #8 ("PRIVATE KEY") when it can sign, else its public
// key as PKIX ("PUBLIC KEY"); k.Public().MarshalPEM() is the public half
// of a signing key. PEM holds neither kid nor algorithm: a key read back
// gets its kid from its thumbprint again (so one given by WithID is
// lost), and its algorithm from what the reader is told (JWT_ALGORITHM),
// else the one its kind implies. An HMAC key is an error: keep its secret
// as the secret it is. Write a private key where only its owner may read
// it (os.WriteFile(path, pem, 0o600)).
func (k Key) MarshalPEM() ([]byte, error) {
	if k.k == nil {
		return nil, errors.New("jwtguard: the zero Key has no PEM")
	}
	var (
		b   pem.Block
		err error
	)
	switch {
	case k.k.Public == nil:
		return nil, errors.New("jwtguard: an HMAC key has no PEM form; keep its secret as it is")
	case k.k.Private() != nil:
		b.Type = "PRIVATE KEY"
		b.Bytes, err = x509.MarshalPKCS8PrivateKey(k.k.Private())
	default:
		b.Type = "PUBLIC KEY"
		b.Bytes, err = x509.MarshalPKIXPublicKey(k.k.Public)
	}
	if err != nil {
		return nil, fmt.Errorf("jwtguard: MarshalPEM: %w", err)
	}
	return pem.EncodeToMemory(&b), nil
}

// validKeyID reports whether id is a kid as [Key.WithID] documents it.
func validKeyID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// A jwk is a JSON Web Key (RFC 7517) of the kinds Key has: RSA, EC (P-256,
// P-384, P-521), OKP (Ed25519) and oct, with the private members read by
// ParseJWK and never written.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	// Private members, read only.
	D   string `json:"d,omitempty"`
	P   string `json:"p,omitempty"`
	Q   string `json:"q,omitempty"`
	DP  string `json:"dp,omitempty"`
	DQ  string `json:"dq,omitempty"`
	QI  string `json:"qi,omitempty"`
	K   string `json:"k,omitempty"`
	Oth []any  `json:"oth,omitempty"`
}

// thumbprintInput is the JSON RFC 7638 §3.2 hashes: the required members
// of the key's kind, in lexicographic order, without white space. The
// values are base64url and curve names, which need no escaping.
func (j *jwk) thumbprintInput() []byte {
	switch j.Kty {
	case "RSA":
		return []byte(`{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`)
	case "EC":
		return []byte(`{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`)
	}
	return []byte(`{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`)
}

var b64url = base64.RawURLEncoding.Strict()

// publicJWK returns the public JWK of k, with use "sig", its alg and kid;
// an error for an HMAC key.
func publicJWK(k *token.Key) (*jwk, error) {
	j := &jwk{Kid: k.ID, Use: "sig", Alg: k.Alg}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64url.EncodeToString(pub.N.Bytes()), b64url.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 ‖ X ‖ Y, each of the curve's size
		if err != nil {
			return nil, err
		}
		size := (len(raw) - 1) / 2
		j.Kty, j.Crv = "EC", pub.Curve.Params().Name
		j.X, j.Y = b64url.EncodeToString(raw[1:1+size]), b64url.EncodeToString(raw[1+size:])
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64url.EncodeToString(pub)
	default:
		return nil, errors.New("jwtguard: an HMAC key has no public part to publish")
	}
	return j, nil
}

// MarshalJSON returns k's public JWK (RFC 7517) with its kty, kid, alg and
// use "sig": never a private part. An HMAC key, which has no public part,
// is an error.
func (k Key) MarshalJSON() ([]byte, error) {
	if k.k == nil {
		return nil, errors.New("jwtguard: the zero Key has no JWK")
	}
	j, err := publicJWK(k.k)
	if err != nil {
		return nil, err
	}
	return marshalJWK(j), nil
}

// marshalJWK writes j's public members; their values are base64url,
// algorithm and curve names and a kid of printable ASCII, escaped by
// encoding/json all the same.
func marshalJWK(j *jwk) []byte {
	pub := *j
	pub.D, pub.P, pub.Q, pub.DP, pub.DQ, pub.QI, pub.K, pub.Oth = "", "", "", "", "", "", "", nil
	b, _ := json.Marshal(&pub)
	return b
}

// maxJWKSize bounds a JWK ParseJWK reads: an 8192-bit RSA private key is
// under 6 KiB.
const maxJWKSize = 16 << 10

// ParseJWK returns the key of a JSON Web Key (RFC 7517): RSA, EC on P-256,
// P-384 or P-521, OKP with Ed25519, or oct (an HMAC secret); with private
// members (d, and RSA's p, q, dp, dq, qi) it signs too. The JSON is read
// strictly: a member repeated or in two letter cases, an unknown kty or
// curve, base64 that is not unpadded base64url, or a key that does not
// validate is an error.
//
// The algorithm is alg when it is not empty, else the JWK's own alg (which
// is optional, RFC 7517 §4.4), else the one its kind implies as
// [PrivateKey] has it (an oct key needs one); when both are given they
// must agree. It never comes from a token. use, when present, must be
// "sig", and key_ops, when present, must include "verify". The kid is the
// JWK's, else the RFC 7638 thumbprint (none for oct).
func ParseJWK(data []byte, alg string) (Key, error) {
	if len(data) > maxJWKSize {
		return Key{}, fmt.Errorf("jwtguard: the JWK is over %d bytes", maxJWKSize)
	}
	var j jwk
	if err := strictjson.Unmarshal(data, &j); err != nil {
		return Key{}, fmt.Errorf("jwtguard: the JWK: %w", err)
	}
	k, err := jwkKey(&j, alg)
	if err != nil {
		return Key{}, fmt.Errorf("jwtguard: the JWK%s: %w", kidNote(j.Kid), err)
	}
	return k, nil
}

func kidNote(kid string) string {
	if kid == "" || !validKeyID(kid) {
		return ""
	}
	return fmt.Sprintf(" (kid %q)", kid)
}

// checkJWKUse refuses a JWK whose alg is not alg (when both are set),
// whose use is not sig, whose key_ops lack verify, or with oth.
func checkJWKUse(j *jwk, alg string) error {
	switch {
	case alg != "" && j.Alg != "" && alg != j.Alg:
		return fmt.Errorf("its alg is %q, not the %q configured", j.Alg, alg)
	case j.Use != "" && j.Use != "sig":
		return fmt.Errorf("its use is %q, not sig", j.Use)
	case j.KeyOps != nil && !contains(j.KeyOps, "verify"):
		return errors.New("its key_ops do not include verify")
	case len(j.Oth) != 0:
		return errors.New("RSA keys of more than two primes (oth) are not read")
	}
	return nil
}

// jwkKey is ParseJWK of a decoded JWK.
func jwkKey(j *jwk, alg string) (Key, error) {
	if err := checkJWKUse(j, alg); err != nil {
		return Key{}, err
	}
	alg = cmpOr(alg, j.Alg)
	var (
		k   Key
		err error
	)
	switch j.Kty {
	case "oct":
		secret, e := b64url.DecodeString(j.K)
		if e != nil || j.K == "" {
			return Key{}, errors.New("k is not base64url")
		}
		k, err = HMACKey(alg, secret)
		if err == nil && j.Kid != "" {
			k = k.WithID(j.Kid)
		}
		return k, err
	case "RSA":
		k, err = rsaJWK(j, alg)
	case "EC":
		k, err = ecJWK(j, alg)
	case "OKP":
		k, err = okpJWK(j, alg)
	default:
		return Key{}, fmt.Errorf("kty %q is not RSA, EC, OKP or oct", j.Kty)
	}
	if err != nil {
		return Key{}, err
	}
	if j.Kid != "" {
		k = k.WithID(j.Kid)
	}
	return k, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// jwkInt decodes a base64url big-endian unsigned integer, refusing leading
// zeros (RFC 7518 §6.3.1.1: the minimal octets), so that a key has one
// spelling and one thumbprint.
func jwkInt(name, s string) (*big.Int, error) {
	b, err := b64url.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%s is not base64url", name)
	}
	if b[0] == 0 {
		return nil, fmt.Errorf("%s has a leading zero octet", name)
	}
	return new(big.Int).SetBytes(b), nil
}

func rsaJWK(j *jwk, alg string) (Key, error) {
	if j.Crv != "" || j.X != "" || j.Y != "" || j.K != "" {
		return Key{}, errors.New("an RSA key with members of another kind")
	}
	n, err := jwkInt("n", j.N)
	if err != nil {
		return Key{}, err
	}
	e, err := jwkInt("e", j.E)
	if err != nil {
		return Key{}, err
	}
	if !e.IsInt64() || e.Int64() > 1<<31-1 {
		return Key{}, errors.New("e is too large")
	}
	pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
	if j.D == "" {
		if j.P != "" || j.Q != "" || j.DP != "" || j.DQ != "" || j.QI != "" {
			return Key{}, errors.New("private members without d")
		}
		return PublicKey(alg, pub)
	}
	priv := &rsa.PrivateKey{PublicKey: *pub}
	if priv.D, err = jwkInt("d", j.D); err != nil {
		return Key{}, err
	}
	p, err := jwkInt("p", j.P)
	if err != nil {
		return Key{}, err
	}
	q, err := jwkInt("q", j.Q)
	if err != nil {
		return Key{}, err
	}
	priv.Primes = []*big.Int{p, q}
	// dp, dq and qi are recomputed (and so need not be trusted).
	priv.Precompute()
	return PrivateKey(alg, priv)
}

func ecJWK(j *jwk, alg string) (Key, error) {
	if j.N != "" || j.E != "" || j.K != "" || j.P != "" || j.Q != "" || j.DP != "" || j.DQ != "" || j.QI != "" {
		return Key{}, errors.New("an EC key with members of another kind")
	}
	var curve elliptic.Curve
	switch j.Crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return Key{}, fmt.Errorf("crv %q is not P-256, P-384 or P-521", j.Crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, errX := b64url.DecodeString(j.X)
	y, errY := b64url.DecodeString(j.Y)
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return Key{}, fmt.Errorf("x and y must be %d bytes of base64url each (RFC 7518 §6.2.1.2)", size)
	}
	raw := append(append([]byte{4}, x...), y...)
	if j.D == "" {
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
		if err != nil {
			return Key{}, err
		}
		return PublicKey(alg, pub)
	}
	d, err := b64url.DecodeString(j.D)
	if err != nil || len(d) != size {
		return Key{}, fmt.Errorf("d must be %d bytes of base64url (RFC 7518 §6.2.2.1)", size)
	}
	priv, err := ecdsa.ParseRawPrivateKey(curve, d)
	if err != nil {
		return Key{}, err
	}
	if own, _ := priv.PublicKey.Bytes(); string(own) != string(raw) {
		return Key{}, errors.New("x and y are not the public key of d")
	}
	return PrivateKey(alg, priv)
}

func okpJWK(j *jwk, alg string) (Key, error) {
	if j.Crv != "Ed25519" {
		return Key{}, fmt.Errorf("crv %q is not Ed25519", j.Crv)
	}
	if j.N != "" || j.E != "" || j.Y != "" || j.K != "" || j.P != "" || j.Q != "" {
		return Key{}, errors.New("an OKP key with members of another kind")
	}
	x, err := b64url.DecodeString(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return Key{}, errors.New("x must be 32 bytes of base64url")
	}
	if j.D == "" {
		return PublicKey(alg, ed25519.PublicKey(x))
	}
	d, err := b64url.DecodeString(j.D)
	if err != nil || len(d) != ed25519.SeedSize {
		return Key{}, errors.New("d must be 32 bytes of base64url")
	}
	priv := ed25519.NewKeyFromSeed(d)
	if string(priv.Public().(ed25519.PublicKey)) != string(x) {
		return Key{}, errors.New("x is not the public key of d")
	}
	return PrivateKey(alg, priv)
}
