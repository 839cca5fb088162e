package jwtguard_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// ckEnv is rtEnv in cookie mode, with a logout handler and a protected
// route that counts the requests it serves.
type ckEnv struct {
	*rtEnv
	logout    http.Handler
	protected http.Handler
	served    int
}

func ckSetup(t *testing.T, mode jwtguard.CookieMode, opts ...jwtguard.Option) *ckEnv {
	t.Helper()
	e := &ckEnv{rtEnv: rtSetup(t, append([]jwtguard.Option{jwtguard.WithCookieMode(mode)}, opts...)...)}
	e.logout = e.auth.LogoutHandler()
	e.protected = e.auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.served++ }))
	return e
}

// ckCookies returns the Set-Cookie headers of rec by name.
func ckCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		m[c.Name] = c
	}
	return m
}

// ckRequest is a request from a browser: the cookies, and the fetch
// metadata of site ("same-origin", "cross-site", …; none when "").
func ckRequest(method, target, site string, cookies map[string]*http.Cookie, body string, ct string) *http.Request {
	r := httptest.NewRequest(method, "https://app.example"+target, strings.NewReader(body))
	for _, c := range cookies {
		if c.Value != "" {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	if site != "" {
		r.Header.Set("Sec-Fetch-Site", site)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

func ckServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// ckLogin logs alice in (JSON, same origin) and returns her cookies.
func (e *ckEnv) ckLogin(t *testing.T) map[string]*http.Cookie {
	t.Helper()
	rec := ckServe(e.login, ckRequest("POST", "/api/auth/login", "same-origin", nil, ltAlice, "application/json"))
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return ckCookies(rec)
}

// TestCookieModeLogin: a login sets the access token in a __Host- cookie
// (Path=/) and the refresh token in a __Secure- cookie scoped to the auth
// paths, both HttpOnly, Secure and SameSite=Lax, each expiring with its
// token; the JSON body still carries the tokens. Strict makes them
// SameSite=Strict.
func TestCookieModeLogin(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{})
	rec := ckServe(e.login, ckRequest("POST", "/api/auth/login", "same-origin", nil, ltAlice, "application/json"))
	tr := slDecode(t, rec.Body.Bytes())
	cs := ckCookies(rec)
	access, refresh := cs["__Host-access_token"], cs["__Secure-refresh_token"]
	switch {
	case access == nil || refresh == nil:
		t.Fatalf("cookies %v: want __Host-access_token and __Secure-refresh_token", cs)
	case access.Value != tr.AccessToken || access.Path != "/" || !access.HttpOnly || !access.Secure || access.SameSite != http.SameSiteLaxMode || access.MaxAge != 900 || access.Domain != "":
		t.Errorf("access cookie %+v", access)
	case refresh.Value != tr.RefreshToken || refresh.Path != "/api/auth/" || !refresh.HttpOnly || !refresh.Secure || refresh.SameSite != http.SameSiteLaxMode || refresh.MaxAge != 7*24*3600:
		t.Errorf("refresh cookie %+v", refresh)
	}
	e = ckSetup(t, jwtguard.CookieMode{Strict: true, AuthPath: "/auth/"})
	cs = e.ckLogin(t)
	if cs["__Host-access_token"].SameSite != http.SameSiteStrictMode || cs["__Secure-refresh_token"].Path != "/auth/" {
		t.Errorf("Strict, AuthPath: %+v %+v", cs["__Host-access_token"], cs["__Secure-refresh_token"])
	}
}

// TestCookieModeCSRF: an unsafe request that a cookie authenticates
// passes CrossOriginProtection before its token is believed: cross-site
// and same-site requests are refused with 403 (the handler never runs)
// unless their origin is trusted; same-origin ones and requests without
// fetch metadata or Origin (not a browser) pass; safe methods pass; a
// request with an Authorization header is not affected.
func TestCookieModeCSRF(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{TrustedOrigins: []string{"https://admin.example"}})
	cs := e.ckLogin(t)
	for _, tc := range []struct {
		name, method, site, origin string
		want                       int
	}{
		{"same-origin POST", "POST", "same-origin", "", 200},
		{"cross-site POST", "POST", "cross-site", "", 403},
		{"same-site POST (another port or subdomain)", "POST", "same-site", "", 403},
		{"a foreign Origin, no fetch metadata", "POST", "", "https://evil.example", 403},
		{"a trusted origin", "POST", "cross-site", "https://admin.example", 200},
		{"cross-site GET", "GET", "cross-site", "", 200},
		{"cross-site DELETE", "DELETE", "cross-site", "", 403},
		{"no metadata at all (curl)", "POST", "", "", 200},
	} {
		r := ckRequest(tc.method, "/api/things", tc.site, cs, "", "")
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		before := e.served
		rec := ckServe(e.protected, r)
		if rec.Code != tc.want || (tc.want == 403) != (e.served == before) {
			t.Errorf("%s: %d (handler ran: %v), want %d", tc.name, rec.Code, e.served > before, tc.want)
		}
		if tc.want == 403 && (!strings.Contains(rec.Body.String(), `"cross_origin"`) || rec.Header().Get("WWW-Authenticate") != "") {
			t.Errorf("%s: %s, challenge %q; want a cross_origin body and no challenge", tc.name, rec.Body, rec.Header().Get("WWW-Authenticate"))
		}
	}
	// The header, not the cookie: CSRF cannot forge it.
	r := ckRequest("POST", "/api/things", "cross-site", nil, "", "")
	r.Header.Set("Authorization", "Bearer "+cs["__Host-access_token"].Value)
	if rec := ckServe(e.protected, r); rec.Code != 200 {
		t.Errorf("cross-site POST with the Authorization header: %d", rec.Code)
	}
	if st := e.auth.Stats().Refusals; st["cross_origin"] != 4 {
		t.Errorf("cross_origin %d, want 4", st["cross_origin"])
	}
}

// TestCookieModeAuthEndpointsCSRF: login, refresh, logout and
// registration refuse a cross-site request in cookie mode, before
// anything happens (login CSRF: a cross-site form logging the browser into
// the attacker's account).
func TestCookieModeAuthEndpointsCSRF(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{LoginPage: "/login"})
	cs := e.ckLogin(t)
	rec := ckServe(e.login, ckRequest("POST", "/api/auth/login", "cross-site", nil, "username=alice&password=password123", "application/x-www-form-urlencoded"))
	if rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
		t.Errorf("cross-site form login: %d, cookies %v; want 403 and none", rec.Code, rec.Result().Cookies())
	}
	if rec := ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "cross-site", cs, "", "")); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site refresh: %d", rec.Code)
	}
	if rec := ckServe(e.logout, ckRequest("POST", "/api/auth/logout", "cross-site", cs, "", "")); rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
		t.Errorf("cross-site logout: %d, cookies %v; want 403, cookies kept", rec.Code, rec.Result().Cookies())
	}
	users, _ := jwtguard.NewMemoryStore()
	if rec := ckServe(e.auth.RegisterHandler(users), ckRequest("POST", "/api/auth/register", "cross-site", nil, rgBody("mallory", rgPassword), "application/json")); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site registration: %d", rec.Code)
	}
	// The session is intact.
	if rec := ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", cs, "", "")); rec.Code != http.StatusOK {
		t.Errorf("same-origin refresh after the attempts: %d %s", rec.Code, rec.Body)
	}
}

