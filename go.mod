module github.com/jwtguard/jwtguard

go 1.25.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	golang.org/x/crypto v0.55.0
)

require golang.org/x/text v0.41.0
