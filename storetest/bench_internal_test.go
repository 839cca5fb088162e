package storetest

import (
	"testing"
	"time"
)

// Every duration falls in a bucket whose midpoint is within 3% of it,
// and the buckets grow with the durations.
func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, d := range []time.Duration{0, 1, 31, 63, 64, 65, 100, 1000, 4095, 4096, 12345, time.Millisecond, 3 * time.Second, time.Hour, 1<<63 - 1} {
		i := bucket(d)
		if i < prev || i >= histBuckets {
			t.Errorf("bucket(%v) = %d, after %d (of %d)", d, i, prev, histBuckets)
		}
		prev = i
		if m := midpoint(i); float64(m) < float64(d)*0.97 || float64(m) > float64(d)*1.03+1 {
			t.Errorf("midpoint(bucket(%v)) = %v; want within 3%%", d, m)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	if q := h.quantile(0.5); q != 0 {
		t.Errorf("the median of no calls = %v; want 0", q)
	}
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		if got := h.quantile(tc.q); float64(got) < float64(tc.want)*0.97 || float64(got) > float64(tc.want)*1.03 {
			t.Errorf("quantile(%v) of 1..1000 µs = %v; want %v within 3%%", tc.q, got, tc.want)
		}
	}
}
