package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A DPoP client in Node, made with panva's dpop package (pinned in
// testdata/dpop/package-lock.json), against the server as a process: the
// script testdata/dpop/client.mjs logs in with proofs, calls the profile,
// refreshes, and makes the attack table's requests; this test checks every
// answer, and the server's log for the reason of every refusal.

// dpopClientDir holds the Node client and its lock file.
const dpopClientDir = "testdata/dpop"

var (
	dpopNPMOnce sync.Once
	dpopNPMErr  error
)

// requireDPoPClient skips t when node or npm is missing, or fails it
// under CI (CI set), where a skip would hide that the test never ran; and
// installs the pinned packages once per test binary.
func requireDPoPClient(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the DPoP interop test with Node's dpop package must run in CI, but %s is not on PATH", tool)
			}
			t.Skipf("skipping the DPoP interop test with Node's dpop package: %s is not on PATH (install Node 20 or later to run it; CI does)", tool)
		}
	}
	dpopNPMOnce.Do(func() { dpopNPMErr = installDPoPClient() })
	if dpopNPMErr != nil {
		t.Fatal(dpopNPMErr)
	}
}

// installDPoPClient runs `npm ci` in dpopClientDir unless its node_modules
// holds what the lock file pins: npm writes node_modules/.package-lock.json
// last, so its absence, or a time before the lock's, tells of an install
// missing, half done or stale.
func installDPoPClient() error {
	lock, err := os.Stat(filepath.Join(dpopClientDir, "package-lock.json"))
	if err != nil {
		return err
	}
	done, err := os.Stat(filepath.Join(dpopClientDir, "node_modules", ".package-lock.json"))
	if err == nil && !done.ModTime().Before(lock.ModTime()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dpopClientDir
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci --no-audit --no-fund in %s: %v\n%s", dpopClientDir, err, out)
	}
	return nil
}

// dpopJob is client.mjs's input.
type dpopJob struct {
	Base     string   `json:"base"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Alg      string   `json:"alg"`
	Steps    []string `json:"steps"`
}

// dpopRun is client.mjs's output.
type dpopRun struct {
	Alg         string `json:"alg"`
	ProofHeader struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	} `json:"proof_header"`
	JWK             map[string]string   `json:"jwk"` // the public key, as dpop puts it in a proof
	Thumbprint      string              `json:"thumbprint"`
	OtherThumbprint string              `json:"other_thumbprint"`
	Order           []string            `json:"order"` // the steps as they ran
	Steps           map[string]dpopStep `json:"steps"`
}

// dpopStep is one answer the script had.
type dpopStep struct {
	Status          int     `json:"status"`
	WWWAuthenticate *string `json:"www_authenticate"`
	Body            struct {
		Error        string `json:"error"`
		Reason       string `json:"reason"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		Username     string `json:"username"`
	} `json:"body"`
	Text string `json:"text"`
}

func (s dpopStep) String() string {
	var ch string
	if s.WWWAuthenticate != nil {
		ch = *s.WWWAuthenticate
	}
	return fmt.Sprintf("%d error=%q reason=%q token_type=%q WWW-Authenticate=%q %s", s.Status, s.Body.Error, s.Body.Reason, s.Body.TokenType, ch, s.Text)
}

// runDPoPClient runs client.mjs with job.
func runDPoPClient(t *testing.T, job dpopJob) dpopRun {
	t.Helper()
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Dir = dpopClientDir
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs (%s): %v\nstderr:\n%s", job.Alg, err, stderr.Bytes())
	}
	var out dpopRun
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node client.mjs printed something that is not the expected JSON: %v\n%s", err, stdout.Bytes())
	}
	return out
}