// TestCookieModeRefresh: a refresh with an empty body takes the refresh
// cookie, answers new cookies and no token in its body; the cookie's
// token is spent. A refresh whose token is in the body answers it in the
// body too.
func TestCookieModeRefresh(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{})
	cs := e.ckLogin(t)
	rec := ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", cs, "", ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("cookie refresh: %d %s", rec.Code, rec.Body)
	}
	if body := rec.Body.String(); strings.Contains(body, "access_token") || strings.Contains(body, "refresh_token") || !strings.Contains(body, `"expires_in":900`) {
		t.Errorf("cookie refresh body %s: want no tokens", body)
	}
	next := ckCookies(rec)
	if next["__Host-access_token"] == nil || next["__Secure-refresh_token"] == nil || next["__Secure-refresh_token"].Value == cs["__Secure-refresh_token"].Value {
		t.Fatalf("cookie refresh set %v", next)
	}
	if rec := ckServe(e.protected, ckRequest("GET", "/", "same-origin", next, "", "")); rec.Code != 200 {
		t.Errorf("the refreshed access cookie: %d", rec.Code)
	}
	rtRefused(t, "the spent refresh cookie", ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", cs, "", "")), http.StatusBadRequest, "invalid_grant")

	cs = e.ckLogin(t)
	rec = ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", nil, rtJSON(cs["__Secure-refresh_token"].Value), "application/json"))
	if tr := slDecode(t, rec.Body.Bytes()); rec.Code != 200 || tr.RefreshToken == "" {
		t.Errorf("body refresh in cookie mode: %d %s", rec.Code, rec.Body)
	}
	rtRefused(t, "no body, no cookie", ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", nil, "", "")), http.StatusBadRequest, "invalid_request")
	two := ckRequest("POST", "/api/auth/refresh", "same-origin", nil, "", "")
	two.Header.Add("Cookie", "__Secure-refresh_token=a; __Secure-refresh_token=b")
	rtRefused(t, "two refresh cookies", ckServe(e.refresh, two), http.StatusBadRequest, "invalid_request")
}

// TestCookieModeLogout: a logout with the cookies alone ends the session
// and clears both cookies (with the attributes they were set with, or a
// browser keeps them); a page's logout form is sent to the login page.
func TestCookieModeLogout(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{LoginPage: "/login"})
	cs := e.ckLogin(t)
	rec := ckServe(e.logout, ckRequest("POST", "/api/auth/logout", "same-origin", map[string]*http.Cookie{"r": cs["__Secure-refresh_token"], "c": cs["__Host-refresh_check"]}, "", ""))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("logout with the refresh cookie: %d %s", rec.Code, rec.Body)
	}
	cleared := ckCookies(rec)
	for name, path := range map[string]string{"__Host-access_token": "/", "__Secure-refresh_token": "/api/auth/", "__Host-refresh_check": "/"} {
		if c := cleared[name]; c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != path || !c.Secure || !c.HttpOnly {
			t.Errorf("%s not cleared with its attributes: %+v", name, c)
		}
	}
	if rec := ckServe(e.protected, ckRequest("GET", "/", "same-origin", cs, "", "")); rec.Code != http.StatusUnauthorized {
		t.Errorf("the access cookie after logout: %d", rec.Code)
	}

	cs = e.ckLogin(t)
	rec = ckServe(e.logout, ckRequest("POST", "/api/auth/logout", "same-origin", cs, "", "application/x-www-form-urlencoded"))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("form logout: %d to %q, want 303 to /login", rec.Code, rec.Header().Get("Location"))
	}
	rtRefused(t, "the refresh cookie after a form logout", ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", cs, "", "")), http.StatusBadRequest, "invalid_grant")
}

