module github.com/jwtguard/jwtguard/examples/server

go 1.25.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
	golang.org/x/crypto v0.55.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/text v0.41.0 // indirect
)

// The workspace (go.work) uses the root module from this checkout; the
// replace does the same for builds with GOWORK=off and for go mod tidy.
replace github.com/jwtguard/jwtguard => ../../
