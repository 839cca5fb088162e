package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// A fleet is two server processes, A and B, that share a PostgreSQL
// database (users and sessions) and a Redis (sessions and throttles),
// servers of the test's own, and one JWT_SECRET, as replicas behind a
// load balancer do.
type fleetOf struct {
	a, b  *process
	pg    *testserver.PostgresServer
	redis *testserver.RedisServer
}

func fleet(t *testing.T) fleetOf { return fleetWith(t, true) }

// fleetWith is fleet, without Redis unless withRedis: the sessions are
// then in PostgreSQL too. extraEnv (KEY=value) is given to both
// processes.
func fleetWith(t *testing.T, withRedis bool, extraEnv ...string) fleetOf {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server, PostgreSQL and Redis")
	}
	f := fleetOf{pg: testserver.StartPostgres(t)}
	env := append([]string{"JWT_SECRET=" + testSecret, "DATABASE_URL=" + f.pg.NewDatabase(t)}, extraEnv...)
	if withRedis {
		f.redis = testserver.StartRedis(t)
		env = append(env, "REDIS_URL="+f.redis.URL)
	}
	f.a = startProcess(t, env, "-data-dir", t.TempDir())
	f.b = startProcess(t, env, "-data-dir", t.TempDir())
	return f
}

// Log in on A, refresh on B, log out on A: the access token is refused on
// B, and the refresh token too; a reuse detected on B revokes a session
// started on A; an account registered on A logs in on B.
func TestReplicasShareSessions(t *testing.T) {
	f := fleet(t)
	a, b := f.a, f.b
	first := a.login("alice", demoPassword)
	if got := b.get("/api/user/profile", first.AccessToken); got != http.StatusOK {
		t.Fatalf("A's access token on B: %d; want 200", got)
	}
	second, status, body, err := b.refresh(first.RefreshToken)
	if err != nil || status != http.StatusOK {
		t.Fatalf("A's refresh token refreshed on B: %d %s %v", status, body, err)
	}
	if status, body, err := a.post("/api/auth/logout", second.AccessToken, ""); err != nil || status != http.StatusNoContent {
		t.Fatalf("logout on A with B's access token: %d %s %v", status, body, err)
	}
	if got := b.get("/api/user/profile", second.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("the logged-out access token on B: %d; want 401", got)
	}
	if _, status, _, _ := b.refresh(second.RefreshToken); status != http.StatusBadRequest {
		t.Errorf("the logged-out session's refresh token on B: %d; want 400", status)
	}

	other := a.login("alice", demoPassword)
	next, status, _, _ := a.refresh(other.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh on A: %d", status)
	}
	if _, status, _, _ := b.refresh(other.RefreshToken); status != http.StatusBadRequest {
		t.Fatalf("the spent token on B: %d; want 400 (reuse)", status)
	}
	if got := a.get("/api/user/profile", next.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("after a reuse seen on B, the session's newest access token on A: %d; want 401", got)
	}

	const password = "correct horse battery staple"
	if status, body, err := a.post("/api/auth/register", "", `{"username":"carol","password":"`+password+`"}`); err != nil || status != http.StatusCreated {
		t.Fatalf("register on A: %d %s %v", status, body, err)
	}
	b.login("carol", password)
	if status, _, _ := b.post("/api/auth/register", "", `{"username":"Carol","password":"`+password+`"}`); status != http.StatusConflict {
		t.Errorf("registering Carol on B after carol on A: %d; want 409", status)
	}
}

// Wrong passwords for one account spread over A and B are throttled as
// one account: the default burst of 10 failures in all, not 10 on each.
func TestReplicasShareTheThrottle(t *testing.T) {
	f := fleet(t)
	a, b := f.a, f.b
	const burst = 10 // LoginPolicy.Account's default
	for i := range burst {
		srv := []*process{a, b}[i%2]
		status, body, err := srv.post("/api/auth/login", "", `{"username":"alice","password":"wrong guess"}`)
		if err != nil || status != http.StatusUnauthorized {
			t.Fatalf("guess %d on %s: %d %s %v; want 401", i, srv.base, status, body, err)
		}
	}
	for _, srv := range []*process{a, b} {
		status, _, err := srv.post("/api/auth/login", "", `{"username":"alice","password":"wrong guess"}`)
		if err != nil || status != http.StatusTooManyRequests {
			t.Errorf("guess %d on %s: %d %v; want 429: the replicas throttle alice as one account", burst, srv.base, status, err)
		}
	}
}