// TestCookieModeFormLogin: an HTML form logs in from its body fields
// only; success is a 303 to the form's return path, when it is a path of
// this site ("/" otherwise), with the cookies; a refusal is a 303 to the
// login page naming the reason. Without cookie mode, a form is 415.
func TestCookieModeFormLogin(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{LoginPage: "/login"})
	form := func(body string) *httptest.ResponseRecorder {
		return ckServe(e.login, ckRequest("POST", "/api/auth/login?username=admin", "same-origin", nil, body, "application/x-www-form-urlencoded"))
	}
	for ret, want := range map[string]string{
		"/account?tab=keys":     "/account?tab=keys",
		"":                      "/",
		"//evil.example/":       "/",
		"/\\evil.example":       "/",
		"/%09/evil.example":     "/%09/evil.example", // stays a path: the escape is not a tab
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"/caf\u00e9":            "/",
	} {
		rec := form("username=alice&password=password123&return=" + url.QueryEscape(ret))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("return %q: %d to %q, want 303 to %q", ret, rec.Code, rec.Header().Get("Location"), want)
		}
		if ckCookies(rec)["__Host-access_token"] == nil {
			t.Errorf("return %q: no access cookie", ret)
		}
	}
	// A control character in a field is refused (browsers drop tab, CR
	// and LF from URLs: "/\t/evil.example" would be "//evil.example").
	for _, ret := range []string{"/\t/evil.example", "/ok\r\nSet-Cookie: x="} {
		rec := form("username=alice&password=password123&return=" + url.QueryEscape(ret))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?error=malformed_request&return=%2F" || len(rec.Result().Cookies()) != 0 {
			t.Errorf("return %q: %d to %q, cookies %v", ret, rec.Code, rec.Header().Get("Location"), rec.Result().Cookies())
		}
	}
	rec := form("username=alice&password=wrong&return=%2Faccount")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?error=invalid_credentials&return=%2Faccount" || len(rec.Result().Cookies()) != 0 {
		t.Errorf("a wrong password: %d to %q, cookies %v", rec.Code, rec.Header().Get("Location"), rec.Result().Cookies())
	}
	rec = form("username=alice&username=admin&password=password123")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?error=malformed_request") {
		t.Errorf("a repeated field: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = form("password=password123") // the username in the query is not read
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?error=malformed_request") {
		t.Errorf("a username in the query only: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	plain := rtSetup(t)
	rtRefused(t, "a form without cookie mode", rtPost(plain.login, "application/x-www-form-urlencoded", "username=alice&password=password123"), http.StatusUnsupportedMediaType, "unsupported_media_type")
}

// TestCookieModeRedirectsPages: a page navigation that Verify would
// refuse with 401 is sent to the login page with its path to return to;
// an API request, an unsafe method and a 403 are not.
func TestCookieModeRedirectsPages(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{LoginPage: "/login"})
	admin := e.auth.Verify(e.auth.Authorize("admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	page := func(h http.Handler, method, target, accept string, cs map[string]*http.Cookie) *httptest.ResponseRecorder {
		r := ckRequest(method, target, "same-origin", cs, "", "")
		r.Header.Set("Accept", accept)
		return ckServe(h, r)
	}
	const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	rec := page(e.protected, "GET", "/dashboard?tab=1", html, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?return=%2Fdashboard%3Ftab%3D1" {
		t.Errorf("a page without a token: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = page(e.protected, "GET", "//evil.example/x", html, nil)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/login?return=%2F" {
		t.Errorf("a page at //evil.example: %d to %q, want the return path /", rec.Code, loc)
	}
	if rec := page(e.protected, "GET", "/api/me", "application/json", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("an API request: %d, want 401", rec.Code)
	}
	if rec := page(e.protected, "POST", "/dashboard", html, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("a POST: %d, want 401", rec.Code)
	}
	cs := e.ckLogin(t)
	if rec := page(admin, "GET", "/admin", html, cs); rec.Code != http.StatusForbidden {
		t.Errorf("a page alice may not see: %d, want 403 (never a redirect)", rec.Code)
	}
	e.clock.Add(time.Hour)
	if rec := page(e.protected, "GET", "/dashboard", html, cs); rec.Code != http.StatusSeeOther {
		t.Errorf("a page with an expired token: %d, want 303", rec.Code)
	}
	// Without a login page: 401.
	e = ckSetup(t, jwtguard.CookieMode{})
	if rec := page(e.protected, "GET", "/dashboard", html, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("no LoginPage: %d, want 401", rec.Code)
	}
}

// TestCookieModeDevelopment: the development mode drops the prefixes and
// Secure, and New says so at Warn level.
func TestCookieModeDevelopment(t *testing.T) {
	var log bytes.Buffer
	e := ckSetup(t, jwtguard.CookieMode{Development: true}, vtLogged(&log))
	cs := e.ckLogin(t)
	if c := cs["access_token"]; c == nil || c.Secure || cs["refresh_token"] == nil || cs["refresh_token"].Secure {
		t.Errorf("development cookies %v", cs)
	}
	if !strings.Contains(log.String(), `"level":"WARN","msg":"jwtguard: cookie mode in DEVELOPMENT`) {
		t.Errorf("no warning:\n%s", log.String())
	}
}

// TestCookieModeConfig: New refuses a cookie mode it cannot serve; the
// trusted origins of JWT_TRUSTED_ORIGINS need cookie mode, and with it
// are trusted.
func TestCookieModeConfig(t *testing.T) {
	for name, opts := range map[string][]jwtguard.Option{
		"another WithCookie":     {jwtguard.WithCookie("session"), jwtguard.WithCookieMode(jwtguard.CookieMode{})},
		"AuthPath without slash": {jwtguard.WithCookieMode(jwtguard.CookieMode{AuthPath: "/api/auth"})},
		"AuthPath relative":      {jwtguard.WithCookieMode(jwtguard.CookieMode{AuthPath: "api/"})},
		"LoginPage elsewhere":    {jwtguard.WithCookieMode(jwtguard.CookieMode{LoginPage: "https://evil.example/login"})},
		"LoginPage //":           {jwtguard.WithCookieMode(jwtguard.CookieMode{LoginPage: "//evil.example"})},
		"a bad origin":           {jwtguard.WithCookieMode(jwtguard.CookieMode{TrustedOrigins: []string{"not an origin"}})},
	} {
		if _, err := jwtguard.New(testKey(t, ltSecret), opts...); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	lookup := env("JWT_SECRET", string(ltSecret), "JWT_TRUSTED_ORIGINS", "https://admin.example, https://ops.example")
	if _, err := jwtguard.FromLookupEnv(lookup); err == nil || !strings.Contains(err.Error(), "JWT_TRUSTED_ORIGINS") {
		t.Errorf("JWT_TRUSTED_ORIGINS without cookie mode: %v, want an error naming it", err)
	}
	bad := env("JWT_SECRET", string(ltSecret), "JWT_TRUSTED_ORIGINS", "https://ops.example, notaurl")
	if _, err := jwtguard.FromLookupEnv(bad, jwtguard.WithCookieMode(jwtguard.CookieMode{})); err == nil || !strings.Contains(err.Error(), "JWT_TRUSTED_ORIGINS") || !strings.Contains(err.Error(), `"notaurl"`) {
		t.Errorf("JWT_TRUSTED_ORIGINS with a value that is not an origin: %v, want an error naming the variable and the value", err)
	}
	a, err := jwtguard.FromLookupEnv(lookup, jwtguard.WithCookieMode(jwtguard.CookieMode{}), jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := a.Issue(t.Context(), jwtguard.User{ID: "u"})
	h := a.Verify(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for origin, want := range map[string]int{"https://ops.example": 200, "https://evil.example": 403} {
		r := ckRequest("POST", "/x", "cross-site", map[string]*http.Cookie{"a": {Name: "__Host-access_token", Value: tr.AccessToken}}, "", "")
		r.Header.Set("Origin", origin)
		if rec := ckServe(h, r); rec.Code != want {
			t.Errorf("origin %s: %d, want %d", origin, rec.Code, want)
		}
	}
}

// TestReviewPlantedRefreshCookie (a finding of the cookie-mode review,
// fixed): another subdomain can set a __Secure- cookie with Domain=<the
// parent>, and so plant its own refresh token in a browser that has none;
// a refresh from it signed the browser into the attacker's account. A
// refresh cookie now needs the host-only __Host-refresh_check cookie that
// this host set beside it.
func TestReviewPlantedRefreshCookie(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{})
	attacker := ckCookies(ckServe(e.login, ckRequest("POST", "/api/auth/login", "same-origin", nil, ltAdmin, "application/json")))
	rec := ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", map[string]*http.Cookie{"r": attacker["__Secure-refresh_token"]}, "", ""))
	rtRefused(t, "a planted refresh cookie", rec, http.StatusBadRequest, "invalid_request")
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("a planted refresh cookie set cookies: %v", rec.Result().Cookies())
	}
	// With the victim's own check cookie beside it: still refused.
	victim := e.ckLogin(t)
	rec = ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", map[string]*http.Cookie{"r": attacker["__Secure-refresh_token"], "c": victim["__Host-refresh_check"]}, "", ""))
	rtRefused(t, "a planted refresh cookie beside the victim's check", rec, http.StatusBadRequest, "invalid_request")
	rec = ckServe(e.refresh, ckRequest("POST", "/api/auth/refresh", "same-origin", victim, "", ""))
	if rec.Code != http.StatusOK || ckCookies(rec)["__Host-refresh_check"] == nil {
		t.Errorf("the browser's own cookies: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
}

// TestReviewLogoutClearsOnlyWhatEnded (a finding of the cookie-mode
// review, fixed): a logout cleared the browser's cookies even when it was
// refused before ending anything (a malformed body, a second refresh
// cookie tossed in from a sibling subdomain), so the browser forgot a
// session that lived on. Now the cookies are cleared only once the
// sessions have ended, and a refresh cookie that cannot be read does not
// stop the access token's session from ending.
func TestReviewLogoutClearsOnlyWhatEnded(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{})
	cs := e.ckLogin(t)
	rec := ckServe(e.logout, ckRequest("POST", "/api/auth/logout", "same-origin", cs, "x=1;y=2", "application/x-www-form-urlencoded"))
	rtRefused(t, "a malformed body", rec, http.StatusBadRequest, "invalid_request")
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("a refused logout cleared cookies: %v", rec.Result().Cookies())
	}
	r := ckRequest("POST", "/api/auth/logout", "same-origin", cs, "", "")
	r.Header.Add("Cookie", "__Secure-refresh_token=tossedtossedtossedtossedtossedtossedtossed1")
	if rec := ckServe(e.logout, r); rec.Code != http.StatusNoContent {
		t.Fatalf("a logout with a tossed second refresh cookie: %d %s", rec.Code, rec.Body)
	}
	rtRefused(t, "the session's refresh token after that logout", rtPost(e.refresh, "application/json", rtJSON(cs["__Secure-refresh_token"].Value)), http.StatusBadRequest, "invalid_grant")

	// Log out everywhere with an expired access cookie: refused, and the
	// refresh cookie kept, so that the page can refresh and retry.
	cs = e.ckLogin(t)
	e.clock.Add(20 * time.Minute)
	rec = ckServe(e.auth.LogoutEverywhereHandler(), ckRequest("POST", "/api/auth/logout-everywhere", "same-origin", map[string]*http.Cookie{"r": cs["__Secure-refresh_token"], "c": cs["__Host-refresh_check"]}, "", ""))
	if rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Errorf("log out everywhere without an access cookie: %d, cookies %v; want 401 and the cookies kept", rec.Code, rec.Result().Cookies())
	}
}

// TestReviewLogoutWithStaleCookies (findings of the fixes' review, fixed):
// a logout whose access cookie the server no longer accepts (a rotated
// key) was refused before the refresh cookie was read, and kept every
// cookie, so the session lived on and the login page's refresh signed the
// user back in; and a refresh cookie without its check cookie (a browser
// from before the check, or a second one a sibling tossed in) with no
// access cookie refused the logout. Both now end the sessions the refresh
// cookies name and clear the cookies.
func TestReviewLogoutWithStaleCookies(t *testing.T) {
	e := ckSetup(t, jwtguard.CookieMode{})
	cs := e.ckLogin(t)
	acc := *cs["__Host-access_token"]
	acc.Value = acc.Value[:len(acc.Value)-4] + "AAAA"
	stale := map[string]*http.Cookie{"a": &acc, "r": cs["__Secure-refresh_token"], "c": cs["__Host-refresh_check"]}
	rec := ckServe(e.logout, ckRequest("POST", "/api/auth/logout", "same-origin", stale, "", ""))
	if rec.Code != http.StatusNoContent || ckCookies(rec)["__Secure-refresh_token"] == nil {
		t.Fatalf("logout with a stale access cookie: %d %s, cookies %v", rec.Code, rec.Body, rec.Result().Cookies())
	}
	rtRefused(t, "the refresh cookie after that logout", rtPost(e.refresh, "application/json", rtJSON(cs["__Secure-refresh_token"].Value)), http.StatusBadRequest, "invalid_grant")
	// A stale access cookie alone is still refused: nothing to end.
	rec = ckServe(e.logout, ckRequest("POST", "/api/auth/logout", "same-origin", map[string]*http.Cookie{"a": &acc}, "", ""))
	rtRefused(t, "a stale access cookie alone", rec, http.StatusUnauthorized, "invalid_token")

	cs = e.ckLogin(t)
	r := ckRequest("POST", "/api/auth/logout", "same-origin", map[string]*http.Cookie{"r": cs["__Secure-refresh_token"]}, "", "")
	r.Header.Add("Cookie", "__Secure-refresh_token=tossedtossedtossedtossedtossedtossedtossed1")
	if rec := ckServe(e.logout, r); rec.Code != http.StatusNoContent {
		t.Fatalf("logout with two refresh cookies and no check: %d %s", rec.Code, rec.Body)
	}
	rtRefused(t, "the browser's refresh token after that logout", rtPost(e.refresh, "application/json", rtJSON(cs["__Secure-refresh_token"].Value)), http.StatusBadRequest, "invalid_grant")
}
