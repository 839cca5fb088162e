package jwks

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// checkURL returns u parsed, or why New refuses it: a JWKS is fetched over
// https, except from a literal loopback address (tests, a sidecar), since
// whoever can change the document in transit chooses the keys tokens are
// checked with. The name localhost is not taken for loopback over plain
// http: it is resolved when fetching, through /etc/hosts, DNS and search
// domains, to addresses nothing here checks.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the JWKS URL does not parse: %w", err)
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("the JWKS URL %q is not an absolute https URL", u.Redacted())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u, nil
	case "http":
		if isLoopback(u.Hostname()) {
			return u, nil
		}
		if strings.EqualFold(strings.TrimSuffix(u.Hostname(), "."), "localhost") {
			return nil, fmt.Errorf("the JWKS URL %q is not https (plain http is only for a literal loopback address, such as 127.0.0.1 or [::1]: the name localhost is resolved when fetching, and may not lead to this machine)", u.Redacted())
		}
		return nil, fmt.Errorf("the JWKS URL %q is not https (plain http is only for a literal loopback address: 127.0.0.0/8, ::1)", u.Redacted())
	}
	return nil, fmt.Errorf("the JWKS URL %q is not https", u.Redacted())
}

// isLoopback reports whether host is a literal loopback address (an IPv4
// one in 127.0.0.0/8, also as an IPv4-mapped IPv6 address, or ::1). No
// name is, localhost included.
func isLoopback(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// maxRedirects bounds the redirects a fetch follows.
const maxRedirects = 5

// httpClient is a copy of c (nil: a client on http.DefaultTransport)
// whose redirects are checked before c's own check: each one's URL as New
// checks the URL, and none goes from https to plain http, after any hop
// of the fetch that was https (the first request's or a redirect's). A
// plain-http fetch from a loopback address may be redirected to another
// one, or to https.
func httpClient(c *http.Client) *http.Client {
	var cl http.Client
	if c != nil {
		cl = *c
	}
	next := cl.CheckRedirect
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if _, err := checkURL(req.URL.String()); err != nil {
			return fmt.Errorf("a redirect refused: %w", err)
		}
		if !strings.EqualFold(req.URL.Scheme, "https") {
			for _, r := range via {
				if strings.EqualFold(r.URL.Scheme, "https") {
					return fmt.Errorf("a redirect refused: from https (%s) to plain http (%s)", r.URL.Redacted(), req.URL.Redacted())
				}
			}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &cl
}

// errNotModified is a fetch that found the document unchanged.
var errNotModified = errors.New("not modified")

// fetch gets the document once, within the fetch timeout, and when it
// has changed since the last good one makes its keys the set's. It
// returns how long the response may be used (Cache-Control), ok false
// when it does not say. It runs on one goroutine at a time: New's, then
// the refreshes'.
func (s *Set) fetch(ctx context.Context) (fresh time.Duration, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	have := s.keys.Load() != nil
	if have && s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && have && s.etag != "":
		fresh, ok = freshness(resp.Header)
		return fresh, ok, errNotModified
	case resp.StatusCode != http.StatusOK:
		return 0, false, fmt.Errorf("the JWKS endpoint answered %s", resp.Status)
	case resp.ContentLength > s.cfg.maxSize:
		return 0, false, fmt.Errorf("the document is %d bytes, over the limit of %d", resp.ContentLength, s.cfg.maxSize)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.maxSize+1))
	if err != nil {
		return 0, false, fmt.Errorf("reading the document: %w", err)
	}
	if int64(len(doc)) > s.cfg.maxSize {
		return 0, false, fmt.Errorf("the document is over the limit of %d bytes", s.cfg.maxSize)
	}
	fresh, ok = freshness(resp.Header)
	sum := sha256.Sum256(doc)
	if have && sum == s.docSum {
		s.etag = resp.Header.Get("ETag")
		return fresh, ok, errNotModified
	}
	ks, skip, err := parseKeySet(doc, s.cfg.defaultAlg)
	s.logSkipped(skip)
	if err != nil {
		return 0, false, err
	}
	s.keys.Store(ks)
	s.docSum, s.etag = sum, resp.Header.Get("ETag")
	s.logKeys(ks)
	return fresh, ok, nil
}

// maxDeltaSeconds is where RFC 9111 §1.2.2 caps a delta-seconds value.
const maxDeltaSeconds = 1 << 31

// freshness returns how long a response with header h stays fresh: its
// Cache-Control max-age less its Age (RFC 9111 §4.2), at least zero; ok
// is false when Cache-Control has no max-age. no-cache and no-store count
// as max-age=0. A max-age that is not a number is ignored; of several,
// the first counts.
func freshness(h http.Header) (fresh time.Duration, ok bool) {
	maxAge := int64(-1)
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(d, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				return 0, true
			case "max-age":
				val = strings.TrimSpace(val)
				if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				if n, ok := deltaSeconds(val); ok && maxAge < 0 {
					maxAge = n
				}
			}
		}
	}
	if maxAge < 0 {
		return 0, false
	}
	if age, ok := deltaSeconds(strings.TrimSpace(h.Get("Age"))); ok {
		maxAge = max(maxAge-age, 0)
	}
	return time.Duration(maxAge) * time.Second, true
}

// deltaSeconds parses a non-negative whole number of seconds, capped at
// maxDeltaSeconds.
func deltaSeconds(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDeltaSeconds), true
}
