module github.com/jwtguard/jwtguard/stores/redis

go 1.26.0

require (
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

// The workspace (go.work) uses the root module from this checkout; the
// replace does the same for builds with GOWORK=off and for go mod tidy.
replace github.com/jwtguard/jwtguard => ../../
