package jwtguard_test

// The attack review of issue 13's rewrite of the verification path: the
// answers Verify gives now, compared with those of 9d563b5, the commit before
// the rewrite, for a corpus of tokens and ways of sending them (every byte
// inserted in or replacing a byte of each segment of several tokens, sent in
// the Authorization header, a cookie and the query). The answers of 9d563b5
// are in testdata/attack-review/answers-9d563b5.txt.gz; this file is the same in
// both trees, and writes that file when JWTGUARD_WRITE_ANSWERS names it:
//
//	cd <9d563b5 worktree> && cp <this file> . &&
//	JWTGUARD_WRITE_ANSWERS=<path> go test -run TestAttackReviewAnswersAsBefore .

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

const arGolden = "testdata/attack-review/answers-9d563b5.txt.gz"

// arRequest is one request of the corpus.
type arRequest struct {
	name string
	make func() *http.Request
}

// arTokens are the tokens the corpus mutates.
func arTokens() []struct{ name, tok string } {
	exp := vtNow.Add(5 * time.Minute).Unix()
	full := fmt.Sprintf(`{"sub":"user-\u00e9\\u0041","username":"al\"ice","roles":["a","b","c","d","e"],"role":"r","aud":["api","x"],"scope":"read write","jti":"j1","iat":%d,"exp":%d}`, vtNow.Unix(), exp)
	return []struct{ name, tok string }{
		{"common", vtToken(nil)},
		{"common-reversed", vtCraft(`{"typ":"JWT","alg":"HS256"}`, vtPayload(map[string]any{"roles": []string{"admin"}, "aud": "api"}), vtSecret)},
		{"common-bare", vtCraft(`{"alg":"HS256"}`, vtPayload(nil), vtSecret)},
		{"kid", vtCraft(`{"alg":"HS256","kid":"k1"}`, vtPayload(nil), vtSecret)},
		{"typed", vtCraft(`{"alg":"HS256","typ":"at+jwt"}`, vtPayload(map[string]any{"aud": "api"}), vtSecret)},
		{"typed-upper", vtCraft(`{"alg":"HS256","typ":"AT+JWT"}`, vtPayload(map[string]any{"aud": "api"}), vtSecret)},
		{"full", vtCraft(vtHS256, full, vtSecret)},
		{"expired", vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix()})},
		{"expired-no-sub", vtToken(map[string]any{"exp": vtNow.Add(-time.Hour).Unix(), "sub": nil})},
		{"forged", vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)},
		{"crit", vtCraft(`{"alg":"HS256","crit":["b64"]}`, vtPayload(nil), vtSecret)},
		{"alg-none", vtSeg(`{"alg":"none"}`) + "." + vtSeg(vtPayload(nil)) + "."},
		{"alg-escaped", vtCraft(`{"alg":"HS\u0032\u0035\u0036","typ":"JWT"}`, vtPayload(nil), vtSecret)},
		{"dup-alg", vtCraft(`{"alg":"HS256","alg":"HS256"}`, vtPayload(nil), vtSecret)},
		{"header-space", vtCraft(`{"alg":"HS256", "typ":"JWT"}`, vtPayload(nil), vtSecret)},
		{"frac-times", vtCraft(vtHS256, fmt.Sprintf(`{"sub":"s","exp":%d.5,"nbf":%d.5,"iat":%d.999}`, vtNow.Add(-10*time.Second).Unix(), vtNow.Add(10*time.Second).Unix(), vtNow.Unix()), vtSecret)},
		{"exp-at-leeway", vtToken(map[string]any{"exp": vtNow.Add(-vtLeeway).Unix()})},
		{"exp-inside-leeway", vtToken(map[string]any{"exp": vtNow.Add(-vtLeeway + time.Second).Unix()})},
		{"nbf-at-leeway", vtToken(map[string]any{"nbf": vtNow.Add(vtLeeway).Unix()})},
		{"nbf-past-leeway", vtToken(map[string]any{"nbf": vtNow.Add(vtLeeway + time.Second).Unix()})},
		{"empty-lists", vtToken(map[string]any{"roles": []string{}, "aud": []string{}})},
	}
}

// arBytes are the bytes tried at every position; every byte is tried at
// one position of each segment.
var arBytes = []byte{0, '\t', '\n', '\r', ' ', '"', '%', '+', '/', '=', '~', '.', '\\', ',', ';', 0x7f, 0x80, 0xc3, 0xff, 'A', '_', '-'}

