package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// pmKeys are crypto keys for the PEM tests, made once: RSA is slow to
// make.
var pmKeys = sync.OnceValue(func() (k struct {
	rsa              *rsa.PrivateKey
	p256, p384, p521 *ecdsa.PrivateKey
	ed               ed25519.PrivateKey
}) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	k.p256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.p384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	k.p521, _ = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	return k
})

// The EC PARAMETERS blocks of the named curves: the DER of their OBJECT
// IDENTIFIERs, as openssl ecparam writes them.
var (
	pmParamsP256 = pmBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	pmParamsP384 = pmBlock("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22})
	pmParamsP521 = pmBlock("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23})
)

func pmBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func pmPKCS8(t testing.TB, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pmBlock("PRIVATE KEY", der)
}

func pmPKIX(t testing.TB, k any) string {
	t.Helper()
	return pmBlock("PUBLIC KEY", mustPKIX(t, k))
}

func pmSEC1(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pmBlock("EC PRIVATE KEY", der)
}

func pmTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pem", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pmBase64Run is a run of base64 long enough to be a piece of a key.
var pmBase64Run = regexp.MustCompile(`[A-Za-z0-9+/=]{16,}`)

// pmRefused checks that ParseKeyPEM refuses data with an error of ours
// that contains every one of want and no piece of data's base64.
func pmRefused(t *testing.T, name, alg, data string, want ...string) {
	t.Helper()
	k, err := jwtguard.ParseKeyPEM(alg, []byte(data))
	if err == nil {
		t.Errorf("%s: accepted (%s %q)", name, k.Algorithm(), k.ID())
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "jwtguard: ") || strings.Contains(msg[len("jwtguard: "):], "jwtguard: ") {
		t.Errorf("%s: error %q is not one jwtguard error", name, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: error %q does not say %q", name, msg, w)
		}
	}
	for _, run := range pmBase64Run.FindAllString(data, -1) {
		if strings.Contains(msg, run) {
			t.Errorf("%s: the error shows the data's base64 %q: %s", name, run, msg)
		}
	}
}

// TestParseKeyPEMWhiteSpace: the white space real files have is read:
// CRLF line endings, spaces and tabs at the ends of lines, blank lines
// (also of spaces and tabs, and with CR) before, between and after the
// blocks, no final line ending, and base64 lines of any length. Each
// spelling is the same key.
func TestParseKeyPEMWhiteSpace(t *testing.T) {
	ks := pmKeys()
	for name, plain := range map[string]string{
		"Ed25519 PKCS #8":               pmPKCS8(t, ks.ed),
		"P-521 SEC 1 after params":      pmParamsP521 + pmSEC1(t, ks.p521),
		"RSA PKCS #1":                   pmBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(ks.rsa)),
		"P-256 PKIX after params":       pmParamsP256 + pmPKIX(t, &ks.p256.PublicKey),
		"openssl's P-384 EC PARAMETERS": pmTestdata(t, "openssl-ecparam-p384.pem") + pmSEC1(t, ks.p384),
	} {
		want, err := jwtguard.ParseKeyPEM("", []byte(plain))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
		body := func(s string) bool { return !strings.HasPrefix(s, "-----") }
		var oneLine []string // the base64 of each block on one line
		for i, l := range lines {
			if body(l) && i > 0 && body(lines[i-1]) {
				oneLine[len(oneLine)-1] += l
			} else {
				oneLine = append(oneLine, l)
			}
		}
		var short []string // lines of 4 characters
		for _, l := range lines {
			for body(l) && len(l) > 4 {
				short, l = append(short, l[:4]), l[4:]
			}
			short = append(short, l)
		}
		for spelling, data := range map[string]string{
			"CRLF":                      strings.ReplaceAll(plain, "\n", "\r\n"),
			"trailing spaces and tabs":  strings.ReplaceAll(plain, "\n", " \t \n"),
			"trailing spaces then CRLF": strings.ReplaceAll(plain, "\n", "\t \r\n"),
			"blank lines around":        "\n \n\t\n\r\n" + strings.ReplaceAll(plain, "-----\n-----BEGIN", "-----\n\n  \r\n\t\n-----BEGIN") + "\n\n \t\n",
			"no final line ending":      strings.TrimSuffix(plain, "\n"),
			"base64 on one line":        strings.Join(oneLine, "\n"),
			"base64 in short lines":     strings.Join(short, "\n"),
		} {
			k, err := jwtguard.ParseKeyPEM("", []byte(data))
			if err != nil || k.ID() != want.ID() || k.CanSign() != want.CanSign() || k.Algorithm() != want.Algorithm() {
				t.Errorf("%s, %s: %q %q %v, %v", name, spelling, k.Algorithm(), k.ID(), k.CanSign(), err)
			}
		}
	}
}

// TestParseKeyPEMTextRefused: text before the first block, between two
// blocks or after the last is refused, with the line it is on, wherever
// it is and whatever it is: a comment, a second key behind junk, a block
// hidden after a comment, a byte order mark, white space other than
// spaces, tabs, CR and LF, a BEGIN line not at its line's start.
func TestParseKeyPEMTextRefused(t *testing.T) {
	ks := pmKeys()
	key := pmPKCS8(t, ks.ed)
	pub := pmPKIX(t, ks.ed.Public())
	other := pmPKCS8(t, ks.p256)
	for name, tc := range map[string]struct {
		data string
		want []string
	}{
		"a comment before":          {"# the signing key\n" + key, []string{"line 1, before the first PEM block", "remove every line that is not in a block"}},
		"a word before, same line":  {"key: " + key, []string{"line 1, before the first PEM block"}},
		"a block after a comment":   {"\n\nsee below\n" + key, []string{"line 3, before the first PEM block"}},
		"junk between two keys":     {key + "junk\n" + other, []string{"line 4, after PEM block 1 (PRIVATE KEY)"}},
		"junk between params, key":  {pmParamsP256 + "--\n" + pmSEC1(t, ks.p256), []string{"line 4, after PEM block 1 (EC PARAMETERS)"}},
		"junk after":                {key + "\n\ntrailing\n", []string{"line 6, after PEM block 1 (PRIVATE KEY)"}},
		"junk after, no newline":    {key + "x", []string{"line 4, after PEM block 1"}},
		"junk after the public key": {pub + "#", []string{"line 4"}},
		"a byte order mark":         {"\xef\xbb\xbf" + key, []string{"line 1", "byte order mark"}},
		"a byte order mark alone":   {"\xef\xbb\xbf\n" + key, []string{"line 1", "byte order mark"}},
		"a vertical tab":            {"\v\n" + key, []string{"line 1"}},
		"a form feed between":       {pmParamsP256 + "\f\n" + pmSEC1(t, ks.p256), []string{"line 4"}},
		"a no-break space":          {"\u00a0\n" + key, []string{"line 1"}},
		"a NUL":                     {key + "\x00", []string{"line 4"}},
		"a lone CR":                 {"\r \n" + key, []string{"line 1"}},
		"an indented BEGIN line":    {"  " + key, []string{"line 1", "must start its line"}},
		"an END line alone":         {"-----END PRIVATE KEY-----\n" + key, []string{"line 1", "END line without its BEGIN line"}},
		"only text":                 {"hello", []string{"line 1, before the first PEM block"}},
	} {
		pmRefused(t, name, "", tc.data, tc.want...)
	}
}

// TestParseKeyPEMExplanatoryText: the text openssl writes beside a key
// (-text, before or after it; a PKCS #12 export's Bag Attributes; a
// certificate's -text) is refused with an error that says what it is and
// what to remove; without the text, the same data is read.
func TestParseKeyPEMExplanatoryText(t *testing.T) {
	ks := pmKeys()
	key := pmPKCS8(t, ks.p256)
	// openssl pkcs12 -in FILE.p12 -nodes, openssl 3.0 (the key is ours).
	bag := "Bag Attributes\n    localKeyID: 68 57 32 20 8C 94 0E 6E 5A 9D 76 13 0D 28 8E F5 E1 9D 7E 33 \nKey Attributes: <No Attributes>\n"
	// openssl x509 -text's first lines.
	cert := "Certificate:\n    Data:\n        Version: 3 (0x2)\n"
	for name, tc := range map[string]struct {
		data, without string
		want          []string
	}{
		// openssl ec -pubin -text: the text, then the key.
		"openssl ec -text": {pmTestdata(t, "openssl-ec-text.pem"), "", []string{"line 1, before the first PEM block", "openssl's explanatory text (-text)", "openssl pkey"}},
		// openssl pkey -pubin -text: the key, then the text.
		"openssl pkey -text":                 {pmTestdata(t, "openssl-pkey-text.pem"), "", []string{"line 4, after PEM block 1 (PUBLIC KEY)", "openssl's explanatory text (-text)"}},
		"Bag Attributes":                     {bag + key, key, []string{"line 1, before the first PEM block", "Bag Attributes of a PKCS #12 export", "openssl pkey -in FILE"}},
		"Key Attributes":                     {"Key Attributes: <No Attributes>\n" + key, key, []string{"line 1", "Bag Attributes of a PKCS #12 export"}},
		"a certificate's -text before a key": {cert + key, key, []string{"line 1", "openssl's explanatory text (-text)"}},
		// openssl rsa -text (and ec, pkey of a private key): its first lines.
		"openssl rsa -text": {"Private-Key: (2048 bit, 2 primes)\nmodulus:\n    00:c4:1f\n" + key, key, []string{"line 1", "openssl's explanatory text (-text)"}},
	} {
		pmRefused(t, name, "", tc.data, tc.want...)
		without := tc.without
		if without == "" { // the testdata: its one block alone
			b, _ := pem.Decode([]byte(tc.data))
			without = string(pem.EncodeToMemory(b))
		}
		if _, err := jwtguard.ParseKeyPEM("", []byte(without)); err != nil {
			t.Errorf("%s, without the text: %v", name, err)
		}
	}
}

// TestParseKeyPEMFraming: what encoding/pem's Decode takes and this
// reader does not. Decode skips a block it cannot read and goes on to the
// next one (a BEGIN or END line with more on it, an END of another type, a
// BEGIN without END), and takes PEM headers, blank lines and spaces in the
// base64, and base64 that is not canonical; each is refused, and the
// error names the block and line without showing the base64.
func TestParseKeyPEMFraming(t *testing.T) {
	ks := pmKeys()
	key := pmPKCS8(t, ks.ed)
	lines := strings.Split(strings.TrimSuffix(key, "\n"), "\n") // BEGIN, base64, END
	if len(lines) != 3 {
		t.Fatalf("an Ed25519 PKCS #8 block of %d lines", len(lines))
	}
	begin, b64, end := lines[0], lines[1], lines[2]
	join := func(l ...string) string { return strings.Join(l, "\n") + "\n" }
	// The same public key in base64 whose last character's unused bits
	// are not zero (encoding/pem decodes it to the same bytes): a P-256
	// PKIX key is 91 bytes, so its base64 ends in "==" after four unused
	// bits.
	pkix := mustPKIX(t, &ks.p256.PublicKey)
	canonical := base64.StdEncoding.EncodeToString(pkix)
	if len(pkix)%3 != 1 || !strings.HasSuffix(canonical, "==") {
		t.Fatalf("a P-256 PKIX key of %d bytes", len(pkix))
	}
	nonCanonical := canonical[:len(canonical)-3] + string(canonical[len(canonical)-3]+1) + "=="
	if d, err := base64.StdEncoding.DecodeString(nonCanonical); err != nil || string(d) != string(pkix) {
		t.Fatalf("the non-canonical base64 is not of the same bytes: %v", err)
	}
	der, _ := base64.StdEncoding.DecodeString(b64)
	for name, tc := range map[string]struct {
		data string
		want []string
	}{
		"BEGIN line with more on it":       {join(begin+" x", b64, end), []string{"line 1", "a BEGIN line must be -----BEGIN TYPE----- alone"}},
		"BEGIN line with more, then a key": {join(begin+" x", b64, end) + key, []string{"line 1"}},
		"BEGIN line of four dashes":        {join(strings.TrimSuffix(begin, "-"), b64, end), []string{"line 1"}},
		"BEGIN of two spaces in its type":  {join("-----BEGIN PRIVATE  KEY-----", b64, "-----END PRIVATE  KEY-----"), []string{"line 1"}},
		"BEGIN line of six dashes":         {join(begin+"-", b64, end+"-"), []string{"line 1", "a BEGIN line must be -----BEGIN TYPE----- alone"}},
		"a control character in the type":  {join("-----BEGIN PRIVATE\x7fKEY-----", b64, "-----END PRIVATE\x7fKEY-----"), []string{"line 1"}},
		"BEGIN of an empty type":           {join("-----BEGIN -----", b64, "-----END -----"), []string{"line 1"}},
		"END line with more on it":         {join(begin, b64, end+" x"), []string{"PEM block 1 (PRIVATE KEY): line 3 is not its END line"}},
		"END line with more, then a key":   {join(begin, b64, end+"-----") + key, []string{"line 3 is not its END line"}},
		"END of another type":              {join(begin, b64, "-----END PUBLIC KEY-----"), []string{"PEM block 1 (PRIVATE KEY): line 3 is not its END line"}},
		"END of another type, then a key":  {join("-----BEGIN PUBLIC KEY-----", b64, end) + key, []string{"PEM block 1 (PUBLIC KEY): line 3 is not its END line"}},
		"END in another case":              {join(begin, b64, strings.ToLower(end)), []string{"line 3", "not base64"}},
		"BEGIN without END, then a key":    {"-----BEGIN CERTIFICATE-----\n" + key, []string{"PEM block 1 (CERTIFICATE), begun on line 1, has no END line before line 2"}},
		"BEGIN without END":                {join(begin, b64), []string{"PEM block 1 (PRIVATE KEY), begun on line 1, has no END line"}},
		"BEGIN without END after a key":    {key + join(begin, b64), []string{"PEM block 2 (PRIVATE KEY), begun on line 4, has no END line"}},
		"encrypted (RFC 1421 headers)":     {join(begin, "Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,00", "", b64, end), []string{"PEM headers (an encrypted key?)"}},
		"a header of another kind":         {join(begin, "Comment: the signing key", b64, end), []string{"PEM headers"}},
		"a colon after the base64":         {join(begin, b64, "a:b", end), []string{"line 3, inside the block, is not base64"}},
		"a blank line inside":              {join(begin, "", b64, end), []string{"line 2, inside the block, is blank"}},
		"a line of spaces inside":          {join(begin, b64, " \t", end), []string{"line 3, inside the block, is blank"}},
		"a space in the base64":            {join(begin, b64[:10]+" "+b64[10:], end), []string{"line 2, inside the block, is not base64"}},
		"an indented base64 line":          {join(begin, "\t"+b64, end), []string{"line 2", "not base64"}},
		"a CR inside a line":               {join(begin, b64[:10]+"\r"+b64[10:], end), []string{"line 2", "not base64"}},
		"URL-safe base64":                  {join(begin, strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(append(der, 0xfb, 0xff))), end), []string{"line 2", "not base64"}},
		"base64 padded in the middle":      {join(begin, b64[:len(b64)-4]+"==", b64[len(b64)-4:], end), []string{"PEM block 1 (PRIVATE KEY): its base64 is not valid"}},
		"base64 cut short":                 {join(begin, b64[:len(b64)-1], end), []string{"its base64 is not valid"}},
		"base64 without its padding":       {join("-----BEGIN PUBLIC KEY-----", strings.TrimRight(canonical, "="), "-----END PUBLIC KEY-----"), []string{"PEM block 1 (PUBLIC KEY): its base64 is not valid"}},
		"base64 not canonical":             {join("-----BEGIN PUBLIC KEY-----", nonCanonical, "-----END PUBLIC KEY-----"), []string{"PEM block 1 (PUBLIC KEY): its base64 is not valid"}},
		"an empty block":                   {join(begin, end), []string{"PEM block 1 (PRIVATE KEY) is empty"}},
		"a nested BEGIN":                   {join(begin, b64, begin, b64, end, end), []string{"PEM block 1 (PRIVATE KEY), begun on line 1, has no END line before line 3"}},
		"a block on one line":              {begin + b64 + end + "\n", []string{"line 1", "a block on one line (were its line breaks lost?)"}},
		"the base64 as the type":           {join("-----BEGIN "+b64+"-----", b64, "-----END "+b64+"-----"), []string{"PEM block 1 (a type of 64 characters): not a key block"}},
		"a lower-case type":                {join("-----BEGIN private key-----", b64, "-----END private key-----"), []string{"PEM block 1 (a type of 11 characters): not a key block"}},
	} {
		pmRefused(t, name, "", tc.data, tc.want...)
	}
}

