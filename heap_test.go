package jwtguard_test

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// TestVerifyHeapFlat: a million requests, each with a token of its own
// (another subject, another jti), through Verify to a handler that reads the
// claims: the live heap after a collection stays where it was after the
// first tenth, and no goroutine is left per request. The verifier keeps
// nothing per token (its pools hold a bounded number of buffers, whatever
// the tokens were), so any growth here is a leak. Under the race detector,
// which makes each request about ten times slower, it is a tenth of that.
func TestVerifyHeapFlat(t *testing.T) {
	requests := 1_000_000
	if raceEnabled || testing.Short() {
		requests /= 10
	}
	a := vtAuth(t)
	var seen int
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtguard.FromContext(r.Context()); ok && c.Subject != "" {
			seen++
		}
	}))
	w := &discardWriter{h: http.Header{}}
	r, err := http.NewRequest(http.MethodGet, "/api/user/profile", nil)
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	goroutines := runtime.NumGoroutine()
	var base uint64
	for i := range requests {
		tr, err := a.Issue(context.Background(), jwtguard.User{ID: "user-" + strconv.Itoa(i), Roles: []string{"user"}})
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		clear(w.h)
		h.ServeHTTP(w, r)
		switch i + 1 {
		case requests / 10:
			base = heap()
		case requests:
			end := heap()
			t.Logf("%d requests: live heap %d KiB after the first tenth, %d KiB at the end", requests, base>>10, end>>10)
			if end > base+512<<10 {
				t.Errorf("the live heap grew from %d to %d KiB over %d requests", base>>10, end>>10, requests*9/10)
			}
		}
	}
	if seen != requests {
		t.Errorf("%d of %d requests verified", seen, requests)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		t.Errorf("%d goroutines before, %d after", goroutines, n)
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
