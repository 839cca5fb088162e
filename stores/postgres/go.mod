module github.com/jwtguard/jwtguard/stores/postgres

go 1.26.0

// The workspace (go.work) uses the root module from this checkout; the
// replace does the same for builds with GOWORK=off and for go mod tidy.
replace github.com/jwtguard/jwtguard => ../../

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
	golang.org/x/crypto v0.55.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
