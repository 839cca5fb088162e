package main

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/jwtguard/jwtguard"
)

// The pages: a login form and a protected home page, served in
// jwtguard's cookie mode. The form posts to the login route, which sets
// the cookies and sends the browser back to the page it came from; the
// home page's sign-out button posts to the logout route, which clears
// them. No script, no front-end build.

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in</title></head>
<body>
<main>
<h1>Sign in</h1>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
<form id="login-form" method="post" action="/api/auth/login">
<p><label>Username <input id="username" name="username" autocomplete="username" required></label></p>
<p><label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
<input type="hidden" name="return" value="{{.Return}}">
<p><button id="sign-in" type="submit">Sign in</button></p>
</form>
<p>Demo accounts: alice / password123 and admin / password123.</p>
</main>
{{if not .Error}}<script nonce="{{.Nonce}}">
// A session may outlive its access token: the refresh cookie (sent only
// to /api/auth/) gets a new one, and the browser goes back, signed in.
fetch("/api/auth/refresh", {method: "POST", credentials: "same-origin"}).then(r => { if (r.ok) location.replace({{.Return}}) })
</script>{{end}}
</body>
</html>
`))

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Home</title></head>
<body>
<main>
<h1>Home</h1>
<p id="signed-in">Signed in as <strong id="who">{{.Username}}</strong>{{if .Roles}} (roles: {{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{end}}){{end}}.</p>
<p><a href="/api/user/profile">Your token's claims, as JSON</a></p>
<form id="logout-form" method="post" action="/api/auth/logout"><button id="sign-out" type="submit">Sign out</button></form>
</main>
</body>
</html>
`))

// signInErrors are the login page's words for the reasons a form login
// is sent back with; an unknown reason gets the generic one.
var signInErrors = map[string]string{
	"invalid_credentials": "Wrong username or password.",
	"too_many_requests":   "Too many attempts. Try again later.",
	"overloaded":          "The server is busy. Try again in a moment.",
	"malformed_request":   "The form was not understood. Try again.",
}

// servePage writes a page: not cached, not framed (clickjacking), no
// script but its own (nonce) and no foreign content (CSP), no referrer
// beyond this site.
func servePage(w http.ResponseWriter, r *http.Request, logger *slog.Logger, t *template.Template, nonce string, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		logger.LogAttrs(r.Context(), slog.LevelError, "server: rendering a page failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.Write(b.Bytes())
}

// loginPageHandler serves the login form, with the return path checked
// (jwtguard.ReturnPath: a path of this site, "/" otherwise), and a script
// that first tries the refresh cookie: a browser sent here because its
// access token expired goes back signed in, without a password.
func loginPageHandler(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		msg := ""
		if reason := q.Get("error"); reason != "" {
			msg = signInErrors[reason]
			if msg == "" {
				msg = "Sign-in failed."
			}
		}
		nonce := rand.Text()
		servePage(w, r, logger, loginPage, nonce, struct{ Error, Return, Nonce string }{msg, jwtguard.ReturnPath(q.Get("return")), nonce})
	})
}

// homePageHandler serves the protected page; Verify in front of it sends
// a browser without a valid token to the login page.
func homePageHandler(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		servePage(w, r, logger, homePage, rand.Text(), struct {
			Username string
			Roles    []string
		}{cmp.Or(c.Username, c.Subject), c.Roles})
	})
}
