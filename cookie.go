package jwtguard

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// CookieMode is how an [Auth] serves browsers with cookies
// ([WithCookieMode]): the login and refresh handlers also set the tokens in
// HttpOnly cookies, Verify reads the access token from its cookie (when
// the request has no Authorization header), every unsafe request that a
// cookie authenticates, and every login, refresh, logout and registration,
// must pass net/http's CrossOriginProtection (CSRF), and page navigations
// that need a login can be sent to a login page.
//
// The cookies: the access token in __Host-access_token (Path=/), the
// refresh token in __Secure-refresh_token (Path=AuthPath, so that only the
// refresh and logout routes receive it), and beside it
// __Host-refresh_check (Path=/), a digest of the refresh token that only
// this host can set: another subdomain of the site can plant a __Secure-
// cookie (with Domain=<the parent>), never a __Host- one, so a refresh
// cookie without its check is refused. All HttpOnly, Secure and
// SameSite=Lax (Strict with Strict), each expiring with its token. A
// logout that ends its sessions clears them all; a refused one leaves
// them, to retry with. A refresh whose token came from its cookie answers
// with cookies and no tokens in its body, so that a script on the page
// cannot read a refresh token out of a refresh it makes; a login's body
// carries the tokens as without cookie mode (an HTML form's login is
// answered with a redirect instead).
type CookieMode struct {
	// Strict sets SameSite=Strict: the cookies are not sent on a
	// navigation from another site either (a link in an e-mail opens the
	// login page). Zero: SameSite=Lax.
	Strict bool
	// AuthPath is the refresh cookie's Path: the prefix of the refresh and
	// logout routes, ending in '/'. Zero: "/api/auth/".
	AuthPath string
	// TrustedOrigins are origins ("https://app.example.com", with a port
	// if not the scheme's default) whose cross-origin requests pass the
	// CSRF check: a front end served from another port or subdomain, which
	// CrossOriginProtection refuses otherwise (it refuses Sec-Fetch-Site:
	// same-site too). FromEnv adds JWT_TRUSTED_ORIGINS (comma-separated).
	// Zero: none.
	TrustedOrigins []string
	// LoginPage is the path Verify sends a page navigation to (a GET or
	// HEAD whose Accept names text/html) that it would refuse with 401:
	// a 303 to LoginPage?return=<the request's path and query>. A 403 is
	// never redirected (the login page would send the user back). An
	// HTML form's login that fails is sent there too, with ?error=<reason>.
	// Zero: no redirects.
	LoginPage string
	// Development drops the cookies' __Host- and __Secure- prefixes and
	// their Secure attribute, for plain-http development on localhost,
	// where browsers refuse them (inconsistently). New logs a warning that
	// says so. Never in production: cookies without Secure are sent over
	// plain http, where anyone on the path can read them.
	Development bool
}

// Cookie names; the development mode drops the prefixes, which browsers
// honour only with Secure (and, for __Host-, Path=/ and no Domain).
const (
	accessCookie  = "__Host-access_token"
	refreshCookie = "__Secure-refresh_token"
	// checkCookie holds a digest of the refresh token, host-only: another
	// subdomain of the site can set a __Secure- cookie with
	// Domain=<the parent>, and so plant its own refresh token in a
	// browser that has none (a login CSRF past the __Host- access
	// cookie), but it cannot set a __Host- cookie to match.
	checkCookie = "__Host-refresh_check"
)

// WithCookieMode turns on cookie mode (see [CookieMode]). A [WithCookie]
// of another name is an error: Verify reads the mode's access cookie.
// Default: off; the handlers set no cookies and CSRF is not checked.
func WithCookieMode(m CookieMode) Option {
	return func(c *config) {
		m.TrustedOrigins = slices.Concat(c.trustedOrigins, m.TrustedOrigins)
		c.cookieMode = &m
	}
}

// cookies is an Auth's resolved cookie mode.
type cookies struct {
	access, refresh, check string
	authPath               string
	sameSite               http.SameSite
	secure                 bool
	loginPage              string
	csrf                   *http.CrossOriginProtection
}

// newCookies resolves m; cookieName is WithCookie's, which must agree.
func newCookies(m *CookieMode, cookieName string) (*cookies, error) {
	ck := &cookies{
		access:    accessCookie,
		refresh:   refreshCookie,
		check:     checkCookie,
		authPath:  m.AuthPath,
		sameSite:  http.SameSiteLaxMode,
		secure:    !m.Development,
		loginPage: m.LoginPage,
		csrf:      http.NewCrossOriginProtection(),
	}
	if m.Development {
		ck.access, ck.refresh, ck.check = "access_token", "refresh_token", "refresh_check"
	}
	if m.Strict {
		ck.sameSite = http.SameSiteStrictMode
	}
	if ck.authPath == "" {
		ck.authPath = "/api/auth/"
	}
	switch {
	case !strings.HasPrefix(ck.authPath, "/") || !strings.HasSuffix(ck.authPath, "/") || !validCookiePath(ck.authPath):
		return nil, fmt.Errorf("jwtguard: cookie mode: AuthPath %q is not a path that begins and ends with '/'", m.AuthPath)
	case m.LoginPage != "" && safeReturnPath(m.LoginPage) != m.LoginPage:
		return nil, fmt.Errorf("jwtguard: cookie mode: LoginPage %q is not a path of this site", m.LoginPage)
	case cookieName != "" && cookieName != ck.access:
		return nil, fmt.Errorf("jwtguard: WithCookie(%q) with cookie mode, whose access cookie is %q", cookieName, ck.access)
	}
	for _, o := range m.TrustedOrigins {
		if err := ck.csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("jwtguard: cookie mode: trusted origin %q: %w", o, err)
		}
	}
	return ck, nil
}