func arCorpus() []arRequest {
	var reqs []arRequest
	add := func(name string, tok string) {
		reqs = append(reqs,
			arRequest{name + "/header", func() *http.Request { return vtGet("/r", "Bearer "+tok) }},
			arRequest{name + "/header-lower-2sp", func() *http.Request { return vtGet("/r", "bearer  "+tok) }},
			arRequest{name + "/cookie", func() *http.Request {
				r := vtGet("/r")
				r.Header.Set("Cookie", "tok="+tok)
				return r
			}},
			arRequest{name + "/query", func() *http.Request {
				return vtGet("/r?access_token=" + url.QueryEscape(tok))
			}},
			arRequest{name + "/header+query", func() *http.Request {
				return vtGet("/r?access_token="+url.QueryEscape(vtToken(nil)), "Bearer "+tok)
			}},
			arRequest{name + "/header+badescape", func() *http.Request {
				return vtGet("/r?a%zz=1", "Bearer "+tok)
			}},
			arRequest{name + "/header+goodcookie", func() *http.Request {
				r := vtGet("/r", "Bearer "+tok)
				r.Header.Set("Cookie", "tok="+vtToken(nil))
				return r
			}},
		)
	}
	for _, t := range arTokens() {
		add(t.name, t.tok)
		d1 := strings.IndexByte(t.tok, '.')
		d2 := strings.LastIndexByte(t.tok, '.')
		positions := []int{0, d1 / 2, d1, d1 + 1, (d1 + d2) / 2, d2, d2 + 1, (d2 + len(t.tok)) / 2, len(t.tok) - 1, len(t.tok)}
		slices.Sort(positions)
		positions = slices.Compact(positions)
		for _, c := range arBytes {
			for _, i := range positions {
				add(fmt.Sprintf("%s/ins-%#x@%d", t.name, c, i), t.tok[:i]+string([]byte{c})+t.tok[i:])
				if i < len(t.tok) {
					add(fmt.Sprintf("%s/rep-%#x@%d", t.name, c, i), t.tok[:i]+string([]byte{c})+t.tok[i+1:])
				}
			}
		}
		for c := range 256 {
			for _, i := range []int{d1 / 2, (d1 + d2) / 2, (d2 + len(t.tok)) / 2} {
				tok := t.tok[:i] + string([]byte{byte(c)}) + t.tok[i:]
				reqs = append(reqs, arRequest{fmt.Sprintf("%s/all-%#x@%d/header", t.name, c, i), func() *http.Request { return vtGet("/r", "Bearer "+tok) }})
			}
		}
		// Padding, trailing data, doubled and truncated segments.
		for _, v := range []string{t.tok + "=", t.tok + "==", t.tok[:d1] + "=" + t.tok[d1:], t.tok + ".", "." + t.tok, t.tok[:d2], t.tok[:len(t.tok)-1], t.tok + t.tok[len(t.tok)-1:], t.tok[:d1] + "." + t.tok[:d1] + t.tok[d1:]} {
			add(t.name+"/shape-"+strconv.Itoa(len(reqs)), v)
		}
	}
	// The header forms around the scheme.
	good := vtToken(nil)
	for i, v := range []string{"Bearer", "Bearer ", "Bearer\t" + good, "Bearer," + good, "Bearer\u00a0" + good, "Bearer " + good + " ", "Bearer " + good + " x", "Basic " + good, good, "Bearer-x " + good, " Bearer " + good, "BEARER " + good, "Bearer " + strings.Repeat("a", 5000), "Bearer " + strings.Repeat("a.", 3000)} {
		reqs = append(reqs, arRequest{"scheme-" + strconv.Itoa(i), func() *http.Request { return vtGet("/r", v) }})
	}
	reqs = append(reqs, arRequest{"two-headers", func() *http.Request { return vtGet("/r", "Bearer "+good, "Bearer "+good) }})
	reqs = append(reqs, arRequest{"none", func() *http.Request { return vtGet("/r") }})
	return reqs
}

// arConfigs are the Auths and middleware the corpus goes through.
func arConfigs(t *testing.T) []struct {
	name string
	auth *jwtguard.Auth
	h    func(http.Handler) http.Handler
} {
	c1 := vtAuth(t, jwtguard.WithCookie("tok"), jwtguard.WithQueryParameter("access_token"))
	c2 := vtAuth(t, jwtguard.WithCookie("tok"), jwtguard.WithQueryParameter("access_token"), jwtguard.WithTokenType("at+jwt"), jwtguard.WithAudience("api"))
	c3 := vtAuth(t, jwtguard.WithCookie("tok"), jwtguard.WithMaxTokenSize(250), jwtguard.WithRealm("r"))
	c4 := vtAuth(t, jwtguard.WithRolesClaim("roles"), jwtguard.WithAudience("api"))
	return []struct {
		name string
		auth *jwtguard.Auth
		h    func(http.Handler) http.Handler
	}{
		{"verify", c1, c1.Verify},
		{"optional", c1, c1.VerifyOptional},
		{"typed-aud", c2, c2.Verify},
		{"small-realm", c3, c3.Verify},
		{"roles-path", c4, c4.Verify},
	}
}

