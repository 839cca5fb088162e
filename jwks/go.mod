module github.com/jwtguard/jwtguard/jwks

go 1.25.0

require (
	github.com/MicahParks/jwkset v0.11.4
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	golang.org/x/time v0.9.0 // indirect
)

// The workspace (go.work) uses the root module from this checkout; the
// replace does the same for builds with GOWORK=off and for go mod tidy.
replace github.com/jwtguard/jwtguard => ../