// TestParseKeyPEMTrailingDER: crypto/x509 reads a PKCS #8 or SEC 1 key
// and ignores bytes after its DER; they are refused, as they are for the
// other kinds, and so is data that is not DER.
func TestParseKeyPEMTrailingDER(t *testing.T) {
	ks := pmKeys()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ks.ed)
	sec1, _ := x509.MarshalECPrivateKey(ks.p256)
	pkix := mustPKIX(t, ks.ed.Public())
	extra := []byte{0x05, 0x00} // a DER NULL
	for name, tc := range map[string]struct {
		typ string
		der []byte
	}{
		"PKCS #8":          {"PRIVATE KEY", pkcs8},
		"SEC 1":            {"EC PRIVATE KEY", sec1},
		"PKIX":             {"PUBLIC KEY", pkix},
		"PKCS #1":          {"RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(ks.rsa)},
		"PKCS #1 public":   {"RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&ks.rsa.PublicKey)},
		"SEC 1 of P-384":   {"EC PRIVATE KEY", mustSEC1(t, ks.p384)},
		"PKCS #8 of RSA":   {"PRIVATE KEY", mustPKCS8(t, ks.rsa)},
		"PKCS #8 of P-521": {"PRIVATE KEY", mustPKCS8(t, ks.p521)},
	} {
		if _, err := jwtguard.ParseKeyPEM("", []byte(pmBlock(tc.typ, tc.der))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		pmRefused(t, name+" with a NULL after", "", pmBlock(tc.typ, append(append([]byte(nil), tc.der...), extra...)), "PEM block 1 ("+tc.typ+"): the block's data has 2 bytes after the key's DER")
		pmRefused(t, name+" with a zero byte after", "", pmBlock(tc.typ, append(append([]byte(nil), tc.der...), 0)), "1 bytes after the key's DER")
	}
	// BER's indefinite length, and a length longer than the data.
	indefinite := append([]byte{0x30, 0x80}, pkcs8[2:]...)
	indefinite = append(indefinite, 0, 0)
	pmRefused(t, "indefinite length", "", pmBlock("PRIVATE KEY", indefinite), "PEM block 1 (PRIVATE KEY): the block's data is not DER")
	pmRefused(t, "cut short", "", pmBlock("PRIVATE KEY", pkcs8[:len(pkcs8)-1]), "the block's data is not DER")
}

func mustSEC1(t testing.TB, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustPKCS8(t testing.TB, k any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParseKeyPEMECParameters: an EC PARAMETERS block is read: it names
// P-256, P-384 or P-521, and the block right after it holds an EC key on
// that curve (SEC 1, PKCS #8 or PKIX); parameters of another curve, or
// before a key of another kind, or without a key after them, or explicit,
// implicit, of an unknown curve or not DER, are refused.
func TestParseKeyPEMECParameters(t *testing.T) {
	ks := pmKeys()
	for name, tc := range map[string]struct {
		data, alg string
	}{
		"P-256, SEC 1":               {pmParamsP256 + pmSEC1(t, ks.p256), "ES256"},
		"P-384, SEC 1":               {pmParamsP384 + pmSEC1(t, ks.p384), "ES384"},
		"P-521, SEC 1":               {pmParamsP521 + pmSEC1(t, ks.p521), "ES512"},
		"P-256, PKCS #8":             {pmParamsP256 + pmPKCS8(t, ks.p256), "ES256"},
		"P-384, PKIX":                {pmParamsP384 + pmPKIX(t, &ks.p384.PublicKey), "ES384"},
		"openssl's P-384 parameters": {pmTestdata(t, "openssl-ecparam-p384.pem") + pmSEC1(t, ks.p384), "ES384"},
		"with blank lines between":   {pmParamsP256 + "\r\n\n" + pmSEC1(t, ks.p256), "ES256"},
	} {
		k, err := jwtguard.ParseKeyPEM("", []byte(tc.data))
		if err != nil || k.Algorithm() != tc.alg {
			t.Errorf("%s: %q, %v", name, k.Algorithm(), err)
		}
	}
	der := func(b ...byte) string { return pmBlock("EC PARAMETERS", b) }
	secp256k1 := der(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a)
	key256 := pmSEC1(t, ks.p256)
	for name, tc := range map[string]struct {
		data string
		want []string
	}{
		"P-256 before a P-384 key":        {pmParamsP256 + pmSEC1(t, ks.p384), []string{"PEM block 1 (EC PARAMETERS) names P-256, but the key after it (PEM block 2, EC PRIVATE KEY) is on P-384"}},
		"P-521 before a P-256 PKCS #8":    {pmParamsP521 + pmPKCS8(t, ks.p256), []string{"names P-521", "(PEM block 2, PRIVATE KEY) is on P-256"}},
		"P-384 before a P-256 public key": {pmParamsP384 + pmPKIX(t, &ks.p256.PublicKey), []string{"names P-384", "is on P-256"}},
		"before an RSA key":               {pmParamsP256 + pmBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(ks.rsa)), []string{"names P-256, but the key after it (PEM block 2, RSA PRIVATE KEY) is not an EC key"}},
		"before an Ed25519 key":           {pmParamsP256 + pmPKCS8(t, ks.ed), []string{"is not an EC key"}},
		"before a certificate":            {pmParamsP256 + pmBlock("CERTIFICATE", []byte{0x30, 0x00}), []string{"PEM block 2 (CERTIFICATE): not a key block"}},
		"after the key":                   {key256 + pmParamsP256, []string{"PEM block 2 (EC PARAMETERS) is not followed by the EC key it is for"}},
		"alone":                           {pmParamsP256, []string{"PEM block 1 (EC PARAMETERS) is not followed by the EC key it is for"}},
		"twice":                           {pmParamsP256 + pmParamsP256 + key256, []string{"PEM block 1 (EC PARAMETERS) is followed by another EC PARAMETERS block"}},
		"for the second key only":         {key256 + pmParamsP256 + key256, []string{"holds 2 keys"}},
		"openssl's explicit parameters":   {pmTestdata(t, "openssl-ecparam-explicit.pem") + key256, []string{"PEM block 1 (EC PARAMETERS): the parameters are explicit, not a named curve"}},
		"implicit (NULL)":                 {der(0x05, 0x00) + key256, []string{"implicit (NULL)"}},
		"secp256k1":                       {secp256k1 + key256, []string{"the curve 1.3.132.0.10 is not P-256"}},
		"bytes after the OID":             {der(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x00) + key256, []string{"1 bytes after the curve's OBJECT IDENTIFIER"}},
		"an OID of a long-form length":    {der(0x06, 0x81, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22) + pmSEC1(t, ks.p384), []string{"not a DER OBJECT IDENTIFIER"}},
		"an OID not minimally encoded":    {der(0x06, 0x06, 0x2b, 0x80, 0x81, 0x04, 0x00, 0x22) + pmSEC1(t, ks.p384), []string{"not a DER OBJECT IDENTIFIER"}},
		"an INTEGER":                      {der(0x02, 0x01, 0x01) + key256, []string{"not a DER OBJECT IDENTIFIER"}},
		"cut short":                       {der(0x06, 0x08, 0x2a, 0x86, 0x48) + key256, []string{"not a DER OBJECT IDENTIFIER"}},
	} {
		pmRefused(t, name, "", tc.data, tc.want...)
	}
}

// TestFromEnvKeyFilesStrictPEM: FromEnv reads its key files as
// ParseKeyPEM reads data: JWT_PUBLIC_KEY_FILE's keys one after another,
// with white space and CRLF between them and EC PARAMETERS before an EC
// key; text between them, or parameters of another curve, are refused,
// naming the variable.
func TestFromEnvKeyFilesStrictPEM(t *testing.T) {
	ks := pmKeys()
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	pubs := strings.ReplaceAll(pmPKIX(t, ks.ed.Public())+"\n\n"+pmParamsP384+pmPKIX(t, &ks.p384.PublicKey)+" \n", "\n", "\r\n")
	a, err := jwtguard.FromLookupEnv(env(map[string]string{"JWT_PUBLIC_KEY_FILE": write("public.pem", pubs)}), jwtguard.WithClock(vtClock), jwtguard.WithIssuer("https://issuer.example"), jwtguard.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	for _, priv := range []any{ks.ed, ks.p384} {
		signer, err := jwtguard.ParseKeyPEM("", []byte(pmPKCS8(t, priv)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kyAuthenticate(a, kyIssue(t, kyAuth(t, signer))); err != nil {
			t.Errorf("a token of the %s key: %v", signer.Algorithm(), err)
		}
	}
	for name, tc := range map[string]struct{ variable, data, want string }{
		"junk between public keys":     {"JWT_PUBLIC_KEY_FILE", pmPKIX(t, ks.ed.Public()) + "old key:\n" + pmPKIX(t, &ks.p256.PublicKey), "line 4, after PEM block 1"},
		"params of another curve":      {"JWT_PUBLIC_KEY_FILE", pmPKIX(t, ks.ed.Public()) + pmParamsP256 + pmPKIX(t, &ks.p384.PublicKey), "PEM block 2 (EC PARAMETERS) names P-256"},
		"a PKCS #12 export":            {"JWT_PRIVATE_KEY_FILE", "Bag Attributes\n    localKeyID: 01 \nKey Attributes: <No Attributes>\n" + pmPKCS8(t, ks.p256), "Bag Attributes of a PKCS #12 export"},
		"a key hidden after a comment": {"JWT_PRIVATE_KEY_FILE", "this file is empty\n\n\n" + pmPKCS8(t, ks.ed), "line 1, before the first PEM block"},
	} {
		_, err := jwtguard.FromLookupEnv(env(map[string]string{tc.variable: write(strings.ReplaceAll(name, " ", "-")+".pem", tc.data)}))
		if err == nil || !strings.Contains(err.Error(), tc.variable) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s and saying %q", name, err, tc.variable, tc.want)
		}
	}
}

// FuzzParseKeyPEM: ParseKeyPEM never panics, and a key it accepts has an
// algorithm and kid, and round trips: its Public() marshals to a JWK that
// parses back to the same kid and algorithm and only verifies, and a
// signing key signs a token its public key verifies. The data it accepts
// is its blocks and white space only (encoding/pem reads the same blocks,
// with nothing left over or skipped), and encoding/pem reads the same key
// from the data.
func FuzzParseKeyPEM(f *testing.F) {
	ks := pmKeys()
	pkcs1 := pmBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(ks.rsa))
	for _, seed := range []struct{ data, alg string }{
		{pmPKCS8(f, ks.ed), ""},
		{pmPKCS8(f, ks.ed), "Ed25519"},
		{pmPKIX(f, ks.ed.Public()), ""},
		{pmPKCS8(f, ks.rsa), "PS256"},
		{pkcs1, ""},
		{pmBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&ks.rsa.PublicKey)), "RS512"},
		{pmPKIX(f, &ks.rsa.PublicKey), ""},
		{pmParamsP256 + pmSEC1(f, ks.p256), ""},
		{pmParamsP384 + "\r\n" + pmSEC1(f, ks.p384), "ES384"},
		{pmParamsP521 + pmPKIX(f, &ks.p521.PublicKey), ""},
		{pmPKCS8(f, ks.p521), "ES512"},
		{strings.ReplaceAll(pmPKCS8(f, ks.p256), "\n", "\r\n"), ""},
		{"\n \t\n" + pmPKIX(f, &ks.p384.PublicKey) + "\t\n", ""},
		{pmTestdata(f, "openssl-ec-text.pem"), ""},
		{pmTestdata(f, "openssl-pkey-text.pem"), ""},
		{pmTestdata(f, "openssl-ecparam-explicit.pem") + pmSEC1(f, ks.p256), ""},
		{"Bag Attributes\n    localKeyID: 01 \nKey Attributes: <No Attributes>\n" + pmPKCS8(f, ks.ed), ""},
		{pmPKCS8(f, ks.ed) + pmPKCS8(f, ks.ed), ""},
		{"-----BEGIN PRIVATE KEY----- x\n" + pkcs1[len("-----BEGIN RSA PRIVATE KEY-----\n"):], ""},
		{"", ""},
	} {
		f.Add([]byte(seed.data), seed.alg)
	}
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		k, err := jwtguard.ParseKeyPEM(alg, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "jwtguard: ") {
				t.Fatalf("an error not of jwtguard: %v", err)
			}
			return
		}
		if k.Algorithm() == "" || k.ID() == "" || alg != "" && k.Algorithm() != alg {
			t.Fatalf("alg %q kid %q (configured %q)", k.Algorithm(), k.ID(), alg)
		}
		// The data is its blocks and white space: encoding/pem reads them
		// all, one after another, and writes them back to the same text
		// once white space is taken out.
		var again []byte
		var keyBlock *pem.Block
		for rest := data; ; {
			b, r := pem.Decode(rest)
			if b == nil {
				if len(strings.Trim(string(rest), " \t\r\n")) != 0 {
					t.Fatalf("encoding/pem leaves %q", rest)
				}
				break
			}
			if len(b.Headers) != 0 {
				t.Fatalf("a block with headers: %v", b.Headers)
			}
			if b.Type != "EC PARAMETERS" {
				if keyBlock != nil {
					t.Fatal("two key blocks")
				}
				keyBlock = b
			}
			again, rest = append(again, pem.EncodeToMemory(b)...), r
		}
		noSpace := strings.NewReplacer(" ", "", "\t", "", "\r", "", "\n", "")
		if noSpace.Replace(string(again)) != noSpace.Replace(string(data)) {
			t.Fatalf("the data is not its blocks alone:\n%q\nencoding/pem:\n%q", data, again)
		}
		if keyBlock == nil {
			t.Fatal("no key block")
		}
		same, err := jwtguard.ParseKeyPEM(alg, pem.EncodeToMemory(keyBlock))
		if err != nil || same.ID() != k.ID() || same.CanSign() != k.CanSign() {
			t.Fatalf("encoding/pem's key block alone: %q %v, %v", same.ID(), same.CanSign(), err)
		}
		pub := k.Public()
		if pub.CanSign() || pub.ID() != k.ID() || pub.Algorithm() != k.Algorithm() {
			t.Fatalf("Public: CanSign %v kid %q alg %q", pub.CanSign(), pub.ID(), pub.Algorithm())
		}
		j, err := json.Marshal(pub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := jwtguard.ParseJWK(j, "")
		if err != nil || back.ID() != k.ID() || back.Algorithm() != k.Algorithm() || back.CanSign() {
			t.Fatalf("%s: back %q %q %v, %v", j, back.ID(), back.Algorithm(), back.CanSign(), err)
		}
		if !k.CanSign() {
			return
		}
		tok := kyIssue(t, kyAuth(t, k))
		if _, err := kyAuthenticate(kyAuth(t, pub), tok); err != nil {
			t.Fatalf("the public key does not verify the key's token: %v", err)
		}
		if _, err := kyAuthenticate(kyAuth(t, back), tok); err != nil {
			t.Fatalf("the JWK does not verify the key's token: %v", err)
		}
	})
}