// jwkThumbprint is the RFC 7638 thumbprint of a public JWK, computed here
// from its members: the required ones of its kty, in lexicographic
// order, without whitespace. It also checks that the members are a
// public key of the kind.
func jwkThumbprint(t *testing.T, jwk map[string]string) string {
	t.Helper()
	raw := func(name string, size int) string {
		v := jwk[name]
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || v == "" || (size > 0 && len(b) != size) {
			t.Fatalf("jwk %v: member %s is not %d bytes of base64url", jwk, name, size)
		}
		return v
	}
	var members []string
	switch jwk["kty"] {
	case "EC":
		if jwk["crv"] != "P-256" {
			t.Fatalf("jwk %v: crv is not P-256", jwk)
		}
		x, y := raw("x", 32), raw("y", 32)
		point, _ := base64.RawURLEncoding.DecodeString(x)
		yb, _ := base64.RawURLEncoding.DecodeString(y)
		if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, point...), yb...)); err != nil {
			t.Fatalf("jwk %v: not a point of P-256: %v", jwk, err)
		}
		members = []string{"crv", "P-256", "kty", "EC", "x", x, "y", y}
	case "OKP":
		if jwk["crv"] != "Ed25519" {
			t.Fatalf("jwk %v: crv is not Ed25519", jwk)
		}
		members = []string{"crv", "Ed25519", "kty", "OKP", "x", raw("x", 32)}
	case "RSA":
		members = []string{"e", raw("e", 0), "kty", "RSA", "n", raw("n", 256)}
	default:
		t.Fatalf("jwk %v: kty %q", jwk, jwk["kty"])
	}
	for name := range jwk {
		if name == "d" || name == "p" || name == "q" || name == "dp" || name == "dq" || name == "qi" || name == "k" {
			t.Fatalf("jwk %v holds the private member %s", jwk, name)
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(members); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(members[i]) + ":" + strconv.Quote(members[i+1]))
	}
	b.WriteByte('}')
	sum := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// boundJKT returns the cnf.jkt of an access token's claims, read here.
func boundJKT(t *testing.T, token string) string {
	t.Helper()
	seg := strings.Split(token, ".")
	if len(seg) != 3 {
		t.Fatalf("access token %q is not a JWS", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("access token claims %s: %v", raw, err)
	}
	return claims.Cnf.JKT
}

// What a step must answer.
const (
	dpopOK       = iota // 200 with the user's answer
	dpopGranted         // 200 with a DPoP-bound pair (login, refresh)
	dpopRefused         // 401 invalid_dpop_proof with a DPoP challenge
	dpopBearer          // 401 invalid_token: a bound token with the Bearer scheme
	dpopBadGrant        // 400 invalid_dpop_proof at the login or refresh handler
)

// dpopSteps are client.mjs's steps: what each must answer, and, for a
// refusal, a part of the reason the server logs, so that each attack is
// known to be refused for its own defect and not another.
var dpopSteps = []struct {
	name   string
	want   int
	reason string
}{
	{"login", dpopGranted, ""},
	{"login_second", dpopGranted, ""},
	{"profile", dpopOK, ""},
	{"profile_query", dpopOK, ""},
	{"resign_control", dpopOK, ""},
	{"replay_first", dpopOK, ""},
	{"replay_second", dpopRefused, "the DPoP proof was used before"},
	{"wrong_method", dpopRefused, `htm "POST" is not the request's method GET`},
	{"wrong_uri", dpopRefused, `/api/admin-data" is not the request's URI`},
	{"wrong_port", dpopRefused, `is not the request's URI`},
	{"stale_iat", dpopRefused, "is more than 1m0s before now"},
	{"future_iat", dpopRefused, "beyond the leeway"},
	{"wrong_ath", dpopRefused, "ath is not the hash of the access token (absent: false)"},
	{"no_ath", dpopRefused, "ath is not the hash of the access token (absent: true)"},
	{"foreign_signature", dpopRefused, "signature:"},
	{"private_jwk", dpopRefused, "the jwk holds a private or secret key"},
	{"hmac_proof", dpopRefused, `alg "HS256" is not one of`},
	{"hmac_oct_jwk", dpopRefused, `alg "HS256" is not one of`},
	{"alg_none", dpopRefused, `alg "none" is not one of`},
	{"wrong_typ", dpopRefused, `typ "JWT" is not dpop+jwt`},
	{"key_mismatch", dpopRefused, "the proof's key is not the key the token is bound to"},
	{"no_proof", dpopRefused, "no DPoP header"},
	{"bearer_scheme", dpopBearer, "a token bound to a DPoP key sent with the Bearer scheme"},
	{"bearer_scheme_with_proof", dpopBearer, "a token bound to a DPoP key sent with the Bearer scheme"},
	{"refresh_other_key", dpopBadGrant, "the proof's key is not the key the token is bound to"},
	{"refresh_no_proof", dpopBadGrant, "a refresh of a session bound to a DPoP key without a proof"},
	{"refresh_wrong_method", dpopBadGrant, `htm "GET" is not the request's method POST`},
	// The refusals above left the refresh token as it was.
	{"refresh", dpopGranted, ""},
	{"profile_after_refresh", dpopOK, ""},
	{"login_wrong_uri", dpopBadGrant, `/api/auth/refresh" is not the request's URI`},
	{"login_stale_iat", dpopBadGrant, "is more than 1m0s before now"},
	{"login_foreign_signature", dpopBadGrant, "signature:"},
}

// loggedRefusal matches the reason of the server's log line for a refusal.
var loggedRefusal = regexp.MustCompile(`msg="jwtguard: request refused" status=\d+ reason=("(?:[^"\\]|\\.)*")`)

// TestDPoPNodeClient: a client made with panva's dpop package, with each
// algorithm dpop makes keys for, logs in, reads its profile and refreshes
// with DPoP-bound tokens of its key's thumbprint, and each request of the
// attack table is refused, for its own defect.
func TestDPoPNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server, and runs Node")
	}
	requireDPoPClient(t)
	tests := []struct {
		alg      string // dpop's name, which is the proofs' alg
		username string
		register bool // register the user first (else a demo account)
		admin    bool
	}{
		{alg: "ES256", username: "admin", admin: true},
		{alg: "Ed25519", username: "alice"},
		{alg: "PS256", username: "dpop-ps256", register: true},
		{alg: "RS256", username: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			t.Parallel()
			p := startProcess(t, nil, "-data-dir", t.TempDir())
			password := demoPassword
			if tt.register {
				password = "dpop interop passphrase 9449"
				status, body, err := p.post("/api/auth/register", "", `{"username":"`+tt.username+`","password":"`+password+`"}`)
				if err != nil || status != http.StatusCreated {
					t.Fatalf("register %s: %d %s %v", tt.username, status, body, err)
				}
			}
			job := dpopJob{Base: p.base, Username: tt.username, Password: password, Alg: tt.alg}
			for _, s := range dpopSteps {
				job.Steps = append(job.Steps, s.name)
			}
			job.Steps = append(job.Steps, "admin_data")
			if tt.alg == "Ed25519" {
				job.Steps = append(job.Steps, "alg_eddsa")
			}
			run := runDPoPClient(t, job)
			checkDPoPRun(t, p, tt.alg, tt.username, tt.admin, run)
		})
	}
}