// arAnswer is how a request is answered, and what the handler saw.
func arAnswer(a *jwtguard.Auth, mw func(http.Handler) http.Handler, r *http.Request) string {
	var seen string
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		if !ok {
			seen = "anonymous"
			return
		}
		var all map[string]any
		derr := c.Decode(&all)
		dj, _ := json.Marshal(all)
		seen = fmt.Sprintf("sub=%q user=%q roles=%q(nil=%v) scopes=%q iss=%q aud=%q(nil=%v) jti=%q iat=%d nbf=%d exp=%d decode=%s/%v",
			c.Subject, c.Username, c.Roles, c.Roles == nil, c.Scopes, c.Issuer, c.Audience, c.Audience == nil, c.TokenID,
			c.IssuedAt.UnixNano(), c.NotBefore.UnixNano(), c.ExpiresAt.UnixNano(), dj, derr)
	}))
	before := a.Stats().Refusals
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	after := a.Stats().Refusals
	var counted []string
	for k, v := range after {
		if v != before[k] {
			counted = append(counted, fmt.Sprintf("%s+%d", k, v-before[k]))
		}
	}
	slices.Sort(counted)
	hdr := rec.Header()
	return fmt.Sprintf("%d|%q|%q|%q|%q|%q|%s|%s", rec.Code, hdr.Values("Www-Authenticate"), hdr.Values("Content-Type"),
		hdr.Values("X-Content-Type-Options"), hdr.Values("Cache-Control"), rec.Body.String(), strings.Join(counted, ","), seen)
}

// TestAttackReviewAnswersAsBefore: every request of the corpus gets the
// answer (status, challenge, headers, body, the Stats reason counted, the
// claims the handler sees) that 9d563b5 gave it.
func TestAttackReviewAnswersAsBefore(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("390 000 requests: long, and no concurrency to race")
	}
	var got []string
	names := []string{}
	for _, cfg := range arConfigs(t) {
		for _, req := range arCorpus() {
			names = append(names, cfg.name+"/"+req.name)
			got = append(got, arAnswer(cfg.auth, cfg.h, req.make().WithContext(context.Background())))
		}
	}
	if path := os.Getenv("JWTGUARD_WRITE_ANSWERS"); path != "" {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(arEncode(got))
		zw.Close()
		if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(arGolden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, err := arDecode(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("golden has %d answers, the corpus %d requests", len(want), len(got))
	}
	diffs := 0
	for i, name := range names {
		if want[i] != got[i] {
			diffs++
			if diffs <= 20 {
				t.Errorf("%s:\n  9d563b5: %s\n  now:     %s", name, want[i], got[i])
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d of %d answers differ from 9d563b5's", diffs, len(got))
	}
}

// arEncode writes answers as a table of the distinct ones and the run-length
// encoded sequence of their indexes.
func arEncode(answers []string) []byte {
	var b strings.Builder
	index := map[string]int{}
	var table []string
	for _, a := range answers {
		if _, ok := index[a]; !ok {
			index[a] = len(table)
			table = append(table, a)
		}
	}
	fmt.Fprintf(&b, "%d %d\n", len(table), len(answers))
	for _, a := range table {
		b.WriteString(strconv.Quote(a) + "\n")
	}
	for i := 0; i < len(answers); {
		j := i
		for j < len(answers) && answers[j] == answers[i] {
			j++
		}
		fmt.Fprintf(&b, "%d*%d\n", index[answers[i]], j-i)
		i = j
	}
	return []byte(b.String())
}

func arDecode(text []byte) ([]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	var nt, na int
	if _, err := fmt.Sscanf(lines[0], "%d %d", &nt, &na); err != nil {
		return nil, err
	}
	table := make([]string, nt)
	for i := range table {
		s, err := strconv.Unquote(lines[1+i])
		if err != nil {
			return nil, err
		}
		table[i] = s
	}
	var out []string
	for _, l := range lines[1+nt:] {
		var idx, n int
		if _, err := fmt.Sscanf(l, "%d*%d", &idx, &n); err != nil {
			return nil, err
		}
		for range n {
			out = append(out, table[idx])
		}
	}
	if len(out) != na {
		return nil, fmt.Errorf("%d answers decoded, %d announced", len(out), na)
	}
	return out, nil
}