// SIGKILL of one replica in the middle of rotations spread over both
// loses no family and leaves no refresh token valid twice.
// With the sessions in Redis, and in PostgreSQL.
func TestReplicasSIGKILLDuringRotations(t *testing.T) {
	for name, withRedis := range map[string]bool{"sessions in Redis": true, "sessions in PostgreSQL": false} {
		t.Run(name, func(t *testing.T) {
			f := fleetWith(t, withRedis)
			fams := rotateUntilKilled(t, []*process{f.a, f.b}, f.a, 8, 200)
			committed, not := checkFamilies(t, f.b, fams)
			t.Logf("%d families; of those whose answer the kill lost, %d rotations had committed and %d had not", len(fams), committed, not)
		})
	}
}

// A Redis or a PostgreSQL that goes away fails closed: verified requests
// with a session, logins and refreshes are answered 503 with
// Retry-After, within a bound (the stores' timeouts), never let through.
func TestReplicasStoreGoneFailsClosed(t *testing.T) {
	for _, gone := range []string{"Redis", "PostgreSQL"} {
		t.Run(gone, func(t *testing.T) {
			f := fleet(t)
			tr := f.a.login("alice", demoPassword)
			if gone == "Redis" {
				f.redis.Kill()
			} else {
				f.pg.Kill()
			}
			start := time.Now()
			check := func(what string, status int, hdr http.Header, err error) {
				t.Helper()
				if err != nil || status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
					t.Errorf("%s with %s gone: %d, Retry-After %q, %v; want 503 with Retry-After", what, gone, status, hdr.Get("Retry-After"), err)
				}
			}
			if gone == "Redis" { // Verify asks the session store, which is Redis
				status, hdr, err := f.a.request("GET", "/api/user/profile", tr.AccessToken, "")
				check("a verified request", status, hdr, err)
			}
			status, hdr, err := f.a.request("POST", "/api/auth/login", "", `{"username":"alice","password":"`+demoPassword+`"}`)
			check("a login", status, hdr, err)
			status, hdr, err = f.a.request("POST", "/api/auth/refresh", "", `{"refresh_token":"`+tr.RefreshToken+`"}`)
			check("a refresh", status, hdr, err)
			status, hdr, err = f.a.request("POST", "/api/auth/register", "", `{"username":"dora","password":"correct horse battery staple"}`)
			check("a registration", status, hdr, err)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the refusals took %v; want each within the store's timeout", d)
			}
			if log := f.a.log.String(); !strings.Contains(log, "level=ERROR") {
				t.Errorf("the store's failure is not logged at Error:\n%s", log)
			}
		})
	}
}

// replicaExternalURL is the JWT_EXTERNAL_URL of the DPoP replica tests:
// both replicas compare a proof's htu with it and the path, as replicas
// behind one load balancer do, so that a proof made for one is, but for
// its jti, a good proof at the other.
const replicaExternalURL = "http://api.example.test"

// A replicaDPoPKey is a DPoP client's ES256 key (RFC 9449), which makes
// proofs as a client library would: signed with the standard library, so
// that the server's verification is checked against another
// implementation than its own.
type replicaDPoPKey struct {
	priv *ecdsa.PrivateKey
	jwk  map[string]string // the public JWK
}

func newReplicaDPoPKey(t *testing.T) *replicaDPoPKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return &replicaDPoPKey{priv: priv, jwk: map[string]string{"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:])}}
}

// proof returns a fresh proof (a new jti, iat now) of k for method and
// uri, with the ath of accessToken unless it is "".
func (k *replicaDPoPKey) proof(t *testing.T, method, uri, accessToken string) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	header, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": uri, "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = b64(sum[:])
	}
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(header) + "." + b64(body)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64) // JWS ES256: R || S, 32 bytes each (RFC 7518 §3.4)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// A replicaDPoPAnswer is a server's answer to replicaDPoPDo.
type replicaDPoPAnswer struct {
	status int
	header http.Header
	body   []byte
}

// replicaDPoPDo sends method path to p with the proof (none when "") in a DPoP
// header, the access token tok under "Authorization: DPoP" (none when
// ""), and the JSON body (none when "").
func replicaDPoPDo(t *testing.T, p *process, method, path, tok, proof, body string) replicaDPoPAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "DPoP "+tok)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s at %s: %v", method, path, p.base, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s at %s: %v", method, path, p.base, err)
	}
	return replicaDPoPAnswer{resp.StatusCode, resp.Header, answer}
}

