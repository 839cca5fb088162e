package token

import "unsafe"

// bytesOf returns the bytes of s without copying them, for the decoders
// and the HMAC, which only read them. Converting with []byte(s) would copy
// the token's segments on every request (three allocations on the hot
// path, measured with BenchmarkVerify); the slice must never be written.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf returns b as a string without copying it, for a comparison that
// does not keep it (a header value in a pooled buffer); b must not change
// while the string is in use.
func stringOf(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
