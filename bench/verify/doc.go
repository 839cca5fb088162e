// Package verify holds benchmarks that send one accepted HS256 request
// through jwtguard's Verify and through each peer library, configured alike
// (signature, algorithm pinned, exp, iss and aud checked where the peer can),
// plus a bare net/http handler, bare echo and gin handlers to subtract, and
// the crypto floor (base64url-decode the signature, one HMAC-SHA256, one
// constant-time compare).
//
// It lives in the nested bench module so that the core module gains no
// dependency on the peers. The package has no API: everything is in its
// tests. TestSanity, run by go test, checks that every variant accepts the
// good token and refuses a missing, a tampered and a wrong-issuer one before
// any figure is trusted; the benchmarks run only with -bench:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./bench/verify
//
// See README.md in this directory for the figures.
package verify