// TestParseKeyPEMEmbeddedPublicKey: a private key whose DER carries a
// public key other than its own (SEC 1's publicKey, in an EC PRIVATE KEY
// or inside PKCS #8, and PKCS #8 v2's publicKey) is refused: crypto/x509
// ignores it, and OpenSSL would give it to the verifiers. One carrying
// its own public key, as OpenSSL writes EC keys, is read.
func TestParseKeyPEMEmbeddedPublicKey(t *testing.T) {
	type sec1 struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
	}
	type pkcs8 struct {
		Version    int
		Algorithm  asn1.RawValue
		PrivateKey []byte
		PublicKey  asn1.BitString `asn1:"optional,tag:1"`
	}
	bits := func(b []byte) asn1.BitString { return asn1.BitString{Bytes: b, BitLength: 8 * len(b)} }
	mustMarshal := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	own, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPoint, _ := other.PublicKey.ECDH()
	ownPoint, _ := own.PublicKey.ECDH()
	withPublic := func(point []byte) []byte {
		der, _ := x509.MarshalECPrivateKey(own)
		var k sec1
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			t.Fatal(err)
		}
		k.PublicKey = bits(point)
		return mustMarshal(k)
	}
	inPKCS8 := func(inner []byte) []byte {
		der, _ := x509.MarshalPKCS8PrivateKey(own)
		var k pkcs8
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			t.Fatal(err)
		}
		k.PrivateKey = inner
		return mustMarshal(k)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	otherEd, _, _ := ed25519.GenerateKey(rand.Reader)
	edV2 := func(pub []byte) []byte {
		der, _ := x509.MarshalPKCS8PrivateKey(ed)
		var k pkcs8
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			t.Fatal(err)
		}
		k.Version, k.PublicKey = 1, bits(pub)
		return mustMarshal(k)
	}
	for name, tc := range map[string]struct {
		typ  string
		der  []byte
		good bool
	}{
		"SEC 1, its own public key":   {"EC PRIVATE KEY", withPublic(ownPoint.Bytes()), true},
		"SEC 1, another public key":   {"EC PRIVATE KEY", withPublic(otherPoint.Bytes()), false},
		"PKCS #8, its own public key": {"PRIVATE KEY", inPKCS8(withPublic(ownPoint.Bytes())), true},
		"PKCS #8, another public key": {"PRIVATE KEY", inPKCS8(withPublic(otherPoint.Bytes())), false},
		"PKCS #8 v2 Ed25519, its own": {"PRIVATE KEY", edV2(ed.Public().(ed25519.PublicKey)), true},
		"PKCS #8 v2 Ed25519, another": {"PRIVATE KEY", edV2(otherEd), false},
	} {
		_, err := jwtguard.ParseKeyPEM("", pem.EncodeToMemory(&pem.Block{Type: tc.typ, Bytes: tc.der}))
		switch {
		case tc.good && err != nil:
			t.Errorf("%s: %v", name, err)
		case !tc.good && (err == nil || !strings.Contains(err.Error(), "not the private key's own")):
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
}
