package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/jwtguard/jwtguard"
)

// browserPath returns a Chromium binary, or skips the test when there is
// none (and fails instead under CI, which installs Debian's chromium).
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium binary (chromium, chromium-browser, google-chrome) on PATH; CI installs Debian's chromium")
	}
	t.Skip("no Chromium binary (chromium, chromium-browser, google-chrome) on PATH: install one (apt-get install chromium) to run the browser test")
	return ""
}

// newBrowser starts a headless Chromium for the test, with a fresh
// profile, that accepts the httptest servers' certificates.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.IgnoreCertErrors,
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(tctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return tctx
}

// newTLSServer serves the real handler over TLS, in the production
// cookie mode (Secure, __Host- and __Secure- prefixes), with cost-4 demo
// hashes.
func newTLSServer(t *testing.T, opts ...jwtguard.Option) (*httptest.Server, *jwtguard.Auth) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := loginPolicy("")
	policy.DummyHashCost, policy.NoBudget = 4, true
	auth, err := newAuth(env("JWT_SECRET", testSecret), logger, append([]jwtguard.Option{
		jwtguard.WithLoginPolicy(policy),
		jwtguard.WithSessions(jwtguard.NewMemorySessionStore()),
		jwtguard.WithCookieMode(cookieMode(false))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	store := memoryDemoStore(t)
	srv := httptest.NewTLSServer(newHandler(auth, store, nil, logger))
	t.Cleanup(srv.Close)
	return srv, auth
}

// signIn fills and submits the login form on the page the browser is on
// and waits for the protected page.
func signIn(ctx context.Context, password string, wait chromedp.Action[chromedp.Void]) error {
	return chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		wait,
	)
}

// waitForPage waits until the browser has loaded the page at url, which a
// form's submission is navigating to: polled, since a navigation under
// way destroys the page that a script polling from inside would run in.
func waitForPage(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.readyState`))
		if err == nil && state == url+" complete" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the browser did not load %s: last %q, %v", url, state, err)
		case <-tick.C:
		}
	}
}

// browserCookies returns the cookies the browser keeps, by name.
func browserCookies(t *testing.T, ctx context.Context) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestBrowserSignInAndOut drives a real headless Chromium against the
// example server over TLS: the protected page sends it to the login page,
// signing in brings it back, signing out sends it to the login page, and
// the protected page then sends it there again; a wrong password comes
// back to the login page with its reason.
func TestBrowserSignInAndOut(t *testing.T) {
	ctx := newBrowser(t)
	srv, _ := newTLSServer(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form"))); err != nil {
		t.Fatal(err)
	}
	if loc, want := location(t, ctx), srv.URL+"/login?return=%2F"; loc != want {
		t.Fatalf("the protected page sent the browser to %q, want %q", loc, want)
	}
	if err := signIn(ctx, "password123", chromedp.WaitVisible(chromedp.CSS("#signed-in"))); err != nil {
		t.Fatal(err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#who")))
	if err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); who != "alice" || loc != srv.URL+"/" {
		t.Fatalf("after signing in: %q at %q, want alice at %s/", who, loc, srv.URL)
	}
	if got := browserCookies(t, ctx); len(got) != 3 || !got["__Host-access_token"].Secure || !got["__Host-access_token"].HTTPOnly || got["__Secure-refresh_token"].Path != "/api/auth/" {
		t.Fatalf("the browser keeps the cookies %v, want the three of cookie mode", got)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if loc, want := location(t, ctx), srv.URL+"/login?return=%2F"; loc != want {
		t.Errorf("after signing out, the protected page sent the browser to %q, want %q", loc, want)
	}
	if got := browserCookies(t, ctx); len(got) != 0 {
		t.Errorf("after signing out the browser still keeps %v", got)
	}
	if err := signIn(ctx, "wrong password", chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
		t.Fatal(err)
	}
	if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#error"))); err != nil || !strings.Contains(msg, "Wrong username or password") {
		t.Errorf("a wrong password: %q, %v", msg, err)
	}
}

// TestBrowserCSRF: a page on another port of the same host (same-site,
// so the browser sends the SameSite=Lax cookie with its form POST) posts
// to an unsafe route of the signed-in user; the CSRF check refuses it
// with 403 cross_origin, not for want of a cookie (that would be 401
// no_token), and the route's handler never runs. The same route from the
// site's own page works.
func TestBrowserCSRF(t *testing.T) {
	ctx := newBrowser(t)
	srv, auth := newTLSServer(t)
	target := srv.URL + "/api/secure-data"
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><body><form id="f" method="post" action="%s"><input name="note" value="pwned"></form><script>document.getElementById("f").submit()</script></body>`, target)
	}))
	defer evil.Close()
	u1, _ := url.Parse(srv.URL)
	u2, _ := url.Parse(evil.URL)
	if u1.Hostname() != u2.Hostname() || u1.Port() == u2.Port() {
		t.Fatalf("servers %s and %s: want one host, two ports", srv.URL, evil.URL)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	if err := signIn(ctx, "password123", chromedp.WaitVisible(chromedp.CSS("#signed-in"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitForPage(t, ctx, target)
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"reason":"cross_origin"`) {
		t.Errorf("the cross-site form POST got %q, want the CSRF check's cross_origin refusal", body)
	}
	st := auth.Stats().Refusals
	if st["cross_origin"] != 1 || st["no_token"] != 0 {
		t.Errorf("refusals: cross_origin %d, no_token %d; want 1 and 0 (the cookie was sent)", st["cross_origin"], st["no_token"])
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#signed-in"))); err != nil {
		t.Fatal(err)
	}
	// A form on the site's own page (its CSP allows forms to 'self' only,
	// and no fetch).
	submit := `(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/api/secure-data"; document.body.appendChild(f); setTimeout(() => f.submit(), 0); return true })()`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](submit)); err != nil {
		t.Fatal(err)
	}
	waitForPage(t, ctx, target)
	if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); err != nil || !strings.Contains(body, `"message": "Saved"`) {
		t.Errorf("a same-origin form POST: %q, %v", body, err)
	}
}

// TestBrowserRefreshesAnExpiredToken: a browser whose access token has
// expired (on the server's clock, moved past it) is sent to the login
// page, whose script trades the refresh cookie for new tokens and sends
// it back to the page, signed in, without a password.
func TestBrowserRefreshesAnExpiredToken(t *testing.T) {
	ctx := newBrowser(t)
	clk := newClock()
	srv, auth := newTLSServer(t, jwtguard.WithClock(clk.Now))
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := signIn(ctx, "password123", chromedp.WaitVisible(chromedp.CSS("#signed-in"))); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Minute) // the access token (15 minutes) has expired; the session (7 days) has not
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitForPage(t, ctx, srv.URL+"/")
	if _, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#who"))); err != nil {
		t.Fatalf("not back on the protected page: %v", err)
	}
	if st := auth.Stats().Refusals; st["expired"] != 1 {
		t.Errorf("expired refusals %d, want 1 (the page navigation with the old token)", st["expired"])
	}
}
