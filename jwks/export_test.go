package jwks

import "time"

// WithFetchHook calls f after each fetch, on the goroutine that fetched,
// with its error (nil for a document unchanged): tests wait on it instead
// of sleeping.
func WithFetchHook(f func(error)) Option {
	return func(c *config) { c.onFetch = f }
}

// Short intervals for the tests that run on the real clock.
const (
	MinUnknownKeyRefresh = time.Second
	TestFetchTimeout     = 200 * time.Millisecond
)