// pair decodes a login's or refresh's 200 answer and checks that its
// access token is bound to a DPoP key.
func (ans replicaDPoPAnswer) pair(t *testing.T, what string) jwtguard.TokenResponse {
	t.Helper()
	var tr jwtguard.TokenResponse
	if ans.status != http.StatusOK || json.Unmarshal(ans.body, &tr) != nil {
		t.Fatalf("%s: %d %s; want 200 and a token pair", what, ans.status, ans.body)
	}
	if tr.TokenType != "DPoP" || tr.AccessToken == "" || tr.RefreshToken == "" {
		t.Fatalf("%s: token_type %q, access token %t, refresh token %t; want a DPoP-bound pair", what, tr.TokenType, tr.AccessToken != "", tr.RefreshToken != "")
	}
	return tr
}

// wantDPoPRefusal checks that ans is a refusal with status and error
// code invalid_dpop_proof and, for a 401 (a protected resource), a DPoP
// challenge with that error.
func (ans replicaDPoPAnswer) wantDPoPRefusal(t *testing.T, what string, status int) {
	t.Helper()
	var body struct{ Error string }
	if ans.status != status || json.Unmarshal(ans.body, &body) != nil || body.Error != "invalid_dpop_proof" {
		t.Errorf("%s: %d %s; want %d invalid_dpop_proof", what, ans.status, ans.body, status)
	}
	if status != http.StatusUnauthorized {
		return
	}
	challenges := ans.header.Values("WWW-Authenticate")
	if !slices.ContainsFunc(challenges, func(c string) bool {
		return strings.HasPrefix(c, "DPoP ") && strings.Contains(c, `error="invalid_dpop_proof"`)
	}) {
		t.Errorf("%s: WWW-Authenticate %q; want a DPoP challenge with error=\"invalid_dpop_proof\"", what, challenges)
	}
}

