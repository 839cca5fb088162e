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
// The asymmetric algorithms (keys_test.go) have benchmarks of their own,
// on a token jwtguard issued with an RS256, PS256, ES256 or EdDSA key
// (bench/internal/keybench): BenchmarkCryptoFloor (decode the signature,
// hash, the standard library's check), BenchmarkJWTGuard (Authenticate,
// and Verify into the context) and BenchmarkAsymmetricPeers (jwtguard and
// each peer, configured alike, then the floor). TestKeysSanity checks
// every variant on them as TestSanity does for HS256, with an HS256 token
// keyed by the public key and, for RSA, the other padding among the
// refusals. bench/cmd/floorratio runs the floor and jwtguard interleaved
// and reports their ratio.
//
// BenchmarkVerifiedTokenCache (cache_test.go) measures WithVerifiedTokenCache
// for HS256, RS256, ES256 and EdDSA: Authenticate of the same token
// uncached and from the cache, with and without WithSessions (a login's
// token, sid and jti, against NewMemorySessionStore), the hit on both
// cores at once, the Verify middleware, and a cache full of other tokens
// that every request misses. Each benchmark checks Stats' hits and misses
// after its loop; TestVerifiedTokenCacheSanity checks that a hit gives an
// uncached verification's claims and that a revoked session's cached token
// is refused. bench/cache.sh runs it in interleaved rounds.
//
// See BENCHMARKS.md at the repository's root for the figures.
package verify