func validCookiePath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c > 0x7e || c == ';' {
			return false
		}
	}
	return true
}

// errCrossOrigin is the cause of a request refused by the CSRF check.
var errCrossOrigin = fmt.Errorf("%w: cross-origin request", ErrForbidden)

// checkOrigin runs the CSRF check on r in cookie mode.
func (a *Auth) checkOrigin(r *http.Request) error {
	if a.cookies == nil {
		return nil
	}
	if err := a.cookies.csrf.Check(r); err != nil {
		return fmt.Errorf("%w: %w (Origin %q, Sec-Fetch-Site %q)", errCrossOrigin, err, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"))
	}
	return nil
}

// setTokenCookies sets the cookies of tr, whose refresh token (if any)
// lives until sessionEnd.
func (a *Auth) setTokenCookies(w http.ResponseWriter, tr TokenResponse, sessionEnd time.Time) {
	ck := a.cookies
	http.SetCookie(w, &http.Cookie{
		Name: ck.access, Value: tr.AccessToken, Path: "/", MaxAge: int(tr.ExpiresIn),
		HttpOnly: true, Secure: ck.secure, SameSite: ck.sameSite,
	})
	if tr.RefreshToken != "" {
		age := int(sessionEnd.Sub(a.cfg.now()) / time.Second)
		http.SetCookie(w, &http.Cookie{
			Name: ck.refresh, Value: tr.RefreshToken, Path: ck.authPath, MaxAge: max(age, 1),
			HttpOnly: true, Secure: ck.secure, SameSite: ck.sameSite,
		})
		http.SetCookie(w, &http.Cookie{
			Name: ck.check, Value: refreshCheck(tr.RefreshToken), Path: "/", MaxAge: max(age, 1),
			HttpOnly: true, Secure: ck.secure, SameSite: ck.sameSite,
		})
	}
}

// refreshCheck is the check cookie's value for a refresh token: 128 bits
// of its SHA-256, which tells nothing the store's hash does not.
func refreshCheck(tok string) string {
	h := HashRefreshToken(tok)
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// clearTokenCookies clears both cookies, with the attributes they were
// set with (a browser keeps a __Host- cookie that a Set-Cookie without
// Secure or Path=/ tries to clear).
func (a *Auth) clearTokenCookies(w http.ResponseWriter) {
	ck := a.cookies
	for _, c := range []*http.Cookie{
		{Name: ck.access, Path: "/"},
		{Name: ck.refresh, Path: ck.authPath},
		{Name: ck.check, Path: "/"},
	} {
		c.MaxAge, c.HttpOnly, c.Secure, c.SameSite = -1, true, ck.secure, ck.sameSite
		http.SetCookie(w, c)
	}
}

// refreshFromCookie returns the refresh cookie's token, "" for none; two
// non-empty cookies of the name, or one net/http cannot read, are
// refused, and so is one without the host-only check cookie that a login
// or refresh of this host set beside it (one set from another subdomain).
func (a *Auth) refreshFromCookie(r *http.Request) (string, error) {
	tok, err := a.cookieValue(r, a.cookies.refresh)
	if err != nil || tok == "" {
		return tok, err
	}
	check, err := a.cookieValue(r, a.cookies.check)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(check), []byte(refreshCheck(tok))) != 1 {
		return "", fmt.Errorf("%w: the refresh cookie has no matching %s cookie (set by another subdomain?)", errCookieNotOurs, a.cookies.check)
	}
	return tok, nil
}

// errCookieNotOurs refuses a refresh cookie this host did not set.
var errCookieNotOurs = fmt.Errorf("%w: refresh cookie not set by this host", ErrInvalidRequest)

// ReturnPath returns p if it is a path of this site that a redirect may
// go to, and "/" otherwise, for a login page of one's own that sends the
// browser back where it came from (the login handler checks a form's
// return path with it too). See safeReturnPath.
func ReturnPath(p string) string { return safeReturnPath(p) }

// safeReturnPath returns p if it is a path of this site that a redirect
// may go to, and "/" otherwise: it must begin with one '/', and hold no
// backslash, no control character (browsers drop tab, CR and LF from
// URLs, so "/\t/evil.example" is "//evil.example") and nothing that is not
// printable ASCII, so that no browser reads it as another host
// (http.Redirect passes such a path through unchanged).
func safeReturnPath(p string) string {
	if len(p) == 0 || p[0] != '/' || len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return "/"
	}
	return p
}

// isPageNavigation reports whether r is a browser loading a page: a GET or
// HEAD that accepts text/html.
func isPageNavigation(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// redirectToLogin sends a page navigation refused with 401 to the login
// page, with its path as the return path; it reports whether it did.
func (a *Auth) redirectToLogin(w http.ResponseWriter, r *http.Request, err error) bool {
	if a.cookies == nil || a.cookies.loginPage == "" || !isPageNavigation(r) {
		return false
	}
	var re *refusalError
	if !errors.As(err, &re) || re.ref.status != http.StatusUnauthorized {
		return false
	}
	target := a.cookies.loginPage + "?return=" + url.QueryEscape(safeReturnPath(r.URL.RequestURI()))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
	return true
}

// formRedirect answers an HTML form's request with a 303 to target.
func formRedirect(w http.ResponseWriter, r *http.Request, target string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}