// waitForReplicaLogLine waits until a line of p's log holds every one of parts,
// and fails the test after 10 s. The server writes its log line before
// its answer, but the log reaches the test through a pipe that another
// goroutine copies, so it may arrive after the answer.
func waitForReplicaLogLine(t *testing.T, p *process, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for line := range strings.Lines(p.log.String()) {
			if !slices.ContainsFunc(parts, func(s string) bool { return !strings.Contains(line, s) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("no line of %s's log holds all of %q; log:\n%s", p.base, parts, p.log.String())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The log's words for a replayed proof (ErrProofReplayed) and for a
// proof of a key other than the binding's.
const (
	replicaLogReplayed = "the DPoP proof was used before"
	replicaLogOtherKey = "the proof's key is not the key the token is bound to"
)

// Two replicas sharing Redis share the DPoP replay cache: a proof that A
// accepted is refused by B as replayed, at a protected resource (401 with
// a DPoP challenge) and at the login handler (400); a fresh proof is
// accepted by B; and a session bound at A to a key is refreshed on B with
// a proof of that key only.
func TestReplicasRefuseReplayedDPoPProofs(t *testing.T) {
	f := fleetWith(t, true, "JWT_EXTERNAL_URL="+replicaExternalURL)
	a, b := f.a, f.b
	const (
		loginPath   = "/api/auth/login"
		refreshPath = "/api/auth/refresh"
		profilePath = "/api/user/profile"
		credentials = `{"username":"alice","password":"` + demoPassword + `"}`
	)
	key := newReplicaDPoPKey(t)

	loginProof := key.proof(t, "POST", replicaExternalURL+loginPath, "")
	tr := replicaDPoPDo(t, a, "POST", loginPath, "", loginProof, credentials).pair(t, "login on A with a proof")

	proof := key.proof(t, "GET", replicaExternalURL+profilePath, tr.AccessToken)
	if ans := replicaDPoPDo(t, a, "GET", profilePath, tr.AccessToken, proof, ""); ans.status != http.StatusOK {
		t.Fatalf("the bound token with its proof on A: %d %s; want 200; A's log:\n%s", ans.status, ans.body, a.log.String())
	}
	replicaDPoPDo(t, b, "GET", profilePath, tr.AccessToken, proof, "").wantDPoPRefusal(t, "A's proof replayed on B", http.StatusUnauthorized)
	waitForReplicaLogLine(t, b, replicaLogReplayed, "path="+profilePath)
	replicaDPoPDo(t, a, "GET", profilePath, tr.AccessToken, proof, "").wantDPoPRefusal(t, "A's proof replayed on A", http.StatusUnauthorized)

	fresh := key.proof(t, "GET", replicaExternalURL+profilePath, tr.AccessToken)
	if ans := replicaDPoPDo(t, b, "GET", profilePath, tr.AccessToken, fresh, ""); ans.status != http.StatusOK {
		t.Errorf("A's bound token with a fresh proof on B: %d %s; want 200; B's log:\n%s", ans.status, ans.body, b.log.String())
	}
	replicaDPoPDo(t, a, "GET", profilePath, tr.AccessToken, fresh, "").wantDPoPRefusal(t, "B's proof replayed on A", http.StatusUnauthorized)
	waitForReplicaLogLine(t, a, replicaLogReplayed, "path="+profilePath)

	replicaDPoPDo(t, b, "POST", loginPath, "", loginProof, credentials).wantDPoPRefusal(t, "A's login proof replayed at B's login", http.StatusBadRequest)
	waitForReplicaLogLine(t, b, replicaLogReplayed, "path="+loginPath)

	// The session bound at A, refreshed on B: another key's proof is
	// refused and leaves the refresh token unspent; no proof is refused;
	// a proof of the session's key rotates it.
	refreshBody := `{"refresh_token":"` + tr.RefreshToken + `"}`
	other := newReplicaDPoPKey(t)
	replicaDPoPDo(t, b, "POST", refreshPath, "", other.proof(t, "POST", replicaExternalURL+refreshPath, ""), refreshBody).wantDPoPRefusal(t, "a refresh on B with another key's proof", http.StatusBadRequest)
	waitForReplicaLogLine(t, b, replicaLogOtherKey, "path="+refreshPath)
	replicaDPoPDo(t, b, "POST", refreshPath, "", "", refreshBody).wantDPoPRefusal(t, "a refresh on B of the bound session without a proof", http.StatusBadRequest)
	refreshProof := key.proof(t, "POST", replicaExternalURL+refreshPath, "")
	next := replicaDPoPDo(t, b, "POST", refreshPath, "", refreshProof, refreshBody).pair(t, "a refresh on B with a proof of the session's key")
	if ans := replicaDPoPDo(t, a, "GET", profilePath, next.AccessToken, key.proof(t, "GET", replicaExternalURL+profilePath, next.AccessToken), ""); ans.status != http.StatusOK {
		t.Errorf("B's refreshed token with a fresh proof on A: %d %s; want 200", ans.status, ans.body)
	}
	// The refresh proof replayed at A, with the new refresh token: the
	// replay, not the token, is refused (and the token is not spent).
	nextBody := `{"refresh_token":"` + next.RefreshToken + `"}`
	replicaDPoPDo(t, a, "POST", refreshPath, "", refreshProof, nextBody).wantDPoPRefusal(t, "B's refresh proof replayed at A's refresh", http.StatusBadRequest)
	waitForReplicaLogLine(t, a, replicaLogReplayed, "path="+refreshPath)
	replicaDPoPDo(t, a, "POST", refreshPath, "", key.proof(t, "POST", replicaExternalURL+refreshPath, ""), nextBody).pair(t, "a refresh on A with a fresh proof after the replay")
}

// The control of TestReplicasRefuseReplayedDPoPProofs: replicas that share
// no replay cache (sessions in PostgreSQL, which is none, so each has its
// own memory cache) each accept a proof once: A's proof is accepted by B,
// and refused by A. That B refuses it when they share Redis is so the
// shared cache's doing, not anything else of the proof or of B. (Should
// the PostgreSQL store become a ReplayCache, this test fails, and its
// replay on B is then to be refused.)
func TestReplicasWithoutRedisDoNotShareTheReplayCache(t *testing.T) {
	f := fleetWith(t, false, "JWT_EXTERNAL_URL="+replicaExternalURL)
	a, b := f.a, f.b
	key := newReplicaDPoPKey(t)
	tr := replicaDPoPDo(t, a, "POST", "/api/auth/login", "", key.proof(t, "POST", replicaExternalURL+"/api/auth/login", ""),
		`{"username":"alice","password":"`+demoPassword+`"}`).pair(t, "login on A with a proof")
	proof := key.proof(t, "GET", replicaExternalURL+"/api/user/profile", tr.AccessToken)
	if ans := replicaDPoPDo(t, a, "GET", "/api/user/profile", tr.AccessToken, proof, ""); ans.status != http.StatusOK {
		t.Fatalf("the bound token with its proof on A: %d %s; want 200", ans.status, ans.body)
	}
	if ans := replicaDPoPDo(t, b, "GET", "/api/user/profile", tr.AccessToken, proof, ""); ans.status != http.StatusOK {
		t.Errorf("A's proof on B, which shares no replay cache with A: %d %s; want 200 (each replica's cache is its own)", ans.status, ans.body)
	}
	replicaDPoPDo(t, a, "GET", "/api/user/profile", tr.AccessToken, proof, "").wantDPoPRefusal(t, "A's proof replayed on A", http.StatusUnauthorized)
}