// checkDPoPRun checks the answers of one run of client.mjs on p.
func checkDPoPRun(t *testing.T, p *process, alg, username string, admin bool, run dpopRun) {
	if run.ProofHeader.Alg != alg || run.ProofHeader.Typ != "dpop+jwt" {
		t.Errorf("dpop's proofs have alg %q typ %q; want %s, dpop+jwt", run.ProofHeader.Alg, run.ProofHeader.Typ, alg)
	}
	jkt := jwkThumbprint(t, run.JWK)
	if run.Thumbprint != jkt {
		t.Errorf("dpop's calculateThumbprint gives %s, Go's RFC 7638 thumbprint of the jwk %s", run.Thumbprint, jkt)
	}
	if run.OtherThumbprint == "" || run.OtherThumbprint == jkt {
		t.Fatalf("the other key's thumbprint %q is not another key's", run.OtherThumbprint)
	}
	if len(run.Order) != len(run.Steps) {
		t.Fatalf("the script ran %d steps but reports the order of %d", len(run.Steps), len(run.Order))
	}

	wantReason := map[string]string{}
	for _, s := range dpopSteps {
		st, ok := run.Steps[s.name]
		if !ok {
			t.Errorf("%s: the script did not run it", s.name)
			continue
		}
		wantReason[s.name] = s.reason
		switch s.want {
		case dpopOK:
			if st.Status != http.StatusOK || st.Body.Username != username {
				t.Errorf("%s: %v; want 200 with the profile of %s", s.name, st, username)
			}
		case dpopGranted:
			if st.Status != http.StatusOK || st.Body.TokenType != "DPoP" || st.Body.AccessToken == "" || st.Body.RefreshToken == "" {
				t.Errorf("%s: %v; want 200 with token_type DPoP and a pair of tokens", s.name, st)
				continue
			}
			if got := boundJKT(t, st.Body.AccessToken); got != jkt {
				t.Errorf("%s: the access token's cnf.jkt is %q; want the thumbprint of the proof's key, %s", s.name, got, jkt)
			}
		case dpopRefused:
			checkDPoPRefusal(t, s.name, st, http.StatusUnauthorized, "invalid_dpop_proof")
			if st.WWWAuthenticate == nil || !strings.HasPrefix(*st.WWWAuthenticate, "DPoP ") || !strings.Contains(*st.WWWAuthenticate, `error="invalid_dpop_proof"`) {
				t.Errorf("%s: WWW-Authenticate %v; want a DPoP challenge with error=\"invalid_dpop_proof\"", s.name, st)
			}
		case dpopBearer:
			checkDPoPRefusal(t, s.name, st, http.StatusUnauthorized, "invalid_token")
			if st.WWWAuthenticate == nil || !strings.Contains(*st.WWWAuthenticate, `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate %v; want a challenge with error=\"invalid_token\"", s.name, st)
			}
		case dpopBadGrant:
			checkDPoPRefusal(t, s.name, st, http.StatusBadRequest, "invalid_dpop_proof")
		}
	}
	login, refreshed := run.Steps["login"].Body, run.Steps["refresh"].Body
	if refreshed.RefreshToken == login.RefreshToken || refreshed.AccessToken == login.AccessToken {
		t.Errorf("the refresh gave back the login's tokens; want a new pair")
	}

	// An Ed25519 key's proof with alg EdDSA rather than dpop's Ed25519.
	if alg == "Ed25519" {
		if st := run.Steps["alg_eddsa"]; st.Status != http.StatusOK || st.Body.Username != username {
			t.Errorf("alg_eddsa: %v; want 200 with the profile of %s", st, username)
		}
	}

	// The admin route: the token carries the user's roles.
	st := run.Steps["admin_data"]
	if admin {
		if st.Status != http.StatusOK {
			t.Errorf("admin_data: %v; want 200", st)
		}
	} else {
		checkDPoPRefusal(t, "admin_data", st, http.StatusForbidden, "insufficient_scope")
		wantReason["admin_data"] = "does not satisfy the route's rule"
		// The request used the DPoP scheme, so its challenge is DPoP's
		// (RFC 9449 §7.1), as at every 401 above; jwtguard makes a DPoP
		// insufficient_scope challenge for it (newDPoPChallenges). A
		// subtest of its own, so that a failure here is told apart.
		t.Run("insufficient_scope_challenge", func(t *testing.T) {
			if st.WWWAuthenticate == nil || !strings.HasPrefix(*st.WWWAuthenticate, "DPoP ") || !strings.Contains(*st.WWWAuthenticate, `error="insufficient_scope"`) {
				t.Errorf("admin_data with a DPoP-bound token of a user without role admin: %v; want a DPoP challenge with error=\"insufficient_scope\"", st)
			}
		})
	}

	// The server logs each refusal before it answers, and the script
	// waits for each answer: the refusals in the log are the steps'
	// refusals, in the order they ran.
	var refused []string
	for _, name := range run.Order {
		if wantReason[name] != "" {
			refused = append(refused, name)
		}
	}
	var logged []string
	for _, m := range loggedRefusal.FindAllStringSubmatch(p.log.String(), -1) {
		reason, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatalf("log reason %s: %v", m[1], err)
		}
		logged = append(logged, reason)
	}
	if len(logged) != len(refused) {
		t.Fatalf("the server logged %d refusals, the steps expect %d:\n%q\nlogged:\n%s", len(logged), len(refused), refused, strings.Join(logged, "\n"))
	}
	for i, name := range refused {
		if !strings.Contains(logged[i], wantReason[name]) {
			t.Errorf("%s: refused for %q; want a reason with %q", name, logged[i], wantReason[name])
		}
	}
}

func checkDPoPRefusal(t *testing.T, name string, st dpopStep, status int, code string) {
	t.Helper()
	if st.Status != status || st.Body.Error != code {
		t.Errorf("%s: %v; want %d with error %s", name, st, status, code)
	}
}
