module github.com/jwtguard/jwtguard/examples/server

go 1.26.0

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
	github.com/jwtguard/jwtguard/stores/postgres v0.0.0-00010101000000-000000000000
	github.com/jwtguard/jwtguard/stores/redis v0.0.0-00010101000000-000000000000
	github.com/jwtguard/jwtguard/stores/sqlite v0.0.0-00010101000000-000000000000
	golang.org/x/crypto v0.55.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.62.0 // indirect
)

// The workspace (go.work) uses the modules of this checkout; the replaces
// do the same for builds with GOWORK=off and for go mod tidy.
replace (
	github.com/jwtguard/jwtguard => ../../
	github.com/jwtguard/jwtguard/stores/postgres => ../../stores/postgres
	github.com/jwtguard/jwtguard/stores/redis => ../../stores/redis
	github.com/jwtguard/jwtguard/stores/sqlite => ../../stores/sqlite
)
